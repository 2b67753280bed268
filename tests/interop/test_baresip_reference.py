"""Reference calls between two real baresip peers: the yardstick for our own client.

Before our softphone is tested against baresip, baresip must be shown to work on this machine
on its own: two instances call each other directly (UDP, then TLS with the test CA) and through
Kamailio (one registered over UDP, one over TLS). Media is proven, not assumed: alice sends a
1000 Hz tone, bob 600 Hz, and each side's recording of what it heard must contain the other's
tone (dominant frequency ±10 Hz, most of the energy in that band, few silent 20 ms blocks).
"""

from __future__ import annotations

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
from tests.peers.kamailio import Kamailio, kamailio_available

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not available(), reason="baresip (with its modules) is not installed"),
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PeerPki:
    return session_pki(tmp_path_factory)


def test_direct_call_over_udp(tmp_path: Path) -> None:
    with (
        Baresip(tmp_path, Account("alice"), tone_hz=ALICE_HZ) as alice,
        Baresip(tmp_path, Account("bob", answermode="manual"), tone_hz=BOB_HZ) as bob,
    ):
        setup = establish(alice, bob, bob.uri("udp"), manual=True)
        assert setup < SETUP_TIMEOUT
        media_and_hangup(alice, bob)


def test_direct_call_over_tls(tmp_path: Path, pki: PeerPki) -> None:
    cert, ca = pki.leaf.bundle, pki.ca_cert
    with (
        Baresip(tmp_path, Account("alice"), tone_hz=ALICE_HZ, cert_bundle=cert, cafile=ca) as alice,
        Baresip(tmp_path, Account("bob"), tone_hz=BOB_HZ, cert_bundle=cert, cafile=ca) as bob,
    ):
        assert not tls_established_on(bob.tls_port)
        establish(alice, bob, bob.uri("tls"))
        # The INVITE went to bob's TLS listener (only TLS listens on that port).
        assert tls_established_on(bob.tls_port)
        media_and_hangup(alice, bob)


def test_baresip_as_tls_client_does_not_check_the_server_name(tmp_path: Path, pki: PeerPki) -> None:
    """Characterisation: baresip 1.0.0 (libre 1.1.0) loads `sip_cafile` but never verifies the
    server's certificate, so it happily calls a peer whose certificate names example.invalid.
    Certificate-verification tests therefore need another client (ours, pjsua2, Python ssl)."""
    with (
        Baresip(tmp_path, Account("alice"), tone_hz=ALICE_HZ, cafile=pki.ca_cert) as alice,
        Baresip(tmp_path, Account("bob"), tone_hz=BOB_HZ, cert_bundle=pki.wrong_name.bundle) as bob,
    ):
        establish(alice, bob, bob.uri("tls"))
        alice.hangup()
        bob.wait_for_event("CALL_CLOSED", SETUP_TIMEOUT)


def test_calls_through_kamailio_udp_and_tls(tmp_path: Path, pki: PeerPki) -> None:
    reason = kamailio_available(tls=True)
    if reason is not None:
        pytest.skip(reason)
    users = {"alice": "alice-secret", "bob": "bob-secret"}
    with Kamailio(users, tls_cert=pki.leaf.cert, tls_key=pki.leaf.key) as kamailio:
        assert kamailio.tls_port is not None
        via_udp = Account(
            "alice", f"{kamailio.domain}:{kamailio.port}", "udp", users["alice"], register=True
        )
        via_tls = Account(
            "bob", f"{kamailio.domain}:{kamailio.tls_port}", "tls", users["bob"], register=True
        )
        with (
            Baresip(tmp_path, via_udp, tone_hz=ALICE_HZ) as alice,
            Baresip(tmp_path, via_tls, tone_hz=BOB_HZ, cafile=pki.ca_cert) as bob,
        ):
            for peer in (alice, bob):
                peer.wait_for_event("REGISTER_OK", SETUP_TIMEOUT, unless=("REGISTER_FAIL",))
            assert tls_established_on(kamailio.tls_port)  # bob's registration flow
            # Each dials the other's AOR at Kamailio; only Kamailio listens there, so the call
            # is proxied (lookup + t_relay), with proxy digest on the INVITE.
            establish(alice, bob, f"sip:bob@{kamailio.domain}:{kamailio.port}")
            media_and_hangup(alice, bob)
            establish(bob, alice, f"sip:alice@{kamailio.domain}:{kamailio.tls_port}")
            media_and_hangup(bob, alice)
            for peer in (alice, bob):  # the account line went over ctrl_tcp, not into the log
                assert peer.account.password
                assert peer.account.password not in peer.log.read_text(errors="replace")
