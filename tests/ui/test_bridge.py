"""The engine-thread ↔ UI bridge: events from another thread, trace batching, dead engines."""

from __future__ import annotations

import threading
from typing import Any

from softphone.engine.events import RegistrationEvent, TraceEvent
from softphone.sip.trace import make_trace
from softphone.ui.bridge import TracesPending
from tests.ui.harness import LAB, SIZE, async_test, make_app, started, until

OPTIONS = (
    b"OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-%d\r\n"
    b"From: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:127.0.0.1>\r\nCall-ID: q-%d\r\n"
    b"CSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n"
)


def trace(i: int) -> TraceEvent:
    raw = OPTIONS % (i, i, i + 1)
    return TraceEvent(
        make_trace(
            1_700_000_000.0 + i / 1000, "out", "UDP", "127.0.0.1:5070", "127.0.0.1:5060", raw
        )
    )


@async_test
async def test_events_from_the_engine_thread_are_handled_on_the_ui_thread(
    monkeypatch: Any,
) -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        ui_thread = threading.get_ident()
        seen: list[int] = []
        handle = app.handle_event

        def record(event: Any) -> None:
            seen.append(threading.get_ident())
            handle(event)

        monkeypatch.setattr(app, "handle_event", record)
        event = RegistrationEvent("lab", "registered", 200, "OK", 300)
        sender = threading.Thread(target=engines.engine.emit, args=(event,), name="sip-engine")
        sender.start()
        sender.join(5)
        await until(pilot, lambda: app.model.accounts["lab"].reg == event)
        assert seen == [ui_thread]
        assert sender.ident != ui_thread


@async_test
async def test_traces_are_batched(monkeypatch: Any) -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        batches: list[int] = []
        add = app.main.add_traces

        def count(traces: Any) -> bool:
            batches.append(len(traces))
            return add(traces)

        monkeypatch.setattr(app.main, "add_traces", count)
        posted: list[int] = []
        post = app.post_message

        def spy(message: Any) -> bool:
            if isinstance(message, TracesPending):
                posted.append(1)
            return post(message)

        monkeypatch.setattr(app, "post_message", spy)
        n = 2000

        def burst() -> None:
            for i in range(n):
                engines.engine.emit(trace(i))

        sender = threading.Thread(target=burst, name="sip-engine")
        sender.start()
        sender.join(10)
        await until(pilot, lambda: sum(batches) == n)
        kept = app.traces_for(None)  # what the ladder gets: the pane's store, not a copy in the app
        assert len(kept) == n and not app.early_traces
        # One wake-up per batch, not per message; the pane repaints once per batch.
        assert len(posted) == len(batches) < n / 20, (len(posted), len(batches))
        assert [t.raw for t in kept[:2]] == [trace(0).trace.raw, trace(1).trace.raw]


@async_test
async def test_commands_to_a_stopped_engine_are_notices() -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        engines.engine.stop()
        ok = await app.bridge.do("hang up", lambda e: e.hangup(1))
        assert ok is False
        await until(pilot, lambda: bool(app._notifications))
        assert "not running" in [n.message for n in app._notifications][-1]


@async_test
async def test_ladder_opens_from_the_key_and_from_the_log_pane(memory_keyring: Any) -> None:
    app, engines = make_app(extra=[(LAB, "pw")])
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot, engines, accounts=1)
        for i in range(3):
            engines.engine.emit(trace(i))
        await until(pilot, lambda: len(app.traces_for(None)) == 3)
        await pilot.press("f9")
        await until(pilot, lambda: type(app.screen).__name__ == "LadderScreen")
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "MainScreen")
        pane = app.main.siplog
        assert pane is not None
        pane.post_message(type(pane).OpenLadder(None))  # type: ignore[attr-defined]
        await until(pilot, lambda: type(app.screen).__name__ == "LadderScreen")
