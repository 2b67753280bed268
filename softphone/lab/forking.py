"""Response contexts of the forking proxy (RFC 3261 §16.7): branches, CANCEL, best response.

One ForwardContext per forwarded request: it remembers every branch, forwards provisional and
2xx responses upstream at once, CANCELs the losers when a 2xx wins (with RFC 3326
`Reason: SIP;cause=200;text="Call completed elsewhere"` so phones show "answered elsewhere"
instead of a missed call), and when every branch has a final response without a 2xx, picks the
best one by the §16.7 step 6 rules.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from softphone.lab.routing import Hop
from softphone.lab.txn_runner import Slot
from softphone.sip.build import make_response
from softphone.sip.message import SipRequest, SipResponse

COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'
# Within the chosen class these tell the caller least; prefer any other (§16.7 step 6 MAY).
_UNINFORMATIVE = (408, 480, 500, 503, 487)


@dataclass(eq=False, slots=True)
class Branch:
    """One forwarded copy of the request and what came back on it."""

    request: SipRequest
    hop: Hop
    slot: Slot | None = None
    provisional: bool = False  # a 1xx arrived, so CANCEL may be sent (§9.1)
    final: SipResponse | None = None
    cancel_reason: str | None = None  # a CANCEL waits for the first 1xx with this Reason ("" none)
    cancelled: bool = False


@dataclass(eq=False, slots=True)
class ForwardContext:
    """The response context of one forwarded request."""

    server: Slot
    request: SipRequest
    branches: list[Branch] = field(default_factory=list)
    answered: bool = False  # a 2xx has been forwarded upstream
    finished: bool = False  # a final non-2xx has been forwarded upstream
    cancelled_by_caller: bool = False
    timer_c: asyncio.TimerHandle | None = None

    @property
    def is_invite(self) -> bool:
        return self.request.method == "INVITE"

    def pending(self) -> list[Branch]:
        return [b for b in self.branches if b.final is None]

    def all_final(self) -> bool:
        return all(b.final is not None for b in self.branches)

    def best_response(self) -> SipResponse:
        """§16.7 step 6 (choose) and step 7 (aggregate challenges), for forwarding upstream."""
        finals = [b.final for b in self.branches if b.final is not None]
        if not finals:
            return make_response(self.request, 408)
        sixes = [r for r in finals if r.status >= 600]
        if sixes:
            return sixes[0]
        lowest = min(r.status // 100 for r in finals)
        in_class = [r for r in finals if r.status // 100 == lowest]
        best = next((r for r in in_class if r.status not in _UNINFORMATIVE), in_class[0])
        if self.cancelled_by_caller and any(r.status == 487 for r in in_class):
            best = next(r for r in in_class if r.status == 487)
        if best.status == 503:
            # §16.7 step 6: a 503 from downstream must not make upstream stop using us.
            best = best.copy()
            best.status, best.reason = 500, "Server Internal Error"
        if best.status in (401, 407):
            best = _aggregate_challenges(best, in_class)
        return best


def _aggregate_challenges(best: SipResponse, responses: list[SipResponse]) -> SipResponse:
    """§16.7 step 7: one 401/407 upstream carrying every branch's challenge."""
    merged = best.copy()
    for header in ("www-authenticate", "proxy-authenticate"):
        values: list[str] = []
        for response in responses:
            for value in response.headers.get_all(header):
                if value not in values:
                    values.append(value)
        if values:
            merged.headers.remove(header)
            name = "WWW-Authenticate" if header == "www-authenticate" else "Proxy-Authenticate"
            for value in values:
                merged.headers.add(name, value)
    return merged
