"""TLS certificates for the lab registrar and for tests, made without an openssl binary.

The lab registrar offers SIP over TLS (RFC 3261 §26.2, RFC 5630) from its first run, so it makes
a self-signed certificate for itself when none exists. Tests and the lab's verify-on mode need a
small PKI instead: a CA the client trusts and leaves signed by it, one of them for a wrong name,
so that both a successful verification and a name mismatch can be shown.

Format choices, all for the oldest consumer: the pjsua2 wheel bundles OpenSSL 1.0.2k
(engine-notes §3), Kamailio's tls module and baresip (libre) load the same files through
OpenSSL 3. So keys are RSA-2048 written as traditional PEM ("BEGIN RSA PRIVATE KEY"), which
every OpenSSL since 0.9 reads, certificates are X.509 v3 PEM with SHA-256 signatures, and the
host names sit in subjectAltName (RFC 5922 §7.1 and RFC 6125 say clients match there, not CN).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost")
VALIDITY = dt.timedelta(days=3650)
# Backdate notBefore a little: a peer whose clock is slightly behind would otherwise reject a
# certificate made a moment ago as "not yet valid".
CLOCK_SKEW = dt.timedelta(hours=1)
KEY_BITS = 2048


@dataclass(frozen=True)
class Pki:
    """Paths of a test CA and of a leaf it signed (the leaf key is mode 0600).

    `ca_key` is kept so that more leaves (for example one for a wrong name) can be signed later.
    `leaf_bundle` holds the leaf certificate followed by its key in one file, the form baresip's
    `sip_certificate` wants (libre loads chain and key from the same file).
    """

    ca_cert: Path
    ca_key: Path
    leaf_cert: Path
    leaf_key: Path
    leaf_bundle: Path


def ensure_self_signed(
    cert_path: Path, key_path: Path, *, hosts: Iterable[str] = DEFAULT_HOSTS
) -> None:
    """Create a self-signed certificate and key for `hosts`, unless both files already exist.

    The lab registrar calls this on every start: the first run creates the pair, later runs keep
    it, so a client that pinned the certificate keeps working. Both files are written to a
    temporary name and renamed, so a crash never leaves a half-written key behind, and an
    exclusive lock makes two registrars starting at once agree on one pair.
    """
    cert_path, key_path = Path(cert_path), Path(key_path)
    names = tuple(hosts)
    with _exclusive(key_path.parent):
        if cert_path.exists() and key_path.exists():
            return
        key = _new_key()
        name = _name(names[0] if names else "softphone lab")
        builder = _base(name, name, key.public_key(), names)
        # CA:FALSE: this certificate identifies a server; a client trusts it by pinning it.
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        )
        builder = _leaf_usage(builder).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        cert = builder.sign(key, hashes.SHA256())
        # Key first: a certificate on disk without its key would look complete to the check above.
        _write_atomic(key_path, _key_pem(key), mode=0o600)
        _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def make_ca_and_leaf(directory: Path, *, hosts: Iterable[str] = DEFAULT_HOSTS) -> Pki:
    """Create `ca.crt`/`ca.key` and a CA-signed leaf `leaf.crt`/`leaf.key` for `hosts`.

    The leaf carries serverAuth and clientAuth, so the same file serves a TLS server (registrar,
    Kamailio, baresip's listener) and a client that is asked for a certificate.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_name = _name("softphone test CA")
    ca = (
        _base(ca_name, ca_name, ca_key.public_key(), ())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_cert_path = directory / "ca.crt"
    ca_key_path = directory / "ca.key"
    _write_atomic(ca_key_path, _key_pem(ca_key), mode=0o600)
    _write_atomic(ca_cert_path, ca.public_bytes(serialization.Encoding.PEM), mode=0o644)
    leaf_cert, leaf_key, bundle = make_leaf(
        directory, ca_cert_path, ca_key_path, hosts=hosts, stem="leaf"
    )
    return Pki(ca_cert_path, ca_key_path, leaf_cert, leaf_key, bundle)


def make_leaf(
    directory: Path,
    ca_cert: Path,
    ca_key: Path,
    *,
    hosts: Iterable[str],
    stem: str,
) -> tuple[Path, Path, Path]:
    """Sign a leaf for `hosts` with the given CA; returns (cert, key, cert+key bundle) paths.

    Pass hosts=("example.invalid",) to get a certificate that chains to the CA but names the
    wrong host: a client that checks names (RFC 5922 §7.1) must refuse it for 127.0.0.1.
    """
    directory = Path(directory)
    names = tuple(hosts)
    issuer_cert = x509.load_pem_x509_certificate(Path(ca_cert).read_bytes())
    issuer_key = serialization.load_pem_private_key(Path(ca_key).read_bytes(), password=None)
    if not isinstance(issuer_key, rsa.RSAPrivateKey):
        raise TypeError(f"{ca_key} is not an RSA key")
    key = _new_key()
    builder = _base(
        _name(names[0] if names else stem), issuer_cert.subject, key.public_key(), names
    ).add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    cert = (
        _leaf_usage(builder)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = _key_pem(key)
    cert_path, key_path, bundle_path = (
        directory / f"{stem}.crt",
        directory / f"{stem}.key",
        directory / f"{stem}.pem",
    )
    _write_atomic(key_path, key_pem, mode=0o600)
    _write_atomic(cert_path, cert_pem, mode=0o644)
    _write_atomic(bundle_path, cert_pem + key_pem, mode=0o600)
    return cert_path, key_path, bundle_path


def _new_key() -> rsa.RSAPrivateKey:
    # RSA rather than P-256: every consumer here takes RSA, and ECDSA key loading in pjsua2's
    # OpenSSL 1.0.2k build is not something we verified (engine-notes §3 used RSA).
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    # TraditionalOpenSSL = PKCS#1 "RSA PRIVATE KEY": readable by OpenSSL 1.0.2 and 3 alike.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "softphone lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """IP literals become iPAddress entries, everything else dNSName (RFC 5280 §4.2.1.6)."""
    entries: list[x509.GeneralName] = []
    for host in hosts:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return entries


def _base(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    hosts: Iterable[str],
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        # Key identifiers let verifiers (Python 3.13's strict X.509 mode among them) build chains.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    san = _san(hosts)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder


def _leaf_usage(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    return builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=True,  # RSA key transport in TLS 1.0-1.2 (pjsua2's OpenSSL 1.0.2k)
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    ).add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        critical=False,
    )


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over `path`.

    mkstemp creates the file with mode 0600, so a key is never readable by others, not even
    for the moment before the final chmod.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Hold an advisory lock on `directory` so concurrent first runs create one pair, not two
    half-mixed ones. POSIX only; elsewhere the atomic renames alone have to do."""
    directory.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        yield
        return
    import fcntl

    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
