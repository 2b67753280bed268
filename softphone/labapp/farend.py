"""The lab's far end: one pjsua2 engine process whose users answer the way test lines do.

`python -m softphone.labapp.farend --port P --tone FILE` registers the numbers of
softphone.labapp.demo with the lab registrar at 127.0.0.1:P and then lives until its stdin closes
(the lab closes it to stop us, and it closes by itself if the lab dies, so no orphan is left).
It runs in its own process because pjsua2 allows one Endpoint per process (engine-notes §2) and
the TUI has its own. It never imports pjsua2 itself (the lab package must not, design.md): the
engine does, and the echo works through the engine's AudioBridge seam (see LoopbackBridge).

stdout is a protocol, one JSON object per line: {"kind": "started"}, {"kind": "registered",
"account": A, "code": C} (or "failed"), {"kind": "ready"} once every number is registered,
{"kind": "call", "account": A, "what": ...}, {"kind": "error", "message": M} and finally
{"kind": "exit"}. Human-readable log lines go to stderr (the lab sends them to a log file).
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from softphone.engine.events import (
    CallEvent,
    EngineErrorEvent,
    Event,
    IncomingCallEvent,
    LogEvent,
    RegistrationEvent,
)
from softphone.engine.types import EngineAccount, EngineOptions
from softphone.labapp import demo
from softphone.labapp.tone import write_tone

_STOP = object()  # queue item: stdin closed or a signal came


class LoopbackBridge:
    """An AudioBridge that loops the audio of chosen calls back to themselves.

    The engine calls `connect(call_audio)` on its thread when a call's audio goes live and then,
    on the same thread and before anything else can happen, publishes that call's CallEvent
    (EngineCall._media_changed). So the audio waiting here belongs to the next CallEvent the
    sink sees, and the sink decides: an echo call gets `call_audio.startTransmit(call_audio)`, a
    conference-bridge connection of the call's port to itself (pjsua's --auto-loop does the
    same). Calls that are not looped get no source: the tone line's WAV player is their only
    one. Duck-typed, so this package needs no pjsua2 import.
    """

    def __init__(self) -> None:
        self.pending: Any = None

    def open(self, endpoint: Any) -> None:
        """Nothing to create: the loop needs no port of its own."""

    def connect(self, call_audio: Any) -> None:
        self.pending = call_audio

    def take(self) -> Any:
        audio, self.pending = self.pending, None
        return audio

    def close(self) -> None:
        self.pending = None


class FarEnd:
    """Decides what each incoming call gets; runs on the main thread, off the engine thread."""

    def __init__(
        self,
        engine: Any,
        devices: list[demo.Device],
        tone: Path,
        out: Callable[[dict[str, Any]], None],
    ) -> None:
        self.engine = engine
        self.tone = tone
        self.out = out
        self.roles = {d.account: d.role for d in devices}
        self.call_roles: dict[int, demo.Role] = {}  # written by the sink (engine thread)
        self.registered: set[str] = set()
        self.ready_sent = False
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    # -- called on the engine thread ------------------------------------------------------

    def role_of(self, event: IncomingCallEvent) -> demo.Role | None:
        """What the called device does; pjsua picks the account by the Request-URI's user."""
        return self.roles.get(event.account)

    # -- main thread ----------------------------------------------------------------------

    def handle(self, event: Event, role: demo.Role | None) -> None:
        if isinstance(event, RegistrationEvent):
            self._registration(event)
        elif isinstance(event, IncomingCallEvent):
            self._incoming(event, role)
        elif isinstance(event, CallEvent):
            if event.state == "disconnected":
                self.call_roles.pop(event.call, None)
                what = "answered elsewhere" if event.answered_elsewhere else "ended"
                self._log(f"call {event.call} ({event.account}): {what} {event.code}")
                self.out({"kind": "call", "account": event.account, "what": what})
            elif event.state == "confirmed":
                self.out({"kind": "call", "account": event.account, "what": "confirmed"})
        elif isinstance(event, (LogEvent, EngineErrorEvent)):
            self._log(f"engine: {event}")

    def _registration(self, event: RegistrationEvent) -> None:
        if event.state == "registering":
            return
        ok = event.state == "registered"
        self._log(f"{event.account}: {event.state} {event.code} {event.reason}")
        if ok:
            self.registered.add(event.account)
        else:
            self.registered.discard(event.account)
        kind = "registered" if ok else "failed"
        if event.state in ("registered", "failed", "retrying"):
            self.out({"kind": kind, "account": event.account, "code": event.code,
                      "reason": event.reason})  # fmt: skip
        if ok and not self.ready_sent and self.registered >= set(self.roles):
            self.ready_sent = True
            self.out({"kind": "ready"})

    def _incoming(self, event: IncomingCallEvent, role: demo.Role | None) -> None:
        call = event.call
        self._log(f"call {call}: {event.remote} -> {event.account} as {role}")
        self.out({"kind": "call", "account": event.account, "what": f"incoming {role}"})
        if role == "echo":
            self._do(self.engine.answer(call))
        elif role == "tone":
            self._do(self.engine.play(call, str(self.tone)))
            self._do(self.engine.answer(call))
            self.after(demo.TONE_SECONDS + 0.3, lambda: self._do(self.engine.hangup(call)))
        elif role == "busy":
            self._do(self.engine.reject(call, 486))
        elif role == "no-answer":
            self.after(demo.NO_ANSWER_LIMIT, lambda: self._do(self.engine.reject(call, 480)))
        elif role == "multi-answer":
            self.after(demo.MULTI_ANSWER_DELAY, lambda: self._do(self.engine.answer(call)))
        elif role is None:
            self._do(self.engine.reject(call, 404))
        # multi-ring: rings until the proxy CANCELs it (another phone answered, or the caller
        # gave up): RFC 3261 §16.7 step 10.

    def _do(self, future: Any) -> None:
        """Commands on a call that has just ended fail; that is normal here, so only log."""
        future.add_done_callback(self._check)

    def _check(self, future: Any) -> None:
        exc = future.exception()
        if exc is not None:
            self._log(f"command failed: {exc}")

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._seq), action))

    def next_timeout(self) -> float | None:
        if not self._timers:
            return None
        return max(0.0, self._timers[0][0] - time.monotonic())

    def run_due(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, action = heapq.heappop(self._timers)
            action()

    def _log(self, text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} farend: {text}", file=sys.stderr, flush=True)


def accounts(devices: list[demo.Device], host: str, port: int) -> list[EngineAccount]:
    """One EngineAccount per far-end device."""
    result = []
    for device in devices:
        suffix = ";transport=tcp" if device.transport == "tcp" else ""
        result.append(
            EngineAccount(
                name=device.account,
                id_uri=f"sip:{device.user}@{host}",
                registrar_uri=f"sip:{host}:{port}{suffix}",
                username=device.user,
                password=demo.password_of(device.user),
                realm=demo.REALM,
                transport=device.transport,
                expires=3600,
                retry_first_sec=1,
                retry_interval_sec=5,
            )
        )
    return result


def _protocol_writer() -> Callable[[dict[str, Any]], None]:
    """JSON lines on a private copy of fd 1; fd 1 itself then points at stderr, so nothing a
    library prints to stdout can corrupt the protocol."""
    stream: IO[str] = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    lock = threading.Lock()

    def write(obj: dict[str, Any]) -> None:
        with lock:
            try:
                stream.write(json.dumps(obj) + "\n")
                stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # the lab is gone; stdin EOF stops us next

    return write


def _watch_stdin(items: queue.SimpleQueue[Any]) -> None:
    for _ in sys.stdin:
        pass
    items.put(_STOP)


def run(devices: list[demo.Device], port: int, host: str, tone: Path, rtp_port_start: int) -> int:
    out = _protocol_writer()
    if any(d.role == "tone" for d in devices):
        write_tone(tone, demo.TONE_HZ, demo.TONE_SECONDS)
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()
    bridge = LoopbackBridge()
    far: FarEnd | None = None

    def sink(event: Event) -> None:  # engine thread: quick, and pjsua2 only for the loop
        role = None
        if isinstance(event, IncomingCallEvent) and far is not None:
            role = far.role_of(event)
            if role is not None:
                far.call_roles[event.call] = role
        elif isinstance(event, CallEvent):
            audio = bridge.take()
            looped = far is not None and far.call_roles.get(event.call) in ("echo", "multi-answer")
            if audio is not None and looped:
                try:
                    audio.startTransmit(audio)
                except Exception as exc:  # pj.Error: say so, the call goes on without echo
                    items.put((EngineErrorEvent("echo loop", str(getattr(exc, "reason", exc))),
                               None))  # fmt: skip
        if not isinstance(event, (IncomingCallEvent, CallEvent, RegistrationEvent, LogEvent,
                                  EngineErrorEvent)):  # fmt: skip
            return  # traces: the far end's own messages are not shown anywhere
        items.put((event, role))

    options = EngineOptions(
        bind_host=host,
        rtp_port_start=rtp_port_start,
        rtp_port_range=200,
        user_agent="softphone-lab-farend/0.1",
        max_calls=16,
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: items.put(_STOP))
    threading.Thread(target=_watch_stdin, args=(items,), daemon=True, name="stdin").start()
    try:
        from softphone.engine import Engine  # loads pjsua2: only in this process

        engine = Engine(sink, options, audio=bridge)
        far = FarEnd(engine, devices, tone, out)
        engine.start()
    except Exception as exc:
        out({"kind": "error", "message": f"the far end's SIP engine did not start: {exc}"})
        return 1
    try:
        out({"kind": "started"})
        for account in accounts(devices, host, port):
            engine.add_account(account).result(10)
        while True:
            try:
                item = items.get(timeout=far.next_timeout())
            except queue.Empty:
                far.run_due()
                continue
            if item is _STOP:
                break
            far.handle(*item)
            far.run_due()
    except Exception as exc:
        out({"kind": "error", "message": f"far end: {exc}"})
        return 1
    finally:
        engine.stop()  # hangs up, unregisters (waits for the 200s), destroys the library
        out({"kind": "exit"})
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m softphone.labapp.farend", description=__doc__)
    p.add_argument("--port", type=int, required=True, help="the lab registrar's UDP/TCP port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--tone", type=Path, required=True, help="tone WAV (written if missing)")
    p.add_argument("--rtp-port", type=int, default=41000, help="first RTP port")
    names = ", ".join(d.account for d in demo.DEVICES)
    p.add_argument("--devices", help=f"comma-separated subset of: {names} (default: all)")
    args = p.parse_args(argv)
    by_name = {d.account: d for d in demo.DEVICES}
    wanted = args.devices.split(",") if args.devices else list(by_name)
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        p.error(f"unknown device(s) {', '.join(unknown)}; choose from {names}")
    return run([by_name[n] for n in wanted], args.port, args.host, args.tone, args.rtp_port)


if __name__ == "__main__":
    sys.exit(main())
