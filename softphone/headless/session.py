"""One headless run: the account, its password, the engine, the trace file, the history.

The engine calls the sink (EventInbox.sink) on its own thread; the sink only stores the event,
and the command's thread takes events with `next_event(deadline)` (waits are deadlines on that
queue, never sleeps). Everything that must happen for every event happens there: SIP messages
appended to `--trace` (masked by SipTrace.to_json), calls written to the history, events
printed as JSON lines. After `close()` stops the engine (hang up, unregister), what is still
stored (the un-REGISTER and its 200) is handled the same way, so the trace ends with them.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from softphone.account_cli import PasswordError, resolve_password
from softphone.config import AccountConfig, AudioSettings, ConfigError, load_settings
from softphone.engine.errors import EngineError
from softphone.engine.events import (
    AudioLevelEvent,
    AudioStateEvent,
    CallEvent,
    EngineErrorEvent,
    Event,
    LogEvent,
    RegistrationEvent,
    TraceEvent,
    TransportEvent,
)
from softphone.engine.types import EngineAccount
from softphone.engine_account import LocalAddress, headless_options, to_engine_account
from softphone.headless.output import Output
from softphone.headless.parsing import UsageError
from softphone.history import History, HistoryError
from softphone.providers import AccountInvalid, EffectiveAccount, effective

if TYPE_CHECKING:
    from softphone.engine.engine import Engine

T = TypeVar("T")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
COMMAND_TIMEOUT = 10.0  # seconds for one engine command (they run in milliseconds)
_IDLE_CHECK = 0.5  # seconds between engine liveness checks while waiting without a deadline


class EventInbox:
    """Where the engine's sink puts events (engine thread) and the command takes them, in order.

    Only events a command acts on wake its thread. SIP messages (kept apart, for --trace),
    pjsip's log lines and "registering" notices are stored without waking it: each wake-up
    made the command's thread compete for the GIL with the engine thread just while pjsip
    answered a challenge (measured: 401 → authenticated REGISTER 0.33 ms instead of 0.20 ms).
    They are taken whenever the command wakes anyway (another event, its idle check) and at
    the end.
    """

    def __init__(self) -> None:
        self._events: collections.deque[tuple[float, Event]] = collections.deque()
        self._traces: collections.deque[TraceEvent] = collections.deque()
        self._wake = threading.Event()

    def sink(self, event: Event) -> None:  # engine thread: stamp and store, nothing else
        if isinstance(event, TraceEvent):
            self._traces.append(event)
            return
        self._events.append((time.time(), event))
        if not _quiet(event):
            self._wake.set()

    def get(self, timeout: float) -> tuple[float, Event] | None:
        """The next non-trace event, or None after `timeout` seconds without a waking one."""
        if not self._events:
            self._wake.clear()
            if not self._events:  # re-checked after clear(): an append in between sets it
                self._wake.wait(timeout)
        return self.get_nowait()

    def get_nowait(self) -> tuple[float, Event] | None:
        try:
            return self._events.popleft()
        except IndexError:
            return None

    def traces(self) -> list[TraceEvent]:
        """The SIP messages stored so far, oldest first (and forgotten here)."""
        out = []
        while self._traces:
            out.append(self._traces.popleft())
        return out


def _quiet(event: Event) -> bool:
    """Events no command waits for: they need not wake it."""
    if isinstance(event, RegistrationEvent):
        return event.state == "registering"
    return isinstance(event, LogEvent)


class Exit(Exception):
    """How a command ends: `exit_code`, the outcome in plain words, and facts for JSON."""

    def __init__(
        self, exit_code: int, message: str, /, *, shown: bool = False, **extra: object
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message
        self.shown = shown  # already printed as progress: human mode does not repeat it
        self.extra = extra


class Session:
    """Everything one command run holds; `close()` releases it all (idempotent)."""

    def __init__(self, out: Output, name: str, password_stdin: bool) -> None:
        self.out = out
        self.name = name
        self._password_stdin = password_stdin
        self.config: AccountConfig | None = None
        self.audio = AudioSettings()
        self.account: EffectiveAccount | None = None
        self.spec: EngineAccount | None = None
        self.engine: Engine | None = None
        self.inbox = EventInbox()
        self._password: str | None = None  # held only until the EngineAccount is built
        self._trace_fd: int | None = None
        self._history: History | None = None
        self._history_failed = False

    # -- before the engine ----------------------------------------------------------------

    def load_account(self) -> EffectiveAccount:
        """The named account with every default resolved; UsageError if it cannot be used."""
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        config = settings.accounts.get(self.name)
        if config is None:
            known = ", ".join(settings.accounts) or "none yet: softphone account add ..."
            raise UsageError(f"no account {self.name!r} (accounts: {known})")
        try:
            account = effective(config)
        except AccountInvalid as exc:
            raise UsageError("; ".join(str(p) for p in exc.problems)) from None
        self.config, self.account, self.audio = config, account, settings.audio
        return account

    def prepare(self, trace: Path | None) -> None:
        """The last input checks before the engine: the password (stdin, keyring or a
        prompt), then `--trace` opened for appending (0600: it holds numbers and addresses)."""
        assert self.config is not None
        try:
            self._password = resolve_password(self.config, self._password_stdin, prompt=True)
        except PasswordError as exc:
            raise UsageError(str(exc)) from None
        if trace is None:
            return
        try:
            self._trace_fd = os.open(trace, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise UsageError(f"--trace {trace}: cannot write it ({exc.strerror or exc})") from None

    # -- the engine -----------------------------------------------------------------------

    def start(self, local: LocalAddress, *, audio: bool = False) -> None:
        """Start the engine and add the account (a registering account starts registering).
        With `audio`, calls use the configured sound devices (null audio if there are none)."""
        assert self.account is not None and self._password is not None
        self.spec = to_engine_account(self.account, self._password)
        self._password = None
        from softphone.engine.engine import Engine  # loads pjsua2: only once input is good

        bridge = None
        if audio:
            from softphone.audio import SoundBridge

            bridge = SoundBridge(self.audio)
        engine = Engine(self.inbox.sink, headless_options(self.account, local), audio=bridge)
        # Kept before start(): a Ctrl-C during start must still reach close(), which stops
        # the (non-daemon) engine thread; otherwise the process would never exit.
        self.engine = engine
        try:
            engine.start()
        except EngineError as exc:
            raise Exit(EXIT_FAILED, f"the phone engine did not start: {exc}") from None
        self.wait(engine.add_account(self.spec), "add the account")

    def wait(self, future: Future[T], what: str) -> T:
        """The result of an engine command; Exit(1) with the engine's reason if it failed."""
        try:
            return future.result(COMMAND_TIMEOUT)
        except FutureTimeout:
            raise Exit(EXIT_FAILED, f"could not {what}: the engine did not answer") from None
        except EngineError as exc:
            raise Exit(EXIT_FAILED, f"could not {what}: {exc}") from None

    def attempt(self, future: Future[T], what: str) -> bool:
        """Like wait(), for commands that may lose a race with the network (answering a call
        the caller just cancelled): a failure is a warning, not the end of the command."""
        try:
            self.wait(future, what)
        except Exit as exc:
            self.out.warn(exc.message)
            return False
        return True

    def next_event(self, deadline: float | None) -> Event | None:
        """The next event for the command (SIP messages are traced, not returned), or None
        once `deadline` (time.monotonic()) has passed."""
        while True:
            left = _IDLE_CHECK if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return None
            got = self.inbox.get(min(left, _IDLE_CHECK))
            self._write_traces()
            if got is None:
                if self.engine is not None and not self.engine.running:
                    raise Exit(EXIT_FAILED, "the phone engine stopped unexpectedly")
                continue
            if self._handle(*got):
                return got[1]

    def _write_traces(self) -> None:
        """Append the SIP messages received so far to --trace (masked by to_json)."""
        traces = self.inbox.traces()
        if traces and self._trace_fd is not None:
            text = "".join(t.trace.to_json() + "\n" for t in traces)
            os.write(self._trace_fd, text.encode("utf-8", "surrogateescape"))

    def _handle(self, at: float, event: Event) -> bool:
        """Record and print one event; True if the command should see it."""
        if isinstance(event, AudioLevelEvent):
            return False  # ten a second while a sound device runs: not for scripts
        if isinstance(event, AudioStateEvent) and event.state in ("null", "failed"):
            self.out.say(f"audio: {event.message}")
        if isinstance(event, CallEvent):
            self._record(event, at)
        elif isinstance(event, EngineErrorEvent):
            self.out.warn(f"engine: {event.where}: {event.message}")
        elif isinstance(event, TransportEvent) and event.explanation and not event.verify_ok:
            self.out.warn(event.explanation)
        self.out.event(event)
        return True

    def _record(self, event: CallEvent, at: float) -> None:
        if self._history_failed:
            return
        try:
            if self._history is None:
                self._history = History()
            self._history.record(event, at)
        except (HistoryError, OSError) as exc:
            self._history_failed = True  # say it once; the call itself goes on
            self.out.warn(f"call history not written: {exc}")

    def close(self) -> None:
        """Stop the engine (hang up, unregister), handle what it still reported, close files."""
        engine, self.engine = self.engine, None
        if engine is not None and not engine.stop(timeout=15):
            self.out.warn("the phone engine did not stop in time")
        while (got := self.inbox.get_nowait()) is not None:
            self._handle(*got)
        self._write_traces()
        if self._trace_fd is not None:
            os.close(self._trace_fd)
            self._trace_fd = None
        if self._history is not None:
            self._history.close()
            self._history = None
