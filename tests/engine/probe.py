"""In-process Engine scenarios, each run in a fresh interpreter by test_lifecycle.py.

`python -m tests.engine.probe CASE` prints one JSON object with what it observed and exits;
the test checks the output and the exit code (an abort would be -6, a hang a timeout). Kept
out of the pytest process because one Endpoint per process is all pjsua2 allows (§2).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from typing import Any

from softphone.engine import (
    Engine,
    EngineAccount,
    EngineCommandError,
    EngineOptions,
    EngineStartError,
    EngineStoppedError,
)
from softphone.engine.events import Event

OPTIONS = EngineOptions(bind_host="127.0.0.1", rtp_port_start=33000, rtp_port_range=40)


def _result(**data: Any) -> None:
    print(json.dumps(data), flush=True)


def case_guards() -> None:
    events: list[Event] = []
    first = Engine(events.append, OPTIONS)
    t0 = time.monotonic()
    first.start()
    started = time.monotonic() - t0
    second = Engine(events.append, OPTIONS)
    try:
        second.start()
        refused = ""
    except EngineStartError as exc:
        refused = str(exc)
    bad_uri = ""
    first.add_account(EngineAccount("a", "sip:a@127.0.0.1", None, "a", "pw")).result(5)
    try:
        first.make_call("a", "sip:b@127.0.0.1:1;transport=bogus").result(5)
    except EngineCommandError as exc:
        bad_uri = str(exc)
    try:
        first.make_call("nobody", "sip:b@127.0.0.1").result(5)
        unknown = ""
    except EngineCommandError as exc:
        unknown = str(exc)
    on_thread = first.submit(lambda: threading.current_thread().name).result(5)
    recent = first.recent_log().result(5)
    t0 = time.monotonic()
    stopped = first.stop()
    stop_took = time.monotonic() - t0
    again = first.stop()
    try:
        first.hangup(1).result(1)
        after = ""
    except EngineStoppedError as exc:
        after = str(exc)
    restart = Engine(events.append, OPTIONS)  # a new Endpoint after libDestroy works (§2)
    restart.start()
    restarted = restart.running
    restart.stop()
    _result(
        started_s=started,
        refused=refused,
        bad_uri=bad_uri,
        unknown=unknown,
        thread=on_thread,
        recent=[line for line in recent if "pjsua version" in line or "libStart" in line][:1]
        or list(recent[:3]),
        stopped=stopped,
        stop_s=stop_took,
        again=again,
        after=after,
        restarted=restarted,
        states=[e.state for e in events if type(e).__name__ == "EngineStateEvent"],  # type: ignore[union-attr]
    )


def case_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        engine = Engine(lambda e: None, EngineOptions(bind_host="127.0.0.1", sip_port=port))
        try:
            engine.start()
            error = ""
        except EngineStartError as exc:
            error = str(exc)
    _result(error=error, running=engine.running)


def case_broken_sink() -> None:
    calls = {"n": 0}

    def sink(event: Event) -> None:
        calls["n"] += 1
        raise RuntimeError("the UI fell over")

    engine = Engine(sink, OPTIONS)
    engine.start()
    engine.add_account(EngineAccount("a", "sip:a@127.0.0.1", None, "a", "pw")).result(5)
    handle = engine.make_call("a", "sip:nobody@127.0.0.1:9").result(5)
    engine.hangup(handle).result(5)
    ok = engine.stop()
    _result(sink_calls=calls["n"], stopped=ok)


def case_forgotten_stop() -> None:
    # The main thread ends (here by an exception) without stop(): the interpreter must still
    # exit, because the engine registers a threading shutdown hook.
    engine = Engine(lambda e: None, OPTIONS)
    engine.start()
    engine.add_account(EngineAccount("a", "sip:a@127.0.0.1", None, "a", "pw")).result(5)
    engine.make_call("a", "sip:nobody@127.0.0.1:9").result(5)
    _result(started=True)
    raise SystemExit(7)


def case_private_capture() -> None:
    """pjsua's log file (the SIP capture) is open but on no disk, and read as it grows."""
    from pathlib import Path

    engine = Engine(lambda event: None, OPTIONS)
    engine.start()
    open_logs = [
        os.readlink(f"/proc/self/fd/{fd}")
        for fd in os.listdir("/proc/self/fd")
        if "softphone-pjlog-" in _link(f"/proc/self/fd/{fd}")
    ]

    def on_thread() -> dict[str, Any]:
        core = engine._core
        assert core is not None and core.tap is not None and core.endpoint is not None
        before = core.tap.mark()
        core.endpoint.utilLogWrite(3, "probe", "a line from the probe")
        return {
            "dir_left": Path(core.tap.path).parent.exists(),
            "stream": core.tap._libc.stream is not None,
            "grew": core.tap.mark() > before,
            "read": [e.decode() for _, _, e in core.tap.read() if b"from the probe" in e],
        }

    seen = engine.submit(on_thread).result(5)
    stopped = engine.stop()
    _result(open_logs=open_logs, stopped=stopped, **seen)


def case_codecs() -> None:
    """The codecs left enabled after start, by priority (pjsua offers them in that order)."""
    engine = Engine(lambda event: None, OPTIONS)
    engine.start()

    def enabled() -> list[str]:
        core = engine._core
        assert core is not None and core.endpoint is not None
        infos = [(int(c.priority), str(c.codecId)) for c in core.endpoint.codecEnum2()]
        return [codec for priority, codec in sorted(infos, reverse=True) if priority > 0]

    seen = engine.submit(enabled).result(5)
    _result(enabled=seen, stopped=engine.stop())


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    CASES[sys.argv[1]]()
