"""The engine's own TLS listener: TLS 1.2 only, and inbound TLS calls with server verification.

The protocol check uses the openssl command-line client (OpenSSL 3 on this machine) against
the engine's listener, which runs pjsip's bundled OpenSSL 1.0.2k (engine-notes §3).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine.harness import EngineProc, account
from tests.peers.certs import PeerPki
from tests.peers.ports import free_port_block

pytestmark = pytest.mark.interop

Engines = Callable[..., EngineProc]


def _tls_server(engines: Engines, pki: PeerPki, name: str = "server") -> tuple[EngineProc, int]:
    port = free_port_block([0], kinds=("tcp",))
    proc = engines(
        name,
        tls_port=port,
        tls_cert_file=str(pki.leaf.cert),
        tls_key_file=str(pki.leaf.key),
        ca_file=str(pki.ca_cert),
    )
    return proc, port


def _s_client(port: int, version_flag: str, ca: Path) -> str:
    result = subprocess.run(
        ["timeout", "5", "openssl", "s_client", version_flag, "-connect", f"127.0.0.1:{port}",
         "-CAfile", str(ca)],
        input=b"",
        capture_output=True,
    )  # fmt: skip
    return (result.stdout + result.stderr).decode(errors="replace")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_listener_speaks_tls12_only(engines: Engines, pki: PeerPki) -> None:
    _, port = _tls_server(engines, pki)
    modern = _s_client(port, "-tls1_2", pki.ca_cert)
    assert "Protocol  : TLSv1.2" in modern and "Verify return code: 0 (ok)" in modern, modern
    old = _s_client(port, "-tls1_1", pki.ca_cert)
    assert "Cipher is (NONE)" in old, old  # the handshake was refused


def test_inbound_tls_call_with_verification_and_srtp(engines: Engines, pki: PeerPki) -> None:
    server, port = _tls_server(engines, pki)
    server.cmd(
        "add_account",
        **account("desk", "desk", "x", "127.0.0.1", None, transport="tls", srtp="mandatory"),
    )
    client = engines("client")
    client.cmd(
        "add_account",
        **account("pbx", "pbx", "x", "127.0.0.1", None, transport="tls", srtp="mandatory",
                  ca_file=str(pki.ca_cert)),
    )  # fmt: skip
    handle = client.cmd("make_call", "pbx", f"sip:desk@127.0.0.1:{port}")
    ring = server.wait_event("IncomingCallEvent")
    server.cmd("answer", ring["call"])
    live = client.wait_event("CallEvent", call=handle, where=lambda e: e["srtp_suite"] is not None)
    assert live["srtp_suite"] == "AES_CM_128_HMAC_SHA1_80"
    tls = client.wait_event("TransportEvent", transport="TLS", state="connected")
    assert tls["verify_ok"] and tls["peer_names"] == ["127.0.0.1", "localhost"]
    request = next(t for t in client.traces() if t["summary"] == "INVITE")
    assert request["transport"] == "TLS" and "transport=tls" in request["raw"].split("\r\n")[0]
    client.cmd("hangup", handle)
    server.wait_event("CallEvent", call=ring["call"], state="disconnected")
