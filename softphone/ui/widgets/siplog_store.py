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
from typing import Final

from softphone.sip.ladder import kind_of
from softphone.sip.message import SipRequest
from softphone.sip.trace import Direction, SipTrace, make_trace

DEFAULT_MAX_ROWS = 200_000
KINDS = ("request", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", "unparsed")
_intern = sys.intern


# A row is a plain tuple of atomic values (str, bytes, float, int, bool, None): CPython's
# collector stops tracking such tuples after their first collection, so 200,000 rows add
# nothing to the full (generation 2) collections that would otherwise stall the UI for
# hundreds of milliseconds. `Row` is the readable view of one, made on demand.
SEQ: Final = 0
TIME: Final = 1
OUT: Final = 2
TRANSPORT: Final = 3
LOCAL: Final = 4
REMOTE: Final = 5
ORIGIN: Final = 6
RAW: Final = 7
ERROR: Final = 8
KIND: Final = 9
LABEL: Final = 10
METHOD: Final = 11
CALL_ID: Final = 12
RowData = tuple[int, float, bool, str, str, str, str, bytes, "str | None", str, str, str, str]


def make_row(seq: int, trace: SipTrace) -> RowData:
    msg = trace.parsed
    method = call_id = ""
    if msg is not None:
        call_id = _intern(msg.call_id)
        if isinstance(msg, SipRequest):
            method = _intern(msg.method)
        else:
            cseq = msg.headers.get("cseq") or ""
            method = _intern(cseq.rpartition(" ")[2].strip())
    return (
        seq,
        trace.time,
        trace.direction == "out",
        _intern(trace.transport),
        _intern(trace.local),
        _intern(trace.remote),
        _intern(trace.origin),
        trace.raw,
        trace.error,
        _intern(kind_of(trace)),
        _intern(trace.summary),
        method,
        call_id,
    )


class Row:
    """One message as the log pane needs it (a view of a row tuple)."""

    __slots__ = ("data",)

    def __init__(self, data: RowData) -> None:
        self.data = data

    seq = property(lambda self: self.data[SEQ])
    time = property(lambda self: self.data[TIME])
    out = property(lambda self: self.data[OUT])
    transport = property(lambda self: self.data[TRANSPORT])
    local = property(lambda self: self.data[LOCAL])
    remote = property(lambda self: self.data[REMOTE])
    origin = property(lambda self: self.data[ORIGIN])
    raw = property(lambda self: self.data[RAW])
    error = property(lambda self: self.data[ERROR])
    kind = property(lambda self: self.data[KIND])
    label = property(lambda self: self.data[LABEL])
    method = property(lambda self: self.data[METHOD])
    call_id = property(lambda self: self.data[CALL_ID])

    @property
    def first_line(self) -> str:
        raw: bytes = self.data[RAW]
        end = raw.find(b"\r\n")
        return (raw if end < 0 else raw[:end]).decode("utf-8", "replace")

    def trace(self) -> SipTrace:
        """The full record again (the raw bytes re-parsed)."""
        d = self.data
        direction: Direction = "out" if d[OUT] else "in"
        trace = make_trace(
            d[TIME], direction, d[TRANSPORT], d[LOCAL], d[REMOTE], d[RAW], origin=d[ORIGIN]
        )
        if d[ERROR] and trace.error != d[ERROR]:  # e.g. "truncated" from the pjsua log
            return replace(trace, error=d[ERROR])
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
        self.rows: list[RowData] = []
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
        return Row(self.rows[i]) if 0 <= i < len(self.rows) else None

    def add(self, traces: Iterable[SipTrace]) -> int:
        """Append traces; returns how many of the oldest rows were dropped to stay bounded."""
        seq = self.end
        new = [make_row(seq + i, trace) for i, trace in enumerate(traces)]
        self.rows.extend(new)
        if self.index is not None:
            match = self.filter.matches
            self.index.extend(data[SEQ] for data in new if match(Row(data)))
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
        self.index = array("q", (data[SEQ] for data in self.rows if match(Row(data))))

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
            data = self.rows[self.seq_at(position) - self.base]
            if needle.search(data[RAW]) is not None:
                return position
        return None

    def traces(self, call_id: str | None = None, limit: int = 5000) -> list[SipTrace]:
        """Full records of one call (or the last `limit` rows of every call), re-parsed."""
        if call_id is None:
            return [Row(data).trace() for data in self.rows[-limit:]]
        return [Row(data).trace() for data in self.rows if data[CALL_ID] == call_id]

    def accounts(self) -> list[str]:
        return sorted({data[ORIGIN] for data in self.rows[-5000:] if data[ORIGIN]})
