"""SIP capture and pjsua's warnings: the log file becomes TraceEvents, warnings LogEvents.

pjsua writes every log entry to its log file (logtap.py: each SIP message is exactly one entry,
§6) and calls `write` only for warnings and errors (consoleLevel 2), on the engine thread
(mainThreadOnly, libCreate on that thread: §1). The writer object must stay referenced by
Python for as long as the library lives: a writer kept only by the config segfaulted inside
libInit (§2). The core holds it.

Nothing SIP-related crosses into Python while pjsip works: the file is read by `drain`, which
the poll loop calls once SIP has settled, interleaved with the state events put off until then
(core.later marks each with `LogTap.mark()`, a position in the log), so every state event
comes right after the traces that explain it and sees the dialog state of its own moment.
Nothing here calls back into pjsua2; what needs pjsua2 (a call snapshot after a new early
dialog) is flagged and done by the poll loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import pjsua2 as pj

from softphone.engine.dialogs import DialogWatcher
from softphone.engine.events import Event, LogEvent, TraceEvent
from softphone.engine.logtap import LogTap
from softphone.sip.message import SipRequest
from softphone.sip.pjlog import is_message_entry, parse_log_entry
from softphone.sip.trace import SipTrace

RECENT_LINES = 400  # ring of recent non-message log lines, for diagnostics


class TraceWriter(pj.LogWriter):  # type: ignore[misc]
    """pjsua's warnings as they happen, and its log file turned into traces on `drain`."""

    def __init__(
        self,
        emit: Callable[[Event], None],
        watcher: DialogWatcher,
        origin_of: Callable[[SipTrace], str],
        local_of: Callable[[str], str],
        on_fork: Callable[[str], None],
        tap: LogTap,
    ) -> None:
        super().__init__()
        self._emit = emit
        self._watcher = watcher
        self._origin_of = origin_of
        self._local_of = local_of
        self._on_fork = on_fork
        self._tap = tap
        self.recent: deque[str] = deque(maxlen=RECENT_LINES)
        self.messages = 0
        self._pending: deque[tuple[int, float, bytes]] = deque()  # (end position, time, entry)

    def write(self, entry: object) -> None:
        """A warning or an error (level <= consoleLevel = 2); it is in the file as well, which
        is where `recent` picks it up."""
        try:
            text: str = entry.msg  # type: ignore[attr-defined]
            level: int = entry.level  # type: ignore[attr-defined]
            if level <= 2:
                self._emit(LogEvent(level, _strip_decor(text.rstrip("\n"))))
        except Exception as exc:  # never let an exception reach SWIG (§1)
            self.recent.append(f"log writer error: {exc!r}")

    def drain(self, upto: int | None = None) -> None:
        """Turn what pjsua logged into traces and events, in order: all of it, or what was
        logged before the position `upto` (a `LogTap.mark()`)."""
        pending = self._pending
        if upto is None or not pending or pending[-1][0] < upto:
            # Only when what is already read stops short of the mark: run_later drains once
            # per queued item, and most marks fall inside what the first drain read.
            pending.extend(self._tap.read())
        while pending and (upto is None or pending[0][0] <= upto):
            _, stamp, entry = pending.popleft()
            try:
                text = entry.decode("utf-8", "surrogateescape")
                if is_message_entry(text):
                    self._message(text, stamp)
                else:
                    self.recent.append(text.rstrip("\n"))
            except Exception as exc:  # one bad entry must not lose the rest
                self.recent.append(f"log writer error: {exc!r}")

    def _message(self, text: str, stamp: float) -> None:
        trace = parse_log_entry(text, time=stamp)
        if trace is None:
            return
        self.messages += 1
        local = trace.local or self._local_of(trace.transport)
        trace = _with(trace, local, self._origin_of(trace))
        if self._watcher.feed(trace) and trace.parsed is not None:
            self._on_fork(trace.parsed.call_id)
        self._emit(TraceEvent(trace))


def _with(trace: SipTrace, local: str, origin: str) -> SipTrace:
    if local == trace.local and origin == trace.origin:
        return trace
    return SipTrace(
        trace.time,
        trace.direction,
        trace.transport,
        local,
        trace.remote,
        trace.raw,
        trace.parsed,
        trace.error,
        origin,
    )


def _strip_decor(line: str) -> str:
    """Drop pjlib's "HH:MM:SS.mmm  sender" decoration: the event has its own time."""
    parts = line.split(None, 2)
    if len(parts) == 3 and parts[0].count(":") == 2:
        return parts[2].lstrip(".")
    return line


def our_aor(trace: SipTrace) -> str | None:
    """user@host of our side of a message: From of what we originate, To of the peer's."""
    msg = trace.parsed
    if msg is None:
        return None
    we_originate = isinstance(msg, SipRequest) == (trace.direction == "out")
    try:
        uri = (msg.from_addr if we_originate else msg.to_addr).uri
    except ValueError:
        return None
    user = getattr(uri, "user", None)
    host = getattr(uri, "host", None)
    if host is None:
        return None
    return f"{user}@{host}".lower() if user else str(host).lower()
