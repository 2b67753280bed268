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

import dataclasses
import json
import sys
import threading
import time
from collections.abc import Callable
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


def write(obj: dict[str, Any]) -> None:
    line = json.dumps(obj, default=_default) + "\n"
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def _default(value: Any) -> Any:
    """Events as the engine serialises them; other dataclasses (stats) field by field."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        try:
            return event_to_dict(value)  # type: ignore[arg-type]
        except (TypeError, KeyError, AttributeError):
            return dataclasses.asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def sink(event: Event) -> None:
    write({"kind": "event", "t": time.time(), "event": event_to_dict(event)})


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
        write({"kind": "reply", "id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    write({"kind": "reply", "id": rid, "ok": True, "result": result})


def options_from(raw: dict[str, Any]) -> EngineOptions:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return EngineOptions(**fields)


def main(argv: list[str]) -> int:
    raw = json.loads(argv[1]) if len(argv) > 1 else {}
    engine = Engine(sink, options_from(raw))
    return serve(engine, lambda request: _handle(engine, request))


def serve(
    engine: Engine,
    handle: Callable[[dict[str, Any]], None],
    cleanup: Callable[[], None] = lambda: None,
) -> int:
    """Start the engine, run the stdin commands through `handle` until "stop" or EOF, then
    stop it; the exit code says whether it stopped cleanly."""
    try:
        engine.start()
    except Exception as exc:
        write({"kind": "start_failed", "error": f"{type(exc).__name__}: {exc}"})
        return 3
    stopped = False
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if request.get("cmd") == "stop":
                break
            handle(request)
    finally:
        cleanup()
        stopped = engine.stop(timeout=15)
        write({"kind": "exit", "stopped": stopped})
    return 0 if stopped else 4


if __name__ == "__main__":
    sys.exit(main(sys.argv))
