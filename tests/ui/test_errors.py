"""Engine failures become notifications and the app keeps running."""

from __future__ import annotations

from typing import Any

from softphone.engine.events import EngineErrorEvent, RegistrationEvent, TransportEvent
from tests.ui.harness import (
    LAB,
    SIZE,
    TWILIO,
    Engines,
    async_test,
    call,
    make_app,
    started,
    until,
)


def notices(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


@async_test
async def test_failed_command_is_a_notification(memory_keyring: Any) -> None:
    memory_keyring.set_password("softphone", "work", "secret")
    app, engines = make_app([TWILIO])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.fail("make_call", "Require secure session/transport")
        await pilot.press(*"+14155550100", "enter")
        await until(pilot, lambda: any("secure session" in t for t in notices(app)))
        assert app.is_running
        assert app.main.dialer.text == "+14155550100"  # not cleared: the call did not start
        engines.engine.emit(call(1))
        engines.engine.fail("hold", "no media")
        await pilot.press("f4")
        await until(pilot, lambda: any("hold: " in t and "no media" in t for t in notices(app)))
        await pilot.press("f3")  # still usable afterwards
        await until(pilot, lambda: ("hangup", (1,)) in engines.engine.commands)


@async_test
async def test_engine_events_about_errors_become_notifications() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        e = engines.engine
        e.emit(EngineErrorEvent("onCallState", "KeyError: 'x'"))
        e.emit(
            TransportEvent(
                "TLS",
                "203.0.113.5:5061",
                "disconnected",
                verify_ok=False,
                explanation="the certificate is for another host",
            )
        )
        e.emit(
            RegistrationEvent(
                "lab",
                "failed",
                401,
                "Unauthorized",
                None,
                explanation="wrong password: the registrar asked again",
            )
        )
        await until(pilot, lambda: len(notices(app)) >= 3)
        text = "\n".join(notices(app))
        assert "Engine error in onCallState" in text
        assert "certificate is for another host" in text
        assert "lab: registration failed: wrong password" in text
        # The same failure reported again (pjsua repeats onRegState) is not a new notice.
        e.emit(RegistrationEvent("lab", "failed", 401, "Unauthorized", None))
        await pilot.pause()
        assert sum("registration failed" in t for t in notices(app)) == 1
        assert app.is_running


@async_test
async def test_a_crashing_handler_is_a_notification_not_a_crash(monkeypatch: Any) -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)

        def boom(event: object) -> None:
            raise RuntimeError("bad event")

        monkeypatch.setattr(app, "handle_event", boom)
        engines.engine.emit(call(1, account="lab"))
        await until(pilot, lambda: any("bad event" in t for t in notices(app)))
        assert app.is_running
        monkeypatch.undo()
        engines.engine.emit(call(2, account="lab"))
        await until(pilot, lambda: 2 in app.model.calls)


@async_test
async def test_engine_that_cannot_start_leaves_a_working_ui() -> None:
    engines = Engines(fail_start="Address already in use (port 5060)")
    app, _ = make_app(extra=[(LAB, "pw")], engines=engines)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("did not start" in t for t in notices(app)))
        assert "Address already in use" in "\n".join(notices(app))
        assert app.model.accounts["lab"].setup == "refused"
        await pilot.press(*"bob", "enter")
        await until(pilot, lambda: any("not running" in t for t in notices(app)))
        await pilot.press("f1")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        assert app.is_running


@async_test
async def test_quit_stops_the_engine_first() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running)
    assert engines.engine.names()[-1] == "stop"
    assert app.return_code == 0


@async_test
async def test_audio_state_and_meters_show_in_the_calls_panel() -> None:
    from softphone.engine.events import AudioLevelEvent, AudioStateEvent

    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        e = engines.engine
        e.emit(AudioStateEvent("null", "No audio device: calls will be silent (null audio)"))
        await until(pilot, lambda: "silent" in str(app.main.calls.border_subtitle))
        assert any("calls will be silent" in t for t in notices(app))
        e.emit(AudioStateEvent("active", "Audio", "USB Headset", "USB Headset"))
        e.emit(AudioLevelEvent(0.8, 0.2, -6.0, -30.0))
        await until(pilot, lambda: "mic ▮▮▮▮▯" in str(app.main.calls.border_subtitle))
        assert str(app.main.calls.border_subtitle) == "🔊 USB Headset · mic ▮▮▮▮▯ spk ▮▯▯▯▯"


@async_test
async def test_engine_dying_is_a_notice_quitting_is_not() -> None:
    from softphone.engine.events import EngineStateEvent

    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.emit(EngineStateEvent("stopped", "engine loop: RuntimeError"))
        await until(pilot, lambda: any("engine stopped" in t for t in notices(app)))
    app2, engines2 = make_app(extra=[(LAB, "pw")])
    async with app2.run_test(size=SIZE) as pilot:
        await started(pilot, engines2, accounts=1)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app2.is_running)
    assert not any("engine stopped" in t for t in notices(app2))
