"""Server transactions, row by row against RFC 3261 figs. 7-8 and RFC 6026 fig. 5, time injected."""

from __future__ import annotations

import pytest

from softphone.sip.message import SipRequest, parse_message
from softphone.sip.transaction import (
    Deliver,
    Send,
    ServerTransaction,
    make_ack,
    make_cancel,
)

from .transaction_support import Row, request, response, run

# -- INVITE over UDP (§17.2.1, RFC 6026 §7.1) --
INVITE_REJECTED: list[Row] = [
    (0.0, "retransmit", [], "proceeding"),  # nothing sent yet, nothing to repeat
    (0.0, "respond 100", ["send 100"], "proceeding"),
    (0.1, "retransmit", ["send 100"], "proceeding"),
    (0.5, "respond 180", ["send 180"], "proceeding"),
    (0.6, "retransmit", ["send 180"], "proceeding"),  # the most recent provisional
    (1.0, "respond 486", ["send 486", "start G 1.5", "start H 33"], "completed"),
    # Timer G: T1 doubling, capped at T2 = 4.
    (1.5, "fire G", ["send 486", "start G 2.5"], "completed"),
    (2.5, "fire G", ["send 486", "start G 4.5"], "completed"),
    (4.5, "fire G", ["send 486", "start G 8.5"], "completed"),
    (8.5, "fire G", ["send 486", "start G 12.5"], "completed"),
    (9.0, "retransmit", ["send 486"], "completed"),
    (9.0, "respond 200", [], "completed"),  # too late: ignored
    (10.0, "ACK", ["stop G", "stop H", "start I 15"], "confirmed"),
    (10.5, "ACK", [], "confirmed"),
    (10.5, "retransmit", [], "confirmed"),
    (12.5, "fire G", [], "confirmed"),  # stale
    (15.0, "fire I", ["terminated"], "terminated"),
]

INVITE_NO_ACK: list[Row] = [
    (0.0, "respond 404", ["send 404", "start G 0.5", "start H 32"], "completed"),
    (0.5, "fire G", ["send 404", "start G 1.5"], "completed"),
    (32.0, "fire H", ["timeout", "terminated"], "terminated"),
    (32.0, "ACK", [], "terminated"),
]

INVITE_ACCEPTED: list[Row] = [
    (0.0, "respond 180", ["send 180"], "proceeding"),
    (1.0, "respond 200", ["send 200", "start L 33"], "accepted"),
    (1.2, "retransmit", [], "accepted"),  # absorbed: the TU retransmits the 2xx itself
    (1.5, "respond 200", ["send 200"], "accepted"),
    (1.6, "respond 180", [], "accepted"),
    (1.6, "respond 486", [], "accepted"),
    (1.7, "ACK", ["deliver ACK"], "accepted"),  # RFC 6026: a matching ACK goes to the TU
    (1.8, "ACK", ["deliver ACK"], "accepted"),
    (33.0, "fire L", ["terminated"], "terminated"),
]

INVITE_TRANSPORT_ERROR: list[Row] = [
    (0.0, "respond 500", ["send 500", "start G 0.5", "start H 32"], "completed"),
    (0.1, "transport error", ["transport failed", "terminated"], "terminated"),
    (0.5, "fire G", [], "terminated"),
]

# -- INVITE over TCP/TLS: no Timer G, Timer I is zero --
INVITE_RELIABLE: list[Row] = [
    (0.0, "respond 100", ["send 100"], "proceeding"),
    (1.0, "respond 603", ["send 603", "start H 33"], "completed"),
    (1.1, "ACK", ["stop H", "terminated"], "terminated"),
]

INVITE_RELIABLE_ACCEPTED: list[Row] = [
    (0.0, "respond 200", ["send 200", "start L 32"], "accepted"),
    (0.1, "transport error", ["transport failed", "terminated"], "terminated"),
]

# -- non-INVITE (§17.2.2) --
NON_INVITE_FINAL: list[Row] = [
    (0.0, "retransmit", [], "trying"),  # absorbed in Trying
    (0.1, "ACK", [], "trying"),  # an ACK never belongs to a non-INVITE transaction
    (1.0, "respond 200", ["send 200", "start J 33"], "completed"),
    (1.5, "retransmit", ["send 200"], "completed"),
    (1.6, "respond 500", [], "completed"),
    (33.0, "fire J", ["terminated"], "terminated"),
    (34.0, "retransmit", [], "terminated"),
]

NON_INVITE_PROVISIONAL: list[Row] = [
    (0.0, "respond 100", ["send 100"], "proceeding"),
    (0.5, "retransmit", ["send 100"], "proceeding"),
    (0.6, "respond 183", ["send 183"], "proceeding"),
    (0.7, "retransmit", ["send 183"], "proceeding"),
    (2.0, "respond 401", ["send 401", "start J 34"], "completed"),
    (2.5, "retransmit", ["send 401"], "completed"),
    (34.0, "fire J", ["terminated"], "terminated"),
]

NON_INVITE_RELIABLE: list[Row] = [
    (0.0, "respond 200", ["send 200", "terminated"], "terminated"),
    (0.1, "retransmit", [], "terminated"),
]

NON_INVITE_TRANSPORT_ERROR: list[Row] = [
    (0.0, "transport error", ["transport failed", "terminated"], "terminated"),
    (0.1, "respond 200", [], "terminated"),
]

SCENARIOS = {
    "invite-rejected": ("INVITE", False, INVITE_REJECTED),
    "invite-no-ack": ("INVITE", False, INVITE_NO_ACK),
    "invite-accepted": ("INVITE", False, INVITE_ACCEPTED),
    "invite-transport-error": ("INVITE", False, INVITE_TRANSPORT_ERROR),
    "invite-reliable": ("INVITE", True, INVITE_RELIABLE),
    "invite-reliable-accepted": ("INVITE", True, INVITE_RELIABLE_ACCEPTED),
    "non-invite-final": ("REGISTER", False, NON_INVITE_FINAL),
    "non-invite-provisional": ("REGISTER", False, NON_INVITE_PROVISIONAL),
    "non-invite-reliable": ("REGISTER", True, NON_INVITE_RELIABLE),
    "non-invite-transport-error": ("REGISTER", False, NON_INVITE_TRANSPORT_ERROR),
}


def wire_ack(req: SipRequest, status: int = 486) -> SipRequest:
    """The ACK a client would send for a `status` final, as the server receives it."""
    ack = parse_message(make_ack(req, response(req, status)).to_bytes())
    assert isinstance(ack, SipRequest)
    return ack


@pytest.mark.parametrize("name", SCENARIOS)
def test_server_scenario(name: str) -> None:
    method, reliable, rows = SCENARIOS[name]
    req = request(method)
    run(ServerTransaction(req, reliable=reliable), rows, ack=wire_ack(req))


def test_resends_the_very_response_the_tu_passed() -> None:
    req = request("INVITE")
    txn = ServerTransaction(req, reliable=False)
    ringing = response(req, 180)
    assert txn.respond(ringing, 0.0) == [Send(ringing)]
    [again] = txn.receive(req, 0.5)
    assert isinstance(again, Send) and again.message is ringing


def test_ack_in_accepted_is_delivered_as_received() -> None:
    req = request("INVITE")
    txn = ServerTransaction(req, reliable=False)
    txn.respond(response(req, 200), 0.0)
    ack = wire_ack(req, 200)
    assert txn.receive(ack, 0.1) == [Deliver(ack)]


def test_a_cancel_handed_to_the_invite_transaction_is_not_a_retransmission() -> None:
    req = request("INVITE")
    txn = ServerTransaction(req, reliable=False)
    txn.respond(response(req, 180), 0.0)
    cancel = parse_message(make_cancel(req).to_bytes())
    assert isinstance(cancel, SipRequest)
    assert txn.receive(cancel, 0.1) == []


def test_an_ack_does_not_create_a_transaction() -> None:
    with pytest.raises(ValueError):
        ServerTransaction(wire_ack(request()), reliable=False)


def test_no_automatic_100_trying() -> None:
    # §17.2.1 leaves the 100 to the TU (it may answer within 200 ms instead); creation is silent.
    txn = ServerTransaction(request("INVITE"), reliable=False)
    assert txn.state == "proceeding"
    assert txn.receive(txn.request, 0.0) == []
