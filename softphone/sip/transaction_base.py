"""What every SIP transaction machine shares: timers, actions and the timer bookkeeping.

Why sans-IO (RFC 3261 §17 without a clock): the same machines serve the lab proxy (thousands of
short transactions per second under asyncio) and unit tests that step through a 32-second Timer B
in microseconds. So nothing here reads a clock or owns a timer: every input carries `now`, and
every output is an action the caller performs. `StartTimer(name, deadline)` asks the caller to
call `fire(name, now)` once `now >= deadline`; re-arming a name replaces it. `fire` for a timer
that is not armed any more is ignored, so a stale callback in the caller's timer heap is harmless.
`Terminated` also means "stop all of its timers".

The behaviour lives in the per-kind tables of `transaction_client` and `transaction_server`;
`transaction` is the one module callers import.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from softphone.sip.message import SipRequest, SipResponse

T1: float = 0.5  # RTT estimate (§17.1.1.1)
T2: float = 4.0  # cap on non-INVITE request and INVITE response retransmit intervals
T4: float = 5.0  # how long a message can stay in the network
TIMER_D_MIN: float = 32.0  # §17.1.1.2: "at least 32 seconds" for unreliable transports


class TimerName(enum.Enum):
    A = "A"  # INVITE request retransmit (client, UDP)
    B = "B"  # INVITE transaction timeout (client)
    D = "D"  # wait for response retransmits after a non-2xx (client)
    E = "E"  # non-INVITE request retransmit (client, UDP)
    F = "F"  # non-INVITE transaction timeout (client)
    K = "K"  # wait for response retransmits (client non-INVITE)
    G = "G"  # INVITE non-2xx final retransmit (server, UDP)
    H = "H"  # wait for ACK (server)
    I = "I"  # noqa: E741 - RFC name; wait for ACK retransmits (server)
    J = "J"  # wait for non-INVITE request retransmits (server)
    L = "L"  # RFC 6026: wait for 2xx retransmits from the TU / ACKs (server, Accepted)
    M = "M"  # RFC 6026: wait for 2xx retransmits (client, Accepted)


@dataclass(frozen=True, slots=True)
class Send:
    """Transmit to the transaction's peer."""

    message: SipRequest | SipResponse


@dataclass(frozen=True, slots=True)
class Deliver:
    """Pass up to the TU."""

    message: SipRequest | SipResponse


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)arm: replaces an armed timer of that name."""

    timer: TimerName
    deadline: float


@dataclass(frozen=True, slots=True)
class StopTimer:
    timer: TimerName


@dataclass(frozen=True, slots=True)
class Timeout:
    """Timer B, F or H fired: tell the TU (it typically acts as if a 408 arrived, §8.1.3.1)."""


@dataclass(frozen=True, slots=True)
class TransportFailed:
    """The transport reported an error: tell the TU (§8.1.3.1 treats it like a 503)."""


@dataclass(frozen=True, slots=True)
class Terminated:
    """Remove the transaction from the table and stop its timers."""


Action = Send | Deliver | StartTimer | StopTimer | Timeout | TransportFailed | Terminated
Message = SipRequest | SipResponse
Event = str | TimerName
TIMEOUT = Timeout()
TERMINATED = Terminated()
TRANSPORT_FAILED = TransportFailed()


class Transaction:
    """Timer bookkeeping shared by the four machines; the tables hold the behaviour."""

    __slots__ = ("_armed", "_interval", "_table", "reliable", "request", "state", "t1", "t2", "t4")
    # (state, event) -> transition; each subclass sets the table of its machine (§17).
    _table: Mapping[tuple[str, Event], Callable[[Any, Message, float], list[Action]]]

    def __init__(self, request: SipRequest, reliable: bool, t1: float, t2: float, t4: float):
        self.request = request
        self.reliable = reliable
        self.t1, self.t2, self.t4 = t1, t2, t4
        self._armed: dict[TimerName, float] = {}  # name -> deadline
        self._interval = t1  # the current retransmit interval of A, E or G

    def _dispatch(self, event: Event, msg: Message, now: float) -> list[Action]:
        transition = self._table.get((self.state, event))
        return [] if transition is None else transition(self, msg, now)

    def fire(self, timer: TimerName, now: float) -> list[Action]:
        if self._armed.pop(timer, None) is None:
            return []  # stopped or already fired: a stale entry in the caller's heap
        # Timer events carry the request: it is what A and E retransmit.
        return self._dispatch(timer, self.request, now)

    def transport_error(self, now: float) -> list[Action]:
        if self.state == "terminated":
            return []
        return self._end([TRANSPORT_FAILED])

    # -- building blocks for the transitions --
    def _arm(self, out: list[Action], timer: TimerName, now: float, interval: float) -> None:
        self._armed[timer] = deadline = now + interval
        out.append(StartTimer(timer, deadline))

    def _disarm(self, out: list[Action], *timers: TimerName) -> None:
        for timer in timers:
            if self._armed.pop(timer, None) is not None:
                out.append(StopTimer(timer))

    def _end(self, out: list[Action]) -> list[Action]:
        self.state = "terminated"
        self._armed.clear()
        out.append(TERMINATED)
        return out

    def _linger(self, out: list[Action], timer: TimerName, now: float, wait: float) -> list[Action]:
        """Absorb retransmissions for `wait` seconds; zero on reliable transports (D, I, J, K)."""
        if self.reliable:
            return self._end(out)
        self._arm(out, timer, now, wait)
        return out

    def _retransmit(self, out: list[Action], timer: TimerName, now: float, cap: float) -> None:
        self._interval = min(2 * self._interval, cap)  # §17.1.1.2 / §17.1.2.2 / §17.2.1
        self._arm(out, timer, now, self._interval)

    def _timeout(self, msg: Message, now: float) -> list[Action]:
        return self._end([TIMEOUT])

    def _terminate(self, msg: Message, now: float) -> list[Action]:
        return self._end([])

    def _absorb(self, msg: Message, now: float) -> list[Action]:
        return []
