"""Engine: the public face of the phone engine, usable from any thread.

One non-daemon engine thread owns pjsua2 (engine-notes §9): it creates the Endpoint, runs every
pjsua2 call and callback, and destroys it. Other threads talk to it through `submit(fn)`, which
queues `fn` and returns a concurrent.futures.Future (UIs `await asyncio.wrap_future(...)`, never
block on `.result()` in an event loop: §8). Events leave through `sink(event)`, called on the
engine thread with frozen plain-data dataclasses; the sink must be quick and thread-safe (a
Textual app's post_message, a queue's put).

Guards against the ways pjsua2 kills a process (§10): a second Endpoint in one process aborts,
so only one Engine runs at a time (EngineStartError otherwise); a pjsua2 object collected on an
unregistered thread aborts, so the thread calling start() is registered with pjlib as a safety
net (call `register_current_thread()` from any other thread that might hold one); the engine
thread is stopped from a threading-shutdown hook, so a program that forgets stop() (or dies of
an exception) still exits instead of hanging on the non-daemon thread.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Self, TypeVar

from softphone.engine import commands as cmd
from softphone.engine.core import Core, error_text
from softphone.engine.errors import EngineStartError, EngineStoppedError
from softphone.engine.events import AudioStateEvent, CallEvent, EngineStateEvent, Event
from softphone.engine.media import AudioBridge
from softphone.engine.types import EngineAccount, EngineOptions

T = TypeVar("T")
_active_lock = threading.Lock()
_active: Engine | None = None  # one Endpoint per process (§2)
_SYSTEM_ZONE = "/etc/localtime"


def _strip(exc: BaseException) -> BaseException:
    """Drop the traceback (and chained exceptions): their frames hold engine-thread locals."""
    exc.__traceback__ = None
    exc.__context__ = None
    exc.__cause__ = None
    return exc


def _fix_local_time_zone() -> None:
    """Set TZ to the system zone file if TZ is unset, before the engine thread exists.

    pjlib stamps every log entry (one per SIP message) with localtime(), and glibc re-reads
    the zone with two stat("/etc/localtime") calls each time unless TZ is set: two system calls
    between receiving a 401 and sending the authenticated REGISTER. With TZ naming the same
    file nothing changes but the calls. Set here, on the caller's thread, because setenv is not
    safe once other threads may read the environment.
    """
    if "TZ" not in os.environ and os.path.exists(_SYSTEM_ZONE):
        os.environ["TZ"] = ":" + _SYSTEM_ZONE
        time.tzset()


class Engine:
    """The phone engine. Create, `start()`, send commands, `stop()` (or use `with`)."""

    def __init__(
        self,
        sink: Callable[[Event], None],
        options: EngineOptions | None = None,
        audio: AudioBridge | None = None,
    ) -> None:
        self._sink = sink
        self.options = options if options is not None else EngineOptions()
        self._audio = audio
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: str | None = None
        self._stop = threading.Event()
        self._state_lock = threading.Lock()
        self._running = False
        self._core: Core | None = None  # touched on the engine thread only

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, timeout: float = 10) -> None:
        """Start the engine thread; return once libStart has run, or raise EngineStartError."""
        global _active
        with _active_lock:
            if _active is not None:
                raise EngineStartError(
                    "another Engine is running in this process; pjsua2 allows one Endpoint per "
                    "process (stop the other one first)"
                )
            if self._thread is not None:
                raise EngineStartError("this Engine was started before; create a new one")
            _active = self
        _fix_local_time_zone()
        self._thread = threading.Thread(target=self._run, name="sip-engine", daemon=False)
        self._thread.start()
        if not self._started.wait(timeout):
            self.stop(timeout)
            raise EngineStartError(f"the engine did not start within {timeout} s")
        if self._start_error is not None:
            self._thread.join(timeout)
            raise EngineStartError(self._start_error)
        with self._state_lock:
            self._running = True
        self.register_current_thread()
        # Runs before the interpreter joins non-daemon threads (threading._shutdown), so an
        # un-stopped engine is torn down properly instead of hanging the exit.
        register = getattr(threading, "_register_atexit", None)
        if register is not None:
            with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
                register(self.stop)

    def register_current_thread(self, name: str = "") -> None:
        """Register the calling thread with pjlib (safety net against GC aborts, §1, §9.4)."""
        if threading.current_thread() is self._thread or not self.running:
            return
        import pjsua2 as pj

        ep = pj.Endpoint.instance()
        if not ep.libIsThreadRegistered():
            ep.libRegisterThread(name or threading.current_thread().name)

    @property
    def running(self) -> bool:
        with self._state_lock:
            return self._running

    def stop(self, timeout: float = 10) -> bool:
        """Hang up, unregister, destroy the library; idempotent. False if the thread is stuck."""
        thread = self._thread
        if thread is None:
            return True
        with self._state_lock:
            self._running = False
        self._stop.set()
        self._jobs.put(None)
        if thread is not threading.current_thread():
            thread.join(timeout)
        return not thread.is_alive()

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

    # -- the engine thread --------------------------------------------------------------

    def _run(self) -> None:
        global _active
        core = Core(self.options, self._sink, self._audio)
        self._core = core
        try:
            try:
                core.startup()
            except BaseException as exc:
                self._start_error = error_text(exc)
                _strip(exc)
                return
            finally:
                self._started.set()
            core.emit(EngineStateEvent("started"))
            poll_ms = self.options.poll_ms
            while not self._stop.is_set():
                core.poll(poll_ms)
                self._drain(core)
        except BaseException as exc:  # the loop itself failed: report, then tear down
            core.report("engine loop", exc)
        finally:
            try:
                core.shutdown()
            except BaseException as exc:
                core.report("shutdown", exc)
            self._core = None
            with self._state_lock:
                self._running = False  # later submits fail at once instead of waiting forever
            self._fail_pending()
            with _active_lock:
                if _active is self:
                    _active = None

    def _drain(self, core: Core) -> None:
        """Run the queued commands; their callers hear back once SIP has settled.

        A command that sends SIP (REGISTER, INVITE, BYE) is answered by the far end within a
        fraction of a millisecond on a LAN. Waking the caller's thread right away would put it
        to work (a TUI redraws) just while pjsip handles that answer and replies to a
        challenge, competing for the CPU and the GIL; so when the commands logged anything,
        pjsip gets to settle first (at most SETTLE_BUDGET, core.py). A command that sent
        nothing is answered at once.
        """
        finished: list[tuple[Future[Any], BaseException | None, object]] = []
        before: int | None = None  # the log position before the first job (none: no job)
        jobs = self._jobs
        try:
            # Checked with empty() rather than by catching queue.Empty: this runs right after a
            # command sent SIP, when every microsecond keeps the far end's answer waiting.
            while not jobs.empty():
                job = jobs.get_nowait()  # the only consumer: not empty means there is one
                if job is None:
                    return
                fn, future = job
                if not future.set_running_or_notify_cancel():
                    continue
                if before is None:
                    before = core.log_mark()
                try:
                    finished.append((future, None, fn()))
                except BaseException as exc:
                    finished.append((future, _strip(exc), None))
                del fn, future, job
        finally:
            if finished and core.log_mark() != before:
                core.settle()
            for future, error, result in finished:
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)

    def _fail_pending(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None and job[1].set_running_or_notify_cancel():
                job[1].set_exception(EngineStoppedError("the engine stopped"))

    # -- commands -----------------------------------------------------------------------

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn()` on the engine thread. Never return pjsua2 objects from it."""
        future: Future[T] = Future()
        if not self.running:
            future.set_exception(EngineStoppedError("the engine is not running"))
            return future
        self._jobs.put((fn, future))
        return future

    def _core_call(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self.submit(lambda: fn(self._on_thread_core(), *args))

    def _on_thread_core(self) -> Core:
        core = self._core
        if core is None or threading.current_thread() is not self._thread:
            raise EngineStoppedError("engine commands run on the engine thread only")
        return core

    def add_account(self, acc: EngineAccount) -> Future[None]:
        return self._core_call(cmd.add_account, acc)

    def remove_account(self, name: str) -> Future[None]:
        return self._core_call(cmd.remove_account, name)

    def register(self, name: str) -> Future[None]:
        return self._core_call(cmd.register, name)

    def unregister(self, name: str) -> Future[None]:
        return self._core_call(cmd.unregister, name)

    def make_call(self, account: str, uri: str) -> Future[int]:
        return self._core_call(cmd.make_call, account, uri)

    def answer(self, call: int, code: int = 200) -> Future[None]:
        return self._core_call(cmd.answer, call, code)

    def reject(self, call: int, code: int = 486) -> Future[None]:
        return self._core_call(cmd.reject, call, code)

    def hangup(self, call: int) -> Future[None]:
        return self._core_call(cmd.hangup, call)

    def hold(self, call: int) -> Future[None]:
        return self._core_call(cmd.hold, call)

    def unhold(self, call: int) -> Future[None]:
        return self._core_call(cmd.unhold, call)

    def mute(self, call: int, on: bool) -> Future[None]:
        return self._core_call(cmd.mute, call, on)

    def send_dtmf(self, call: int, digits: str) -> Future[None]:
        return self._core_call(cmd.send_dtmf, call, digits)

    def transfer(self, call: int, target: str) -> Future[None]:
        return self._core_call(cmd.transfer, call, target)

    def play(self, call: int, wav_path: str) -> Future[None]:
        return self._core_call(cmd.play, call, wav_path)

    def record(self, call: int, wav_path: str) -> Future[None]:
        return self._core_call(cmd.record, call, wav_path)

    def call_info(self, call: int) -> Future[CallEvent]:
        return self._core_call(cmd.call_info, call)

    def list_calls(self) -> Future[tuple[CallEvent, ...]]:
        return self._core_call(cmd.list_calls)

    def recent_log(self) -> Future[tuple[str, ...]]:
        """pjsua's recent non-message log lines (up to 400), e.g. for a diagnosis screen."""
        return self._core_call(cmd.recent_log)

    def set_audio_devices(
        self, input: str | None, output: str | None, ring: str | None = None
    ) -> Future[AudioStateEvent]:
        """Switch sound devices (names as in [settings.audio], None = system default), also
        during a call; the new AudioStateEvent is returned and also sent to the sink."""
        return self._core_call(cmd.set_audio_devices, input, output, ring)

    def audio_state(self) -> Future[AudioStateEvent | None]:
        """The current AudioStateEvent (None when the engine runs without a sound bridge)."""
        return self._core_call(cmd.audio_state)
