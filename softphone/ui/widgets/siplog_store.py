"""The SIP log pane's memory: compact rows, a bounded window, an incremental filter index.

A parsed SipTrace costs about 4.5 KB (headers, parsed views, caches) for 400-1,000 bytes of SIP;
at 100,000 messages that would be half a gigabyte. A row keeps only what the pane shows and
filters on (a dozen interned strings and the raw bytes) and re-parses the raw bytes when the
user opens a message or a ladder, which is rare and small. Rows have absolute sequence numbers,
so dropping the oldest rows does not renumber anything; the filter index is a compact array of
sequence numbers that grows with every matching row and is cut with the rows.

No Textual here: this is plain data, tested on its own.
"""

from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from softphone.sip.ladder import kind_of
from softphone.sip.message import SipRequest
from softphone.sip.trace import Direction, SipTrace, make_trace

DEFAULT_MAX_ROWS = 200_000
KINDS = ("request", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "unparsed")
_intern = sys.intern


class Row:
    """One message as the log pane needs it."""

    __slots__ = (
        "call_id",
        "error",
        "kind",
        "label",
        "local",
        "method",
        "origin",
        "out",
        "raw",
        "remote",
        "seq",
        "time",
        "transport",
    )

    def __init__(self, seq: int, trace: SipTrace) -> None:
        msg = trace.parsed
        self.seq = seq
        self.time = trace.time
        self.out = trace.direction == "out"
        self.transport = _intern(trace.transport)
        self.local = _intern(trace.local)
        self.remote = _intern(trace.remote)
        self.origin = _intern(trace.origin)
        self.raw = trace.raw
        self.error = trace.error
        self.kind = _intern(kind_of(trace))
        self.label = _intern(trace.summary)
        if msg is None:
            self.method = self.call_id = ""
        else:
            self.call_id = _intern(msg.call_id)
            if isinstance(msg, SipRequest):
                self.method = _intern(msg.method)
            else:
                cseq = msg.headers.get("cseq") or ""
                self.method = _intern(cseq.rpartition(" ")[2].strip())

    @property
    def first_line(self) -> str:
        end = self.raw.find(b"\r\n")
        line = self.raw if end < 0 else self.raw[:end]
        return line.decode("utf-8", "replace")

    def trace(self) -> SipTrace:
        """The full record again (the raw bytes re-parsed)."""
        direction: Direction = "out" if self.out else "in"
        trace = make_trace(
            self.time, direction, self.transport, self.local, self.remote, self.raw,
            origin=self.origin,
        )  # fmt: skip
        if self.error and trace.error != self.error:  # e.g. "truncated" from the pjsua log
            return replace(trace, error=self.error)
        return trace


@dataclass(frozen=True)
class LogFilter:
    """What the pane shows: every condition given must hold (empty = no condition).

    Text form, as typed in the pane: ``method:INVITE,BYE account:alice call:4f2a kind:4xx,5xx``
    plus free words, each of which must appear in the line (case-insensitive)."""

    methods: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()
    call: str = ""
    kinds: frozenset[str] = frozenset()
    words: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    @property
    def active(self) -> bool:
        return bool(self.methods or self.accounts or self.call or self.kinds or self.words)

    @classmethod
    def parse(cls, text: str) -> LogFilter:
        methods: set[str] = set()
        accounts: set[str] = set()
        kinds: set[str] = set()
        call = ""
        words: list[str] = []
        for token in text.split():
            name, sep, value = token.partition(":")
            values = [v for v in value.split(",") if v]
            name = name.lower()
            if sep and name in ("method", "m"):
                methods.update(v.upper() for v in values)
            elif sep and name in ("account", "a"):
                accounts.update(v.lower() for v in values)
            elif sep and name in ("call", "c"):
                call = value
            elif sep and name in ("kind", "k"):
                kinds.update(v.lower() for v in values)
            else:
                words.append(token.lower())
        return cls(
            frozenset(methods),
            frozenset(accounts),
            call,
            frozenset(kinds),
            tuple(words),
            text.strip(),
        )

    def matches(self, row: Row) -> bool:
        if self.methods and row.method not in self.methods:
            return False
        if self.accounts and row.origin.lower() not in self.accounts:
            return False
        if self.call and self.call not in row.call_id:
            return False
        if self.kinds and row.kind not in self.kinds:
            return False
        if self.words:
            line = f"{row.label} {row.first_line} {row.remote} {row.call_id} {row.origin}".lower()
            return all(word in line for word in self.words)
        return True


class TraceStore:
    """Rows by absolute sequence number, at most `max_rows`, with the filtered view."""

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.max_rows = max_rows
        self.rows: list[Row] = []
        self.base = 0  # sequence number of rows[0]
        self.filter = LogFilter()
        self.index: array[int] | None = None  # matching sequence numbers when filtering
        self.dropped = 0

    @property
    def end(self) -> int:
        """The sequence number the next row will get."""
        return self.base + len(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, seq: int) -> Row | None:
        i = seq - self.base
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def add(self, traces: Iterable[SipTrace]) -> int:
        """Append traces; returns how many of the oldest rows were dropped to stay bounded."""
        seq = self.end
        new = [Row(seq + i, trace) for i, trace in enumerate(traces)]
        self.rows.extend(new)
        if self.index is not None:
            match = self.filter.matches
            self.index.extend(row.seq for row in new if match(row))
        excess = len(self.rows) - self.max_rows
        if excess <= 0:
            return 0
        # Drop in chunks of 1/32 of the window so the list is not shifted on every batch.
        drop = min(len(self.rows), excess + max(self.max_rows // 32, 1) - 1)
        del self.rows[:drop]
        self.base += drop
        self.dropped += drop
        if self.index is not None:
            del self.index[: bisect_left(self.index, self.base)]
        return drop

    def set_filter(self, log_filter: LogFilter) -> None:
        self.filter = log_filter
        if not log_filter.active:
            self.index = None
            return
        match = log_filter.matches
        self.index = array("q", (row.seq for row in self.rows if match(row)))

    # --- the view: positions 0..count-1 over the (filtered) rows, up to `limit` ---

    def count(self, limit: int | None = None) -> int:
        """Rows in view; with `limit` (a sequence number), only those before it (pause)."""
        end = self.end if limit is None else min(limit, self.end)
        if self.index is None:
            return max(end - self.base, 0)
        return bisect_left(self.index, end)

    def seq_at(self, position: int) -> int:
        return self.base + position if self.index is None else self.index[position]

    def position_of(self, seq: int) -> int | None:
        """The view position of a sequence number (None if filtered out or dropped)."""
        if seq < self.base:
            return None
        if self.index is None:
            return seq - self.base if seq < self.end else None
        i = bisect_left(self.index, seq)
        return i if i < len(self.index) and self.index[i] == seq else None

    def position_at_or_after(self, seq: int) -> int:
        if self.index is None:
            return max(seq - self.base, 0)
        return bisect_left(self.index, seq)

    def search(
        self, pattern: str, start: int, count: int, *, backwards: bool = False
    ) -> int | None:
        """The next view position after `start` (or before, backwards) whose full message
        contains `pattern` (case-insensitive), wrapping around; None if nowhere."""
        if not pattern or count == 0:
            return None
        needle = re.compile(re.escape(pattern.encode("utf-8")), re.IGNORECASE)
        step = -1 if backwards else 1
        for i in range(1, count + 1):
            position = (start + step * i) % count
            row = self.rows[self.seq_at(position) - self.base]
            if needle.search(row.raw) is not None:
                return position
        return None

    def traces(self, call_id: str | None = None, limit: int = 5000) -> list[SipTrace]:
        """Full records of one call (or the last `limit` rows of every call), re-parsed."""
        if call_id is None:
            return [row.trace() for row in self.rows[-limit:]]
        return [row.trace() for row in self.rows if row.call_id == call_id]

    def accounts(self) -> list[str]:
        return sorted({row.origin for row in self.rows[-5000:] if row.origin})
