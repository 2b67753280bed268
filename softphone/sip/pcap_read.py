"""Read SIP messages out of a packet capture (libpcap or pcapng), for ladders and benchmarks.

A capture taken with tcpdump/dumpcap/Wireshark (or written by export.to_pcap) holds packets;
the ladder wants SIP messages. This reads the capture formats (libpcap: both byte orders,
micro- and nanosecond; pcapng: section, interface and packet blocks), the link layers a SIP
capture comes with (Ethernet with VLAN tags, raw IP, Linux cooked v1/v2, BSD loopback), IPv4
and IPv6, and gives UDP payloads as they are and TCP payloads through the stream framer per
direction (RFC 3261 §18.3), so a message split over segments comes out whole.

Pure: bytes in, records out. IP fragments and TCP retransmissions are not reassembled or
removed (a retransmitted segment is framed again); a SIP capture rarely needs either.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from softphone.sip.errors import SipParseError
from softphone.sip.framer import StreamFramer
from softphone.sip.trace import SipTrace, format_address, make_trace

_ETHERNET, _NULL, _RAW, _RAW4, _RAW6, _SLL, _SLL2 = 1, 0, 101, 228, 229, 113, 276


class PcapError(ValueError):
    """The data is not a capture this reader understands."""


@dataclass(frozen=True, slots=True)
class Packet:
    """One UDP datagram or TCP segment payload (or, from `sip_messages`, one SIP message)."""

    time: float
    transport: str  # "UDP" or "TCP"
    src: str  # "host:port"
    dst: str
    payload: bytes


def _frames(data: bytes) -> Iterator[tuple[float, int, bytes]]:
    """(time, link type, frame) of every packet record."""
    if len(data) < 4:
        raise PcapError("too short for a capture file")
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng(data)
        return
    formats = {
        b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
        b"\xa1\xb2\xc3\xd4": (">", 1e-6),
        b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
        b"\xa1\xb2\x3c\x4d": (">", 1e-9),
    }
    if magic not in formats or len(data) < 24:
        raise PcapError("not a libpcap or pcapng file")
    order, unit = formats[magic]
    linktype = struct.unpack_from(order + "I", data, 20)[0] & 0x0FFFFFFF
    record = struct.Struct(order + "IIII")
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, incl, _orig = record.unpack_from(data, offset)
        offset += 16
        yield seconds + fraction * unit, linktype, data[offset : offset + incl]
        offset += incl


def _pcapng(data: bytes) -> Iterator[tuple[float, int, bytes]]:
    order = "<"
    interfaces: list[tuple[int, float]] = []  # (link type, seconds per tick)
    offset = 0
    while offset + 12 <= len(data):
        block_type = struct.unpack_from(order + "I", data, offset)[0]
        if block_type == 0x0A0D0D0A:  # section header: its byte-order magic decides the order
            order = "<" if data[offset + 8 : offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        length = struct.unpack_from(order + "I", data, offset + 4)[0]
        if length < 12 or offset + length > len(data):
            raise PcapError("truncated pcapng block")
        body = data[offset + 8 : offset + length - 4]
        if block_type == 1:  # interface description
            linktype = struct.unpack_from(order + "H", body, 0)[0]
            interfaces.append((linktype, _tsresol(body[8:], order)))
        elif block_type == 6 and len(body) >= 20:  # enhanced packet
            iface, high, low, incl = struct.unpack_from(order + "IIII", body, 0)
            linktype, tick = interfaces[iface] if iface < len(interfaces) else (_ETHERNET, 1e-6)
            yield ((high << 32) | low) * tick, linktype, body[20 : 20 + incl]
        elif block_type == 3 and interfaces:  # simple packet: no time stamp
            yield 0.0, interfaces[0][0], body[4:]
        offset += length


def _tsresol(options: bytes, order: str) -> float:
    offset = 0
    while offset + 4 <= len(options):
        code, length = struct.unpack_from(order + "HH", options, offset)
        if code == 0:
            break
        if code == 9 and length >= 1:  # if_tsresol (pcapng §4.2)
            value = options[offset + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0**-value
        offset += 4 + (length + 3) // 4 * 4
    return 1e-6


def _ip_payload(linktype: int, frame: bytes) -> bytes | None:
    """The IP packet inside a link-layer frame, or None for anything else."""
    if linktype == _ETHERNET:
        if len(frame) < 14:
            return None
        ethertype, offset = struct.unpack_from("!H", frame, 12)[0], 14
        while ethertype in (0x8100, 0x88A8) and len(frame) >= offset + 4:  # VLAN tags
            ethertype = struct.unpack_from("!H", frame, offset + 2)[0]
            offset += 4
        return frame[offset:] if ethertype in (0x0800, 0x86DD) else None
    if linktype in (_RAW, _RAW4, _RAW6):
        return frame
    if linktype == _SLL:
        return frame[16:]
    if linktype == _SLL2:
        return frame[20:]
    if linktype == _NULL:
        return frame[4:]
    return None


def packets(data: bytes) -> Iterator[Packet]:
    """Every UDP and TCP payload in the capture, in file order."""
    src_ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    dst_ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    for time, linktype, frame in _frames(data):
        ip = _ip_payload(linktype, frame)
        if not ip:
            continue
        version = ip[0] >> 4
        if version == 4 and len(ip) >= 20:
            header = (ip[0] & 0x0F) * 4
            proto = ip[9]
            total = struct.unpack_from("!H", ip, 2)[0]
            src_ip, dst_ip = ipaddress.IPv4Address(ip[12:16]), ipaddress.IPv4Address(ip[16:20])
            segment = ip[header:total] if total >= header else ip[header:]
        elif version == 6 and len(ip) >= 40:
            proto = ip[6]
            length = struct.unpack_from("!H", ip, 4)[0]
            src_ip, dst_ip = ipaddress.IPv6Address(ip[8:24]), ipaddress.IPv6Address(ip[24:40])
            segment = ip[40 : 40 + length]
        else:
            continue
        if proto == 17 and len(segment) >= 8:
            sport, dport, length = struct.unpack_from("!HHH", segment, 0)
            payload, transport = segment[8:length] if length >= 8 else segment[8:], "UDP"
        elif proto == 6 and len(segment) >= 20:
            sport, dport = struct.unpack_from("!HH", segment, 0)
            payload, transport = segment[(segment[12] >> 4) * 4 :], "TCP"
        else:
            continue
        if payload:
            src = format_address(str(src_ip), sport)
            dst = format_address(str(dst_ip), dport)
            yield Packet(time, transport, src, dst, payload)


def sip_messages(data: bytes) -> Iterator[Packet]:
    """Every SIP message: UDP payloads as they are, TCP streams framed per direction."""
    framers: dict[tuple[str, str], StreamFramer] = {}
    for packet in packets(data):
        if packet.transport == "UDP":
            yield packet
            continue
        key = (packet.src, packet.dst)
        framer = framers.get(key)
        if framer is None:
            framer = framers[key] = StreamFramer()
        try:
            frames = framer.feed(packet.payload)
        except SipParseError:
            framers.pop(key)  # not SIP (or broken): start afresh with the next segment
            continue
        for message in frames:
            if message.strip(b"\r\n"):  # keep-alive CRLFs are not messages
                yield Packet(packet.time, "TCP", packet.src, packet.dst, message)


def traces_from_pcap(data: bytes, origin: str = "pcap") -> list[SipTrace]:
    """SipTrace records for the ladder: each message as sent by its source ("out" from src)."""
    return [
        make_trace(p.time, "out", p.transport, p.src, p.dst, p.payload, origin=origin)
        for p in sip_messages(data)
    ]
