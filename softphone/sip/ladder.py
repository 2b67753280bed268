"""The ladder (sequence diagram) of SIP traces, in the vocabulary of sngrep.

A VoIP engineer reads a call as a call list, then a flow: one column per address, one arrow per
message labelled with the method or "code reason", the time and the delta to the previous
message, retransmissions marked. This module computes that picture from SipTrace records, with
no UI: the Textual ladder, the text export and the Mermaid export all draw from the same Flow,
so what a user exports is what they saw.

Pure: the traces are the only input; times are the traces' own.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from softphone.sip.errors import SipParseError
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.trace import SipTrace

REQUEST = "request"
UNPARSED = "unparsed"


def kind_of(trace: SipTrace) -> str:
    """ "request", "1xx" … "6xx", or "unparsed": what the log pane and ladder colour by."""
    msg = trace.parsed
    if isinstance(msg, SipRequest):
        return REQUEST
    if isinstance(msg, SipResponse):
        return f"{msg.status // 100}xx"
    return UNPARSED


def endpoints(trace: SipTrace) -> tuple[str, str]:
    """(from address, to address) of a message, whichever side captured it."""
    local = trace.local or trace.origin or "local"
    remote = trace.remote or "remote"
    return (local, remote) if trace.direction == "out" else (remote, local)


def call_id_of(trace: SipTrace) -> str:
    return trace.parsed.call_id if trace.parsed is not None else ""


@dataclass(frozen=True, slots=True)
class Arrow:
    """One message in a flow: from column `source` to column `target`."""

    index: int
    trace: SipTrace
    source: int
    target: int
    label: str
    kind: str
    delta: float  # seconds since the previous arrow of the flow (0 for the first)
    offset: float  # seconds since the first arrow of the flow
    retransmission: bool

    @property
    def time(self) -> float:
        return self.trace.time


@dataclass(frozen=True, slots=True)
class Flow:
    """The ladder of one call (`call_id`) or of several merged (`call_id` None)."""

    call_id: str | None
    columns: tuple[str, ...]
    arrows: tuple[Arrow, ...]

    @property
    def traces(self) -> list[SipTrace]:
        return [arrow.trace for arrow in self.arrows]

    @property
    def call_ids(self) -> list[str]:
        """The Call-IDs in the flow, in order of first appearance."""
        return list(dict.fromkeys(call_id_of(a.trace) for a in self.arrows if a.trace.parsed))


def _retransmission_key(trace: SipTrace, src: str, dst: str) -> tuple[object, ...]:
    """What makes two messages "the same message sent again" (RFC 3261 §17.1.1.2, §17.2.1):
    same hop, same transaction (top Via branch, CSeq; the Call-ID too, against agents that
    reuse branches) and, for responses, same status and To tag (a second 180 with another To
    tag is another fork, not a retransmission)."""
    msg = trace.parsed
    try:
        if isinstance(msg, SipRequest):
            branch = msg.top_via.branch
            if branch:
                return ("q", src, dst, branch, msg.call_id, msg.cseq, msg.method)
        elif isinstance(msg, SipResponse):
            branch = msg.top_via.branch
            if branch:
                key = (src, dst, branch, msg.call_id, msg.cseq, msg.status, msg.to_addr.tag)
                return ("r", *key)
    except (SipParseError, ValueError):
        pass
    return ("raw", src, dst, trace.raw)


def build_flow(traces: Iterable[SipTrace], call_id: str | None = None) -> Flow:
    """The flow of one call (by Call-ID), or of every trace merged when `call_id` is None.

    Traces are ordered by time (stable, so equal times keep their capture order). When both
    ends of a hop were captured (the phone's "out" and the lab registrar's "in" of the same
    bytes), the message is drawn once.
    """
    chosen = [t for t in traces if call_id is None or call_id_of(t) == call_id]
    chosen.sort(key=lambda t: t.time)
    columns: dict[str, int] = {}
    seen: set[tuple[object, ...]] = set()
    raw_seen: set[tuple[str, str, bytes]] = set()
    captured: dict[tuple[str, str, bytes], str] = {}  # hop+bytes → direction captured
    arrows: list[Arrow] = []
    first = previous = chosen[0].time if chosen else 0.0
    for trace in chosen:
        src, dst = endpoints(trace)
        hop = (src, dst, trace.raw)
        other = captured.get(hop)
        if other is not None and other != trace.direction:
            continue  # the same datagram seen by the sender and by the receiver
        captured[hop] = trace.direction
        key = _retransmission_key(trace, src, dst)
        retransmission = key in seen or hop in raw_seen
        seen.add(key)
        raw_seen.add(hop)
        for address in (src, dst):
            if address not in columns:
                columns[address] = len(columns)
        arrows.append(
            Arrow(
                index=len(arrows),
                trace=trace,
                source=columns[src],
                target=columns[dst],
                label=trace.summary,
                kind=kind_of(trace),
                delta=trace.time - previous,
                offset=trace.time - first,
                retransmission=retransmission,
            )
        )
        previous = trace.time
    return Flow(call_id, tuple(columns), tuple(arrows))


# --- the call list ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallInfo:
    """One line of the call list (sngrep's first screen)."""

    call_id: str
    method: str  # the first request's method
    from_user: str
    to_user: str
    start: float
    end: float
    messages: int
    state: str


def _user(msg: SipRequest | SipResponse, which: str) -> str:
    try:
        addr = msg.from_addr if which == "from" else msg.to_addr
    except (SipParseError, ValueError):
        return ""
    uri = addr.uri
    user = getattr(uri, "user", None)
    host = getattr(uri, "host", None)
    if user and host:
        return f"{user}@{host}"
    return str(user or host or uri)


def _state(method: str, msgs: Sequence[SipRequest | SipResponse]) -> str:
    """sngrep-like call state from what the flow contains."""
    requests = {m.method for m in msgs if isinstance(m, SipRequest)}
    finals = [m for m in msgs if isinstance(m, SipResponse) and m.status >= 200]
    main = [m for m in finals if m.cseq.method == method]
    if method == "INVITE":
        if any(m.status < 300 for m in main):
            return "completed" if "BYE" in requests else "in call"
        if main:
            last = main[-1]
            if last.status == 487 and "CANCEL" in requests:
                return "cancelled"
            return "busy" if last.status in (486, 600) else f"rejected {last.status}"
        ringing = any(isinstance(m, SipResponse) and 180 <= m.status < 200 for m in msgs)
        return "ringing" if ringing else "setup"
    if main:
        return _text(main[-1])
    return "no response"


def _text(msg: SipResponse) -> str:
    return f"{msg.status} {msg.reason}".rstrip()


def calls(traces: Iterable[SipTrace]) -> list[CallInfo]:
    """Every Call-ID in the traces, in order of first message."""
    groups: dict[str, list[SipTrace]] = {}
    for trace in traces:
        if trace.parsed is not None:
            groups.setdefault(trace.parsed.call_id, []).append(trace)
    out: list[CallInfo] = []
    for call_id, group in groups.items():
        group.sort(key=lambda t: t.time)
        msgs = [t.parsed for t in group if t.parsed is not None]
        first_request = next((m for m in msgs if isinstance(m, SipRequest)), None)
        anchor = first_request or msgs[0]
        method = first_request.method if first_request else msgs[0].cseq.method
        out.append(
            CallInfo(
                call_id=call_id,
                method=method,
                from_user=_user(anchor, "from"),
                to_user=_user(anchor, "to"),
                start=group[0].time,
                end=group[-1].time,
                messages=len(group),
                state=_state(method, msgs),
            )
        )
    out.sort(key=lambda c: c.start)
    return out


# --- drawing (shared by the TUI and the text export) ----------------------------------------


def clock(t: float) -> str:
    """HH:MM:SS.mmm in local time, as sngrep shows it."""
    whole = int(t)
    millis = round((t - whole) * 1000)
    if millis == 1000:
        whole, millis = whole + 1, 0
    return _time.strftime("%H:%M:%S", _time.localtime(whole)) + f".{millis:03d}"


def format_delta(seconds: float) -> str:
    return f"+{seconds:.3f}s"


@dataclass(frozen=True, slots=True)
class Glyphs:
    life: str
    line: str
    dashed: str
    right: str
    left: str


UNICODE = Glyphs("│", "─", "╌", "▶", "◀")
ASCII = Glyphs("|", "-", ".", ">", "<")

GUTTER = 14  # "HH:MM:SS.mmm" over "+0.000s", right-aligned, and a space


@dataclass(frozen=True, slots=True)
class Layout:
    """Where columns and arrows go, in character cells; two rows per arrow (label, line)."""

    columns: int
    column_width: int = 24
    gutter: int = GUTTER

    @classmethod
    def for_flow(cls, flow: Flow, smallest: int = 22, widest: int = 38) -> Layout:
        """Columns wide enough for the addresses and most labels (long ones are cut)."""
        need = max((len(c) + 2 for c in flow.columns), default=smallest)
        for arrow in flow.arrows:
            span = max(abs(arrow.source - arrow.target), 1)
            extra = len(" (retrans)") if arrow.retransmission else 0
            need = max(need, -(-(len(arrow.label) + extra + 4) // span))
        return cls(len(flow.columns), max(smallest, min(need, widest)))

    @property
    def width(self) -> int:
        return self.gutter + self.columns * self.column_width

    def center(self, column: int) -> int:
        return self.gutter + column * self.column_width + self.column_width // 2

    def header(self, names: Sequence[str]) -> str:
        cells = [" " * self.gutter]
        for name in names:
            text = name if len(name) <= self.column_width - 2 else name[: self.column_width - 3]
            cells.append(text.center(self.column_width))
        return "".join(cells).rstrip()

    def lifelines(self, glyphs: Glyphs) -> list[str]:
        row = [" "] * self.width
        for column in range(self.columns):
            row[self.center(column)] = glyphs.life
        return row

    def arrow_rows(
        self, arrow: Arrow, glyphs: Glyphs = UNICODE
    ) -> tuple[str, str, tuple[int, int]]:
        """(label row, line row, (start, end) of the label in the label row)."""
        label_row = self.lifelines(glyphs)
        line_row = self.lifelines(glyphs)
        a, b = self.center(arrow.source), self.center(arrow.target)
        lo, hi = min(a, b), max(a, b)
        if lo == hi:  # a message to itself: a short hook to the right
            hi = min(lo + self.column_width // 2, self.width - 1)
        label = arrow.label + (" (retrans)" if arrow.retransmission else "")
        room = max(hi - lo - 2, 1)
        if len(label) > room:
            label = label[: max(room - 1, 1)] + "…" if room > 1 else label[:1]
        start = lo + 1 + (room - len(label)) // 2
        label_row[start : start + len(label)] = label
        fill = glyphs.dashed if arrow.retransmission else glyphs.line
        for x in range(lo + 1, hi):
            line_row[x] = fill
        if a < b:
            line_row[hi - 1] = glyphs.right
        elif a > b:
            line_row[lo + 1] = glyphs.left
        else:
            line_row[lo + 1] = glyphs.left
        stamp = clock(arrow.time).ljust(self.gutter - 1)
        delta = format_delta(arrow.delta).rjust(12).ljust(self.gutter - 1)
        label_row[: self.gutter - 1] = stamp[: self.gutter - 1]
        line_row[: self.gutter - 1] = delta[: self.gutter - 1]
        return "".join(label_row).rstrip(), "".join(line_row).rstrip(), (start, start + len(label))


def ladder_text(flow: Flow, glyphs: Glyphs = ASCII, layout: Layout | None = None) -> list[str]:
    """The ladder as plain text lines (the text export; the TUI draws the same rows)."""
    layout = layout or Layout.for_flow(flow)
    lines = [layout.header(flow.columns)]
    for arrow in flow.arrows:
        label, line, _ = layout.arrow_rows(arrow, glyphs)
        lines.extend((label, line))
    return lines
