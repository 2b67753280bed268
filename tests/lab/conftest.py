"""A registrar wired to real components (digest, nonces, bindings) with a controllable clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from softphone.lab.auth import Authenticator
from softphone.lab.bindings import BindingTable
from softphone.lab.limits import FailureThrottle, RateLimiter
from softphone.lab.registrar import Registrar, RegistrarPolicy, Source
from softphone.lab.users import UserDirectory, make_user
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.nonce import NonceManager

REALM = "softphone.lab"
UDP = Source("UDP", "127.0.0.1", 5070)


@dataclass
class Lab:
    registrar: Registrar
    now: float = 1_700_000_000.0

    def send(self, request: SipRequest, source: Source = UDP) -> SipResponse:
        return self.registrar.handle(request, source, self.now)


def make_lab(*, register_rate: int = 0) -> Lab:
    users = UserDirectory(
        REALM, [make_user(n, f"{n}-pw", REALM) for n in ("alice", "bob", "carol")]
    )
    auth = Authenticator(REALM, users, NonceManager(b"unit-test-secret", 30.0), FailureThrottle())
    registrar = Registrar(
        domains=frozenset({"127.0.0.1", REALM}),
        auth=auth,
        bindings=BindingTable(),
        rate=RateLimiter(register_rate),
        policy=RegistrarPolicy(),
        to_tag="lab1",
    )
    return Lab(registrar)


@pytest.fixture
def lab() -> Lab:
    return make_lab()
