"""Exports of SIP traces: pcap for Wireshark/sngrep/tshark, plain text and Mermaid.

A user who found a problem in the ladder has to hand it to someone: a pcap opens in the tools
VoIP engineers already use, text pastes into a ticket, Mermaid renders in a wiki. Every export
passes the raw messages through `mask_credentials` first (digest responses and Basic
credentials never leave the machine).

The pcap is synthetic: the engine and the lab see SIP messages, not packets (TLS is already
decrypted), so each message gets made-up Ethernet/IPv4-or-IPv6/UDP-or-TCP headers built from the
trace's addresses (RFC 791, 8200, 768, 793). Decrypted TLS is written as plain TCP on the
original ports; names that are not IP addresses get stable addresses from 198.18.0.0/15
(RFC 2544's benchmarking range, so they can never be mistaken for real hosts).

Pure: returns bytes/str; the caller writes the file.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections.abc import Iterable

from softphone.sip.ladder import Flow, clock, endpoints, format_delta, ladder_text
from softphone.sip.trace import SipTrace, mask_credentials

LINKTYPE_ETHERNET = 1
PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps, native byte order written little-endian
SNAPLEN = 262144
MAX_UDP_PAYLOAD = 65535 - 20 - 8
TCP_SEGMENT = 65000
_MAC = b"\x02\x00\x00\x00\x00\x01"  # locally administered (IEEE 802 U/L bit)
_FAKE_BASE = int(ipaddress.IPv4Address("198.18.0.0"))
_FAKE_SIZE = 1 << 17
_MERMAID_SPECIAL = re.compile(r"[#;]")


class _Hosts:
    """address text → (IP version, packed address, port); unknown names get fake addresses."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, bytes, int]] = {}
        self._fake: dict[str, bytes] = {}

    def resolve(self, address: str) -> tuple[int, bytes, int]:
        hit = self._cache.get(address)
        if hit is not None:
            return hit
        host, port = _split(address)
        try:
            ip = ipaddress.ip_address(host)
            result = (ip.version, ip.packed, port)
        except ValueError:
            fake = self._fake.get(host)
            if fake is None:
                number = _FAKE_BASE + 1 + len(self._fake) % (_FAKE_SIZE - 2)
                fake = self._fake[host] = ipaddress.IPv4Address(number).packed
            result = (4, fake, port)
        self._cache[address] = result
        return result


def _split(address: str) -> tuple[str, int]:
    """ "host:port", "[v6]:port" or a bare host (port 5060, RFC 3261 §19.1.2)."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif address.count(":") == 1:
        host, port = address.split(":")
    else:
        host, port = address, ""  # a bare IPv6 literal or a name
    return host, int(port) if port.isdigit() and int(port) < 65536 else 5060


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class _PcapWriter:
    def __init__(self) -> None:
        self.hosts = _Hosts()
        self.ip_id = 0
        self.seq: dict[tuple[bytes, int, bytes, int], int] = {}
        self.chunks: list[bytes] = [
            struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)
        ]
        self.packets = 0

    def add(self, trace: SipTrace) -> None:
        src_text, dst_text = endpoints(trace)
        version, src, sport = self.hosts.resolve(src_text)
        dst_version, dst, dport = self.hosts.resolve(dst_text)
        if dst_version != version:  # a mixed pair cannot share a header: give both v4 fakes
            version = 4
            src = src if len(src) == 4 else self.hosts.resolve(f"v6-{src.hex()}")[1]
            dst = dst if len(dst) == 4 else self.hosts.resolve(f"v6-{dst.hex()}")[1]
        payload = mask_credentials(trace.raw)
        if trace.transport.upper() == "UDP":
            self._packet(
                trace.time, version, src, dst, 17, self._udp(src, dst, sport, dport, payload)
            )
            return
        for start in range(0, max(len(payload), 1), TCP_SEGMENT):
            piece = payload[start : start + TCP_SEGMENT]
            self._packet(trace.time, version, src, dst, 6, self._tcp(src, dst, sport, dport, piece))

    def _udp(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
        payload = payload[:MAX_UDP_PAYLOAD]
        header = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
        if len(src) == 16:  # the UDP checksum is mandatory over IPv6 (RFC 8200 §8.1)
            pseudo = src + dst + struct.pack("!IxxxB", 8 + len(payload), 17)
            checksum = _checksum(pseudo + header + payload) or 0xFFFF
            header = header[:6] + struct.pack("!H", checksum)
        return header + payload

    def _tcp(self, src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
        # One connection per address pair, already open: sequence numbers continue from the
        # last segment each way, and every segment acknowledges what the other side sent.
        key, back = (src, sport, dst, dport), (dst, dport, src, sport)
        seq = self.seq.get(key, 1)
        ack = self.seq.get(back, 1)
        self.seq[key] = (seq + len(payload)) & 0xFFFFFFFF
        header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, 0x18, 65535, 0, 0)
        length = len(header) + len(payload)
        if len(src) == 16:
            pseudo = src + dst + struct.pack("!IxxxB", length, 6)
        else:
            pseudo = src + dst + struct.pack("!xBH", 6, length)
        checksum = _checksum(pseudo + header + payload)
        return header[:16] + struct.pack("!H", checksum) + header[18:] + payload

    def _packet(
        self, time: float, version: int, src: bytes, dst: bytes, proto: int, segment: bytes
    ) -> None:
        if version == 6:
            ip = struct.pack("!IHBB", 6 << 28, len(segment), proto, 64) + src + dst
            ethertype = 0x86DD
        else:
            self.ip_id = (self.ip_id + 1) & 0xFFFF
            header = struct.pack(
                "!BBHHHBBH4s4s",
                0x45,
                0,
                20 + len(segment),
                self.ip_id,
                0x4000,
                64,
                proto,
                0,
                src,
                dst,
            )
            ip = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
            ethertype = 0x0800
        frame = _MAC + _MAC + struct.pack("!H", ethertype) + ip + segment
        seconds = int(time)
        micros = min(round((time - seconds) * 1_000_000), 999_999)
        self.chunks.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
        self.chunks.append(frame)
        self.packets += 1


def to_pcap(traces: Iterable[SipTrace]) -> bytes:
    """A libpcap file (Ethernet link type) with one packet per message (more for TCP messages
    over 65,000 bytes), credentials masked. Unparsable messages are written too."""
    writer = _PcapWriter()
    for trace in traces:
        writer.add(trace)
    return b"".join(writer.chunks)


def _raw_text(trace: SipTrace) -> str:
    text = mask_credentials(trace.raw).decode("utf-8", "replace")
    return text.replace("\r\n", "\n").rstrip("\n")


def to_text(flow: Flow, diagnosis: str | None = None) -> str:
    """The ladder as text, then every message in full (credentials masked)."""
    title = f"Call-ID {flow.call_id}" if flow.call_id is not None else "all calls"
    lines = [f"SIP flow: {title} ({len(flow.arrows)} messages)"]
    if diagnosis:
        lines.append(f"Diagnosis: {diagnosis}")
    lines.append("")
    lines.extend(ladder_text(flow))
    for arrow in flow.arrows:
        trace = arrow.trace
        src, dst = endpoints(trace)
        mark = "  RETRANSMISSION" if arrow.retransmission else ""
        who = f"  [{trace.origin}]" if trace.origin else ""
        lines.append("")
        lines.append(
            f"=== {arrow.index + 1}  {clock(trace.time)} ({format_delta(arrow.delta)})  "
            f"{src} -> {dst}  {trace.transport}{who}{mark}"
        )
        if trace.error:
            lines.append(f"(not parsed: {trace.error})")
        lines.append(_raw_text(trace))
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid reads ";" as a statement end and "#...;" as an entity: write both as entities.
    text = _MERMAID_SPECIAL.sub(lambda m: f"#{ord(m.group())};", text)
    return " ".join(text.split())


def to_mermaid(flow: Flow, diagnosis: str | None = None) -> str:
    """A Mermaid sequenceDiagram: requests solid, responses dashed, retransmissions async."""
    lines = ["sequenceDiagram"]
    names = [f"P{i + 1}" for i in range(len(flow.columns))]
    for name, address in zip(names, flow.columns, strict=True):
        lines.append(f"    participant {name} as {_mermaid_text(address)}")
    for arrow in flow.arrows:
        src, dst = names[arrow.source], names[arrow.target]
        label = arrow.label
        if arrow.retransmission:
            style, label = "-)", f"{label} (retransmission)"
        else:
            style = "->>" if arrow.kind == "request" else "-->>"
        lines.append(f"    {src}{style}{dst}: {_mermaid_text(label)}")
    if diagnosis and names:
        span = names[0] if len(names) == 1 else f"{names[0]},{names[-1]}"
        lines.append(f"    Note over {span}: {_mermaid_text(diagnosis)}")
    return "\n".join(lines) + "\n"
