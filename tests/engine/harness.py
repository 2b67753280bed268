"""Drive an engine running in a subprocess (tests/engine/runner.py) from a test.

One engine per process (engine-notes §2): a test that needs a caller and a callee starts two
EngineProcs. Every process is bounded in time and always ends with the test; `stop()` returns
its exit code and the tests assert it is 0 (no abort, no hang: §10).

Events arrive as dicts (softphone.engine.serialize); `wait_event` waits on a condition that a
reader thread signals for every line, never on a sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.peers.ports import free_port_block

REPO = Path(__file__).resolve().parents[2]
Event = dict[str, Any]


class EngineProcError(AssertionError):
    """The engine process did not do what the test expected (message has its output)."""


def rtp_block(size: int = 40) -> int:
    """A free even-aligned RTP port range start for one engine process."""
    return free_port_block(range(0, size, 2), kinds=("udp",)) & ~1


class EngineProc:
    """An Engine in a child process. Use as a context manager."""

    def __init__(
        self, workdir: Path, name: str, wrapper: tuple[str, ...] = (), **options: Any
    ) -> None:
        self.name = name
        self.wrapper = wrapper  # e.g. ("strace", "-f", ...) in front of the interpreter
        self.workdir = Path(workdir)
        self.options = {"bind_host": "127.0.0.1", "rtp_port_range": 40, **options}
        self.options.setdefault("rtp_port_start", rtp_block())
        self.events: list[Event] = []
        self.lines: list[dict[str, Any]] = []
        self._replies: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._next_id = 1
        self.returncode: int | None = None
        self.stderr_path = self.workdir / f"engine-{name}.stderr"

    # -- lifecycle ------------------------------------------------------------------------

    runner = "tests.engine.runner"  # the module the child runs (tests.audio.runner adds sound)

    def runner_config(self) -> str:
        """The runner's one argument (JSON)."""
        return json.dumps(self.options)

    def start(self, timeout: float = 15.0) -> Self:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("wb") as err:
            self._proc = subprocess.Popen(
                [*self.wrapper, sys.executable, "-m", self.runner, self.runner_config()],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"rd-{self.name}")
        self._reader.start()
        self.wait_event("EngineStateEvent", state="started", timeout=timeout)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = {"kind": "garbage", "text": line}
            with self._cond:
                self.lines.append(obj)
                if obj.get("kind") == "event":
                    event = obj["event"]
                    event["_t"] = obj.get("t")
                    self.events.append(event)
                elif obj.get("kind") == "reply":
                    self._replies[int(obj["id"])] = obj
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def stop(self, timeout: float = 20.0) -> int:
        """Ask the engine to stop; kill it if it does not exit in time. Returns the exit code."""
        proc = self._proc
        if proc is None:
            return self.returncode if self.returncode is not None else 0
        if proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert proc.stdin is not None
                proc.stdin.write('{"cmd": "stop"}\n')
                proc.stdin.flush()
                proc.stdin.close()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait(5)
                self.returncode = -999  # hung: never a pass
        if self.returncode is None:
            self.returncode = proc.returncode
        if self._reader is not None:
            self._reader.join(5)
        self._proc = None
        return self.returncode

    def __enter__(self) -> EngineProc:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        code = self.stop()
        if exc is None and code != 0:
            raise EngineProcError(f"engine {self.name} exited with {code}\n{self.report()}")

    # -- commands -------------------------------------------------------------------------

    def cmd(self, command: str, /, *args: Any, timeout: float = 10.0, **kwargs: Any) -> Any:
        """Run an Engine command in the child; return its result or raise EngineProcError."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise EngineProcError(f"engine {self.name} is not running")
        with self._cond:
            rid = self._next_id
            self._next_id += 1
        request = {"id": rid, "cmd": command, "args": list(args), "kwargs": kwargs}
        request["timeout"] = timeout
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        deadline = time.monotonic() + timeout + 2
        with self._cond:
            while rid not in self._replies:
                self._check_alive()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise EngineProcError(f"{self.name}: no reply to {command} in {timeout}s")
                self._cond.wait(min(left, 0.2))
            reply = self._replies.pop(rid)
        if not reply["ok"]:
            raise EngineProcError(f"{self.name}: {command} failed: {reply['error']}")
        return reply.get("result")

    def try_cmd(self, command: str, /, *args: Any, **kwargs: Any) -> str | None:
        """Run a command expected to fail; return its error text (None if it succeeded)."""
        try:
            self.cmd(command, *args, **kwargs)
        except EngineProcError as exc:
            return str(exc)
        return None

    # -- events ---------------------------------------------------------------------------

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def find(self, type_: str, since: int = 0, **fields: Any) -> list[Event]:
        with self._cond:
            return [e for e in self.events[since:] if _matches(e, type_, fields)]

    def wait_event(
        self,
        type_: str,
        timeout: float = 10.0,
        since: int = 0,
        where: Callable[[Event], bool] | None = None,
        **fields: Any,
    ) -> Event:
        """The first event of `type_` (from index `since`) whose fields match."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if _matches(event, type_, fields) and (where is None or where(event)):
                        return event
                self._check_alive()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise EngineProcError(
                        f"{self.name}: no {type_} {fields} within {timeout}s\n{self.report()}"
                    )
                self._cond.wait(min(left, 0.2))

    def wait_count(
        self, type_: str, count: int, timeout: float = 10.0, since: int = 0, **fields: Any
    ) -> list[Event]:
        """Wait until `count` matching events arrived; return them."""
        self.wait_event(
            type_, timeout, since, where=lambda e: len(self.find(type_, since, **fields)) >= count
        )
        return self.find(type_, since, **fields)[:count]

    def traces(self, since: int = 0) -> list[dict[str, Any]]:
        with self._cond:
            return [e["trace"] for e in self.events[since:] if e["type"] == "TraceEvent"]

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise EngineProcError(
                f"engine {self.name} exited with {self._proc.returncode}\n{self.report()}"
            )

    def report(self, last: int = 60) -> str:
        with self._cond:
            lines = [json.dumps(e)[:300] for e in self.events if e["type"] != "TraceEvent"]
        err = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return "\n".join(lines[-last:]) + f"\n--- stderr ---\n{err[-4000:]}"


def stop_all(started: list[EngineProc]) -> None:
    """Stop every engine a test started; fail unless each exited with 0 (no abort at
    teardown, no hang: engine-notes §2, §10). Used by the fixtures that start engines."""
    failures = []
    for proc in started:
        code = proc.stop()
        if code != 0:
            failures.append(f"engine {proc.name} exited with {code}\n{proc.report()}")
    assert not failures, "\n".join(failures)


def _matches(event: Event, type_: str, fields: dict[str, Any]) -> bool:
    return event.get("type") == type_ and all(event.get(k) == v for k, v in fields.items())


def account(
    name: str,
    user: str,
    password: str,
    domain: str,
    registrar_port: int | None,
    *,
    transport: str = "udp",
    **extra: Any,
) -> dict[str, Any]:
    """EngineAccount fields for a user of a registrar at 127.0.0.1:`registrar_port`."""
    registrar = None if registrar_port is None else f"sip:{domain}:{registrar_port}"
    if registrar and domain != "127.0.0.1":
        registrar = f"sip:127.0.0.1:{registrar_port}"
    return {
        "name": name,
        "id_uri": f"sip:{user}@{domain}",
        "registrar_uri": registrar,
        "username": user,
        "password": password,
        "transport": transport,
        **extra,
    }
