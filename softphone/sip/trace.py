"""SipTrace: one record per SIP message seen, whoever saw it.

The lab servers and the phone engine both produce these, so the log pane, the ladder and the
JSON-lines exports never care where a message came from. A record keeps the raw bytes (what was
on the wire, TLS already decrypted) next to the parsed message; a message that does not parse is
still recorded, with the parse error, because a malformed message is exactly what a user
debugging SIP needs to see.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from softphone.sip.errors import SipParseError
from softphone.sip.message import SipRequest, SipResponse, parse_message

Direction = Literal["in", "out"]

# Authorization / Proxy-Authorization carry a digest response (an offline-crackable hash of the
# password) or, for Basic, the password itself. Exports mask both (never export credentials).
_AUTH_LINE_RE = re.compile(
    rb"(?im)^((?:proxy-)?authorization[ \t]*:[^\r\n]*(?:\r?\n[ \t]+[^\r\n]*)*)"
)
_DIGEST_RESPONSE_RE = re.compile(rb'(?i)(\bresponse[ \t]*=[ \t]*)("[^"]*"|[^,\s]+)')
_BASIC_RE = re.compile(rb"(?i)(\bbasic[ \t]+)(\S+)")
# RFC 3261 §19.1.1 allows (and discourages) a password in a SIP URI: sip:user:password@host.
_URI_PASSWORD_RE = re.compile(rb"(?i)(\bsips?:[^:@\s;>,\"]+:)([^@\s;>,\"]+)(@)")
MASK = b'"***"'


def mask_credentials(raw: bytes) -> bytes:
    """Return `raw` with digest responses, Basic credentials and URI passwords masked."""
    if b":" in raw and _URI_PASSWORD_RE.search(raw):
        raw = _URI_PASSWORD_RE.sub(lambda m: m.group(1) + b"***" + m.group(3), raw)
    if b"uthorization" not in raw and b"UTHORIZATION" not in raw:
        return raw

    def mask_line(m: re.Match[bytes]) -> bytes:
        line = _DIGEST_RESPONSE_RE.sub(lambda r: r.group(1) + MASK, m.group(1))
        return _BASIC_RE.sub(lambda r: r.group(1) + b"***", line)

    return _AUTH_LINE_RE.sub(mask_line, raw)


@dataclass(frozen=True, slots=True)
class SipTrace:
    """One message in or out: when, which way, over what, between which addresses."""

    time: float  # seconds since the epoch
    direction: Direction
    transport: str  # "UDP", "TCP", "TLS"
    local: str  # "host:port" of our side
    remote: str  # "host:port" of the peer
    raw: bytes
    parsed: SipRequest | SipResponse | None
    error: str | None = None  # why `parsed` is None
    origin: str = ""  # who captured it, e.g. "registrar" or an account name

    @property
    def summary(self) -> str:
        """The ladder label: method for requests, "code reason" for responses."""
        msg = self.parsed
        if isinstance(msg, SipRequest):
            return msg.method
        if isinstance(msg, SipResponse):
            return f"{msg.status} {msg.reason}".rstrip()
        return "(unparsable)"

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; credentials in the raw text are masked."""
        raw = mask_credentials(self.raw)
        try:
            text: str | None = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        out: dict[str, Any] = {
            "time": self.time,
            "direction": self.direction,
            "transport": self.transport,
            "local": self.local,
            "remote": self.remote,
            "summary": self.summary,
            "origin": self.origin,
        }
        if self.parsed is not None:
            out["call_id"] = self.parsed.call_id
        if self.error:
            out["error"] = self.error
        if text is not None:
            out["raw"] = text
        else:
            out["raw_b64"] = base64.b64encode(raw).decode("ascii")
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_json_dict(), ensure_ascii=False)


def make_trace(
    time: float,
    direction: Direction,
    transport: str,
    local: str,
    remote: str,
    raw: bytes,
    parsed: SipRequest | SipResponse | None = None,
    origin: str = "",
) -> SipTrace:
    """Build a trace, parsing `raw` when no parsed message is given; never raises."""
    error = None
    if parsed is None:
        try:
            parsed = parse_message(raw)
        except SipParseError as exc:
            error = exc.reason
    return SipTrace(time, direction, transport, local, remote, raw, parsed, error, origin)


def trace_from_json_dict(data: dict[str, Any]) -> SipTrace:
    """Read back a record written by `to_json_dict` (the raw text is re-parsed)."""
    if "raw" in data:
        raw = str(data["raw"]).encode("utf-8")
    else:
        raw = base64.b64decode(str(data.get("raw_b64", "")))
    direction: Direction = "in" if data.get("direction") == "in" else "out"
    return make_trace(
        float(data["time"]),
        direction,
        str(data.get("transport", "UDP")),
        str(data.get("local", "")),
        str(data.get("remote", "")),
        raw,
        origin=str(data.get("origin", "")),
    )


def format_address(host: str, port: int) -> str:
    """host:port, with IPv6 literals in brackets."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
