"""Message-level tests: drive the app with keys and assert which commands reached the engine.

Each test plays the network with FakeEngine.emit and checks the exact command and arguments
the UI sent (the final dial URI, the call handle, the DTMF digit, the REFER target).
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from softphone.engine.events import CallEvent, IncomingCallEvent
from softphone.ui.app import SoftphoneApp
from softphone.ui.dialogs.incoming import IncomingCallDialog
from tests.ui.harness import (
    LAB,
    SIZE,
    TRUNK,
    TWILIO,
    Engines,
    async_test,
    call,
    make_app,
    registered,
    started,
    until,
)


def commands(engines: Any, name: str) -> list[tuple[Any, ...]]:
    return [args for n, args in engines.engine.commands if n == name]


@async_test
async def test_enter_in_the_dialer_dials_the_final_uri(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        await pilot.press(*"(415) 555-0100", "enter")
        await until(pilot, lambda: bool(commands(engines, "make_call")))
        assert commands(engines, "make_call") == [
            ("work", "sip:+14155550100@acme.sip.us1.twilio.com")
        ]
        assert app.main.dialer.text == ""  # cleared after a successful dial
        assert app.recent.recent() == ["(415) 555-0100"]


@async_test
async def test_dial_key_dials_too_and_sip_addresses_pass_through(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        await pilot.press(*"sip:bob@example.com", "ctrl+g")
        await until(pilot, lambda: bool(commands(engines, "make_call")))
        assert commands(engines, "make_call") == [("work", "sip:bob@example.com")]


@async_test
async def test_undialable_number_is_a_notice_not_a_call(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "trunk", "secret")
    app, engines = make_app([TRUNK])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        await pilot.press(*"4155550100", "enter")
        await until(pilot, lambda: bool(app._notifications))
        assert commands(engines, "make_call") == []
        texts = [n.message for n in app._notifications]
        assert any("E.164" in t and "+14155550100" in t for t in texts), texts
        assert app.main.dialer.text == "4155550100"  # kept, to fix


async def ring(
    pilot: Pilot[Any], app: SoftphoneApp, engines: Engines, handle: int, caller: str = "carol"
) -> None:
    """An incoming call from `caller` to the lab account; returns once its dialog is up."""
    engines.engine.emit(
        IncomingCallEvent(
            handle, "lab", f"sip:{caller}@127.0.0.1", "sip:alice@127.0.0.1", "127.0.0.1:5060"
        )
    )
    await until(pilot, lambda: isinstance(app.screen, IncomingCallDialog))


@async_test
async def test_answer_from_the_dialog_and_reject_with_the_key() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        await ring(pilot, app, engines, 7)
        await pilot.press("enter")  # the Answer button has the focus
        await until(pilot, lambda: bool(commands(engines, "answer")))
        assert commands(engines, "answer") == [(7, 200)]
        assert not isinstance(app.screen, IncomingCallDialog)
        await ring(pilot, app, engines, 8, "dave")
        await pilot.press("f8")  # reject works on top of the dialog
        await until(pilot, lambda: bool(commands(engines, "reject")))
        assert commands(engines, "reject") == [(8, 486)]


@async_test
async def test_answer_key_answers_the_ringing_call() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        await ring(pilot, app, engines, 3)
        await pilot.press("f2")
        await until(pilot, lambda: bool(commands(engines, "answer")))
        assert commands(engines, "answer") == [(3, 200)]
        # The engine reports the answered call: the dialog closes by itself.
        engines.engine.emit(call(3, "confirmed", account="lab", direction="in"))
        await until(pilot, lambda: not isinstance(app.screen, IncomingCallDialog))


@async_test
async def test_answered_elsewhere_closes_the_dialog_with_a_notice() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    app.close_delay = 0.05
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        e = engines.engine
        await ring(pilot, app, engines, 5)
        e.emit(
            CallEvent(
                5,
                "lab",
                "in",
                "sip:carol@127.0.0.1",
                "sip:alice@127.0.0.1",
                "disconnected",
                487,
                "Request Terminated",
                answered_elsewhere=True,
            )
        )
        await until(pilot, lambda: not isinstance(app.screen, IncomingCallDialog))
        texts = [n.message for n in app._notifications]
        assert any("answered on another device" in t for t in texts), texts
        assert commands(engines, "answer") == [] and commands(engines, "reject") == []


@async_test
async def test_hold_resume_mute_hangup_reach_the_engine(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        e = engines.engine
        e.emit(call(4))
        await pilot.press("f4")
        await until(pilot, lambda: bool(commands(engines, "hold")))
        e.emit(call(4, "held", hold="local"))
        await pilot.press("f4")  # held: the same key resumes
        await until(pilot, lambda: bool(commands(engines, "unhold")))
        e.emit(call(4))
        await pilot.press("f5")
        await until(pilot, lambda: bool(commands(engines, "mute")))
        e.emit(call(4, muted=True))
        await pilot.press("f5")
        await until(pilot, lambda: len(commands(engines, "mute")) == 2)
        await pilot.press("f3")
        await until(pilot, lambda: bool(commands(engines, "hangup")))
        assert commands(engines, "hold") == [(4,)]
        assert commands(engines, "unhold") == [(4,)]
        assert commands(engines, "mute") == [(4, True), (4, False)]
        assert commands(engines, "hangup") == [(4,)]


@async_test
async def test_actions_go_to_the_highlighted_call(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(call(1))
        engines.engine.emit(call(2))
        await pilot.pause()
        table = app.main.calls.table
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("f3")
        await until(pilot, lambda: bool(commands(engines, "hangup")))
        assert commands(engines, "hangup") == [(1,)]


@async_test
async def test_dtmf_keypad_sends_each_digit() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(call(9, account="lab", remote="sip:600@127.0.0.1"))
        await pilot.press("f6")
        await until(pilot, lambda: type(app.screen).__name__ == "DtmfDialog")
        await pilot.press("1", "2", "#", "*", "a")
        await until(pilot, lambda: len(commands(engines, "send_dtmf")) == 5)
        assert commands(engines, "send_dtmf") == [(9, "1"), (9, "2"), (9, "#"), (9, "*"), (9, "A")]
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")


@async_test
async def test_transfer_sends_the_refer_target_as_a_uri() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(call(6, account="lab", remote="sip:bob@127.0.0.1"))
        await pilot.press("f7")
        await until(pilot, lambda: type(app.screen).__name__ == "TransferDialog")
        await pilot.press(*"carol", "enter")
        await until(pilot, lambda: bool(commands(engines, "transfer")))
        assert commands(engines, "transfer") == [(6, "sip:carol@127.0.0.1")]


@async_test
async def test_no_call_means_a_notice_not_a_command() -> None:
    app, engines = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        for key in ("f2", "f3", "f4", "f5", "f7", "f8"):
            await pilot.press(key)
        await pilot.pause()
        sent = {n for n in engines.engine.names() if n not in ("start", "submit")}
        assert sent == set()
        assert len(app._notifications) >= 6


@async_test
async def test_registration_appears_with_countdown_and_devices(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(registered("work", devices=2, expires=600))
        await pilot.pause()
        row = [str(c) for c in app.main.accounts.table.get_row("work")]
        assert row[1] == "✓ registered" and row[2] == "10:00" and row[4] == "2/10"
        assert "TLS" in row[3] and "🔒" in row[3]


@async_test
async def test_the_ladder_gets_every_message_seen_even_just_before_it_opens() -> None:
    """Traces reach the log pane in batches (bridge, then pane, ~50 ms each): opening the
    ladder right after a burst must still show all of it, not the last repaint's share."""
    from softphone.engine.events import TraceEvent
    from tests.sip.sipflows_proxy import proxied_call

    flow = proxied_call()
    app, engines = make_app([LAB])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines)
        for trace in flow:
            engines.engine.emit(TraceEvent(trace))
        # No pause: neither the bridge's batch nor the pane's has been applied yet.
        assert [t.raw for t in app.traces_for(None)] == [t.raw for t in flow]
