"""The lab server over real sockets: answers, retransmissions, streams, traces, persistence."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from softphone.lab.transport import ListenSpec
from softphone.sip.framer import StreamFramer
from softphone.sip.message import SipResponse, parse_message
from tests.lab.labthread import running_lab, udp_exchange
from tests.lab.sipclient import RegisterClient


def response(data: bytes) -> SipResponse:
    message = parse_message(data)
    assert isinstance(message, SipResponse)
    return message


def options(host: str, port: int, transport: str = "UDP", branch: str = "z9hG4bK-o1") -> bytes:
    return (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:5999;branch={branch}\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:probe@{host}>;tag=p\r\nTo: <sip:{host}:{port}>\r\n"
        "Call-ID: probe-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_options_to_the_server_and_malformed_requests(tmp_path: Path) -> None:
    with running_lab(tmp_path / "db.sqlite") as (_, listeners):
        udp = listeners["UDP"]
        ok = response(udp_exchange(udp, options(udp.host, udp.port)))
        assert ok.status == 200 and "INVITE" in (ok.headers.get("allow") or "")
        bad = options(udp.host, udp.port).replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
        answer = response(udp_exchange(udp, bad))
        assert answer.status == 400
        assert "CSeq" in answer.reason


def test_register_retransmissions_are_answered_like_the_original(tmp_path: Path) -> None:
    """A stateless UAS (RFC 3261 §8.2.7): the answer is regenerated, with the same outcome."""
    with running_lab(tmp_path / "db.sqlite") as (_, listeners):
        alice = RegisterClient("alice", "alice-pw")
        first = alice.request(["<sip:alice@127.0.0.1:5070>"]).to_bytes()
        challenge = response(udp_exchange(listeners["UDP"], first))
        again = response(udp_exchange(listeners["UDP"], first))
        assert (challenge.status, again.status) == (401, 401)
        authorized = alice.request(
            ["<sip:alice@127.0.0.1:5070>"], authorization=alice.answer(challenge)
        )
        ok = response(udp_exchange(listeners["UDP"], authorized.to_bytes()))
        repeat = response(udp_exchange(listeners["UDP"], authorized.to_bytes()))
        assert (ok.status, repeat.status) == (200, 200)
        assert repeat.headers.get_all("contact") == ok.headers.get_all("contact")
        # The same credentials in a new request (new branch) are a replay, not a retransmission.
        replay = alice.request(
            ["<sip:alice@127.0.0.1:5070>"], authorization=alice.answer(challenge)
        )
        assert response(udp_exchange(listeners["UDP"], replay.to_bytes())).status == 401


def test_tcp_pipelined_requests_and_keepalive(tmp_path: Path) -> None:
    with running_lab(tmp_path / "db.sqlite") as (_, listeners):
        tcp = listeners["TCP"]
        with socket.create_connection((tcp.host, tcp.port), timeout=5) as sock:
            first = options(tcp.host, tcp.port, "TCP", "z9hG4bK-t1")
            second = options(tcp.host, tcp.port, "TCP", "z9hG4bK-t2").replace(
                b"probe-1", b"probe-2"
            )
            sock.sendall(first + b"\r\n\r\n" + second)
            framer = StreamFramer()
            frames: list[bytes] = []
            while len(frames) < 2:
                frames += [f for f in framer.feed(sock.recv(4096)) if f.strip()]
            assert [response(f).call_id for f in frames] == ["probe-1", "probe-2"]


def test_trace_file_masks_credentials(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    with running_lab(tmp_path / "db.sqlite", f"--trace={trace}") as (_, listeners):
        alice = RegisterClient("alice", "alice-pw")
        challenge = response(
            udp_exchange(listeners["UDP"], alice.request(["<sip:alice@h>"]).to_bytes())
        )
        authorization = alice.answer(challenge)
        request = alice.request(["<sip:alice@h>"], authorization=authorization)
        assert response(udp_exchange(listeners["UDP"], request.to_bytes())).status == 200
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [(r["direction"], r["summary"]) for r in records] == [
        ("in", "REGISTER"),
        ("out", "401 Unauthorized"),
        ("in", "REGISTER"),
        ("out", "200 OK"),
    ]
    digest_response = authorization.split('response="')[1].split('"')[0]
    assert digest_response not in trace.read_text()
    assert 'response="***"' in records[2]["raw"]


def test_bindings_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    with running_lab(db) as (_, listeners):
        alice = RegisterClient("alice", "alice-pw")
        challenge = response(
            udp_exchange(listeners["UDP"], alice.request(["<sip:alice@127.0.0.1:5070>"]).to_bytes())
        )
        ok = alice.request(["<sip:alice@127.0.0.1:5070>"], authorization=alice.answer(challenge))
        assert response(udp_exchange(listeners["UDP"], ok.to_bytes())).status == 200
    with running_lab(db) as (instance, _):
        assert instance.kept_bindings == 1
        assert instance.server is not None
        kept = instance.server.registrar.bindings.current("alice", instance.server.wall_clock())
        assert [b.contact for b in kept] == ["sip:alice@127.0.0.1:5070"]


def test_invite_rules(tmp_path: Path) -> None:
    with running_lab(tmp_path / "db.sqlite") as (_, listeners):
        udp = listeners["UDP"]
        invite = (
            b"INVITE sip:bob@example.com SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-i1\r\n"
            b"Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a\r\n"
            b"To: <sip:bob@example.com>\r\n"
            b"Call-ID: inv-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(invite, (udp.host, udp.port))
            statuses: list[int] = []
            while not statuses or statuses[-1] < 200:
                statuses.append(response(sock.recvfrom(65535)[0]).status)
        assert statuses == [100, 403]  # a foreign domain: never relayed, not even after auth
        no_mf = invite.replace(b"Max-Forwards: 70", b"Max-Forwards: 0").replace(
            b"z9hG4bK-i1", b"z9hG4bK-i2"
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            sock.sendto(no_mf, (udp.host, udp.port))
            statuses = []
            while not statuses or statuses[-1] < 200:
                statuses.append(response(sock.recvfrom(65535)[0]).status)
        assert statuses[-1] == 483


def exchange_until_final(udp: ListenSpec, data: bytes) -> list[int]:
    """Send one request, collect the statuses until a final response."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(data, (udp.host, udp.port))
        statuses: list[int] = []
        while not statuses or statuses[-1] < 200:
            statuses.append(response(sock.recvfrom(65535)[0]).status)
        return statuses


def in_dialog(udp: ListenSpec, route: str, branch: str, vias: str = "") -> bytes:
    return (
        f"BYE sip:bob@127.0.0.1:7777 SIP/2.0\r\n{vias}"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch={branch}\r\nMax-Forwards: 70\r\n"
        f"Route: {route}\r\nFrom: <sip:alice@127.0.0.1>;tag=a\r\n"
        "To: <sip:bob@127.0.0.1>;tag=b\r\nCall-ID: dialog-1\r\nCSeq: 2 BYE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def test_never_an_open_relay_for_in_dialog_requests(tmp_path: Path) -> None:
    """A request that merely names us in Route, without our dialog token, goes nowhere."""
    with running_lab(tmp_path / "db.sqlite") as (_, listeners):
        udp = listeners["UDP"]
        us = f"<sip:{udp.host}:{udp.port};lr>"
        assert exchange_until_final(udp, in_dialog(udp, us, "z9hG4bK-r1")) == [403]
        forged = f"<sip:{udp.host}:{udp.port};lr;dlg=0123456789abcdef>"
        assert exchange_until_final(udp, in_dialog(udp, forged, "z9hG4bK-r2")) == [403]


def test_loops_are_detected(tmp_path: Path) -> None:
    with running_lab(tmp_path / "db.sqlite") as (_, listeners):
        udp = listeners["UDP"]
        ours = f"Via: SIP/2.0/UDP {udp.host}:{udp.port};branch=z9hG4bKw0.loop\r\n"
        looped = in_dialog(udp, "<sip:10.0.0.1;lr>", "z9hG4bK-l1", vias=ours * 2)
        assert exchange_until_final(udp, looped) == [482]
