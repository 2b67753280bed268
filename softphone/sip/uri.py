"""SIP and SIPS URIs (RFC 3261 §19.1) plus an opaque form for every other scheme.

A SIP element must accept URIs of schemes it does not understand (RFC 4475 §3.3.2 "unkscm"), so
`parse_uri` returns `AbsoluteUri` for those instead of failing; only sip: and sips: are taken
apart. Characters are checked against the RFC's classes so that torture inputs such as spaces or
`<` inside a Request-URI are refused rather than misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote as _pct_decode

from softphone.sip.errors import SipParseError
from softphone.sip.grammar import Memo, Params

# userinfo = user [":" password] "@"; user may hold ; ? / & = + $ , (user-unreserved) and escapes.
_USER_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")
_PASSWORD_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,%]*")
_HOST_RE = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+")
_PARAMCHAR = r"A-Za-z0-9\-_.!~*'()\[\]/:&+$%"
_PARAMS_RE = re.compile(rf"(?:;[{_PARAMCHAR}]+(?:=[{_PARAMCHAR}]*)?)*")
_PARAM_ONE_RE = re.compile(rf";([{_PARAMCHAR}]+)(?:=([{_PARAMCHAR}]*))?")
_HEADER_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()\[\]/?:+$%]+=[A-Za-z0-9\-_.!~*'()\[\]/?:+$%]*")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SIP_URI_RE = re.compile(
    r"(?P<scheme>[sS][iI][pP][sS]?):"
    r"(?:(?P<userinfo>[^@]*)@)?"
    r"(?P<host>\[[^\]]*\]|[^:;?]*)"
    r"(?::(?P<port>[^;?]*))?"
    r"(?P<params>;[^?]*)?"
    r"(?:\?(?P<headers>.*))?",
    re.S,
)
# The whole grammar in one pattern: the common, valid case costs a single match. Inputs that miss
# it are re-examined piece by piece so the error says which part is wrong.
_STRICT_RE = re.compile(
    r"(?P<scheme>[sS][iI][pP][sS]?):"
    r"(?:(?P<user>[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+)(?::(?P<pw>[A-Za-z0-9\-_.!~*'()&=+$,%]*))?@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)(?::(?P<port>[0-9]{1,5}))?"
    rf"(?P<params>(?:;[{_PARAMCHAR}]+(?:=[{_PARAMCHAR}]*)?)*)"
    r"(?:\?(?P<headers>.*))?",
    re.S,
)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_OPAQUE_RE = re.compile(r"[^\s<>\"]+")


@dataclass(slots=True)
class SipUri:
    """A sip: or sips: URI. Treat instances as values: build a new one instead of mutating."""

    host: str
    user: str | None = None
    port: int | None = None
    params: Params = field(default_factory=dict)
    headers: list[tuple[str, str]] = field(default_factory=list)
    scheme: str = "sip"
    password: str | None = None

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts.append(":" + self.password)
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts.append(f":{self.port}")
        for key, value in self.params.items():
            parts.append(f";{key}" if value is None else f";{key}={value}")
        if self.headers:
            parts.append("?" + "&".join(f"{k}={v}" for k, v in self.headers))
        return "".join(parts)

    @property
    def transport(self) -> str | None:
        """The `transport` parameter, lower-cased, or None."""
        value = self.params.get("transport")
        return value.lower() if value else None

    @property
    def user_text(self) -> str:
        """The user part with %-escapes decoded (RFC 3261 §19.1.4 compares it that way)."""
        user = self.user
        if not user:
            return ""
        return _pct_decode(user) if "%" in user else user

    @property
    def hostport(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def copy(self, **changes: object) -> SipUri:
        """A copy with some fields replaced; params and headers are copied, never shared."""
        new = SipUri(
            host=self.host,
            user=self.user,
            port=self.port,
            params=dict(self.params),
            headers=list(self.headers),
            scheme=self.scheme,
            password=self.password,
        )
        for key, value in changes.items():
            setattr(new, key, value)
        return new


@dataclass(slots=True, frozen=True)
class AbsoluteUri:
    """A URI of a scheme other than sip/sips (tel:, urn:, im:, ...), kept opaque."""

    scheme: str
    opaque: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.opaque}"


Uri = SipUri | AbsoluteUri


def parse_uri(text: str) -> Uri:
    """Parse a URI as it appears in a Request-URI or inside <...>; raise SipParseError if bad.

    The same URIs come back all the time, so results are memoised (grammar.Memo): the
    returned object is shared, treat it as immutable (`copy()` it to change it)."""
    return _MEMO(text)


def _parse_uri(text: str) -> Uri:
    m = _STRICT_RE.fullmatch(text)
    if m is not None and "%" not in text:
        scheme, user, password, host, port_text, params_text, headers_text = m.groups()
        port = int(port_text) if port_text else None
        if headers_text is None and (port is None or port <= 65535):
            params: Params = {}
            if params_text:
                for pm in _PARAM_ONE_RE.finditer(params_text):
                    params.setdefault(pm.group(1).lower(), pm.group(2))
            return SipUri(host, user, port, params, [], scheme.lower(), password)
    return _parse_uri_slowly(text)


def _parse_uri_slowly(text: str) -> Uri:
    m = _SIP_URI_RE.fullmatch(text)
    if m is None:
        return _parse_absolute(text)
    scheme = m.group("scheme").lower()
    user = password = None
    userinfo = m.group("userinfo")
    if userinfo is not None:
        user, _, pw = userinfo.partition(":")
        if not _USER_RE.fullmatch(user) or (pw and not _PASSWORD_RE.fullmatch(pw)):
            raise SipParseError(f"bad user part in URI {text!r}")
        password = pw if ":" in userinfo else None
    host = m.group("host")
    if not _HOST_RE.fullmatch(host):
        raise SipParseError(f"bad host in URI {text!r}")
    port: int | None = None
    port_text = m.group("port")
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5 or int(port_text) > 65535:
            raise SipParseError(f"bad port in URI {text!r}")
        port = int(port_text)
    params: Params = {}
    params_text = m.group("params")
    if params_text:
        if not _PARAMS_RE.fullmatch(params_text):
            raise SipParseError(f"bad parameters in URI {text!r}")
        for pm in _PARAM_ONE_RE.finditer(params_text):
            params.setdefault(pm.group(1).lower(), pm.group(2))
    headers: list[tuple[str, str]] = []
    headers_text = m.group("headers")
    if headers_text is not None:
        for item in headers_text.split("&"):
            if not _HEADER_RE.fullmatch(item):
                raise SipParseError(f"bad header part in URI {text!r}")
            name, _, value = item.partition("=")
            headers.append((name, value))
    if "%" in text and _BAD_ESCAPE_RE.search(text):
        raise SipParseError(f"bad %-escape in URI {text!r}")
    return SipUri(
        host=host,
        user=user,
        port=port,
        params=params,
        headers=headers,
        scheme=scheme,
        password=password,
    )


def parse_sip_uri(text: str) -> SipUri:
    """Parse a URI that must be sip: or sips: (e.g. a registrar or a Contact we route to)."""
    uri = parse_uri(text)
    if not isinstance(uri, SipUri):
        raise SipParseError(f"not a SIP URI: {text!r}", status=416)
    return uri


def _parse_absolute(text: str) -> AbsoluteUri:
    scheme, sep, opaque = text.partition(":")
    if not sep or not _SCHEME_RE.fullmatch(scheme) or not _OPAQUE_RE.fullmatch(opaque):
        raise SipParseError(f"malformed URI {text!r}")
    return AbsoluteUri(scheme.lower(), opaque)


_MEMO: Memo[Uri] = Memo(_parse_uri)
