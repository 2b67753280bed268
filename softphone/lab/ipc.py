"""Messages between lab workers: "handle this message you own" and "send this over your stream".

Workers talk over socketpairs made by the master before forking, one per pair of workers.
Stream sockets rather than datagrams: asyncio buffers their writes, so two busy workers sending
to each other can never block each other (a full Unix datagram queue would). Each frame is a
4-byte length, a header line and the SIP bytes.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from softphone.lab.transport import Address

HANDLE = "H"  # a message received by one worker, owned by another
SEND = "S"  # bytes to send over a stream connection the receiving worker holds
_LENGTH = struct.Struct("!I")


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: str
    transport: str
    peer: Address
    local: Address
    data: bytes

    def encode(self) -> bytes:
        head = "|".join(
            (
                self.kind,
                self.transport,
                self.peer[0],
                str(self.peer[1]),
                self.local[0],
                str(self.local[1]),
            )
        ).encode()
        body = head + b"\n" + self.data
        return _LENGTH.pack(len(body)) + body

    @staticmethod
    def decode(body: bytes) -> Envelope:
        head, _, data = body.partition(b"\n")
        kind, transport, peer_host, peer_port, local_host, local_port = head.decode().split("|")
        return Envelope(
            kind, transport, (peer_host, int(peer_port)), (local_host, int(local_port)), data
        )


class PeerLink(asyncio.Protocol):
    """One end of a socketpair to another worker."""

    def __init__(self, on_envelope: Callable[[Envelope], None]) -> None:
        self.on_envelope = on_envelope
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses but have the same methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 4:
            (length,) = _LENGTH.unpack_from(buffer)
            if len(buffer) < 4 + length:
                return
            body = bytes(buffer[4 : 4 + length])
            del buffer[: 4 + length]
            self.on_envelope(Envelope.decode(body))

    def send(self, envelope: Envelope) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(envelope.encode())
