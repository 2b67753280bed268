"""The bridge between the engine thread and Textual's event loop (engine-notes §8, §9).

Rules it keeps, each learnt the hard way in the experiments:
- Engine → UI only through `post_message`, which is thread-safe and never blocks; the engine
  thread must never wait for the UI (`call_from_thread` from there deadlocked, §8).
- UI → engine only through `await asyncio.wrap_future(...)`; the event loop never blocks on
  `.result()`. `start()`/`stop()` run in an executor (libCreate + transports, or un-REGISTER
  + libDestroy, take from tens of ms to seconds).
- SIP traces can arrive by the hundred per second; posting one message each would flood the
  UI. They are buffered here and the UI is told once per batch (`TracesPending`); it drains
  the buffer on a short timer, so a burst costs one repaint of the log pane.
- Every engine failure becomes a `BridgeNotice` (a notification), never an exception in a
  handler: nothing the engine does may take the app down.

The engine is anything with Engine's interface (the real one or FakeEngine), made by a factory
given the sink, so this module never imports pjsua2.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, TypeVar

from textual.message import Message

if TYPE_CHECKING:  # the engine package is loaded with the engine, after the first frame
    from softphone.engine.events import AudioStateEvent, CallEvent, Event, TraceEvent
    from softphone.engine.types import EngineAccount
    from softphone.sip.trace import SipTrace

T = TypeVar("T")
U = TypeVar("U")
Severity = Literal["information", "warning", "error"]


class EngineLike(Protocol):
    """What the UI uses of `Engine` (FakeEngine has the same)."""

    @property
    def running(self) -> bool: ...
    def start(self, timeout: float = 10) -> None: ...
    def stop(self, timeout: float = 10) -> bool: ...
    def register_current_thread(self, name: str = "") -> None: ...
    def add_account(self, acc: EngineAccount) -> Future[None]: ...
    def remove_account(self, name: str) -> Future[None]: ...
    def register(self, name: str) -> Future[None]: ...
    def make_call(self, account: str, uri: str) -> Future[int]: ...
    def answer(self, call: int, code: int = 200) -> Future[None]: ...
    def reject(self, call: int, code: int = 486) -> Future[None]: ...
    def hangup(self, call: int) -> Future[None]: ...
    def hold(self, call: int) -> Future[None]: ...
    def unhold(self, call: int) -> Future[None]: ...
    def mute(self, call: int, on: bool) -> Future[None]: ...
    def send_dtmf(self, call: int, digits: str) -> Future[None]: ...
    def transfer(self, call: int, target: str) -> Future[None]: ...
    def list_calls(self) -> Future[tuple[CallEvent, ...]]: ...
    def set_audio_devices(
        self, input: str | None, output: str | None, ring: str | None = None
    ) -> Future[AudioStateEvent]: ...


EngineFactory: TypeAlias = "Callable[[Callable[[Event], None]], EngineLike]"


class PostTarget(Protocol):
    def post_message(self, message: Message) -> bool: ...


class EngineEvent(Message):
    """One engine event (not a trace), delivered on the UI thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class TracesPending(Message):
    """Traces are waiting in the bridge's buffer: drain them with `take_traces()`."""


class BridgeNotice(Message):
    """Something the user should read: an engine error, a failed command."""

    def __init__(self, text: str, severity: Severity = "error") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class EngineReady(Message):
    """The engine started (`error` None) or could not start (`error` says why)."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


@functools.cache
def _trace_event() -> type[TraceEvent]:
    """The TraceEvent class, imported on first use (the engine package loads after the first
    frame; by the time events flow it is there)."""
    from softphone.engine.events import TraceEvent

    return TraceEvent


class EngineBridge:
    """Owns the engine for the app: start, commands, events, stop."""

    def __init__(self, target: PostTarget, factory: EngineFactory) -> None:
        self._target = target
        self._factory = factory
        self.engine: EngineLike | None = None
        self._lock = threading.Lock()
        self._traces: list[SipTrace] = []
        self._pending = False
        self._stopped = False

    # -- engine thread side -----------------------------------------------------------

    def sink(self, event: Event) -> None:
        """Called on the engine thread: hand over and return at once."""
        if isinstance(event, _trace_event()):
            with self._lock:
                self._traces.append(event.trace)
                first, self._pending = not self._pending, True
            if first:
                self._target.post_message(TracesPending())
            return
        self._target.post_message(EngineEvent(event))

    def take_traces(self) -> list[SipTrace]:
        """Everything buffered since the last call (UI thread)."""
        with self._lock:
            batch, self._traces, self._pending = self._traces, [], False
        return batch

    # -- UI side ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.engine is not None and self.engine.running

    async def start(self) -> bool:
        """Create and start the engine off the event loop; posts EngineReady either way."""
        loop = asyncio.get_running_loop()
        try:
            # Made off the event loop too: the factory imports pjsua2 and the engine modules.
            engine = await loop.run_in_executor(None, self._factory, self.sink)
            self.engine = engine
            await loop.run_in_executor(None, engine.start)
            # pjlib safety net: a pjsua2 object collected on an unregistered thread aborts the
            # process (engine-notes §1, §9.4), so register the UI thread once it exists.
            engine.register_current_thread("ui")
        except Exception as exc:  # EngineStartError, or pjsua2 missing: keep the UI alive
            text = str(exc) or type(exc).__name__
            self._target.post_message(EngineReady(text))
            return False
        self._target.post_message(EngineReady(None))
        return True

    async def stop(self) -> None:
        """Hang up, unregister and destroy the engine (off the event loop); idempotent."""
        engine = self.engine
        if engine is None or self._stopped:
            return
        self._stopped = True
        await asyncio.get_running_loop().run_in_executor(None, engine.stop)

    def stop_now(self) -> None:
        """Blocking stop for after the event loop has ended (run_tui's finally)."""
        if self.engine is not None and not self._stopped:
            self._stopped = True
            self.engine.stop()

    async def send(self, label: str, command: Callable[[EngineLike], Future[T]]) -> T | None:
        """Run one engine command and return its result; a failure becomes a notice and None."""
        got = await self._run(label, command)
        return got[0] if got else None

    async def do(self, label: str, command: Callable[[EngineLike], Future[None]]) -> bool:
        """Run one engine command that returns nothing; True if it succeeded."""
        return bool(await self._run(label, command))

    async def _run(self, label: str, command: Callable[[EngineLike], Future[U]]) -> list[U]:
        """[result], or [] after a failure (already turned into a notice)."""
        engine = self.engine
        if engine is None or not engine.running:
            self.notice(f"{label}: the phone engine is not running")
            return []
        from softphone.engine.errors import EngineError

        try:
            return [await asyncio.wrap_future(command(engine))]
        except EngineError as exc:
            self.notice(f"{label}: {exc}")
        except Exception as exc:  # anything else from the engine is a bug, still not a crash
            self.notice(f"{label}: {type(exc).__name__}: {exc}")
        return []

    def notice(self, text: str, severity: Severity = "error") -> None:
        self._target.post_message(BridgeNotice(text, severity))
