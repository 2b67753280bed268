"""Exports: the pcap opens in tshark with every SIP message, text and Mermaid have their
shapes, and no export carries a digest response."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from softphone.sip.diagnosis import diagnose
from softphone.sip.export import to_mermaid, to_pcap, to_text
from softphone.sip.ladder import build_flow, endpoints
from softphone.sip.pcap_read import PcapError, packets, sip_messages, traces_from_pcap
from softphone.sip.trace import SipTrace, make_trace, mask_credentials
from tests.sip.sipflows import RegisterFlow, trunk_call
from tests.sip.sipflows_proxy import proxied_call, retransmitted_call

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def tshark_fields(pcap: Path, *fields: str) -> list[list[str]]:
    args = ["tshark", "-r", str(pcap), "-Y", "sip", "-T", "fields", "-E", "separator=|"]
    for field in fields:
        args += ["-e", field]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True)
    return [line.split("|") for line in result.stdout.splitlines()]


def authenticated_flow() -> list[SipTrace]:
    reg = RegisterFlow()
    assert reg.register().status == 200
    return reg.traces + trunk_call()


def digests(traces: list[SipTrace]) -> list[bytes]:
    """The digest response values that must not leak."""
    out = []
    for t in traces:
        for header in ("authorization", "proxy-authorization"):
            value = t.parsed.headers.get(header) if t.parsed else None
            if value:
                out.append(value.split('response="')[1].split('"')[0].encode())
    return out


@needs_tshark
def test_pcap_reads_back_in_tshark_with_every_message_and_no_credentials(tmp_path: Path) -> None:
    traces = authenticated_flow()
    secrets = digests(traces)
    assert len(secrets) == 2
    pcap = tmp_path / "flow.pcap"
    pcap.write_bytes(to_pcap(traces))
    rows = tshark_fields(pcap, "sip.Method", "sip.Status-Code", "udp.srcport", "udp.dstport")
    assert len(rows) == len(traces)
    expected = [
        (getattr(t.parsed, "method", ""), str(getattr(t.parsed, "status", ""))) for t in traces
    ]
    assert [(r[0], r[1]) for r in rows] == expected
    assert rows[0][2:] == ["5070", "5060"] and rows[1][2:] == ["5060", "5070"]
    data = pcap.read_bytes()
    for secret in secrets:
        assert secret not in data
    assert data.count(b'response="***"') == 2


@needs_tshark
def test_tcp_tls_and_ipv6_messages_decode_as_sip(tmp_path: Path) -> None:
    base = retransmitted_call()
    traces = [
        replace(base[0], transport="TCP"),
        replace(base[3], transport="TLS", remote="127.0.0.1:5061"),
        replace(base[4], local="[::1]:5070", remote="[::1]:5060"),
        replace(base[5], transport="TLS", local="[::1]:40000", remote="[::1]:5061"),
        replace(base[7], remote="proxy.example.com:5060"),
    ]
    pcap = tmp_path / "mixed.pcap"
    pcap.write_bytes(to_pcap(traces))
    rows = tshark_fields(pcap, "frame.protocols", "sip.CSeq.method", "ip.src", "ipv6.src")
    assert len(rows) == 5
    assert ":tcp:sip" in rows[0][0] and ":tcp:sip" in rows[1][0]
    assert ":ipv6:udp:sip" in rows[2][0] and ":ipv6:tcp:sip" in rows[3][0]
    assert rows[4][2].startswith("127.0.0.1") or rows[4][2].startswith("198.18.")
    # TCP checksums and sequence numbers are right: tshark reports no problems.
    check = subprocess.run(
        ["tshark", "-r", str(pcap), "-o", "tcp.check_checksum:TRUE", "-z", "expert,error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Bad checksum" not in check.stdout and "Malformed" not in check.stdout


def test_pcap_header_and_record_sizes() -> None:
    traces = retransmitted_call()
    data = to_pcap(traces)
    assert data[:4] == b"\xd4\xc3\xb2\xa1"  # little-endian microsecond libpcap
    assert int.from_bytes(data[20:24], "little") == 1  # Ethernet
    offset, count = 24, 0
    while offset < len(data):
        incl = int.from_bytes(data[offset + 8 : offset + 12], "little")
        offset += 16 + incl
        count += 1
    assert offset == len(data) and count == len(traces)


def test_text_export_has_ladder_diagnosis_and_masked_messages() -> None:
    traces = trunk_call(password="wrong", second_challenge=True)
    flow = build_flow(traces, "tr-1")
    text = to_text(flow, diagnose(traces))
    lines = text.splitlines()
    assert lines[0] == "SIP flow: Call-ID tr-1 (7 messages)"
    assert lines[1].startswith("Diagnosis: 407 after answering the challenge")
    assert "|------" in text and "<------" in text
    assert text.count("\n=== ") == 7
    assert "Proxy-Authorization: Digest" in text and 'response="***"' in text
    for secret in digests(traces):
        assert secret.decode() not in text
    assert "\r" not in text


def test_text_export_marks_retransmissions() -> None:
    text = to_text(build_flow(retransmitted_call()))
    headers = [line for line in text.splitlines() if line.startswith("=== ")]
    assert sum(line.endswith("RETRANSMISSION") for line in headers) == 3


def test_mermaid_shape() -> None:
    flow = build_flow(proxied_call())
    lines = to_mermaid(flow, "a; b #1").splitlines()
    assert lines[0] == "sequenceDiagram"
    assert lines[1:4] == [
        "    participant P1 as 127.0.0.1:46195",
        "    participant P2 as 127.0.0.1:5060",
        "    participant P3 as 127.0.0.1:5080",
    ]
    assert lines[4] == "    P1->>P2: INVITE"
    assert lines[5] == "    P2-->>P1: 407 Proxy Authentication Required"
    assert "    P2->>P3: INVITE" in lines
    assert lines[-1] == "    Note over P1,P3: a#59; b #35;1"
    assert len(lines) == 1 + 3 + len(flow.arrows) + 1


def test_mermaid_retransmissions_use_the_async_arrow() -> None:
    lines = to_mermaid(build_flow(retransmitted_call())).splitlines()
    assert lines[3:6] == [
        "    P1->>P2: INVITE",
        "    P1-)P2: INVITE (retransmission)",
        "    P1-)P2: INVITE (retransmission)",
    ]


# --- reading captures back (pcap_read) ---------------------------------------------------


def test_pcap_round_trip_gives_the_same_messages_masked() -> None:
    traces = authenticated_flow()
    back = traces_from_pcap(to_pcap(traces))
    assert [t.summary for t in back] == [t.summary for t in traces]
    assert [t.raw for t in back] == [mask_credentials(t.raw) for t in traces]
    assert [endpoints(t) for t in back] == [endpoints(t) for t in traces]
    assert [round(t.time, 6) for t in back] == [round(t.time, 6) for t in traces]


def test_a_tcp_message_larger_than_a_segment_is_split_and_framed_back() -> None:
    body = b"x" * 150_000
    raw = (
        b"MESSAGE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-m\r\n"
        b"From: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: big-1\r\n"
        b"CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    big = make_trace(1.0, "out", "TCP", "127.0.0.1:5070", "127.0.0.1:5060", raw)
    small = replace(retransmitted_call()[0], transport="TCP", local="127.0.0.1:5070")
    data = to_pcap([big, small])
    assert len(list(packets(data))) == 4  # 150 kB in three segments, then the INVITE
    messages = list(sip_messages(data))
    assert [m.payload for m in messages] == [raw, small.raw]


@needs_tshark
def test_pcapng_written_by_tshark_reads_the_same(tmp_path: Path) -> None:
    base = retransmitted_call()
    traces = [base[0], replace(base[3], local="[::1]:5070", remote="[::1]:5060")]
    pcap, pcapng = tmp_path / "a.pcap", tmp_path / "a.pcapng"
    pcap.write_bytes(to_pcap(traces))
    subprocess.run(
        ["tshark", "-r", str(pcap), "-F", "pcapng", "-w", str(pcapng)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert pcapng.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a"
    assert list(sip_messages(pcapng.read_bytes())) == list(sip_messages(pcap.read_bytes()))
    assert [m.src for m in sip_messages(pcapng.read_bytes())] == ["127.0.0.1:46195", "[::1]:5060"]


def test_not_a_capture_is_refused() -> None:
    with pytest.raises(PcapError):
        list(packets(b"GIF89a not a capture at all"))
