"""Routing decisions of the lab proxy, pure: is this URI us, where does a URI lead, what goes in
Record-Route, and is an in-dialog request one of our dialogs.

The proxy only forwards to registered contacts (initial requests) or along a route set it
created itself (in-dialog requests). The second needs proof: our Record-Route carries a token
that is a keyed hash of the Call-ID, so a request that merely names us in a Route header cannot
use the lab as an open relay (RFC 3261 §26.4.3 leaves relay policy to the proxy).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass

from softphone.lab.transport import ListenSpec
from softphone.sip.uri import SipUri, Uri

DEFAULT_PORTS = {"UDP": 5060, "TCP": 5060, "TLS": 5061}
TOKEN_PARAM = "dlg"


@dataclass(frozen=True, slots=True)
class Hop:
    """Where to send: transport and address."""

    transport: str
    host: str
    port: int

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def uri_transport(uri: SipUri) -> str:
    """The transport a URI asks for: transport param, else TLS for sips:, else UDP (§19.1.2)."""
    transport = uri.transport
    if transport in ("tcp", "tls", "udp"):
        return transport.upper()
    return "TLS" if uri.scheme == "sips" else "UDP"


def hop_for(uri: SipUri) -> Hop | None:
    """The next hop a URI names, if it is an IP literal or localhost (the lab does no DNS)."""
    transport = uri_transport(uri)
    host = uri.params.get("maddr") or uri.host
    host = host.strip("[]")
    if host.lower() == "localhost":
        host = "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return Hop(transport, host, uri.port or DEFAULT_PORTS[transport])


class SelfMatcher:
    """Knows our listeners and local domains, to recognise URIs that point at this server."""

    def __init__(self, listeners: list[ListenSpec], domains: frozenset[str]) -> None:
        self.listeners = listeners
        self.domains = domains

    def is_local_domain(self, host: str) -> bool:
        return host.strip("[]").lower() in self.domains

    def is_us(self, uri: Uri) -> bool:
        """A URI whose host and port are one of our listeners (a Route or Request-URI to us)."""
        if not isinstance(uri, SipUri):
            return False
        host = uri.host.strip("[]").lower()
        if host not in self.domains:
            return False
        transport = uri_transport(uri)
        port = uri.port or DEFAULT_PORTS[transport]
        return any(spec.port == port for spec in self.listeners)


class DialogTokens:
    """Keyed tokens that tie a Record-Route to the dialog's Call-ID."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def make(self, call_id: str) -> str:
        return hmac.new(self._secret, call_id.encode(), hashlib.sha256).hexdigest()[:16]

    def check(self, call_id: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.make(call_id), token)


def record_route(listener: ListenSpec, token: str) -> str:
    """Our Record-Route entry for one listener (loose routing, RFC 3261 §16.6 step 4)."""
    host = f"[{listener.host}]" if ":" in listener.host else listener.host
    transport = listener.transport.lower()
    return f"<sip:{host}:{listener.port};transport={transport};lr;{TOKEN_PARAM}={token}>"
