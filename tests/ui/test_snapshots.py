"""Snapshot tests: one SVG per screen state, committed under __snapshots__.

The app runs on a FakeEngine with a fixed clock, so every countdown and duration renders the
same on every run. Update after a deliberate change with `pytest tests/ui --snapshot-update`
and look at the SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from softphone.config import Settings
from softphone.engine.events import (
    CallEvent,
    IncomingCallEvent,
    QualifyEvent,
    RegistrationEvent,
    RtpStats,
)
from softphone.ui.screens.account_editor import AccountEditor
from tests.ui.harness import (
    LAB,
    PBX,
    SIZE,
    TELNYX,
    TRUNK,
    TWILIO,
    call,
    make_app,
    registered,
    started,
    until,
)

Snap = Any  # the snap_compare fixture


def test_main_empty(snap_compare: Snap) -> None:
    app, engines = make_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_main_accounts_registered_and_failed(snap_compare: Snap, memory_keyring: Any) -> None:
    for name in ("work", "telnyx", "trunk"):
        memory_keyring.set_password("softphone", name, "secret")
    app, engines = make_app([TWILIO, TELNYX, TRUNK, PBX], extra=[(LAB, "alice-pw")])

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines, accounts=4)
        e = engines.engine
        e.emit(registered("work", devices=3, expires=600))
        e.emit(
            RegistrationEvent(
                "telnyx",
                "failed",
                403,
                "Forbidden",
                None,
                explanation="the registrar refused these credentials: check the user name and "
                "password of the Telnyx credential connection",
            )
        )
        e.emit(QualifyEvent("trunk", "sip:acme.pstn.twilio.com", True, 200, "OK", 23.4))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_dialer_number_and_uri_preview(snap_compare: Snap, memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO], recent=["+14155550123", "sip:bob@example.com"])

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines, accounts=1)
        await pilot.press(*"4155550100")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_dialer_trunk_refuses_national_number(snap_compare: Snap, memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "trunk", "secret")
    app, engines = make_app([TRUNK])

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines, accounts=1)
        await pilot.press(*"4155550100")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_calls_active_srtp_held_and_forked(snap_compare: Snap, memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO])

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines, accounts=1)
        e = engines.engine
        e.emit(registered("work", devices=2))
        stats = RtpStats(rx_packets=3120, rx_lost=2, rx_jitter_ms=3.4, tx_packets=3125, rtt_ms=41.0)
        e.emit(
            call(1, codec="PCMU", srtp_suite="AES_CM_128_HMAC_SHA1_80", duration=62.0, rtp=stats)
        )
        e.emit(
            call(
                2,
                "held",
                remote="sip:+14155550188@acme.sip.us1.twilio.com",
                codec="G722",
                srtp_suite="AES_CM_128_HMAC_SHA1_32",
                hold="local",
                duration=305.0,
            )
        )
        e.emit(call(3, "early", remote="sip:sales@acme.sip.us1.twilio.com", devices_ringing=3))
        await pilot.pause()
        app.main.calls.table.focus()  # the highlighted call's SIP and RTP facts show below
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def _incoming() -> IncomingCallEvent:
    return IncomingCallEvent(
        call=7,
        account="lab",
        remote='"Carol" <sip:carol@127.0.0.1>',
        request_uri="sip:alice@127.0.0.1",
        source="127.0.0.1:5060",
        call_id="in-7@test",
    )


def test_incoming_call_dialog(snap_compare: Snap) -> None:
    app, engines = make_app(extra=[(LAB, "alice-pw")])

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(registered("lab"))
        engines.engine.emit(_incoming())
        await until(pilot, lambda: type(app.screen).__name__ == "IncomingCallDialog")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_incoming_call_answered_elsewhere(snap_compare: Snap) -> None:
    app, engines = make_app(extra=[(LAB, "alice-pw")])
    app.close_delay = 60  # keep the dialog up for the picture

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(_incoming())
        await until(pilot, lambda: type(app.screen).__name__ == "IncomingCallDialog")
        engines.engine.emit(
            CallEvent(
                call=7,
                account="lab",
                direction="in",
                remote='"Carol" <sip:carol@127.0.0.1>',
                request_uri="sip:alice@127.0.0.1",
                state="disconnected",
                code=487,
                reason="Request Terminated",
                answered_elsewhere=True,
                call_id="in-7@test",
            )
        )
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def _editor(provider: str) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        app.push_screen(AccountEditor(provider=provider))
        await until(pilot, lambda: getattr(app.focused, "id", None) == "name")
        await pilot.press(*"work", "tab", *"alice")
        await pilot.pause()

    return run_before


def test_account_editor_twilio_domain(snap_compare: Snap) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_editor("twilio-domain"))


def test_account_editor_twilio_trunk(snap_compare: Snap) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_editor("twilio-trunk"))


def test_account_editor_telnyx(snap_compare: Snap) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_editor("telnyx"))


def test_account_editor_generic(snap_compare: Snap) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_editor("generic"))


def test_account_editor_lab(snap_compare: Snap) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=_editor("lab"))


def test_settings_screen(snap_compare: Snap) -> None:
    app, engines = make_app(settings=Settings(keys={"hold": "f12"}))

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines)
        await pilot.press("f10")
        await until(pilot, lambda: type(app.screen).__name__ == "SettingsScreen")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Snap) -> None:
    app, engines = make_app(settings=Settings(keys={"hold": "f12"}))

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines)
        await pilot.press("f1")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_broken_theme_notice(snap_compare: Snap, tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "broken.toml").write_text('name = "mine"\nprimary = "#12345"\n', encoding="utf-8")
    app, engines = make_app(settings=Settings(theme="mine"), theme_dirs=[themes])

    async def run_before(pilot: Pilot[Any]) -> None:
        await started(pilot, engines)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
