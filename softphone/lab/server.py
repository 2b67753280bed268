"""The lab SIP server: transports in, SipTrace for every message, REGISTER to the registrar,
everything else to the proxy; a periodic flush writes bindings and traces.

This is the only place where the pure registrar/proxy logic meets asyncio and the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from softphone.lab.ipc import HANDLE, SEND, Envelope, PeerLink
from softphone.lab.registrar import Registrar, Source
from softphone.lab.routing import hop_for
from softphone.lab.sharding import owner_of
from softphone.lab.store import LabStore
from softphone.lab.transport import Address, TransportHub
from softphone.sip.build import make_response
from softphone.sip.errors import SipParseError
from softphone.sip.message import (
    SipRequest,
    SipResponse,
    parse_message,
    salvage_request,
    validate_message,
)
from softphone.sip.trace import Direction, SipTrace, format_address, make_trace
from softphone.sip.uri import SipUri

log = logging.getLogger(__name__)
TraceSink = Callable[[SipTrace], None]
FLUSH_INTERVAL = 0.2  # seconds between write-behind batches


class RequestRouter(Protocol):
    """What the server hands non-REGISTER traffic to (the forking proxy)."""

    def on_request(self, request: SipRequest, source: Source, local: Address) -> None: ...

    def on_response(self, response: SipResponse, source: Source, local: Address) -> None: ...


class LabServer:
    """Glue between TransportHub, Registrar, an optional proxy, the store and trace sinks."""

    def __init__(
        self,
        registrar: Registrar,
        store: LabStore | None,
        sinks: list[TraceSink] | None = None,
    ) -> None:
        self.registrar = registrar
        self.store = store
        self.sinks = sinks or []
        self.hub = TransportHub(self._receive)
        self.router: RequestRouter | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.wall_clock: Callable[[], float] = time.time
        self._shard_index, self._shard_count = 0, 1
        self._links: dict[int, PeerLink] = {}

    async def start(self) -> None:
        self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        closer = getattr(self.router, "close", None)
        if closer is not None:
            closer()
        await self.hub.close()
        self.flush()

    def flush(self) -> None:
        """Write pending binding changes (write-behind) and flush buffered trace sinks."""
        if self.store is not None and self.registrar.bindings.has_changes:
            self.store.apply(*self.registrar.bindings.take_changes())
        for sink in self.sinks:
            flush = getattr(sink, "flush", None)
            if flush is not None:
                flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)  # a periodic batch, not synchronisation
            try:
                self.flush()
                self.registrar.bindings.purge_expired(self.wall_clock())
            except Exception:  # keep serving even if the disk is full; say so in the log
                log.exception("could not write bindings to the database")

    # -- workers --
    def join_shard(self, index: int, count: int, links: dict[int, PeerLink]) -> None:
        """Become worker `index` of `count`; messages owned elsewhere go over `links`."""
        self._shard_index, self._shard_count, self._links = index, count, links
        for link in links.values():
            link.on_envelope = self._on_envelope

    def _on_envelope(self, envelope: Envelope) -> None:
        try:
            if envelope.kind == HANDLE:
                self._process(envelope.transport, envelope.data, envelope.peer, envelope.local)
            elif envelope.kind == SEND:
                self._transmit(envelope.transport, envelope.peer, envelope.data)
        except Exception:
            log.exception("failed to handle a message from another worker")

    # -- receive path --
    def _receive(self, transport: str, data: bytes, peer: Address, local: Address) -> None:
        if self._shard_count > 1:
            owner = owner_of(data, self._shard_count)
            if owner is not None and owner != self._shard_index:
                if transport != "UDP":
                    self._alias_from_bytes(transport, data, peer)
                self._links[owner].send(Envelope(HANDLE, transport, peer, local, data))
                return
        self._process(transport, data, peer, local)

    def _alias_from_bytes(self, transport: str, data: bytes, peer: Address) -> None:
        with contextlib.suppress(SipParseError):
            self._remember_aliases(transport, parse_message(data, datagram=False), peer)

    def _process(self, transport: str, data: bytes, peer: Address, local: Address) -> None:
        now = self.wall_clock()
        try:
            # Lazy validation: REGISTER pays only for the headers the registrar reads; the
            # proxy gets fully validated messages (see _dispatch).
            message: SipRequest | SipResponse | None = parse_message(
                data, datagram=transport == "UDP", strict=False
            )
            error, error_status = None, 400
        except SipParseError as exc:
            message, error, error_status = None, exc.reason, exc.status
        if self.sinks:
            self._trace(now, "in", transport, local, peer, data, message, error)
        if message is None:
            self._answer_malformed(transport, data, peer, local, error_status, error or "")
            return
        source = Source(transport, peer[0], peer[1])
        if transport != "UDP" and self._shard_index == 0:
            self._remember_aliases(transport, message, peer)
        try:
            self._dispatch(message, source, local, now)
        except SipParseError as exc:  # a header found malformed when first used
            if isinstance(message, SipRequest) and message.method != "ACK":
                self.send_response(make_response(message, exc.status, exc.reason), source, local)
        except Exception:
            # A bug must cost one message, never the server.
            log.exception("failed to handle %s from %s", message, format_address(*peer))

    def _dispatch(
        self, message: SipRequest | SipResponse, source: Source, local: Address, now: float
    ) -> None:
        if isinstance(message, SipRequest) and message.method == "REGISTER":
            self._register(message, source, local, now)
            return
        validate_message(message)
        if isinstance(message, SipResponse):
            if self.router is not None:
                self.router.on_response(message, source, local)
        elif self.router is not None:
            self.router.on_request(message, source, local)
        elif message.method != "ACK":
            self.send_response(make_response(message, 501), source, local)

    def _register(self, request: SipRequest, source: Source, local: Address, now: float) -> None:
        """REGISTER is handled as a stateless UAS (RFC 3261 §8.2.7): no transaction is kept,
        a retransmission is answered again like the original (the registrar recognises its
        own earlier update), so memory stays flat at thousands of REGISTERs per second."""
        response = self.registrar.handle(request, source, now)
        self.send_bytes(response.to_bytes(), response, source, local)

    def _answer_malformed(
        self, transport: str, data: bytes, peer: Address, local: Address, status: int, reason: str
    ) -> None:
        """A malformed request still gets a clear answer when its Via and dialog headers can
        be found: 400 with the parse error as the reason phrase (505 for a bad version)."""
        request = salvage_request(data)
        if request is None or request.method == "ACK":
            return  # nothing to answer with (or an ACK, which is never answered): traced only
        phrase = "".join(c for c in reason if c.isprintable() and c not in "\r\n")[:100]
        response = make_response(request, status, phrase or None)
        self.send_response(response, Source(transport, peer[0], peer[1]), local)

    def _remember_aliases(
        self, transport: str, message: SipRequest | SipResponse, peer: Address
    ) -> None:
        """Reach a stream peer over its connection also by the addresses it advertises
        (its Contact and Via sent-by): RFC 5923 connection reuse, done the simple way."""
        conn = self.hub.connections.get((transport, peer))
        if conn is None:
            return
        try:
            contacts = message.contacts if "contact" in message.headers else []
            via = message.top_via if isinstance(message, SipRequest) else None
        except SipParseError:
            return
        if contacts != "*":
            for contact in contacts:
                uri = contact.uri
                if isinstance(uri, SipUri):
                    hop = hop_for(uri)
                    if hop is not None and hop.transport == transport:
                        self.hub.remember_alias(transport, hop.address, conn)
        if via is not None and via.port is not None:
            self.hub.remember_alias(transport, (via.host.strip("[]"), via.port), conn)

    # -- send path --
    def send_response(self, response: SipResponse, source: Source, local: Address) -> None:
        """Send a response back the way the request came (RFC 3261 §18.2.2, rport §RFC 3581)."""
        self.send_bytes(response.to_bytes(), response, source, local)

    def send_bytes(
        self, data: bytes, response: SipResponse | None, source: Source, local: Address
    ) -> None:
        """Send serialised response bytes; `response` is their parsed form for the trace (None:
        parse them again if a trace wants them)."""
        address = (source.host, source.port)
        self._transmit(source.transport, address, data)
        if self.sinks:
            self._trace(self.wall_clock(), "out", source.transport, local, address, data, response)

    def send_message(
        self, transport: str, address: Address, message: SipRequest | SipResponse
    ) -> None:
        """Send anything (used by the proxy); opens a connection when needed."""
        data = message.to_bytes()
        local_spec = self.hub.local_for(transport)
        local = (local_spec.host, local_spec.port) if local_spec else ("", 0)
        if self.sinks:
            self._trace(self.wall_clock(), "out", transport, local, address, data, message)
        self._transmit(transport, address, data)

    def _transmit(self, transport: str, address: Address, data: bytes) -> None:
        """UDP from any worker; TCP/TLS through worker 0, which holds every stream."""
        if transport != "UDP" and self._shard_index != 0:
            self._links[0].send(Envelope(SEND, transport, address, ("", 0), data))
        elif not self.hub.send_nowait(transport, address, data):
            asyncio.get_running_loop().create_task(self._send_later(transport, address, data))

    async def _send_later(self, transport: str, address: Address, data: bytes) -> None:
        try:
            await self.hub.send(transport, address, data)
        except (OSError, ConnectionError) as exc:
            log.warning("cannot reach %s over %s: %s", format_address(*address), transport, exc)

    def _trace(
        self,
        now: float,
        direction: str,
        transport: str,
        local: Address,
        remote: Address,
        data: bytes,
        message: SipRequest | SipResponse | None,
        error: str | None = None,
    ) -> None:
        way: Direction = "in" if direction == "in" else "out"
        here, there = format_address(*local), format_address(*remote)
        if message is None and error is None:  # bytes sent again from the cache: parse them
            record = make_trace(now, way, transport, here, there, data, origin="registrar")
        else:
            record = SipTrace(now, way, transport, here, there, data, message, error, "registrar")
        for sink in self.sinks:
            sink(record)
