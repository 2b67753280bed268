"""End-to-end: the real TUI on the real pjsua2 engine, registered to our real registrar.

Run as `python -m tests.ui.e2e_driver PORT RTP_START RESULT.json` (one pjsua2 Endpoint per
process, engine-notes §2, so never inside the pytest process). Two accounts, alice and bob, on
the registrar at 127.0.0.1:PORT, which is also the forking proxy. The script drives the app with
keys like a user: waits for both registrations, dials bob from alice in the dialer, answers the
incoming-call dialog with the answer key, checks both legs connected, hangs up with the hang-up
key, opens the ladder, and quits (which unregisters and stops the engine). What it saw goes to
RESULT.json; the exit code is 0 only if every step happened in time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from softphone.config import AccountConfig, Settings
from softphone.engine.types import EngineOptions
from softphone.ui.app import SoftphoneApp

STEP_TIMEOUT = 15.0


def account(name: str, port: int) -> AccountConfig:
    return AccountConfig(
        name=name,
        provider="generic",
        username=name,
        domain="127.0.0.1",
        registrar=f"sip:127.0.0.1:{port}",
        outbound_proxy=f"sip:127.0.0.1:{port}",
        expires=120,
    )


async def until(pilot: Pilot[Any], what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for: {what}")
        await pilot.pause(0.02)


async def drive(port: int, rtp_start: int, result: dict[str, Any]) -> None:
    def make_engine(sink: Any) -> Any:
        from softphone.engine import Engine

        options = EngineOptions(bind_host="127.0.0.1", rtp_port_start=rtp_start, rtp_port_range=20)
        return Engine(sink, options)

    extra = [(account("alice", port), "alice-pw"), (account("bob", port), "bob-pw")]
    app = SoftphoneApp(
        Settings(default_account="alice"),
        engine_factory=make_engine,
        extra_accounts=extra,
        title="softphone e2e",
    )
    async with app.run_test(size=(120, 40)) as pilot:
        model = app.model

        def reg(name: str) -> str | None:
            view = model.accounts[name]
            return view.reg.state if view.reg is not None else None

        await until(
            pilot,
            "alice and bob registered",
            lambda: reg("alice") == "registered" and reg("bob") == "registered",
        )
        result["registered"] = True
        result["devices_alice"] = len(model.accounts["alice"].bindings)

        app.main.dialer.focus_input()
        await pilot.press(*"bob", "enter")
        await until(
            pilot,
            "incoming call dialog on bob",
            lambda: type(app.screen).__name__ == "IncomingCallDialog",
        )
        await pilot.press(app.key_of("answer"))
        await until(
            pilot,
            "both legs connected",
            lambda: sorted(
                c.event.direction for c in model.calls.values() if c.event.state == "confirmed"
            )
            == ["in", "out"],
        )
        result["connected"] = {c.event.direction: c.event.codec for c in model.calls.values()}
        result["calls_table_rows"] = app.main.calls.table.row_count

        out = next(c for c in model.calls.values() if c.event.direction == "out")
        app.main.calls.table.move_cursor(row=app.main.calls.table.get_row_index(str(out.handle)))
        await pilot.press(app.key_of("hangup"))
        await until(
            pilot,
            "both legs ended",
            lambda: all(c.event.state == "disconnected" for c in model.calls.values()),
        )
        result["ended"] = sorted(c.event.code for c in model.calls.values())

        await until(pilot, "traces in the log", lambda: len(app.traces_for(None)) > 0)
        summaries = {t.summary for t in app.traces_for(None)}
        result["trace_summaries"] = sorted(summaries)
        await pilot.press(app.key_of("ladder"))
        await until(pilot, "ladder screen", lambda: type(app.screen).__name__ == "LadderScreen")
        await pilot.press("escape")
        await until(pilot, "back to main", lambda: type(app.screen).__name__ == "MainScreen")

        notices = [n.message for n in app._notifications]
        result["notices"] = notices
        await pilot.press(app.key_of("quit"))
        await until(pilot, "engine stopped", lambda: not app.bridge.running)
    result["engine_stopped"] = not app.bridge.running
    result["return_code"] = app.return_code


def main() -> int:
    port, rtp_start, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    result: dict[str, Any] = {}
    try:
        asyncio.run(drive(port, rtp_start, result))
        result["ok"] = True
    except Exception as exc:
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {exc}"
    out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
