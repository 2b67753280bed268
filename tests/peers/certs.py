"""The test PKI, made once per pytest session and shared by every TLS test.

RSA key generation costs tens of milliseconds per key, and TLS interop tests (baresip,
Kamailio, the lab registrar, pjsua2) all need the same trust setup: one CA, a leaf for
127.0.0.1/localhost, a leaf that chains to the CA but names the wrong host, and a self-signed
certificate the CA does not vouch for. Use it from a test module as

    @pytest.fixture(scope="session")
    def pki(tmp_path_factory: pytest.TempPathFactory) -> PeerPki:
        return session_pki(tmp_path_factory)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from softphone.lab.certs import Pki, ensure_self_signed, make_ca_and_leaf, make_leaf

LOCAL_HOSTS = ("127.0.0.1", "localhost")
WRONG_HOST = "example.invalid"  # RFC 6761: never resolves, never matches 127.0.0.1


@dataclass(frozen=True)
class CertKey:
    cert: Path
    key: Path
    bundle: Path  # cert followed by key, for baresip's sip_certificate


@dataclass(frozen=True)
class PeerPki:
    """`ca` signs `leaf` (127.0.0.1, localhost) and `wrong_name` (example.invalid);
    `self_signed` is for 127.0.0.1 too but chains to nothing the CA knows."""

    ca_cert: Path
    leaf: CertKey
    wrong_name: CertKey
    self_signed: CertKey
    pki: Pki


def build_pki(directory: Path) -> PeerPki:
    pki = make_ca_and_leaf(directory, hosts=LOCAL_HOSTS)
    wrong = make_leaf(directory, pki.ca_cert, pki.ca_key, hosts=(WRONG_HOST,), stem="wrong-name")
    self_cert, self_key = directory / "self-signed.crt", directory / "self-signed.key"
    ensure_self_signed(self_cert, self_key, hosts=LOCAL_HOSTS)
    self_bundle = directory / "self-signed.pem"
    self_bundle.write_bytes(self_cert.read_bytes() + self_key.read_bytes())
    self_bundle.chmod(0o600)
    return PeerPki(
        ca_cert=pki.ca_cert,
        leaf=CertKey(pki.leaf_cert, pki.leaf_key, pki.leaf_bundle),
        wrong_name=CertKey(*wrong),
        self_signed=CertKey(self_cert, self_key, self_bundle),
        pki=pki,
    )


_cache: dict[Path, PeerPki] = {}


def session_pki(factory: pytest.TempPathFactory) -> PeerPki:
    """The session's PKI, created on first use under the session's temporary base directory."""
    base = factory.getbasetemp()
    if base not in _cache:
        _cache[base] = build_pki(factory.mktemp("pki"))
    return _cache[base]
