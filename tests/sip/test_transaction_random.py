"""Random event sequences against every kind of transaction, checked by invariants.

The caller is modelled the way a transport layer would be: it knows the armed timers only from
`StartTimer`/`StopTimer`/`Terminated`, and fires either a timer at its deadline or any timer name
at all (a stale callback). Invariants after every call:

- nothing comes out after `Terminated`, which appears at most once, last in its list;
- `Timeout` and `TransportFailed` are always followed by `Terminated`;
- no list starts the same timer twice; deadlines are never in the past; only the timers of that
  kind are used, and never a retransmit or linger timer on a reliable transport;
- `StopTimer` only names armed timers, and the caller's view equals the transaction's own;
- a live transaction either has a timer armed or is waiting on someone who owes it a message
  (the TU for a server transaction, the far end for an INVITE in Proceeding), so it never hangs;
- draining from any point ends it within 64*T1 of the last input once the final is given.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softphone.sip.message import SipRequest, parse_message
from softphone.sip.transaction import (
    T1,
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
    make_ack,
    make_cancel,
)

from .transaction_support import request, response

STATUSES = [100, 180, 183, 200, 202, 302, 401, 404, 486, 503, 603]
TIMERS = list(TimerName)
ALLOWED = {
    ("client", True): {TimerName.A, TimerName.B, TimerName.D, TimerName.M},
    ("client", False): {TimerName.E, TimerName.F, TimerName.K},
    ("server", True): {TimerName.G, TimerName.H, TimerName.I, TimerName.L},
    ("server", False): {TimerName.J},
}
UNRELIABLE_ONLY = {TimerName.A, TimerName.E, TimerName.G, TimerName.D, TimerName.K}
UNRELIABLE_ONLY |= {TimerName.I, TimerName.J}
STATES = {
    ("client", True): {"calling", "proceeding", "completed", "accepted", "terminated"},
    ("client", False): {"trying", "proceeding", "completed", "terminated"},
    ("server", True): {"proceeding", "completed", "confirmed", "accepted", "terminated"},
    ("server", False): {"trying", "proceeding", "completed", "terminated"},
}
# States where no timer runs because someone else owes the transaction a message.
WAITING = {
    ("client", True): {"proceeding"},
    ("client", False): set(),
    ("server", True): {"proceeding"},
    ("server", False): {"trying", "proceeding"},
}
KINDS = list(itertools.product(("client", "server"), (True, False), (False, True)))


def wire(message: SipRequest) -> SipRequest:
    parsed = parse_message(message.to_bytes())
    assert isinstance(parsed, SipRequest)
    return parsed


@dataclass
class Harness:
    txn: ClientTransaction | ServerTransaction
    kind: tuple[str, bool]
    reliable: bool
    now: float = 0.0
    armed: dict[TimerName, float] = field(default_factory=dict)
    ended: bool = False
    ended_at: float = 0.0
    finals_delivered: int = 0

    def apply(self, actions: list[Action]) -> None:
        if self.ended:
            assert actions == [], "actions after Terminated"
        started = [a.timer for a in actions if isinstance(a, StartTimer)]
        assert len(started) == len(set(started)), "a timer started twice in one list"
        for i, action in enumerate(actions):
            if isinstance(action, StartTimer):
                assert action.deadline >= self.now
                assert action.timer in ALLOWED[self.kind]
                assert not (self.reliable and action.timer in UNRELIABLE_ONLY), action
                self.armed[action.timer] = action.deadline
            elif isinstance(action, StopTimer):
                assert self.armed.pop(action.timer, None) is not None, "stopped an unarmed timer"
            elif isinstance(action, Terminated):
                assert i == len(actions) - 1, "Terminated must come last"
                self.ended = True
                self.ended_at = self.now
                self.armed.clear()
            elif isinstance(action, Timeout | TransportFailed):
                assert isinstance(actions[-1], Terminated)
            elif isinstance(action, Deliver) and self.kind[0] == "client":
                status = getattr(action.message, "status", 0)
                if status >= 300 or (status >= 200 and not self.kind[1]):
                    self.finals_delivered += 1
                    assert self.finals_delivered == 1, "a final delivered twice"
            else:
                assert isinstance(action, Send | Deliver)
        txn = self.txn
        assert txn.state in STATES[self.kind]
        assert (txn.state == "terminated") == self.ended
        assert self.armed == txn._armed  # the actions told the caller everything
        if not self.ended and (isinstance(txn, ServerTransaction) or txn._started):
            assert self.armed or txn.state in WAITING[self.kind], f"hangs in {txn.state}"

    def fire(self, timer: TimerName) -> None:
        """Fire `timer` now; if that ends the transaction, it ended when the timer was due,
        however late (or, within asyncio's resolution, early) the caller got to it."""
        deadline = self.armed.get(timer)
        actions = self.txn.fire(timer, self.now)
        assert deadline is not None or actions == [], "an unarmed timer did something"
        self.apply(actions)
        if deadline is not None and self.ended:
            self.ended_at = min(self.now, deadline)

    def fire_next(self) -> bool:
        if not self.armed:
            return False
        timer, deadline = min(self.armed.items(), key=lambda item: item[1])
        self.now = max(self.now, deadline)
        self.fire(timer)
        return True


def make(side: str, invite: bool, reliable: bool) -> Harness:
    req = request("INVITE" if invite else "OPTIONS")
    txn: ClientTransaction | ServerTransaction
    if side == "client":
        txn = ClientTransaction(req, reliable=reliable)
    else:
        txn = ServerTransaction(req, reliable=reliable)
    return Harness(txn, (side, invite), reliable)


EVENTS = st.one_of(
    st.tuples(st.just("advance"), st.floats(0, 40, allow_nan=False)),
    st.tuples(st.just("fire next"), st.just(0)),
    st.tuples(st.just("fire any"), st.sampled_from(TIMERS)),
    st.tuples(st.just("message"), st.sampled_from(STATUSES)),
    st.tuples(st.just("request"), st.sampled_from(["same", "ACK", "CANCEL"])),
    st.tuples(st.just("start"), st.just(0)),
    st.tuples(st.just("transport error"), st.just(0)),
)


@pytest.mark.parametrize(("side", "invite", "reliable"), KINDS)
@settings(max_examples=150, deadline=None)
@given(events=st.lists(EVENTS, max_size=40))
def test_random_events_keep_the_invariants(
    side: str, invite: bool, reliable: bool, events: list[tuple[str, object]]
) -> None:
    h = make(side, invite, reliable)
    txn = h.txn
    req = txn.request
    ack = wire(make_ack(req, response(req, 486)))
    cancel = wire(make_cancel(req))
    last_input = 0.0
    for kind, arg in events:
        if kind == "advance":
            assert isinstance(arg, float)
            h.now += arg
            continue
        if kind == "fire next":
            h.fire_next()
            continue
        if kind == "fire any":
            # Any name at any time: an unarmed one must do nothing; an armed one fired a little
            # early (asyncio may run a callback before its deadline) is still honoured.
            assert isinstance(arg, TimerName)
            h.fire(arg)
            continue
        last_input = h.now
        if kind == "message":
            assert isinstance(arg, int)
            resp = response(req, arg)
            if isinstance(txn, ClientTransaction):
                h.apply(txn.receive(resp, h.now))
            else:
                h.apply(txn.respond(resp, h.now))
        elif kind == "request" and isinstance(txn, ServerTransaction):
            h.apply(txn.receive({"same": req, "ACK": ack, "CANCEL": cancel}[str(arg)], h.now))
        elif kind == "start" and isinstance(txn, ClientTransaction):
            h.apply(txn.start(h.now))
        elif kind == "transport error":
            h.apply(txn.transport_error(h.now))
    drain(h, last_input)


def drain(h: Harness, last_input: float) -> None:
    """Give the transaction what it waits for, then fire timers: it must end, and soon."""
    txn = h.txn
    if isinstance(txn, ClientTransaction):
        if not txn._started:
            last_input = h.now
        h.apply(txn.start(h.now))
        if txn.state == "proceeding" and h.kind[1]:
            last_input = h.now
            h.apply(txn.receive(response(txn.request, 486), h.now))
    elif txn.state in WAITING[h.kind]:
        last_input = h.now
        h.apply(txn.respond(response(txn.request, 500), h.now))
        if txn.state == "completed" and h.kind[1]:
            h.apply(txn.receive(wire(make_ack(txn.request, response(txn.request, 500))), h.now))
    for _ in range(100):
        if not h.fire_next():
            break
    assert h.ended
    assert h.ended_at <= last_input + 64 * T1 + 1e-9


@pytest.mark.parametrize(("side", "invite", "reliable"), KINDS)
def test_every_state_and_event_is_safe(side: str, invite: bool, reliable: bool) -> None:
    """Exhaustively: reach each state by a short path, then try every input there."""
    for path in PATHS[(side, invite)]:
        for probe in PROBES[side]:
            h = make(side, invite, reliable)
            for what in (*path, probe):
                h.apply(act(h, what))


PATHS = {
    ("client", True): [[], ["start"], ["start", "180"], ["start", "200"], ["start", "486"]],
    ("client", False): [[], ["start"], ["start", "100"], ["start", "200"]],
    ("server", True): [[], ["180"], ["200"], ["486"], ["486", "ACK"]],
    ("server", False): [[], ["100"], ["200"]],
}
PROBES = {
    "client": ["start", "transport error", *map(str, STATUSES), *(t.value for t in TIMERS)],
    "server": ["same", "ACK", "CANCEL", "transport error", *map(str, STATUSES)]
    + [t.value for t in TIMERS],
}


def act(h: Harness, what: str) -> list[Action]:
    txn = h.txn
    req = txn.request
    h.now += 0.25
    if what == "transport error":
        return txn.transport_error(h.now)
    if what in TimerName.__members__:
        timer = TimerName(what)
        h.now = max(h.now, h.armed.get(timer, h.now))
        return txn.fire(timer, h.now)
    if isinstance(txn, ClientTransaction):
        return txn.start(h.now) if what == "start" else txn.receive(response(req, int(what)), h.now)
    if what.isdigit():
        return txn.respond(response(req, int(what)), h.now)
    if what == "ACK":
        return txn.receive(wire(make_ack(req, response(req, 486))), h.now)
    return txn.receive(req if what == "same" else wire(make_cancel(req)), h.now)
