"""`run_tui`: the one entry point for opening the TUI (softphone, softphone lab).

The engine is made by a factory so callers choose it: the real pjsua2 Engine by default
(imported only when the factory runs, after the first frame), a FakeEngine in tests, or an
Engine with the lab's options for `softphone lab`. Accounts given in `extra_accounts` come with
their password (the lab's demo users) and are never written to config.toml or the keyring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from softphone.config import AccountConfig, AudioSettings, Settings

if TYPE_CHECKING:
    from textual.app import App

    from softphone.engine.events import Event
    from softphone.engine.types import EngineOptions
    from softphone.ui.bridge import EngineLike


def default_engine(
    accounts: Sequence[AccountConfig] = (), audio: AudioSettings | None = None
) -> Callable[[Callable[[Event], None]], EngineLike]:
    """A factory for the real engine (pjsua2 is imported when it runs, after the first frame).

    Bound to 127.0.0.1 when every account's server is on this machine (the lab), so Contact
    and SDP name an address the server can reach back (RFC 3261 §8.1.1.8); to every interface
    otherwise. Calls get sound through softphone.audio's SoundBridge on the devices of
    [settings.audio]; if that cannot even load, the engine runs without it (silent calls) and
    the reason is one notification, not a failed start.
    """

    def make(sink: Callable[[Event], None]) -> EngineLike:
        from softphone.engine.types import EngineOptions
        from softphone.engine_account import ANY_HOST, LOOPBACK_HOST, is_loopback, server_host
        from softphone.providers import AccountInvalid, effective

        hosts = []
        for account in accounts:
            try:
                hosts.append(server_host(effective(account)))
            except (AccountInvalid, KeyError):
                continue  # shown as invalid in the accounts panel; it never reaches the engine
        local = bool(hosts) and all(is_loopback(h) for h in hosts)
        options = EngineOptions(bind_host=LOOPBACK_HOST if local else ANY_HOST)
        return engine_with_sound(sink, options, audio)

    return make


def engine_with_sound(
    sink: Callable[[Event], None], options: EngineOptions, audio: AudioSettings | None
) -> EngineLike:
    """The real engine with softphone.audio's SoundBridge on the devices of [settings.audio];
    if the bridge cannot even load, the engine without it (silent calls) and one notice."""
    from softphone.engine.engine import Engine

    try:
        from softphone.audio import SoundBridge

        sound = SoundBridge(audio)
    except Exception as exc:  # no PortAudio, a broken install: calls still work, silent
        from softphone.engine.events import AudioStateEvent

        sink(AudioStateEvent("null", f"No audio: {exc}; calls will be silent"))
        return Engine(sink, options)
    return Engine(sink, options, audio=sound)


def run_tui(
    settings: Settings,
    *,
    engine_factory: Callable[[Callable[[Event], None]], EngineLike] | None = None,
    extra_accounts: Sequence[tuple[AccountConfig, str]] = (),
    title: str | None = None,
    on_ready: Callable[[App[int]], None] | None = None,
) -> int:
    """Run the TUI until the user quits; returns the exit code. The engine is always stopped
    (calls hung up, accounts unregistered) before this returns, even after a crash."""
    from softphone.ui.app import SoftphoneApp

    app = SoftphoneApp(
        settings,
        engine_factory=engine_factory
        or default_engine(
            [*settings.accounts.values(), *(a for a, _ in extra_accounts)], settings.audio
        ),
        extra_accounts=extra_accounts,
        title=title,
        on_ready=on_ready,
    )
    try:
        code = app.run()
    finally:
        app.bridge.stop_now()
    return code if isinstance(code, int) else (app.return_code or 0)
