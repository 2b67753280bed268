"""Reference calls between two real baresip peers: the yardstick for our own client.

Before our softphone is tested against baresip, baresip must be shown to work on this machine
on its own: two instances call each other directly (UDP, then TLS with the test CA) and through
Kamailio (one registered over UDP, one over TLS). Media is proven, not assumed: alice sends a
1000 Hz tone, bob 600 Hz, and each side's recording of what it heard must contain the other's
tone (dominant frequency ±10 Hz, most of the energy in that band, few silent 20 ms blocks).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.peers import audio
from tests.peers.baresip import Account, Baresip, available
from tests.peers.certs import PeerPki, session_pki
from tests.peers.kamailio import Kamailio, kamailio_available

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not available(), reason="baresip (with its modules) is not installed"),
]

ALICE_HZ, BOB_HZ = 1000.0, 600.0
HEARD_SECONDS = 1.0  # audio each side must receive before the call is hung up
SETUP_TIMEOUT = 5.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PeerPki:
    return session_pki(tmp_path_factory)


def _tls_established_on(port: int) -> bool:
    """True if some TCP connection to local `port` is ESTABLISHED (Linux /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            return True
    return False


def _establish(caller: Baresip, callee: Baresip, uri: str, *, manual: bool = False) -> float:
    """Dial and wait until both sides report the call up; returns the setup time in seconds."""
    start = time.monotonic()
    caller.dial(uri)
    if manual:
        callee.wait_for_event("CALL_INCOMING", SETUP_TIMEOUT, unless=("CALL_CLOSED",))
        callee.answer()
    caller.wait_for_event("CALL_ESTABLISHED", SETUP_TIMEOUT, unless=("CALL_CLOSED",))
    callee.wait_for_event("CALL_ESTABLISHED", SETUP_TIMEOUT, unless=("CALL_CLOSED",))
    return time.monotonic() - start


def _media_and_hangup(caller: Baresip, callee: Baresip) -> None:
    """Let audio flow both ways, hang up from the caller, then check what each side heard."""
    caller.wait_for_received_audio(HEARD_SECONDS)
    callee.wait_for_received_audio(HEARD_SECONDS)
    caller.hangup()
    caller.wait_for_event("CALL_CLOSED", SETUP_TIMEOUT)
    callee.wait_for_event("CALL_CLOSED", SETUP_TIMEOUT)
    for listener, speaker in ((caller, callee), (callee, caller)):
        heard = audio.analyse(listener.recording())
        where = f"{listener.name} hearing {speaker.name}: {heard}"
        assert abs(heard.dominant_hz - speaker.tone_hz) <= 10, where
        assert heard.band_share > 0.9, where
        assert heard.active_share > 0.8, where
        assert heard.seconds >= HEARD_SECONDS, where


def test_direct_call_over_udp(tmp_path: Path) -> None:
    with (
        Baresip(tmp_path, Account("alice"), tone_hz=ALICE_HZ) as alice,
        Baresip(tmp_path, Account("bob", answermode="manual"), tone_hz=BOB_HZ) as bob,
    ):
        setup = _establish(alice, bob, bob.uri("udp"), manual=True)
        assert setup < SETUP_TIMEOUT
        _media_and_hangup(alice, bob)


def test_direct_call_over_tls(tmp_path: Path, pki: PeerPki) -> None:
    cert, ca = pki.leaf.bundle, pki.ca_cert
    with (
        Baresip(tmp_path, Account("alice"), tone_hz=ALICE_HZ, cert_bundle=cert, cafile=ca) as alice,
        Baresip(tmp_path, Account("bob"), tone_hz=BOB_HZ, cert_bundle=cert, cafile=ca) as bob,
    ):
        assert not _tls_established_on(bob.tls_port)
        _establish(alice, bob, bob.uri("tls"))
        # The INVITE went to bob's TLS listener (only TLS listens on that port).
        assert _tls_established_on(bob.tls_port)
        _media_and_hangup(alice, bob)


def test_baresip_as_tls_client_does_not_check_the_server_name(tmp_path: Path, pki: PeerPki) -> None:
    """Characterisation: baresip 1.0.0 (libre 1.1.0) loads `sip_cafile` but never verifies the
    server's certificate, so it happily calls a peer whose certificate names example.invalid.
    Certificate-verification tests therefore need another client (ours, pjsua2, Python ssl)."""
    with (
        Baresip(tmp_path, Account("alice"), tone_hz=ALICE_HZ, cafile=pki.ca_cert) as alice,
        Baresip(tmp_path, Account("bob"), tone_hz=BOB_HZ, cert_bundle=pki.wrong_name.bundle) as bob,
    ):
        _establish(alice, bob, bob.uri("tls"))
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
            assert _tls_established_on(kamailio.tls_port)  # bob's registration flow
            # Each dials the other's AOR at Kamailio; only Kamailio listens there, so the call
            # is proxied (lookup + t_relay), with proxy digest on the INVITE.
            _establish(alice, bob, f"sip:bob@{kamailio.domain}:{kamailio.port}")
            _media_and_hangup(alice, bob)
            _establish(bob, alice, f"sip:alice@{kamailio.domain}:{kamailio.tls_port}")
            _media_and_hangup(bob, alice)
            for peer in (alice, bob):  # the account line went over ctrl_tcp, not into the log
                assert peer.account.password
                assert peer.account.password not in peer.log.read_text(errors="replace")
