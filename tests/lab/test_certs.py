"""The lab's certificates: files, permissions, idempotence, and real TLS handshakes against them.

The handshakes use the stdlib `ssl` module (OpenSSL 3) on 127.0.0.1: a client that trusts only
the test CA and checks the host name must accept the CA-signed leaf and refuse the self-signed
and the wrong-name certificates, which is what the lab's verify-on mode relies on.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from softphone.lab.certs import ensure_self_signed, make_ca_and_leaf
from tests.peers.certs import PeerPki, build_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PeerPki:
    return build_pki(tmp_path_factory.mktemp("pki"))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_self_signed_creates_files_with_private_key_mode(tmp_path: Path) -> None:
    cert, key = tmp_path / "lab" / "tls.crt", tmp_path / "lab" / "tls.key"
    ensure_self_signed(cert, key)
    assert _mode(key) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    parsed = _cert(cert)
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert parsed.issuer == parsed.subject
    days = (parsed.not_valid_after_utc - parsed.not_valid_before_utc).days
    assert 3600 <= days <= 3700
    assert not list(tmp_path.glob("lab/*.tmp")), "temporary files left behind"


def test_self_signed_is_idempotent(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    ensure_self_signed(cert, key)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in (cert, key)}
    ensure_self_signed(cert, key, hosts=("10.0.0.1",))
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in (cert, key)}
    assert after == before


def test_self_signed_is_remade_when_half_missing(tmp_path: Path) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    ensure_self_signed(cert, key)
    old_cert = cert.read_bytes()
    key.unlink()
    ensure_self_signed(cert, key)
    assert key.exists() and cert.read_bytes() != old_cert


def test_ca_and_leaf_extensions(tmp_path: Path) -> None:
    pki = make_ca_and_leaf(tmp_path, hosts=("127.0.0.1", "localhost"))
    ca, leaf = _cert(pki.ca_cert), _cert(pki.leaf_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.issuer == ca.subject
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    leaf.verify_directly_issued_by(ca)
    for key in (pki.ca_key, pki.leaf_key, pki.leaf_bundle):
        assert _mode(key) == 0o600, key
    bundle = pki.leaf_bundle.read_bytes()
    assert bundle == pki.leaf_cert.read_bytes() + pki.leaf_key.read_bytes()


class _OneShotTlsServer:
    """Accepts one TLS connection on 127.0.0.1 and records whether its handshake succeeded."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.handshake_ok: bool | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(10)
        conn, _ = self.sock.accept()
        conn.settimeout(10)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.handshake_ok = True
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError):
            self.handshake_ok = False

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[list[_OneShotTlsServer]]:
    servers: list[_OneShotTlsServer] = []
    yield servers
    for server in servers:
        server.close()


def _connect(port: int, cafile: Path, server_hostname: str = "127.0.0.1") -> bytes:
    context = ssl.create_default_context(cafile=str(cafile))  # trusts only this file
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return tls.recv(2)


def test_leaf_verifies_against_ca(pki: PeerPki, serve: list[_OneShotTlsServer]) -> None:
    server = _OneShotTlsServer(pki.leaf.cert, pki.leaf.key)
    serve.append(server)
    assert _connect(server.port, pki.ca_cert) == b"ok"
    server.thread.join(timeout=10)
    assert server.handshake_ok is True


def test_leaf_verifies_by_dns_name(pki: PeerPki, serve: list[_OneShotTlsServer]) -> None:
    server = _OneShotTlsServer(pki.leaf.cert, pki.leaf.key)
    serve.append(server)
    assert _connect(server.port, pki.ca_cert, server_hostname="localhost") == b"ok"


def test_self_signed_is_refused_by_ca_context(pki: PeerPki, serve: list[_OneShotTlsServer]) -> None:
    server = _OneShotTlsServer(pki.self_signed.cert, pki.self_signed.key)
    serve.append(server)
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed"):
        _connect(server.port, pki.ca_cert)


def test_self_signed_verifies_when_pinned(pki: PeerPki, serve: list[_OneShotTlsServer]) -> None:
    # What a lab user does with the registrar's self-signed certificate: trust that file itself.
    server = _OneShotTlsServer(pki.self_signed.cert, pki.self_signed.key)
    serve.append(server)
    assert _connect(server.port, pki.self_signed.cert) == b"ok"


def test_wrong_name_leaf_is_refused(pki: PeerPki, serve: list[_OneShotTlsServer]) -> None:
    server = _OneShotTlsServer(pki.wrong_name.cert, pki.wrong_name.key)
    serve.append(server)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _connect(server.port, pki.ca_cert)
