"""SIP requests and responses: parse from bytes, serialise to bytes (RFC 3261 §7, §20, §25).

`parse_message` is strict where a mistake would mislead routing or transaction matching (start
line, Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length, Contact) and lenient elsewhere
(unknown headers are kept verbatim). Anything malformed raises `SipParseError` and nothing else;
the property test holds it to that. The raw bytes stay on the message for logs and ladders.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from softphone.sip.address import (
    NameAddr,
    Star,
    parse_address_list,
    parse_contacts,
    parse_name_addr,
)
from softphone.sip.errors import SipParseError
from softphone.sip.grammar import TOKEN_CLASS, is_token, split_top_level
from softphone.sip.headers import HEADER_KEYS, Headers, header_key
from softphone.sip.uri import AbsoluteUri, SipUri, Uri, parse_uri
from softphone.sip.via import Via, parse_via

SIP_VERSION = "SIP/2.0"
MAX_CSEQ = 2**31 - 1  # RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31.
MAX_CONTENT_LENGTH = 2**31 - 1

_FOLD_RE = re.compile(r"\r?\n[ \t]+")
_HEADER_NAME_RE = re.compile(rf"[{TOKEN_CLASS}]+")
# header-name HCOLON value: HCOLON = *(SP / HTAB) ":" SWS (RFC 3261 §25.1); values end at LF.
_HEADER_LINE_RE = re.compile(rf"^([{TOKEN_CLASS}]+)[ \t]*:[ \t]*([^\n]*)", re.M)
# The same over text still in CRLF: `.*` (not `[^\r\n]*`) because sre runs it as a plain scan to
# the LF, several times faster than a character class; the CR it keeps is stripped after.
_CRLF_HEADER_LINE_RE = re.compile(rf"^([{TOKEN_CLASS}]+)[ \t]*:[ \t]*(.*)", re.M)
_CSEQ_RE = re.compile(rf"[ \t]*([0-9]+)[ \t]+([{TOKEN_CLASS}]+)[ \t]*")
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.I)
# callid = word ["@" word]; word = 1*(alphanum / "-" / "." / "!" / ... ) (RFC 3261 §25.1).
_WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"
_CALL_ID_RE = re.compile(rf"{_WORD}(?:@{_WORD})?")
# Date: RFC 1123 date in GMT only (RFC 3261 §20.17; RFC 4475 §3.1.2.12 "baddate").
_DATE_RE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)
_SINGLETONS = ("from", "to", "call-id", "cseq", "max-forwards", "content-length")


class CSeq(NamedTuple):
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def _parse_vias(values: list[str]) -> list[Via]:
    vias: list[Via] = []
    for value in values:
        for part in split_top_level(value):
            vias.append(parse_via(part))
    return vias


def _single_address(values: list[str]) -> NameAddr:
    # From and To are not list headers: a comma here is part of the value (RFC 4475 "baddn").
    if len(values) != 1:
        raise SipParseError("From/To must appear exactly once")
    return parse_name_addr(values[0])


def _parse_cseq(values: list[str]) -> CSeq:
    m = _CSEQ_RE.fullmatch(values[0]) if len(values) == 1 else None
    if m is None:
        raise SipParseError("malformed CSeq")
    number = int(m.group(1)) if len(m.group(1)) < 12 else MAX_CSEQ + 1
    if number > MAX_CSEQ:
        raise SipParseError("CSeq number too large (RFC 3261 §8.1.1.5 caps it below 2**31)")
    return CSeq(number, m.group(2))


class SipMessage:
    """What requests and responses share: headers, body, the raw bytes and parsed accessors."""

    __slots__ = ("body", "headers", "raw")

    def __init__(self, headers: Headers | None = None, body: bytes = b"", raw: bytes = b"") -> None:
        self.headers = headers if headers is not None else Headers()
        self.body = body
        self.raw = raw

    # -- parsed views of the headers (cached by Headers until it changes) --
    @property
    def vias(self) -> list[Via]:
        return self.headers.parsed("via", _parse_vias)

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise SipParseError("missing Via")
        return vias[0]

    @property
    def from_addr(self) -> NameAddr:
        return self.headers.parsed("from", _single_address)

    @property
    def to_addr(self) -> NameAddr:
        return self.headers.parsed("to", _single_address)

    @property
    def call_id(self) -> str:
        return self.headers.get("call-id") or ""

    @property
    def cseq(self) -> CSeq:
        return self.headers.parsed("cseq", _parse_cseq)

    @property
    def contacts(self) -> list[NameAddr] | Star:
        return self.headers.parsed("contact", parse_contacts)

    @property
    def routes(self) -> list[NameAddr]:
        return self.headers.parsed("route", parse_address_list)

    @property
    def record_routes(self) -> list[NameAddr]:
        return self.headers.parsed("record-route", parse_address_list)

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("max-forwards")
        if value is None:
            return None
        if not value.isdigit() or len(value) > 6 or int(value) > 255:
            raise SipParseError("Max-Forwards must be 0-255 (RFC 3261 §20.22)")
        return int(value)

    @property
    def expires(self) -> int | None:
        """The Expires header in seconds; values above 2**32-1 count as 2**32-1 (§20.19)."""
        value = self.headers.get("expires")
        if value is None:
            return None
        value = value.strip(" \t")
        if not value.isdigit():
            raise SipParseError("Expires must be a number of seconds")
        return min(int(value) if len(value) < 12 else 2**32 - 1, 2**32 - 1)

    def set_body(self, body: bytes, content_type: str | None) -> None:
        """Replace the body; Content-Length follows, Content-Type is set or removed."""
        self.body = body
        if content_type:
            self.headers.set("Content-Type", content_type)
        else:
            self.headers.remove("content-type")
        self.headers.set("Content-Length", str(len(body)))

    def start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Serialise; Content-Length always matches the body actually sent."""
        length = str(len(self.body))
        lines = [self.start_line()]
        seen_length = False
        for key, name, value in self.headers.triples():
            if key == "content-length":
                if seen_length:
                    continue  # one Content-Length, the true one
                seen_length, value = True, length
            lines.append(f"{name}: {value}")
        if not seen_length:
            lines.append(f"Content-Length: {length}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape") + self.body

    def __bytes__(self) -> bytes:
        return self.to_bytes()


class SipRequest(SipMessage):
    """A request: method, Request-URI and the common parts."""

    __slots__ = ("method", "uri")

    def __init__(
        self,
        method: str,
        uri: Uri,
        headers: Headers | None = None,
        body: bytes = b"",
        raw: bytes = b"",
    ) -> None:
        super().__init__(headers, body, raw)
        self.method = method
        self.uri = uri

    def start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"

    def __repr__(self) -> str:
        return f"<SipRequest {self.method} {self.uri}>"

    def copy(self) -> SipRequest:
        """A copy whose headers and URI can be changed without touching this one."""
        uri = self.uri.copy() if isinstance(self.uri, SipUri) else self.uri
        return SipRequest(self.method, uri, self.headers.copy(), self.body, self.raw)


class SipResponse(SipMessage):
    """A response: status code, reason phrase and the common parts."""

    __slots__ = ("reason", "status")

    def __init__(
        self,
        status: int,
        reason: str,
        headers: Headers | None = None,
        body: bytes = b"",
        raw: bytes = b"",
    ) -> None:
        super().__init__(headers, body, raw)
        self.status = status
        self.reason = reason

    def start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<SipResponse {self.status} {self.reason}>"

    def copy(self) -> SipResponse:
        return SipResponse(self.status, self.reason, self.headers.copy(), self.body, self.raw)


def parse_message(
    data: bytes, *, datagram: bool = True, strict: bool = True
) -> SipRequest | SipResponse:
    """Parse one message. With `datagram`, octets after Content-Length are ignored (RFC 3261
    §18.3, RFC 4475 §3.1.1.8) and a missing Content-Length means "the rest of the datagram".

    `strict` (the default) checks every header the core understands before returning. With
    `strict=False` only the framing and the transaction-critical headers (Call-ID, CSeq,
    Content-Length, presence of Via/From/To) are checked now; the others are checked when first
    used, raising SipParseError then. A server on a hot path uses that to pay only for what it
    reads, and calls `validate_message` before trusting the rest (the lab proxy does)."""
    start = 0
    while data.startswith(b"\r\n", start):  # §7.5: ignore CRLFs before the start line
        start += 2
    head_end = data.find(b"\r\n\r\n", start)
    sep = 4
    if head_end < 0:
        head_end = data.find(b"\n\n", start)
        sep = 2
        if head_end < 0:
            raise SipParseError("no empty line after the headers")
    head = data[start:head_end].decode("utf-8", "surrogateescape")
    split = _split_head_fast(head)
    if split is not None:
        message = _parse_start_line(split[0])
        fields = split[1]
    else:
        message, fields = _parse_head_slowly(head)
    key_of = HEADER_KEYS.get
    items = [
        (key_of(name) or header_key(name), name, value.rstrip(" \t\r")) for name, value in fields
    ]
    message.headers = Headers.from_parsed(items)
    body_start = head_end + sep
    message.body = _body(message.headers, data, body_start, datagram)
    end = body_start + len(message.body)
    message.raw = data if end == len(data) else data[:end]
    _validate_framing(message)
    if strict:
        validate_message(message)
    return message


def _split_head_fast(head: str) -> tuple[str, list[tuple[str, str]]] | None:
    """The start line and (name, value) fields of a header section read as it came, in one
    C-level pass; values may keep the CR of their CRLF. None when some line is folded, holds a
    stray CR or is malformed: _parse_head_slowly then normalises, unfolds and names the defect.
    """
    if "\r" in head and head.count("\r") != head.count("\r\n"):
        return None  # a CR that does not end a line
    first_nl = head.find("\n")
    if first_nl < 0:
        return head, []
    fields = _CRLF_HEADER_LINE_RE.findall(head, first_nl + 1)
    if len(fields) != head.count("\n"):
        return None
    return head[:first_nl].removesuffix("\r"), fields


def _parse_head_slowly(head: str) -> tuple[SipRequest | SipResponse, list[tuple[str, str]]]:
    """The start line and header fields of a header section that needs normalising first."""
    head = head.replace("\r\n", "\n")
    if "\n " in head or "\n\t" in head:
        head = _FOLD_RE.sub(" ", head)  # §7.3.1: folded lines continue the header value
    if "\r" in head:
        raise SipParseError("stray CR in the header section")
    first_nl = head.find("\n")
    message = _parse_start_line(head if first_nl < 0 else head[:first_nl])
    if first_nl < 0:
        return message, []
    fields = _HEADER_LINE_RE.findall(head, first_nl + 1)
    if len(fields) != head.count("\n"):
        _find_bad_header_line(head[first_nl + 1 :])
    return message, fields


def _find_bad_header_line(text: str) -> None:
    for line in text.split("\n"):
        colon = line.find(":")
        if colon <= 0:
            raise SipParseError(f"header line without a name and colon: {line[:60]!r}")
        name = line[:colon].rstrip(" \t")
        if not _HEADER_NAME_RE.fullmatch(name):
            raise SipParseError(f"bad header name {name[:60]!r}")
    raise SipParseError("malformed header section")


def _parse_start_line(line: str) -> SipRequest | SipResponse:
    if line[:4].upper() == "SIP/":
        version, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        _check_version(version)
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
            raise SipParseError(f"bad status code {code[:20]!r}")
        return SipResponse(int(code), reason)
    parts = line.split(" ")
    if len(parts) != 3:
        # Exactly one SP between the three elements (RFC 3261 §7.1; RFC 4475 §3.1.2.8-10).
        raise SipParseError(f"malformed request line {line[:80]!r}")
    method, uri_text, version = parts
    if not is_token(method):
        raise SipParseError(f"bad method {method[:40]!r}")
    _check_version(version)
    uri = parse_uri(uri_text)
    if isinstance(uri, SipUri) and uri.headers:
        # §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11 "escruri").
        raise SipParseError("header parameters are not allowed in a Request-URI")
    return SipRequest(method, uri)


def _check_version(version: str) -> None:
    if version.upper() != SIP_VERSION:
        if _VERSION_RE.fullmatch(version):
            raise SipParseError(f"unsupported SIP version {version!r}", status=505)
        raise SipParseError(f"bad SIP version {version[:20]!r}")


def _body(headers: Headers, data: bytes, body_start: int, datagram: bool) -> bytes:
    lengths = headers.get_all("content-length")
    if not lengths:
        return data[body_start:] if datagram else b""
    if len({value for value in lengths}) != 1:
        raise SipParseError("conflicting Content-Length headers")
    text = lengths[0]
    if not text.isdigit() or len(text) > 10 or int(text) > MAX_CONTENT_LENGTH:
        raise SipParseError(f"bad Content-Length {text[:20]!r}")
    length = int(text)
    if body_start + length > len(data):
        raise SipParseError("Content-Length is larger than the message body")
    return data[body_start : body_start + length]


def _validate_framing(message: SipRequest | SipResponse) -> None:
    """What every message must get right before anything can use it (§8.1.1, §8.2.6.2)."""
    index = message.headers.index()
    for key in ("via", "from", "to", "call-id", "cseq"):
        if key not in index:
            raise SipParseError(f"missing mandatory header {key}")
    for key in _SINGLETONS:
        values = index.get(key)
        if values is not None and len(values) > 1:
            raise SipParseError(f"more than one {key} header")
    if not _CALL_ID_RE.fullmatch(message.call_id):
        raise SipParseError("malformed Call-ID")
    cseq = message.cseq
    if isinstance(message, SipRequest) and cseq.method != message.method:
        raise SipParseError("CSeq method does not match the request method")


def validate_message(message: SipRequest | SipResponse) -> None:
    """Check every header the core understands; raises SipParseError for the first defect."""
    headers = message.headers
    if not message.vias:
        raise SipParseError("empty Via")
    message.from_addr  # noqa: B018 - parse now so a bad header fails here, not in a handler
    message.to_addr  # noqa: B018
    message.max_forwards  # noqa: B018
    if "contact" in headers:
        message.contacts  # noqa: B018
    date = headers.get("date")
    if date is not None and not _DATE_RE.fullmatch(date):
        raise SipParseError("Date must be an RFC 1123 date in GMT (RFC 3261 §20.17)")


def salvage_request(data: bytes) -> SipRequest | None:
    """The bare minimum of a request that failed to parse, so it can still be answered with
    the 400 (or 505) the parse error asks for (RFC 3261 §8.2, §16.3): start line method and
    the raw Via, From, To, Call-ID and CSeq values. None if even those are missing."""
    end = data.find(b"\r\n\r\n")
    head = (data if end < 0 else data[:end]).decode("utf-8", "surrogateescape")
    head = _FOLD_RE.sub(" ", head.replace("\r\n", "\n"))
    first, _, rest = head.partition("\n")
    method = first.split(" ", 1)[0]
    if not is_token(method) or method.upper().startswith("SIP/"):
        return None
    fields = [
        (name, value.rstrip(" \t"))
        for name, value in _HEADER_LINE_RE.findall(rest)
        if header_key(name) in ("via", "from", "to", "call-id", "cseq")
    ]
    headers = Headers(fields)
    if any(headers.get(key) is None for key in ("via", "from", "to", "call-id", "cseq")):
        return None
    return SipRequest(method, AbsoluteUri("invalid", "request-uri"), headers, b"", data)
