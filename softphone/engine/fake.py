"""FakeEngine: the Engine's public interface without pjsua2, for UI tests.

It records every command it receives (`commands`, as (name, args) tuples), answers with
completed Futures, and lets the test play the network: `emit(event)` sends an event to the sink
as the real engine would. By default commands succeed and make_call returns a new call handle;
`fail(name, message)` makes the next call of a command fail with EngineCommandError, the way
the real engine reports pjsua2 errors. Events are delivered synchronously, on the thread that
calls emit(); a UI must not rely on the thread anyway (it posts them to its own loop).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Self, TypeVar

from softphone.engine.errors import EngineCommandError, EngineStartError, EngineStoppedError
from softphone.engine.events import AudioStateEvent, CallEvent, EngineStateEvent, Event
from softphone.engine.types import EngineAccount, EngineOptions

T = TypeVar("T")


def _done(value: Any = None) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def _failed(exc: BaseException) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(exc)
    return future


class FakeEngine:
    """Stands in for `Engine` (same methods and signatures)."""

    def __init__(
        self,
        sink: Callable[[Event], None],
        options: EngineOptions | None = None,
        audio: object | None = None,
    ) -> None:
        self._sink = sink
        self.options = options if options is not None else EngineOptions()
        self.commands: list[tuple[str, tuple[Any, ...]]] = []
        self.accounts: dict[str, EngineAccount] = {}
        self.calls: dict[int, CallEvent] = {}  # last CallEvent emitted per call
        self._failures: dict[str, str] = {}
        self.log_lines: list[str] = []  # what recent_log() returns
        # What audio_state() returns; set_audio_devices() records the names in it.
        self.audio_state_value: AudioStateEvent | None = AudioStateEvent(
            "null", "No audio device: calls will be silent (null audio)"
        )
        self._next_call = 1
        self._lock = threading.Lock()
        self._running = False
        self._started = False

    # -- test controls ------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        """Deliver `event` to the sink, as if the engine thread had produced it."""
        if isinstance(event, CallEvent):
            self.calls[event.call] = event
        self._sink(event)

    def fail(self, command: str, message: str) -> None:
        """Make the next `command` fail with EngineCommandError(command, message)."""
        self._failures[command] = message

    def names(self) -> list[str]:
        """The names of the commands received so far, in order."""
        return [name for name, _ in self.commands]

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = 10) -> None:
        if self._started:
            raise EngineStartError("this Engine was started before; create a new one")
        self._started = self._running = True
        self.commands.append(("start", ()))
        self._sink(EngineStateEvent("started"))

    def stop(self, timeout: float = 10) -> bool:
        if self._running:
            self._running = False
            self.commands.append(("stop", ()))
            self._sink(EngineStateEvent("stopping"))
            self._sink(EngineStateEvent("stopped"))
        return True

    @property
    def running(self) -> bool:
        return self._running

    def register_current_thread(self, name: str = "") -> None:
        return None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- commands -----------------------------------------------------------------------

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        self.commands.append(("submit", (fn,)))
        if not self._running:
            return _failed(EngineStoppedError("the engine is not running"))
        try:
            return _done(fn())
        except Exception as exc:
            return _failed(exc)

    def _command(self, name: str, *args: Any, result: Any = None) -> Future[Any]:
        with self._lock:
            self.commands.append((name, args))
            message = self._failures.pop(name, None)
        if not self._running:
            return _failed(EngineStoppedError("the engine is not running"))
        if message is not None:
            return _failed(EngineCommandError(name, message))
        return _done(result)

    def add_account(self, acc: EngineAccount) -> Future[None]:
        future = self._command("add_account", acc)
        if future.exception() is None:
            self.accounts[acc.name] = acc
        return future

    def remove_account(self, name: str) -> Future[None]:
        self.accounts.pop(name, None)
        return self._command("remove_account", name)

    def register(self, name: str) -> Future[None]:
        return self._command("register", name)

    def unregister(self, name: str) -> Future[None]:
        return self._command("unregister", name)

    def make_call(self, account: str, uri: str) -> Future[int]:
        with self._lock:
            handle = self._next_call
            self._next_call += 1
        return self._command("make_call", account, uri, result=handle)

    def answer(self, call: int, code: int = 200) -> Future[None]:
        return self._command("answer", call, code)

    def reject(self, call: int, code: int = 486) -> Future[None]:
        return self._command("reject", call, code)

    def hangup(self, call: int) -> Future[None]:
        return self._command("hangup", call)

    def hold(self, call: int) -> Future[None]:
        return self._command("hold", call)

    def unhold(self, call: int) -> Future[None]:
        return self._command("unhold", call)

    def mute(self, call: int, on: bool) -> Future[None]:
        return self._command("mute", call, on)

    def send_dtmf(self, call: int, digits: str) -> Future[None]:
        return self._command("send_dtmf", call, digits)

    def transfer(self, call: int, target: str) -> Future[None]:
        return self._command("transfer", call, target)

    def play(self, call: int, wav_path: str) -> Future[None]:
        return self._command("play", call, wav_path)

    def record(self, call: int, wav_path: str) -> Future[None]:
        return self._command("record", call, wav_path)

    def call_info(self, call: int) -> Future[CallEvent]:
        future = self._command("call_info", call, result=self.calls.get(call))
        if future.exception() is None and call not in self.calls:
            return _failed(EngineCommandError("call", f"no active call {call}"))
        return future

    def recent_log(self) -> Future[tuple[str, ...]]:
        return self._command("recent_log", result=tuple(self.log_lines))

    def list_calls(self) -> Future[tuple[CallEvent, ...]]:
        live = tuple(e for e in self.calls.values() if e.state != "disconnected")
        return self._command("list_calls", result=live)

    def set_audio_devices(
        self, input: str | None, output: str | None, ring: str | None = None
    ) -> Future[AudioStateEvent]:
        current = self.audio_state_value or AudioStateEvent("ready", "Audio")
        state = AudioStateEvent(current.state, current.message, input, output, ring or output)
        future = self._command("set_audio_devices", input, output, ring, result=state)
        if future.exception() is None:
            self.audio_state_value = state
        return future

    def audio_state(self) -> Future[AudioStateEvent | None]:
        return self._command("audio_state", result=self.audio_state_value)
