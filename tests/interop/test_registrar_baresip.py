"""Two real baresip phones register to our registrar, one over UDP and one over TLS, and call
each other through our forking proxy both ways; each side must hear the other's tone, so RTP
flowed both ways through the negotiated path (RFC 5658 double Record-Route at the transport
switch keeps the BYE on the right transport for each side)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.baresip_flows import (
    ALICE_HZ,
    BOB_HZ,
    SETUP_TIMEOUT,
    establish,
    media_and_hangup,
    tls_established_on,
)
from tests.peers.baresip import Account, Baresip, available
from tests.peers.certs import PeerPki, session_pki
from tests.peers.registrar import OurRegistrar

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not available(), reason="baresip (with its modules) is not installed"),
]
USERS = {"alice": "alice-secret", "bob": "bob-secret"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PeerPki:
    return session_pki(tmp_path_factory)


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def ours(request: pytest.FixtureRequest, pki: PeerPki) -> Iterator[OurRegistrar]:
    tls_args = ["--tls-cert", str(pki.leaf.cert), "--tls-key", str(pki.leaf.key)]
    workers = ["--workers", str(request.param)]
    with OurRegistrar(USERS, tls=True, extra_args=[*tls_args, *workers]) as server:
        yield server


def test_baresip_udp_and_tls_call_each_other_through_us(
    ours: OurRegistrar, tmp_path: Path, pki: PeerPki
) -> None:
    assert ours.tls_port is not None
    via_udp = Account("alice", f"{ours.domain}:{ours.port}", "udp", USERS["alice"], register=True)
    via_tls = Account("bob", f"{ours.domain}:{ours.tls_port}", "tls", USERS["bob"], register=True)
    with (
        Baresip(tmp_path, via_udp, tone_hz=ALICE_HZ) as alice,
        Baresip(tmp_path, via_tls, tone_hz=BOB_HZ, cafile=pki.ca_cert) as bob,
    ):
        for phone in (alice, bob):
            phone.wait_for_event("REGISTER_OK", SETUP_TIMEOUT, unless=("REGISTER_FAIL",))
        assert tls_established_on(ours.tls_port)  # bob registered over TLS
        establish(alice, bob, f"sip:bob@{ours.domain}:{ours.port}")
        media_and_hangup(alice, bob)
        establish(bob, alice, f"sip:alice@{ours.domain}:{ours.tls_port}")
        media_and_hangup(bob, alice)
