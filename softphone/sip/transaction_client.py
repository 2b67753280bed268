"""Client transactions (RFC 3261 §17.1 with RFC 6026 §7.2): the state tables of figs. 5 and 6.

A client transaction owns the reliability of one outgoing request: it retransmits over UDP
(Timers A and E), gives up on silence (B and F), ACKs a non-2xx final itself and then lingers to
absorb the final's retransmissions (D and K). RFC 6026 adds "Accepted" for an INVITE's 2xx so that
retransmitted 2xx, and 2xx from other forks, still reach the TU, which ACKs each of them (Timer M).

Each table maps `(state, event) -> transition`; events are "1xx", "2xx", "300-699" for responses
and `TimerName` members for timers. A pair missing from a table is an event the figure does not
expect in that state and is ignored (no actions); "absorb" rows name the ignores the RFC spells out.
A transport error ends the transaction in any state (base class).
"""

from __future__ import annotations

from collections.abc import Callable

from softphone.sip.grammar import split_top_level
from softphone.sip.headers import Headers
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.transaction_base import (
    T1,
    T2,
    T4,
    TIMER_D_MIN,
    Action,
    Deliver,
    Event,
    Message,
    Send,
    TimerName,
    Transaction,
)

ClientKey = tuple[str, str]


class ClientTransaction(Transaction):
    """INVITE (RFC 6026 fig. 4) or non-INVITE (RFC 3261 fig. 6) client transaction."""

    __slots__ = ("_ack", "_started", "invite", "key")

    def __init__(
        self,
        request: SipRequest,
        *,
        reliable: bool,
        t1: float = T1,
        t2: float = T2,
        t4: float = T4,
    ) -> None:
        super().__init__(request, reliable, t1, t2, t4)
        branch = request.top_via.branch
        if request.method == "ACK" or not branch:
            # ACK never has a client transaction (§17.1.1.3, §13.2.2.4); a branch is how the
            # response finds us (§17.1.3), so a request without one is a programming error.
            raise ValueError("a client transaction needs a non-ACK request with a Via branch")
        self.key: ClientKey = (branch, request.method)
        self.invite = request.method == "INVITE"
        self.state = "calling" if self.invite else "trying"
        self._table = _CLIENT_INVITE if self.invite else _CLIENT_NON_INVITE
        self._ack: SipRequest | None = None
        self._started = False

    def start(self, now: float) -> list[Action]:
        """Send the request and arm A/E (UDP) and B/F (§17.1.1.2, §17.1.2.2)."""
        if self._started or self.state == "terminated":
            return []
        self._started = True
        out: list[Action] = [Send(self.request)]
        if not self.reliable:
            self._arm(out, TimerName.A if self.invite else TimerName.E, now, self.t1)
        self._arm(out, TimerName.B if self.invite else TimerName.F, now, 64 * self.t1)
        return out

    def receive(self, response: SipResponse, now: float) -> list[Action]:
        if not self._started:
            return []
        status = response.status
        event = "1xx" if status < 200 else "2xx" if status < 300 else "300-699"
        return self._dispatch(event, response, now)

    # -- transitions --
    def _resend_request(self, msg: Message, now: float) -> list[Action]:
        # Timer A doubles without a cap (§17.1.1.2); E doubles up to T2 (§17.1.2.2).
        out: list[Action] = [Send(self.request)]
        if self.invite:
            self._retransmit(out, TimerName.A, now, float("inf"))
        else:
            self._retransmit(out, TimerName.E, now, self.t2)
        return out

    def _resend_request_t2(self, msg: Message, now: float) -> list[Action]:
        # In Proceeding, E fires every T2 (§17.1.2.2).
        out: list[Action] = [Send(self.request)]
        self._arm(out, TimerName.E, now, self.t2)
        return out

    def _deliver(self, msg: Message, now: float) -> list[Action]:
        return [Deliver(msg)]

    def _invite_proceeding(self, msg: Message, now: float) -> list[Action]:
        # Retransmissions stop; B only guards Calling (§17.1.1.2).
        out: list[Action] = []
        self._disarm(out, TimerName.A, TimerName.B)
        out.append(Deliver(msg))
        self.state = "proceeding"
        return out

    def _invite_accepted(self, msg: Message, now: float) -> list[Action]:
        # RFC 6026 §8.4: a 2xx moves to Accepted so that retransmitted 2xx (and 2xx from other
        # forks) still reach the TU, which ACKs each one itself.
        out: list[Action] = []
        self._disarm(out, TimerName.A, TimerName.B)
        out.append(Deliver(msg))
        self.state = "accepted"
        self._arm(out, TimerName.M, now, 64 * self.t1)
        return out

    def _invite_rejected(self, msg: Message, now: float) -> list[Action]:
        # §17.1.1.2: the transaction ACKs a 300-699 itself and absorbs its retransmissions.
        assert isinstance(msg, SipResponse)
        out: list[Action] = []
        self._disarm(out, TimerName.A, TimerName.B)
        self._ack = make_ack(self.request, msg)
        out.append(Send(self._ack))
        out.append(Deliver(msg))
        self.state = "completed"
        return self._linger(out, TimerName.D, now, max(TIMER_D_MIN, 64 * self.t1))

    def _resend_ack(self, msg: Message, now: float) -> list[Action]:
        return [] if self._ack is None else [Send(self._ack)]

    def _trying_proceeding(self, msg: Message, now: float) -> list[Action]:
        self.state = "proceeding"
        return [Deliver(msg)]

    def _non_invite_completed(self, msg: Message, now: float) -> list[Action]:
        out: list[Action] = []
        self._disarm(out, TimerName.E, TimerName.F)
        out.append(Deliver(msg))
        self.state = "completed"
        return self._linger(out, TimerName.K, now, self.t4)


_ClientTable = dict[tuple[str, Event], Callable[[ClientTransaction, Message, float], list[Action]]]
_C = ClientTransaction

# RFC 3261 fig. 5 as amended by RFC 6026 fig. 4.
_CLIENT_INVITE: _ClientTable = {
    ("calling", TimerName.A): _C._resend_request,
    ("calling", TimerName.B): _C._timeout,
    ("calling", "1xx"): _C._invite_proceeding,
    ("calling", "2xx"): _C._invite_accepted,
    ("calling", "300-699"): _C._invite_rejected,
    ("proceeding", "1xx"): _C._deliver,
    ("proceeding", "2xx"): _C._invite_accepted,
    ("proceeding", "300-699"): _C._invite_rejected,
    ("completed", "300-699"): _C._resend_ack,  # retransmitted final: ACK again, TU not told
    ("completed", "1xx"): _C._absorb,
    ("completed", "2xx"): _C._absorb,
    ("completed", TimerName.D): _C._terminate,
    ("accepted", "2xx"): _C._deliver,  # every 2xx up, so the TU can ACK each (RFC 6026 §8.4)
    ("accepted", "1xx"): _C._absorb,
    ("accepted", "300-699"): _C._absorb,
    ("accepted", TimerName.M): _C._terminate,
}

# RFC 3261 fig. 6.
_CLIENT_NON_INVITE: _ClientTable = {
    ("trying", TimerName.E): _C._resend_request,
    ("trying", TimerName.F): _C._timeout,
    ("trying", "1xx"): _C._trying_proceeding,
    ("trying", "2xx"): _C._non_invite_completed,
    ("trying", "300-699"): _C._non_invite_completed,
    ("proceeding", TimerName.E): _C._resend_request_t2,
    ("proceeding", TimerName.F): _C._timeout,
    ("proceeding", "1xx"): _C._deliver,
    ("proceeding", "2xx"): _C._non_invite_completed,
    ("proceeding", "300-699"): _C._non_invite_completed,
    ("completed", "1xx"): _C._absorb,
    ("completed", "2xx"): _C._absorb,  # retransmitted finals
    ("completed", "300-699"): _C._absorb,
    ("completed", TimerName.K): _C._terminate,
}


def client_key(response: SipResponse) -> ClientKey:
    """§17.1.3: the top Via branch and the CSeq method (so a CANCEL's 200 finds the CANCEL)."""
    return (response.top_via.branch or "", response.cseq.method)


# -- requests a client transaction builds (ACK) or its TU builds from it (CANCEL) --
def _top_via(request: SipRequest) -> str:
    return split_top_level(request.headers.get_all("via")[0])[0].strip(" \t")


def _hop_request(request: SipRequest, method: str, to: str) -> SipRequest:
    src = request.headers
    fields = [
        ("Via", _top_via(request)),
        ("Max-Forwards", src.get("max-forwards") or "70"),
        ("From", src.get("from") or ""),
        ("To", to),
        ("Call-ID", src.get("call-id") or ""),
        ("CSeq", f"{request.cseq.number} {method}"),
    ]
    fields.extend(("Route", value) for value in src.get_all("route"))
    fields.append(("Content-Length", "0"))
    return SipRequest(method, request.uri, Headers(fields))


def make_ack(request: SipRequest, response: SipResponse) -> SipRequest:
    """§17.1.1.3: the ACK of a non-2xx final: the request's R-URI, From, Call-ID, CSeq number,
    only its top Via (same branch) and its Route set; To from the response (it has the tag)."""
    return _hop_request(request, "ACK", response.headers.get("to") or "")


def make_cancel(request: SipRequest) -> SipRequest:
    """§9.1: same R-URI, top Via, From, To, Call-ID, CSeq number and Route; method CANCEL."""
    return _hop_request(request, "CANCEL", request.headers.get("to") or "")
