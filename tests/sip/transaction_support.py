"""Shared pieces of the transaction tests: real messages and a runner for scenario tables.

Messages are parsed from bytes with the real parser, so the transactions see exactly what the
transport would hand them. A scenario is rows of (time, input, expected actions, expected state);
actions are shown as short strings ("send INVITE", "start A 1.5", ...) so the tables read like the
RFC figures and a failure names the row.
"""

from __future__ import annotations

from collections.abc import Sequence

from softphone.sip.build import make_response
from softphone.sip.message import SipRequest, SipResponse, parse_message
from softphone.sip.transaction import (
    Action,
    ClientTransaction,
    Deliver,
    Send,
    ServerTransaction,
    StartTimer,
    StopTimer,
    Terminated,
    Timeout,
    TimerName,
    TransportFailed,
)


def request(
    method: str = "INVITE",
    *,
    branch: str | None = "z9hG4bK-abc123",
    sent_by: str = "127.0.0.1:5070",
    cseq: int = 1,
    to_tag: str | None = None,
    extra: str = "",
) -> SipRequest:
    """A parsed request; `branch=None` leaves the Via without a branch (RFC 2543 style)."""
    via = f"SIP/2.0/UDP {sent_by}" + (f";branch={branch}" if branch is not None else "")
    to = "<sip:bob@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    text = (
        f"{method} sip:bob@127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:alice@127.0.0.1>;tag=from-1\r\n"
        f"To: {to}\r\n"
        "Call-ID: call-1@127.0.0.1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"{extra}"
        "Content-Length: 0\r\n\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, SipRequest)
    return message


def response(req: SipRequest, status: int, to_tag: str = "to-1") -> SipResponse:
    """A response to `req` as it would arrive from the wire (serialised and parsed again)."""
    message = parse_message(make_response(req, status, to_tag=to_tag).to_bytes())
    assert isinstance(message, SipResponse)
    return message


def show(actions: Sequence[Action]) -> list[str]:
    out: list[str] = []
    for action in actions:
        match action:
            case Send(message) | Deliver(message):
                verb = "send" if isinstance(action, Send) else "deliver"
                what = message.method if isinstance(message, SipRequest) else message.status
                out.append(f"{verb} {what}")
            case StartTimer(timer, deadline):
                out.append(f"start {timer.value} {round(deadline, 6):g}")
            case StopTimer(timer):
                out.append(f"stop {timer.value}")
            case Timeout():
                out.append("timeout")
            case TransportFailed():
                out.append("transport failed")
            case Terminated():
                out.append("terminated")
    return out


Row = tuple[float, str, list[str], str]


def step(
    txn: ClientTransaction | ServerTransaction, now: float, what: str, ack: SipRequest | None
) -> list[Action]:
    """Apply one scenario input: start, recv NNN, respond NNN, retransmit, ACK, fire X,
    transport error."""
    verb, _, arg = what.partition(" ")
    if what == "transport error":
        return txn.transport_error(now)
    if verb == "fire":
        return txn.fire(TimerName(arg), now)
    if isinstance(txn, ClientTransaction):
        if verb == "start":
            return txn.start(now)
        assert verb == "recv", what
        return txn.receive(response(txn.request, int(arg)), now)
    if verb == "respond":
        return txn.respond(response(txn.request, int(arg)), now)
    if verb == "retransmit":
        return txn.receive(txn.request, now)
    assert verb == "ACK" and ack is not None, what
    return txn.receive(ack, now)


def run(
    txn: ClientTransaction | ServerTransaction, rows: Sequence[Row], ack: SipRequest | None = None
) -> list[list[Action]]:
    """Play the rows; every row's actions and resulting state must match exactly."""
    played: list[list[Action]] = []
    for i, (now, what, expected, state) in enumerate(rows):
        actions = step(txn, now, what, ack)
        assert (show(actions), txn.state) == (expected, state), f"row {i}: {what} at {now}"
        played.append(actions)
    return played
