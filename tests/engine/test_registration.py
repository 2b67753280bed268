"""Registration against real registrars: Kamailio (the reference) and our lab registrar.

Each engine runs in its own process (harness.py); every process must exit with 0. Timings are
printed (run with -s to see them) and bounded loosely: they are measured, not assumed.
"""

from __future__ import annotations

import itertools
import re
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest

import tests.peers.kamailio as kamailio_module
from tests.engine.harness import EngineProc, EngineProcError, account
from tests.interop.flows import register_contacts
from tests.peers.certs import PeerPki
from tests.peers.kamailio import Kamailio
from tests.peers.registrar import OurRegistrar
from tests.peers.sipp import sipp_available

pytestmark = pytest.mark.interop

Engines = Callable[..., EngineProc]


def _registered(proc: EngineProc, name: str, since: int = 0, timeout: float = 10) -> dict[str, Any]:
    return proc.wait_event(
        "RegistrationEvent", timeout=timeout, since=since, account=name, state="registered"
    )


def _sent(proc: EngineProc, method: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        t
        for t in proc.traces(since)
        if t["direction"] == "out" and t["summary"] == method and t.get("call_id")
    ]


def _assert_no_event(
    proc: EngineProc, type_: str, seconds: float, since: int, **fields: Any
) -> None:
    """Wait `seconds` for an event that must not come (a deadline on a real condition)."""
    with pytest.raises(EngineProcError):
        proc.wait_event(type_, timeout=seconds, since=since, **fields)


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_register_refresh_and_unregister_at_exit(
    transport: str, engines: Engines, make_kamailio: Callable[..., Kamailio], pki: PeerPki
) -> None:
    tls = transport == "tls"
    kam = make_kamailio(**({"tls_cert": pki.leaf.cert, "tls_key": pki.leaf.key} if tls else {}))
    port = kam.tls_port if tls else kam.port
    assert port is not None
    proc = engines(f"reg-{transport}")
    start = time.monotonic()
    proc.cmd(
        "add_account",
        **account("alice", "alice", "alice-pw", kam.domain, port, transport=transport,
                  ca_file=str(pki.ca_cert), expires=60),
    )  # fmt: skip
    event = _registered(proc, "alice")
    took = time.monotonic() - start
    print(f"\n{transport}: add_account → registered in {took * 1000:.1f} ms")
    assert took < 2.0
    assert event["code"] == 200 and event["expires"] == 60
    assert event["explanation"] == "registered as alice@127.0.0.1 for 60 s"
    ours = [b for b in event["bindings"] if f"transport={transport}" in b["contact"].lower()]
    assert ours or transport == "udp", event["bindings"]
    assert len(event["bindings"]) == 1
    registers = _sent(proc, "REGISTER")
    assert [t["transport"] for t in registers] == [transport.upper()] * 2  # 401 answered once
    traces = proc.traces()
    assert {t["origin"] for t in traces} == {"alice"}  # every message attributed to the account
    wire = next(t["time"] for t in traces if t["summary"] == "200 OK") - traces[0]["time"]
    print(f"{transport}: REGISTER → 401 → REGISTER → 200 on the wire in {wire * 1000:.1f} ms")
    if tls:
        tls_event = proc.wait_event("TransportEvent", transport="TLS", state="connected")
        assert tls_event["verify_ok"] and tls_event["verify_status"] == 0
        assert tls_event["cipher"] and tls_event["peer_subject"] == "127.0.0.1"
    mark = proc.mark()
    assert proc.stop() == 0
    # Unregister on exit: the engine waits for the registrar's answer before libDestroy.
    gone = proc.wait_event("RegistrationEvent", since=mark, state="unregistered")
    assert gone["code"] == 200 and gone["expires"] == 0
    last = _sent(proc, "REGISTER", mark)[-1]
    assert "expires: 0" in last["raw"].lower()


def test_refresh_before_expiry_honours_min_expires(
    engines: Engines, make_registrar: Callable[..., OurRegistrar]
) -> None:
    # Our registrar answers 423 below 12 s (RFC 3261 §10.3 step 7); pjsip retries with
    # Min-Expires by itself and refreshes at granted expiry − 5 s (engine-notes §7), but never
    # sooner than 5 s after the grant (sip_reg.c DELAY_BEFORE_REFRESH).
    reg = make_registrar(extra_args=["--min-expires", "12", "--max-expires", "3600"])
    proc = engines("refresh")
    proc.cmd(
        "add_account", **account("alice", "alice", "alice-pw", reg.domain, reg.port, expires=2)
    )
    first = _registered(proc, "alice")
    assert first["expires"] == 12
    statuses = [t["summary"] for t in proc.traces() if t["direction"] == "in"]
    assert "423 Interval Too Brief" in statuses
    mark = proc.mark()
    second = _registered(proc, "alice", since=mark, timeout=10)
    gap = second["_t"] - first["_t"]
    print(f"\nrefresh came {gap:.2f} s after a grant of 12 s")
    assert 6.6 <= gap <= 7.6  # 12 − 5 s (delayBeforeRefreshSec)
    assert second["expires"] == 12


@pytest.mark.parametrize("server", ["kamailio", "ours"])
def test_wrong_password_stops_without_hammering(
    server: str,
    engines: Engines,
    make_kamailio: Callable[..., Kamailio],
    make_registrar: Callable[..., OurRegistrar],
) -> None:
    reg: Kamailio | OurRegistrar = make_kamailio() if server == "kamailio" else make_registrar()
    proc = engines(f"badpw-{server}")
    proc.cmd(
        "add_account",
        **account("alice", "alice", "not-the-password", reg.domain, reg.port,
                  retry_first_sec=1, retry_interval_sec=1),
    )  # fmt: skip
    failed = proc.wait_event("RegistrationEvent", account="alice", state="failed")
    assert failed["code"] == 401
    assert failed["explanation"].startswith(
        "the registrar rejected the credentials for user alice (401 after answering the challenge"
    )
    mark = proc.mark()
    # No automatic retry (retry interval 1 s here): nothing for 4 s.
    _assert_no_event(proc, "RegistrationEvent", 4.0, mark, account="alice")
    registers = _sent(proc, "REGISTER")
    authenticated = [t for t in registers if "authorization:" in t["raw"].lower()]
    print(f"\n{server}: {len(registers)} REGISTERs, {len(authenticated)} with credentials")
    assert 1 <= len(authenticated) <= 3
    assert failed["auth_attempts"] == len(authenticated)


def test_registrar_down_then_up_retries_on_a_predictable_schedule(
    engines: Engines, make_kamailio: Callable[..., Kamailio], monkeypatch: pytest.MonkeyPatch
) -> None:
    kam = make_kamailio()
    port = kam.port
    kam.stop()  # the registrar is down: TCP connections to it are refused at once
    proc = engines("downup")
    proc.cmd(
        "add_account",
        **account("alice", "alice", "alice-pw", kam.domain, port, transport="tcp",
                  retry_first_sec=1, retry_interval_sec=2),
    )  # fmt: skip
    retries: list[dict[str, Any]] = []
    for _ in range(3):
        # Count from just after the previous one: the first comes before add_account returns.
        since = proc.events.index(retries[-1]) + 1 if retries else 0
        event = proc.wait_event("RegistrationEvent", since=since, state="retrying")
        retries.append(event)
        assert event["code"] == 503 and event["explanation"].startswith(
            "could not reach the registrar: Connection refused"
        )
    assert [e["retry_in"] for e in retries] == [1, 2, 2]
    attempts = [t["_t"] for t in proc.events if t["type"] == "TraceEvent"]
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(attempts)]
    print(f"\nREGISTER attempts {len(attempts)}, gaps {gaps}")
    assert gaps[:2] == pytest.approx([1.0, 2.0], abs=0.25)
    # Back up on the same port: the next scheduled retry registers.
    monkeypatch.setattr(kamailio_module, "free_port_block", lambda *a, **k: port)
    kam.start()
    up = _registered(proc, "alice", timeout=6)
    assert up["code"] == 200


@pytest.mark.skipif(sipp_available() is not None, reason="sipp not installed")
def test_eleventh_contact_is_refused_and_bindings_are_listed(
    engines: Engines, make_kamailio: Callable[..., Kamailio], tmp_path: Any
) -> None:
    kam = make_kamailio()
    result = register_contacts(kam, tmp_path, "alice", "alice-pw", 3)
    assert result.successful == 3, result.explain()
    proc = engines("devices")
    proc.cmd("add_account", **account("alice", "alice", "alice-pw", kam.domain, kam.port))
    event = _registered(proc, "alice")
    # Multi-device awareness: the 200 OK lists every binding of the AOR, ours included.
    assert len(event["bindings"]) == 4
    assert "4 devices are registered" in event["explanation"]
    proc.cmd("remove_account", "alice")
    proc.wait_event("RegistrationEvent", state="unregistered", account="alice")
    (tmp_path / "more").mkdir()
    # Seven more contacts (another sipp port): 3 + 7 fills the AOR (max_contacts 10).
    more = register_contacts(kam, tmp_path / "more", "alice", "alice-pw", 7)
    assert more.successful == 7, more.explain()
    mark = proc.mark()
    proc.cmd(
        "add_account",
        **account("alice2", "alice", "alice-pw", kam.domain, kam.port, retry_first_sec=30),
    )
    refused = proc.wait_event(
        "RegistrationEvent", since=mark, account="alice2", where=lambda e: e["code"] >= 300
    )
    assert refused["code"] == 503
    assert "Too many registered contacts" in refused["explanation"]
    assert refused["state"] == "retrying" and refused["retry_in"] == 30


@pytest.mark.parametrize(
    ("cert", "words"),
    [
        ("self_signed", "not signed by a certificate authority this phone trusts"),
        ("wrong_name", "is for example.invalid, not for 127.0.0.1 (name mismatch)"),
        ("wildcard", "wildcard certificate (*.example.com), which SIP does not accept"),
    ],
)
def test_certificate_problems_are_explained(
    cert: str,
    words: str,
    engines: Engines,
    make_kamailio: Callable[..., Kamailio],
    pki: PeerPki,
    tmp_path: Any,
) -> None:
    from softphone.lab.certs import make_leaf

    if cert == "wildcard":
        crt, key, _ = make_leaf(
            tmp_path, pki.ca_cert, pki.pki.ca_key, hosts=("*.example.com",), stem="wild"
        )
    else:
        pair = getattr(pki, cert)
        crt, key = pair.cert, pair.key
    kam = make_kamailio(tls_cert=crt, tls_key=key)
    assert kam.tls_port is not None
    proc = engines(f"cert-{cert}")
    proc.cmd(
        "add_account",
        **account("alice", "alice", "alice-pw", kam.domain, kam.tls_port, transport="tls",
                  ca_file=str(pki.ca_cert), retry_first_sec=30),
    )  # fmt: skip
    transport = proc.wait_event("TransportEvent", transport="TLS")
    assert transport["state"] == "disconnected" and not transport["verify_ok"]
    assert words in transport["explanation"]
    assert transport["explanation"].endswith("the connection was refused")
    failed = proc.wait_event("RegistrationEvent", state="retrying")
    assert words in failed["explanation"]
    assert not [t for t in proc.traces() if t["direction"] == "in"]  # nothing got through


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_tcp_nodelay_on_tcp_and_tls_connections(
    make_kamailio: Callable[..., Kamailio], pki: PeerPki, tmp_path: Any
) -> None:
    """pjsip applies TransportConfig/TlsConfig sockOptParams to its outgoing connections: the
    syscalls show TCP_NODELAY set on the very sockets that connect to the registrar."""
    kam = make_kamailio(tls_cert=pki.leaf.cert, tls_key=pki.leaf.key)
    trace = tmp_path / "strace.txt"
    wrapper = ("strace", "-f", "-e", "trace=setsockopt,connect", "-o", str(trace))
    with EngineProc(tmp_path, "nodelay", wrapper=wrapper) as proc:
        for name, transport, port in (("tcp", "tcp", kam.port), ("tls", "tls", kam.tls_port)):
            proc.cmd(
                "add_account",
                **account(name, "alice", "alice-pw", kam.domain, port, transport=transport,
                          ca_file=str(pki.ca_cert)),
            )  # fmt: skip
            _registered(proc, name)
    assert proc.returncode == 0
    lines = trace.read_text().splitlines()
    for port in (kam.port, kam.tls_port):
        connect = next(i for i, line in enumerate(lines) if f"htons({port})" in line)
        connecting = _strace_pid_fd(lines[connect], "connect")
        assert connecting is not None, lines[connect]
        pid, fd = connecting
        nodelay = [
            i
            for i, line in enumerate(lines[:connect])
            if "SOL_TCP, TCP_NODELAY, [1], 4) = 0" in line
            and _strace_pid_fd(line, "setsockopt") == (pid, fd)
        ]
        assert nodelay, f"no TCP_NODELAY on fd {fd} before connecting to {port}"


def _strace_pid_fd(line: str, syscall: str) -> tuple[str, str] | None:
    """(pid, first argument) of an `strace -f` line. strace pads the pid to five columns, so
    a four-digit pid (a fresh CI machine) is followed by two spaces, a five-digit one by one."""
    found = re.match(rf"(\d+)\s+{syscall}\((\d+),", line)
    return (found[1], found[2]) if found else None
