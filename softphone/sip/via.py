"""Via header values (RFC 3261 §20.42, §18.2.1 received/rport from RFC 3581).

Via is how responses find their way back and how transactions are matched (the branch, §17.2.3),
so it is parsed eagerly and strictly: RFC 4475 §3.1.2.1 "badinv01" hides stray separators here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from softphone.sip.errors import SipParseError
from softphone.sip.grammar import TOKEN_CLASS, Params, format_params, parse_params

# sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS.
_VIA_RE = re.compile(
    rf"[ \t]*([{TOKEN_CLASS}]+)[ \t]*/[ \t]*([{TOKEN_CLASS}]+)[ \t]*/[ \t]*([{TOKEN_CLASS}]+)"
    r"[ \t]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)(?:[ \t]*:[ \t]*([0-9]{1,5}))?"
    r"(.*)",
    re.S,
)
MAGIC_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this.


@dataclass(slots=True)
class Via:
    """One Via entry."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=dict)
    protocol: str = "SIP/2.0"

    # Written out because mypyc compiles it; the dataclass-generated one runs interpreted, and
    # every message builds a Via.
    def __init__(
        self,
        transport: str,
        host: str,
        port: int | None = None,
        params: Params | None = None,
        protocol: str = "SIP/2.0",
    ) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        self.params = {} if params is None else params
        self.protocol = protocol

    def __str__(self) -> str:
        hostport = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"{self.protocol}/{self.transport} {hostport}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return (self.host.lower(), self.port)


def parse_via(text: str) -> Via:
    """Parse one Via value (already split from its siblings)."""
    m = _VIA_RE.fullmatch(text)
    if m is None:
        raise SipParseError(f"malformed Via: {text.strip()[:80]!r}")
    name, version, transport, host, port_text, rest = m.groups()
    port = None
    if port_text is not None:
        port = int(port_text)
        if port > 65535:
            raise SipParseError(f"bad port in Via: {text.strip()[:80]!r}")
    params = parse_params(rest, "Via") if rest.strip(" \t") else {}
    return Via(transport.upper(), host, port, params, f"{name.upper()}/{version}")
