"""Kamailio-only checks of the reference peer kit (the shared behaviour tests that also run
against Kamailio are in test_registrar_behaviour.py): its TCP and TLS listeners answer."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.peers.kamailio import Kamailio

pytestmark = pytest.mark.interop


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
