"""Building the app for tests: FakeEngine, fixed clock, shipped themes, and waiting helpers.

Time is fixed (the app's clock returns FIXED_NOW) so durations and countdowns render the same
on every run; the recent-numbers list lives in memory unless a test opts into the history.
`until` waits on a real condition with a deadline, never on a bare sleep.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from softphone.audio.devices import AudioDevice, DeviceList
from softphone.config import AccountConfig, Settings
from softphone.engine.events import (
    Binding,
    CallEvent,
    CallState,
    Direction,
    Event,
    RegistrationEvent,
)
from softphone.engine.fake import FakeEngine
from softphone.ui.app import SoftphoneApp
from softphone.ui.recent import MemoryRecent
from softphone.ui.theming import shipped_theme_dir

SIZE = (120, 40)
# The machine's sound devices must not show in snapshots: a fixed list stands in for PortAudio.
DEVICES = DeviceList(
    (
        AudioDevice(0, "Built-in Audio Analog Stereo", "ALSA", 2, 2, 48000.0, True, True),
        AudioDevice(1, "USB Headset", "ALSA", 1, 2, 48000.0),
    )
)
FIXED_NOW = 1000.0

TWILIO = AccountConfig(
    name="work",
    provider="twilio-domain",
    username="+14155550100",
    domain="acme.sip.us1.twilio.com",
    transport="tls",
    srtp="mandatory",
)
TELNYX = AccountConfig(name="telnyx", provider="telnyx", username="alice7")
PBX = AccountConfig(name="pbx", provider="generic", username="201", domain="pbx.example.com")
TRUNK = AccountConfig(
    name="trunk",
    provider="twilio-trunk",
    username="trunkuser",
    domain="acme.pstn.twilio.com",
    caller_id="+14155550199",
    allowed_cidrs=("54.172.60.0/30",),
)
LAB = AccountConfig(name="lab", provider="lab", username="alice")


class SteadyApp(SoftphoneApp):
    """The app with steady (non-blinking) text cursors, so snapshots do not depend on when
    the picture is taken within the blink cycle."""

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, Input):
            event.widget.cursor_blink = False


class Engines:
    """An engine factory that keeps the FakeEngines it made."""

    def __init__(self, fail_start: str | None = None) -> None:
        self.made: list[FakeEngine] = []
        self.fail_start = fail_start

    def __call__(self, sink: Callable[[Event], None]) -> FakeEngine:
        engine = FakeEngine(sink)
        if self.fail_start is not None:
            message = self.fail_start

            def refuse(timeout: float = 10) -> None:
                from softphone.engine.errors import EngineStartError

                raise EngineStartError(message)

            engine.start = refuse  # type: ignore[method-assign]
        self.made.append(engine)
        return engine

    @property
    def engine(self) -> FakeEngine:
        assert self.made, "the app has not created its engine yet"
        return self.made[-1]


def make_app(
    accounts: Sequence[AccountConfig] = (),
    *,
    extra: Sequence[tuple[AccountConfig, str]] = (),
    settings: Settings | None = None,
    engines: Engines | None = None,
    title: str | None = None,
    theme_dirs: Sequence[Path] | None = None,
    recent: Sequence[str] = (),
) -> tuple[SoftphoneApp, Engines]:
    engines = engines or Engines()
    base = settings or Settings()
    if accounts:
        base = replace(base, accounts={a.name: a for a in accounts})
    shipped = shipped_theme_dir()
    assert shipped is not None
    app = SteadyApp(
        base,
        engine_factory=engines,
        extra_accounts=extra,
        clock=lambda: FIXED_NOW,
        wall=lambda: 1_700_000_000.0,
        recent=MemoryRecent(list(recent)),
        title=title,
        theme_dirs=[shipped] if theme_dirs is None else theme_dirs,
        audio_devices=lambda: DEVICES,
    )
    return app, engines


def async_test(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop (no pytest asyncio plugin needed)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


async def until(pilot: Pilot[Any], check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `check()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.01)


async def started(pilot: Pilot[Any], engines: Engines, accounts: int = 0) -> None:
    """Wait until the engine started and `accounts` accounts were handed to it."""
    await until(pilot, lambda: bool(engines.made) and "start" in engines.engine.names())
    await until(pilot, lambda: engines.engine.names().count("add_account") >= accounts)
    await pilot.pause()


def registered(account: str, devices: int = 1, expires: int = 600) -> RegistrationEvent:
    bindings = tuple(
        Binding(
            f"sip:{account}@192.0.2.{10 + i}:5060;ob",
            expires - 30 * i,
            f"<urn:uuid:00000000-0000-0000-0000-00000000000{i}>",
        )
        for i in range(devices)
    )
    return RegistrationEvent(account, "registered", 200, "OK", expires, bindings)


def call(
    handle: int,
    state: CallState = "confirmed",
    *,
    account: str = "work",
    direction: Direction = "out",
    remote: str = "sip:+14155550123@acme.sip.us1.twilio.com",
    **fields: Any,
) -> CallEvent:
    return CallEvent(
        call=handle,
        account=account,
        direction=direction,
        remote=remote,
        request_uri=remote,
        state=state,
        code=200 if state == "confirmed" else 180,
        reason="OK" if state == "confirmed" else "Ringing",
        call_id=f"call-{handle}@test",
        **fields,
    )
