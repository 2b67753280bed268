"""Client transactions, row by row against RFC 3261 figs. 5-6 and RFC 6026 fig. 4, time injected."""

from __future__ import annotations

import pytest

from softphone.sip.message import SipRequest, parse_message
from softphone.sip.transaction import (
    T1,
    ClientTransaction,
    Send,
    StartTimer,
    Terminated,
    Timeout,
    TimerName,
)

from .transaction_support import Row, request, response, run

# -- INVITE over UDP (§17.1.1.2, RFC 6026 §8.4) --
INVITE_TIMEOUT: list[Row] = [
    (0.0, "start", ["send INVITE", "start A 0.5", "start B 32"], "calling"),
    # Timer A doubles with no cap: 0.5, 1, 2, 4, 8, 16, 32.
    (0.5, "fire A", ["send INVITE", "start A 1.5"], "calling"),
    (1.5, "fire A", ["send INVITE", "start A 3.5"], "calling"),
    (3.5, "fire A", ["send INVITE", "start A 7.5"], "calling"),
    (7.5, "fire A", ["send INVITE", "start A 15.5"], "calling"),
    (15.5, "fire A", ["send INVITE", "start A 31.5"], "calling"),
    (31.5, "fire A", ["send INVITE", "start A 63.5"], "calling"),
    (32.0, "fire B", ["timeout", "terminated"], "terminated"),
    (63.5, "fire A", [], "terminated"),  # a stale timer after the end is ignored
    (64.0, "recv 200", [], "terminated"),
    (64.0, "transport error", [], "terminated"),
]

INVITE_ANSWERED: list[Row] = [
    (0.0, "start", ["send INVITE", "start A 0.5", "start B 32"], "calling"),
    (0.2, "recv 100", ["stop A", "stop B", "deliver 100"], "proceeding"),
    (0.5, "fire A", [], "proceeding"),  # stopped: the caller's late callback does nothing
    (1.0, "recv 180", ["deliver 180"], "proceeding"),
    (5.0, "recv 200", ["deliver 200", "start M 37"], "accepted"),
    # RFC 6026: a retransmitted 2xx (or one from another fork) still reaches the TU to be ACKed.
    (5.5, "recv 200", ["deliver 200"], "accepted"),
    (5.6, "recv 180", [], "accepted"),
    (5.7, "recv 486", [], "accepted"),
    (37.0, "fire M", ["terminated"], "terminated"),
]

INVITE_2XX_WHILE_CALLING: list[Row] = [
    (0.0, "start", ["send INVITE", "start A 0.5", "start B 32"], "calling"),
    (0.3, "recv 200", ["stop A", "stop B", "deliver 200", "start M 32.3"], "accepted"),
    (32.3, "fire M", ["terminated"], "terminated"),
]

INVITE_REJECTED: list[Row] = [
    (0.0, "start", ["send INVITE", "start A 0.5", "start B 32"], "calling"),
    (0.2, "recv 180", ["stop A", "stop B", "deliver 180"], "proceeding"),
    # The transaction ACKs a non-2xx itself and tells the TU once (§17.1.1.2).
    (2.0, "recv 486", ["send ACK", "deliver 486", "start D 34"], "completed"),
    (2.5, "recv 486", ["send ACK"], "completed"),
    (3.0, "recv 200", [], "completed"),
    (3.0, "recv 180", [], "completed"),
    (34.0, "fire D", ["terminated"], "terminated"),
]

INVITE_REJECTED_WHILE_CALLING: list[Row] = [
    (0.0, "start", ["send INVITE", "start A 0.5", "start B 32"], "calling"),
    (0.1, "recv 503", ["stop A", "stop B", "send ACK", "deliver 503", "start D 32.1"], "completed"),
]

INVITE_TRANSPORT_ERROR: list[Row] = [
    (0.0, "start", ["send INVITE", "start A 0.5", "start B 32"], "calling"),
    (0.1, "transport error", ["transport failed", "terminated"], "terminated"),
    (0.5, "fire A", [], "terminated"),
]

# -- INVITE over TCP/TLS: no Timer A, Timer D is zero (§17.1.1.2) --
INVITE_RELIABLE_REJECTED: list[Row] = [
    (0.0, "start", ["send INVITE", "start B 32"], "calling"),
    (0.1, "recv 180", ["stop B", "deliver 180"], "proceeding"),
    (1.0, "recv 486", ["send ACK", "deliver 486", "terminated"], "terminated"),
]

INVITE_RELIABLE_TIMEOUT: list[Row] = [
    (0.0, "start", ["send INVITE", "start B 32"], "calling"),
    (32.0, "fire B", ["timeout", "terminated"], "terminated"),
]

# -- non-INVITE over UDP (§17.1.2.2) --
NON_INVITE_TIMEOUT: list[Row] = [
    (0.0, "start", ["send REGISTER", "start E 0.5", "start F 32"], "trying"),
    # Timer E doubles from T1 and is capped at T2 = 4.
    (0.5, "fire E", ["send REGISTER", "start E 1.5"], "trying"),
    (1.5, "fire E", ["send REGISTER", "start E 3.5"], "trying"),
    (3.5, "fire E", ["send REGISTER", "start E 7.5"], "trying"),
    (7.5, "fire E", ["send REGISTER", "start E 11.5"], "trying"),
    (11.5, "fire E", ["send REGISTER", "start E 15.5"], "trying"),
    (32.0, "fire F", ["timeout", "terminated"], "terminated"),
]

NON_INVITE_PROCEEDING: list[Row] = [
    (0.0, "start", ["send REGISTER", "start E 0.5", "start F 32"], "trying"),
    (0.2, "recv 100", ["deliver 100"], "proceeding"),
    # In Proceeding, E fires every T2.
    (0.5, "fire E", ["send REGISTER", "start E 4.5"], "proceeding"),
    (4.5, "fire E", ["send REGISTER", "start E 8.5"], "proceeding"),
    (5.0, "recv 100", ["deliver 100"], "proceeding"),
    (6.0, "recv 200", ["stop E", "stop F", "deliver 200", "start K 11"], "completed"),
    (6.5, "recv 200", [], "completed"),  # retransmitted final absorbed
    (8.5, "fire E", [], "completed"),
    (11.0, "fire K", ["terminated"], "terminated"),
]

NON_INVITE_FINAL_WHILE_TRYING: list[Row] = [
    (0.0, "start", ["send REGISTER", "start E 0.5", "start F 32"], "trying"),
    (0.1, "recv 401", ["stop E", "stop F", "deliver 401", "start K 5.1"], "completed"),
    (5.1, "fire K", ["terminated"], "terminated"),
]

NON_INVITE_PROCEEDING_TIMEOUT: list[Row] = [
    (0.0, "start", ["send REGISTER", "start E 0.5", "start F 32"], "trying"),
    (0.2, "recv 100", ["deliver 100"], "proceeding"),
    (32.0, "fire F", ["timeout", "terminated"], "terminated"),
]

NON_INVITE_RELIABLE: list[Row] = [
    (0.0, "start", ["send REGISTER", "start F 32"], "trying"),
    (0.1, "recv 200", ["stop F", "deliver 200", "terminated"], "terminated"),
]

NON_INVITE_TRANSPORT_ERROR: list[Row] = [
    (0.0, "start", ["send REGISTER", "start E 0.5", "start F 32"], "trying"),
    (0.2, "recv 100", ["deliver 100"], "proceeding"),
    (0.3, "transport error", ["transport failed", "terminated"], "terminated"),
]

SCENARIOS = {
    "invite-timeout": ("INVITE", False, INVITE_TIMEOUT),
    "invite-answered": ("INVITE", False, INVITE_ANSWERED),
    "invite-2xx-calling": ("INVITE", False, INVITE_2XX_WHILE_CALLING),
    "invite-rejected": ("INVITE", False, INVITE_REJECTED),
    "invite-rejected-calling": ("INVITE", False, INVITE_REJECTED_WHILE_CALLING),
    "invite-transport-error": ("INVITE", False, INVITE_TRANSPORT_ERROR),
    "invite-reliable-rejected": ("INVITE", True, INVITE_RELIABLE_REJECTED),
    "invite-reliable-timeout": ("INVITE", True, INVITE_RELIABLE_TIMEOUT),
    "non-invite-timeout": ("REGISTER", False, NON_INVITE_TIMEOUT),
    "non-invite-proceeding": ("REGISTER", False, NON_INVITE_PROCEEDING),
    "non-invite-final-trying": ("REGISTER", False, NON_INVITE_FINAL_WHILE_TRYING),
    "non-invite-proceeding-timeout": ("REGISTER", False, NON_INVITE_PROCEEDING_TIMEOUT),
    "non-invite-reliable": ("REGISTER", True, NON_INVITE_RELIABLE),
    "non-invite-transport-error": ("REGISTER", False, NON_INVITE_TRANSPORT_ERROR),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_client_scenario(name: str) -> None:
    method, reliable, rows = SCENARIOS[name]
    run(ClientTransaction(request(method), reliable=reliable), rows)


def test_the_ack_it_sends_acknowledges_that_final_and_is_resent_unchanged() -> None:
    invite = request("INVITE", extra="Route: <sip:proxy.example;lr>\r\n")
    txn = ClientTransaction(invite, reliable=False)
    txn.start(0.0)
    busy = response(invite, 486, to_tag="busy-tag")
    first = next(a for a in txn.receive(busy, 1.0) if isinstance(a, Send))
    [again] = txn.receive(busy, 1.5)
    assert isinstance(again, Send)
    assert again.message is first.message  # §17.1.1.2: the same ACK again
    ack = parse_message(first.message.to_bytes())
    assert isinstance(ack, SipRequest)
    assert (ack.method, str(ack.uri), ack.cseq) == ("ACK", str(invite.uri), (1, "ACK"))
    assert ack.to_addr.tag == "busy-tag"
    assert ack.top_via.branch == invite.top_via.branch
    assert [str(r.uri) for r in ack.routes] == ["sip:proxy.example;lr"]


def test_timer_d_covers_the_servers_timer_h_when_t1_is_large() -> None:
    # §17.1.1.2: D is at least 32 s and must outlast the server's 64*T1 of retransmissions.
    txn = ClientTransaction(request(), reliable=False, t1=1.0)
    txn.start(0.0)
    actions = txn.receive(response(txn.request, 404), 0.0)
    assert actions[-1] == StartTimer(TimerName.D, 64.0)


def test_custom_timer_values_are_used() -> None:
    txn = ClientTransaction(request("OPTIONS"), reliable=False, t1=0.1, t2=0.3, t4=1.0)
    now, deadlines = 0.0, []
    actions = txn.start(now)
    for _ in range(4):
        timer = next(a for a in actions if isinstance(a, StartTimer) and a.timer is TimerName.E)
        deadlines.append(round(timer.deadline, 6))
        now = timer.deadline
        actions = txn.fire(TimerName.E, now)
    assert deadlines == [0.1, 0.3, 0.6, 0.9]  # doubling from t1, capped at t2
    assert txn.fire(TimerName.F, 6.4) == [Timeout(), Terminated()]


def test_start_twice_and_receive_before_start_do_nothing() -> None:
    txn = ClientTransaction(request(), reliable=False)
    assert txn.receive(response(txn.request, 180), 0.0) == []
    assert txn.state == "calling"
    assert len(txn.start(0.0)) == 3
    assert txn.start(0.1) == []


def test_key_is_branch_and_method() -> None:
    txn = ClientTransaction(request("OPTIONS", branch="z9hG4bK-k1"), reliable=True)
    assert txn.key == ("z9hG4bK-k1", "OPTIONS")
    assert T1 == 0.5


@pytest.mark.parametrize(
    "req",
    [request("ACK"), request("INVITE", branch=None)],
    ids=["ack", "no-branch"],
)
def test_refuses_ack_and_requests_without_a_branch(req: SipRequest) -> None:
    with pytest.raises(ValueError):
        ClientTransaction(req, reliable=False)
