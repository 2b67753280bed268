"""Server transactions (RFC 3261 §17.2 with RFC 6026 §7.1): the state tables of figs. 7 and 8.

A server transaction absorbs retransmitted requests (answering each with the last response),
retransmits an INVITE's non-2xx final over UDP until the ACK comes (Timers G and H), and then
lingers to absorb ACK or request retransmissions (I and J). RFC 6026 adds "Accepted" for an
INVITE's 2xx: the transaction stays to absorb INVITE retransmissions and to carry the TU's own 2xx
retransmissions, instead of vanishing and letting them create a new transaction (Timer L).

Each table maps `(state, event) -> transition`; events are "request" (a retransmission), "ACK",
"TU 1xx", "TU 2xx", "TU 300-699" and `TimerName` members. A pair missing from a table is an event
the figure does not expect in that state and is ignored (no actions); "absorb" rows name the
ignores the RFC spells out. A transport error ends the transaction in any state (base class).

Matching (§17.2.3) lives here too: `server_key` for requests and ACKs, `cancel_key` for CANCEL.
"""

from __future__ import annotations

from collections.abc import Callable

from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.transaction_base import (
    T1,
    T2,
    T4,
    Action,
    Deliver,
    Event,
    Message,
    Send,
    TimerName,
    Transaction,
)
from softphone.sip.via import MAGIC_COOKIE

ServerKey = tuple[str, str, int | None, str]


class ServerTransaction(Transaction):
    """INVITE (RFC 6026 fig. 5) or non-INVITE (RFC 3261 fig. 8) server transaction.

    It sends nothing by itself on creation: the TU must pass a 100 Trying to `respond` within
    200 ms for an INVITE it will not answer sooner (§17.2.1).
    """

    __slots__ = ("_last", "invite", "key")

    def __init__(
        self,
        request: SipRequest,
        *,
        reliable: bool,
        t1: float = T1,
        t2: float = T2,
        t4: float = T4,
    ) -> None:
        if request.method == "ACK":
            # An ACK matches an INVITE transaction or goes to the TU; it never creates one.
            raise ValueError("ACK does not create a server transaction (RFC 3261 §17.2.3)")
        super().__init__(request, reliable, t1, t2, t4)
        self.key: ServerKey = server_key(request)
        self.invite = request.method == "INVITE"
        self.state = "proceeding" if self.invite else "trying"
        self._table = _SERVER_INVITE if self.invite else _SERVER_NON_INVITE
        self._last: Message | None = None  # the response a retransmitted request gets again

    def receive(self, request: SipRequest, now: float) -> list[Action]:
        """A retransmitted request or (INVITE only) an ACK that matched this transaction."""
        method = request.method
        if method == self.request.method:
            return self._dispatch("request", request, now)
        if method == "ACK" and self.invite:
            return self._dispatch("ACK", request, now)
        return []  # e.g. a CANCEL: its own transaction (§9.2), never a retransmission of this one

    def respond(self, response: SipResponse, now: float) -> list[Action]:
        status = response.status
        event = "TU 1xx" if status < 200 else "TU 2xx" if status < 300 else "TU 300-699"
        return self._dispatch(event, response, now)

    # -- transitions --
    def _resend_last(self, msg: Message, now: float) -> list[Action]:
        return [] if self._last is None else [Send(self._last)]

    def _send_provisional(self, msg: Message, now: float) -> list[Action]:
        self._last = msg
        self.state = "proceeding"
        return [Send(msg)]

    def _send(self, msg: Message, now: float) -> list[Action]:
        return [Send(msg)]

    def _deliver(self, msg: Message, now: float) -> list[Action]:
        return [Deliver(msg)]

    def _invite_accepted(self, msg: Message, now: float) -> list[Action]:
        # RFC 6026 §7.1: stay (as Accepted) to absorb INVITE retransmissions and to send the
        # TU's 2xx retransmissions; the TU, not the transaction, retransmits the 2xx.
        out: list[Action] = [Send(msg)]
        self.state = "accepted"
        self._arm(out, TimerName.L, now, 64 * self.t1)
        return out

    def _invite_rejected(self, msg: Message, now: float) -> list[Action]:
        self._last = msg
        out: list[Action] = [Send(msg)]
        self.state = "completed"
        if not self.reliable:
            self._interval = self.t1
            self._arm(out, TimerName.G, now, self.t1)
        self._arm(out, TimerName.H, now, 64 * self.t1)
        return out

    def _resend_final(self, msg: Message, now: float) -> list[Action]:
        # Timer G: T1 doubling, capped at T2 (§17.2.1).
        out: list[Action] = [] if self._last is None else [Send(self._last)]
        self._retransmit(out, TimerName.G, now, self.t2)
        return out

    def _confirmed(self, msg: Message, now: float) -> list[Action]:
        out: list[Action] = []
        self._disarm(out, TimerName.G, TimerName.H)
        self.state = "confirmed"
        return self._linger(out, TimerName.I, now, self.t4)

    def _non_invite_completed(self, msg: Message, now: float) -> list[Action]:
        self._last = msg
        out: list[Action] = [Send(msg)]
        self.state = "completed"
        return self._linger(out, TimerName.J, now, 64 * self.t1)


_ServerTable = dict[tuple[str, Event], Callable[[ServerTransaction, Message, float], list[Action]]]
_S = ServerTransaction

# RFC 3261 fig. 7 as amended by RFC 6026 fig. 5.
_SERVER_INVITE: _ServerTable = {
    ("proceeding", "request"): _S._resend_last,  # the last provisional, if any
    ("proceeding", "TU 1xx"): _S._send_provisional,
    ("proceeding", "TU 2xx"): _S._invite_accepted,
    ("proceeding", "TU 300-699"): _S._invite_rejected,
    ("completed", "request"): _S._resend_last,
    ("completed", TimerName.G): _S._resend_final,
    ("completed", TimerName.H): _S._timeout,
    ("completed", "ACK"): _S._confirmed,
    ("confirmed", "request"): _S._absorb,
    ("confirmed", "ACK"): _S._absorb,
    ("confirmed", TimerName.I): _S._terminate,
    ("accepted", "request"): _S._absorb,  # RFC 6026 §7.1: the TU's 2xx retransmits answer it
    ("accepted", "ACK"): _S._deliver,  # RFC 6026 §7.1: an ACK that matches goes to the TU
    ("accepted", "TU 2xx"): _S._send,  # 2xx retransmissions and 2xx of other dialogs
    ("accepted", TimerName.L): _S._terminate,
}

# RFC 3261 fig. 8.
_SERVER_NON_INVITE: _ServerTable = {
    ("trying", "request"): _S._absorb,  # nothing sent yet: nothing to resend (§17.2.2)
    ("trying", "TU 1xx"): _S._send_provisional,
    ("trying", "TU 2xx"): _S._non_invite_completed,
    ("trying", "TU 300-699"): _S._non_invite_completed,
    ("proceeding", "request"): _S._resend_last,
    ("proceeding", "TU 1xx"): _S._send_provisional,
    ("proceeding", "TU 2xx"): _S._non_invite_completed,
    ("proceeding", "TU 300-699"): _S._non_invite_completed,
    ("completed", "request"): _S._resend_last,
    ("completed", TimerName.J): _S._terminate,
}


# -- matching (§17.2.3, §9.2) --
def server_key(request: SipRequest) -> ServerKey:
    """§17.2.3: branch, sent-by and method, with ACK matching its INVITE."""
    return _server_key(request, "INVITE" if request.method == "ACK" else request.method)


def cancel_key(cancel: SipRequest) -> ServerKey:
    """The key of the INVITE server transaction a CANCEL targets (§9.2: §17.2.3 with INVITE)."""
    return _server_key(cancel, "INVITE")


def _server_key(request: SipRequest, method: str) -> ServerKey:
    via = request.top_via
    branch = via.branch
    if branch is None or not branch.startswith(MAGIC_COOKIE):
        # RFC 2543 peer: its branch is not unique. A simplification of the §17.2.3 fallback:
        # Call-ID, From tag, CSeq number and the top Via (branch here, sent-by below). It leaves
        # out the Request-URI and To tag, which do not change between retransmissions; it keeps
        # INVITE, its ACK and its CANCEL on one key because all three share these values.
        from_tag = request.from_addr.tag or ""
        branch = f"rfc2543|{request.call_id}|{from_tag}|{request.cseq.number}|{branch or ''}"
    host, port = via.sent_by
    return (branch, host, port, method)
