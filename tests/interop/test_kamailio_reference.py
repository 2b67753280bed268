"""The real-peer kit proven against Kamailio, the reference registrar/forking proxy.

These tests pin down the behaviour our own registrar is measured against, with the
same sipp scenarios that will later drive ours: digest REGISTER for many users,
giving up after a second 401 (wrong password, unknown user — indistinguishable),
INVITE with proxy auth through the proxy to a registered sipp UAS, parallel forking
where the loser gets a CANCEL with `Reason: SIP;cause=200;text="Call completed
elsewhere"`, and the 11th contact refused.  Each test uses its own AOR, so they share
one Kamailio.
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import BULK_USERS, NAMED_USERS
from tests.interop.flows import (
    call,
    explain,
    final_header_names,
    received,
    register_contacts,
    register_many,
    register_once,
    sent,
)
from tests.peers.kamailio import Kamailio
from tests.peers.sipp import RegisteredUas, scenario

pytestmark = pytest.mark.interop


def test_many_users_register_with_digest(kamailio: Kamailio, tmp_path: Path) -> None:
    result = register_many(kamailio, tmp_path, BULK_USERS)
    assert result.returncode == 0, explain(result, kamailio)
    assert (result.successful, result.failed) == (len(BULK_USERS), 0)


@pytest.mark.parametrize(
    ("scenario_name", "user", "password"),
    [
        ("register_wrong_password", "frank", NAMED_USERS["frank"]),
        ("register_unknown_user", "mallory", "mallory-pw"),
    ],
)
def test_bad_credentials_give_up_after_second_401(
    kamailio: Kamailio, tmp_path: Path, scenario_name: str, user: str, password: str
) -> None:
    result = register_once(kamailio, tmp_path, scenario_name, user, password)
    assert result.returncode == 0, explain(result, kamailio)
    assert result.successful == 1
    # Exactly one answer to the challenge, then silence (RFC 3261 §22.2).
    assert sent(result.messages) == [f"REGISTER sip:{kamailio.host}:{kamailio.port} SIP/2.0"] * 2
    assert received(result.messages) == ["SIP/2.0 401 Unauthorized"] * 2


def test_wrong_password_and_unknown_user_look_alike(kamailio: Kamailio, tmp_path: Path) -> None:
    """No user-existence oracle: the final 401s carry the same header fields."""
    wrong = register_once(
        kamailio, tmp_path, "register_wrong_password", "frank", NAMED_USERS["frank"]
    )
    unknown = register_once(kamailio, tmp_path, "register_unknown_user", "mallory", "mallory-pw")
    assert wrong.returncode == 0, explain(wrong, kamailio)
    assert final_header_names(wrong) == final_header_names(unknown)


def test_invite_with_proxy_auth_reaches_registered_uas(kamailio: Kamailio, tmp_path: Path) -> None:
    registrar = (kamailio.host, kamailio.port)
    with RegisteredUas(
        registrar, "carol", NAMED_USERS["carol"], scenario("uas_register_answer"), timeout_s=15
    ) as uas:
        uac = call(kamailio, tmp_path, ("alice", NAMED_USERS["alice"]), "carol")
        callee = uas.wait(timeout=10)
    assert uac.returncode == 0, explain(uac, kamailio)
    assert callee.returncode == 0, explain(callee, kamailio)
    answers = received(uac.messages)
    assert answers[0].startswith("SIP/2.0 407")
    assert "SIP/2.0 200 OK" in answers
    # The INVITE reached the UAS through the proxy: its Record-Route and two Vias.
    invite = callee.messages.split("INVITE sip:carol@", 1)[1].split("\n\n", 1)[0]
    assert f"Record-Route: <sip:{kamailio.host}:{kamailio.port};lr" in invite
    assert invite.count("Via: ") == 2


def test_fork_one_answers_other_gets_cancel_with_reason(kamailio: Kamailio, tmp_path: Path) -> None:
    registrar = (kamailio.host, kamailio.port)
    password = NAMED_USERS["dave"]
    # The answering phone rings 300 ms (sipp -d) so the other branch's 180 reaches
    # Kamailio first: a CANCEL delayed for a missing 180 loses its Reason text in 5.6.3.
    with (
        RegisteredUas(
            registrar, "dave", password, scenario("uas_register_answer"), extra_args=["-d", "300"]
        ) as answering,
        RegisteredUas(registrar, "dave", password, scenario("uas_register_ring_cancel")) as losing,
    ):
        uac = call(kamailio, tmp_path, ("alice", NAMED_USERS["alice"]), "dave")
        answered = answering.wait(timeout=10)
        cancelled = losing.wait(timeout=10)
    assert uac.returncode == 0, explain(uac, kamailio)
    assert answered.returncode == 0, explain(answered, kamailio)
    # The losing UAS's scenario checks the Reason header itself (ereg check_it).
    assert cancelled.returncode == 0, explain(cancelled, kamailio)
    assert 'Reason: SIP;cause=200;text="Call completed elsewhere"' in cancelled.messages


def test_eleventh_contact_is_refused(kamailio: Kamailio, tmp_path: Path) -> None:
    password = NAMED_USERS["erin"]
    result = register_contacts(kamailio, tmp_path, "erin", password, 11)
    assert result.returncode == 1, explain(result, kamailio)
    assert (result.successful, result.failed) == (10, 1)
    assert received(result.messages)[-1] == "SIP/2.0 503 Service Unavailable"
    assert "P-Registrar-Error: Too many registered contacts" in result.messages


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _options_over(sock: Any, host: str, port: int, transport: str) -> bytes:
    local = sock.getsockname()
    sock.sendall(
        (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{transport} {local[0]}:{local[1]};branch=z9hG4bK-tls-probe\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{host}>;tag=probe\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            "Call-ID: tls-probe@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    return bytes(sock.recv(65535))


def test_tcp_and_tls_listeners_answer(make_kamailio: Any, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server: Kamailio = make_kamailio({"alice": "alice-pw"}, tls_cert=cert, tls_key=key)
    assert server.tls_port is not None
    with socket.create_connection((server.host, server.tcp_port), timeout=5) as tcp:
        assert _options_over(tcp, server.host, server.tcp_port, "TCP").startswith(b"SIP/2.0 200")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a throw-away self-signed test certificate
    with (
        socket.create_connection((server.host, server.tls_port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        assert _options_over(tls, server.host, server.tls_port, "TLS").startswith(b"SIP/2.0 200")
