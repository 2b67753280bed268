"""asyncio transports for the lab servers: UDP, TCP and TLS listeners plus outbound connections.

Everything above this module speaks in (transport, host, port, bytes). Streams are framed with
the sans-IO StreamFramer; RFC 5626 keep-alive pings get a CRLF pong. A phone registered over
TCP/TLS is reached over the connection it registered on (clients behind NAT cannot accept new
connections), so connections are looked up by peer address and by the aliases the layer above
records (RFC 5923 connection reuse, done the simple way).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from softphone.sip.errors import SipParseError
from softphone.sip.framer import KEEPALIVE_PING, StreamFramer
from softphone.sip.trace import format_address

Address = tuple[str, int]
# (transport, data, peer, local) for every message that arrives
Receiver = Callable[[str, bytes, Address, Address], None]


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """One --listen value: transport:host:port."""

    transport: str  # "UDP", "TCP", "TLS"
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{format_address(self.host, self.port)}"


class _Datagram(asyncio.DatagramProtocol):
    def __init__(self, receive: Receiver, local: Address) -> None:
        self.receive = receive
        self.local = local

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.receive("UDP", data, addr, self.local)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP port unreachable from a vanished phone: nothing to do on UDP


class StreamConnection(asyncio.Protocol):
    """One TCP or TLS connection, either accepted or opened by us."""

    def __init__(self, hub: TransportHub, transport_name: str) -> None:
        self.hub = hub
        self.name = transport_name
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer: Address = ("", 0)
        self.local: Address = ("", 0)
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses but have the same methods.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Nagle delays small SIP messages behind un-ACKed ones (peers.md: ~40 ms per hop).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.peer = (peer[0], peer[1])
        self.local = (local[0], local[1])
        self.hub.connections[(self.name, self.peer)] = self
        if not self.ready.done():
            self.ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.framer.feed(data)
        except SipParseError:
            # The next message boundary is unknowable now (RFC 3261 §18.3): drop the connection.
            self.close()
            return
        for frame in frames:
            if frame == KEEPALIVE_PING:
                self.write(b"\r\n")  # RFC 5626 §3.5.1 pong
            else:
                self.hub.receive(self.name, frame, self.peer, self.local)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.hub.forget(self)
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("connection closed"))


class TransportHub:
    """All listeners and connections of one lab server."""

    def __init__(self, receive: Receiver, client_tls: ssl.SSLContext | None = None) -> None:
        self.receive = receive
        self.client_tls = client_tls
        self.connections: dict[tuple[str, Address], StreamConnection] = {}
        self.aliases: dict[tuple[str, Address], StreamConnection] = {}
        self._udp: dict[Address, asyncio.DatagramTransport] = {}
        self._servers: list[asyncio.Server] = []
        self.bound: list[ListenSpec] = []

    async def listen(self, spec: ListenSpec, server_tls: ssl.SSLContext | None) -> ListenSpec:
        """Start one listener; returns the spec with the real port (for port 0)."""
        return await self.adopt(bind_socket(spec), spec.transport, server_tls)

    async def adopt(
        self, sock: socket.socket, transport_name: str, server_tls: ssl.SSLContext | None
    ) -> ListenSpec:
        """Serve on an already bound socket (the lab's worker processes share them)."""
        loop = asyncio.get_running_loop()
        local = sock.getsockname()
        address = (local[0], local[1])
        if transport_name == "UDP":
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagram(self.receive, address), sock=sock
            )
            self._udp[address] = transport
        else:
            tls = server_tls if transport_name == "TLS" else None
            server = await loop.create_server(
                lambda: StreamConnection(self, transport_name), sock=sock, ssl=tls
            )
            self._servers.append(server)
        bound = ListenSpec(transport_name, address[0], address[1])
        if bound not in self.bound:
            self.bound.append(bound)
        return bound

    def local_for(self, transport_name: str) -> ListenSpec | None:
        """Our listener for a transport (what goes into Via and Record-Route)."""
        return next((b for b in self.bound if b.transport == transport_name), None)

    def remember_alias(self, transport_name: str, address: Address, conn: StreamConnection) -> None:
        self.aliases[(transport_name, address)] = conn

    def forget(self, conn: StreamConnection) -> None:
        self.connections.pop((conn.name, conn.peer), None)
        for key in [k for k, c in self.aliases.items() if c is conn]:
            del self.aliases[key]

    def connection_for(self, transport_name: str, address: Address) -> StreamConnection | None:
        key = (transport_name, address)
        return self.connections.get(key) or self.aliases.get(key)

    async def send(self, transport_name: str, address: Address, data: bytes) -> None:
        """Send to a peer; streams reuse a connection or open one (TLS needs client_tls)."""
        if transport_name == "UDP":
            udp = next(iter(self._udp.values()), None)
            if udp is None:
                raise ConnectionError("no UDP listener to send from")
            udp.sendto(data, address)
            return
        conn = self.connection_for(transport_name, address)
        if conn is None:
            conn = await self._connect(transport_name, address)
        conn.write(data)

    async def _connect(self, transport_name: str, address: Address) -> StreamConnection:
        loop = asyncio.get_running_loop()
        tls = self.client_tls if transport_name == "TLS" else None
        if transport_name == "TLS" and tls is None:
            raise ConnectionError("no TLS client context configured")
        _, conn = await loop.create_connection(
            lambda: StreamConnection(self, transport_name),
            address[0],
            address[1],
            ssl=tls,
            server_hostname=address[0] if tls is not None else None,
        )
        await conn.ready
        return conn

    def send_nowait(self, transport_name: str, address: Address, data: bytes) -> bool:
        """The fast path: send now if no connection has to be opened first."""
        if transport_name == "UDP":
            udp = next(iter(self._udp.values()), None)
            if udp is None:
                return False
            udp.sendto(data, address)
            return True
        conn = self.connection_for(transport_name, address)
        if conn is None:
            return False
        conn.write(data)
        return True

    async def close(self) -> None:
        for udp in self._udp.values():
            udp.close()
        for server in self._servers:
            server.close()
        for conn in list(self.connections.values()):
            conn.close()
        for server in self._servers:
            await server.wait_closed()


def bind_socket(spec: ListenSpec) -> socket.socket:
    """Bind (and for TCP/TLS, listen on) a socket for a listener; OSError if it cannot."""
    if spec.transport == "UDP":
        sock = socket.socket(family_of(spec.host), socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    else:
        sock = socket.socket(family_of(spec.host), socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((spec.host, spec.port))
        if spec.transport != "UDP":
            sock.listen(512)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
