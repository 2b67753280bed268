"""Run one Engine in its own process, driven by JSON lines (tests/engine/harness.py).

pjsua2 allows one Endpoint per process and some misuses abort the whole process (engine-notes
§2, §10), so every engine a test needs runs here, as `python -m tests.engine.runner OPTIONS`,
and the test sees its exit code: 0 is the only acceptable one.

stdin, one JSON object per line: {"id": N, "cmd": NAME, "args": [...], "kwargs": {...}}; NAME is
an Engine method (add_account takes the EngineAccount fields as kwargs). {"cmd": "stop"} or
EOF stops the engine and exits. stdout, one JSON object per line: {"kind": "event", "event":
{...}}, {"kind": "reply", "id": N, "ok": bool, "result" | "error": ...}, and finally
{"kind": "exit", "stopped": bool}.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from softphone.engine import Engine, EngineAccount, EngineOptions
from softphone.engine.events import Event
from softphone.engine.serialize import event_to_dict

_out_lock = threading.Lock()
COMMANDS = {
    "add_account", "remove_account", "register", "unregister", "make_call", "answer",
    "reject", "hangup", "hold", "unhold", "mute", "send_dtmf", "transfer", "play", "record",
    "call_info", "list_calls", "recent_log",
}  # fmt: skip


def _write(obj: dict[str, Any]) -> None:
    line = json.dumps(obj, default=_default) + "\n"
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def _default(value: Any) -> Any:
    if dataclasses_is(value):
        return event_to_dict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dataclasses_is(value: Any) -> bool:
    import dataclasses

    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def sink(event: Event) -> None:
    _write({"kind": "event", "t": time.time(), "event": event_to_dict(event)})


def _account(kwargs: dict[str, Any]) -> EngineAccount:
    fixed: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return EngineAccount(**fixed)


def _handle(engine: Engine, request: dict[str, Any]) -> None:
    rid = request.get("id")
    name = str(request.get("cmd"))
    args = list(request.get("args", []))
    kwargs = dict(request.get("kwargs", {}))
    try:
        if name not in COMMANDS:
            raise ValueError(f"unknown command {name!r}")
        if name == "add_account":
            future = engine.add_account(_account(kwargs))
        else:
            future = getattr(engine, name)(*args, **kwargs)
        result = future.result(float(request.get("timeout", 10)))
    except Exception as exc:
        _write({"kind": "reply", "id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    _write({"kind": "reply", "id": rid, "ok": True, "result": result})


def main(argv: list[str]) -> int:
    raw = json.loads(argv[1]) if len(argv) > 1 else {}
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    options = EngineOptions(**fields)
    engine = Engine(sink, options)
    try:
        engine.start()
    except Exception as exc:
        _write({"kind": "start_failed", "error": f"{type(exc).__name__}: {exc}"})
        return 3
    stopped = False
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if request.get("cmd") == "stop":
                break
            _handle(engine, request)
    finally:
        stopped = engine.stop(timeout=15)
        _write({"kind": "exit", "stopped": stopped})
    return 0 if stopped else 4


if __name__ == "__main__":
    sys.exit(main(sys.argv))
