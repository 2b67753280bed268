"""SIP digest authentication (RFC 3261 §22, RFC 2617, RFC 7616) for both ends, sans-IO.

Why one module for both sides: the client (answering 401/407) and the lab registrar (issuing and
checking challenges) must agree byte for byte on the header grammar and on the hash chain, and the
RFC vectors in the tests pin both at once.

The server side is built for the registrar's hot path: nonces are stateless (timestamp + counter +
keyed BLAKE2b MAC, so issuing one stores nothing) and the only state is a replay memory of nonces
actually used, kept in time buckets that are dropped wholesale once past the nonce lifetime.

Caller order on the server: `verify_credentials` first, then `NonceManager.check`. Checking the
digest first means a forged request can never advance a nonce's nc (and lock out its owner), and
STALE is only reported to a client that proved it knows the password (RFC 2617 §3.2.1 "stale").
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from softphone.sip.errors import SipParseError

__all__ = [
    "ALGORITHMS",
    "Challenge",
    "Credentials",
    "answer_challenge",
    "compute_ha1",
    "compute_response",
    "format_challenge",
    "format_credentials",
    "parse_challenge",
    "parse_credentials",
    "verify_credentials",
]

# RFC 7616 §3.4.2 (MD5, SHA-256 and their -sess forms; -sess defined in RFC 2617 §3.2.2.2).
ALGORITHMS: tuple[str, ...] = ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess")


def _md5(data: bytes) -> str:
    # usedforsecurity=False: digest auth mandates MD5; FIPS builds refuse it without the flag.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Upper-cased name -> (canonical name, hex hash, is -sess, hex length). Names are case-insensitive.
_ALG: dict[str, tuple[str, Callable[[bytes], str], bool, int]] = {
    "MD5": ("MD5", _md5, False, 32),
    "MD5-SESS": ("MD5-sess", _md5, True, 32),
    "SHA-256": ("SHA-256", _sha256, False, 64),
    "SHA-256-SESS": ("SHA-256-sess", _sha256, True, 64),
}


def _algorithm(name: str, status: int = 400) -> tuple[str, Callable[[bytes], str], bool, int]:
    try:
        return _ALG[name.upper()]
    except KeyError:
        raise SipParseError(f"unsupported digest algorithm {name!r}", status) from None


# --- header grammar (RFC 3261 §25.1: LWS, token, quoted-string, EQUAL, COMMA) -----------------

_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_LWS = r"(?:[ \t]*\r?\n)?[ \t]+"  # [*WSP CRLF] 1*WSP; a bare LF is tolerated
# qdtext is LWS, printable ASCII but `"` and `\`, or non-ASCII; quoted-pair never escapes CR/LF.
_QUOTED = r'"((?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\r?\n[ \t]|\\[\x00-\x09\x0b\x0c\x0e-\x7f])*)"'
_SCHEME_RE = re.compile(rf"(?:{_LWS})?({_TOKEN}){_LWS}")
_PARAM_RE = re.compile(rf"({_TOKEN})(?:{_LWS})?=(?:{_LWS})?(?:{_QUOTED}|({_TOKEN}))")
_COMMA_RE = re.compile(rf"(?:{_LWS})?,(?:{_LWS})?")
_TAIL_RE = re.compile(rf"(?:{_LWS})?")
_TOKEN_RE = re.compile(_TOKEN)
_UNESCAPE_RE = re.compile(r"\\(.)", re.DOTALL)
_FOLD_RE = re.compile(r"[ \t]*\r?\n([ \t])")
_NC_RE = re.compile(r"[0-9A-Fa-f]{8}")
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_BAD_QUOTED_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _is_token(text: str) -> bool:
    # Nearly every parameter name and bare value is alphanumeric; only the rest pays for a regex.
    return text.isalnum() or _TOKEN_RE.fullmatch(text) is not None


def _skip_blanks(value: str, pos: int, end: int) -> int:
    while pos < end and value[pos] in " \t":
        pos += 1
    return pos


def _parse_simple(value: str) -> dict[str, str] | None:
    """The shape nearly every phone sends, `Digest a="b", c=d` (ASCII, no folding, escapes or
    blanks around `=`), read with str.find instead of regexes: this runs on every REGISTER.
    None means "not that shape": the full grammar in _parse_digest decides, and names the defect.
    """
    end = len(value)
    if end < 8 or not value.isascii() or value[:6].lower() != "digest" or value[6] not in " \t":
        return None
    params: dict[str, str] = {}
    pos = _skip_blanks(value, 7, end)
    while True:
        eq = value.find("=", pos)
        if eq < 0:
            return None
        name = value[pos:eq]
        if not _is_token(name):
            return None
        if value.startswith('"', eq + 1):
            close = value.find('"', eq + 2)
            if close < 0:
                return None
            raw = value[eq + 2 : close]
            # isprintable() refuses CTLs and tab, as the quoted-string fast shape does.
            if "\\" in raw or not (raw.isprintable() or not raw):
                return None
            pos = close + 1
        else:
            comma = value.find(",", eq + 1)
            raw = value[eq + 1 : end if comma < 0 else comma].rstrip(" \t")
            if not _is_token(raw):
                return None
            pos = eq + 1 + len(raw)
        key = name.lower()
        if key in params:  # a duplicate takes the slow path to be reported
            return None
        params[key] = raw
        pos = _skip_blanks(value, pos, end)
        if pos == end:
            return params
        if value[pos] != ",":
            return None
        pos = _skip_blanks(value, pos + 1, end)
        if pos == end:
            return None


def _parse_digest(value: str, what: str) -> dict[str, str]:
    """Split `Digest a=b, c="d"` into {lower-case name: unquoted value}; raise on any defect."""
    fast = _parse_simple(value)
    return fast if fast is not None else _parse_full(value, what)


def _parse_full(value: str, what: str) -> dict[str, str]:
    """RFC 3261 §25.1 in full: LWS and folding, escapes, UTF-8; raises naming the defect."""
    if not value.isascii():
        try:  # lone surrogates (e.g. from surrogateescape decoding) could never be hashed
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SipParseError(f"{what}: not valid UTF-8") from None
    m = _SCHEME_RE.match(value)
    if m is None or m.group(1).lower() != "digest":
        raise SipParseError(f"{what}: not a Digest value")
    params: dict[str, str] = {}
    pos, end = m.end(), len(value)
    while True:
        p = _PARAM_RE.match(value, pos)
        if p is None:
            raise SipParseError(f"{what}: malformed parameter at {value[pos : pos + 30]!r}")
        name = p.group(1).lower()
        if name in params:
            raise SipParseError(f"{what}: duplicated parameter {name!r}")
        quoted = p.group(2)
        if quoted is None:
            params[name] = p.group(3)
        else:
            if "\n" in quoted:  # unfold LWS inside the quoted-string to one space
                quoted = _FOLD_RE.sub(r"\1", quoted)
            params[name] = _UNESCAPE_RE.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = p.end()
        c = _COMMA_RE.match(value, pos)
        if c is None:
            break
        pos = c.end()
    t = _TAIL_RE.match(value, pos)
    if t is None or t.end() != end:
        raise SipParseError(f"{what}: unexpected text at {value[pos : pos + 30]!r}")
    return params


def _require(params: dict[str, str], names: tuple[str, ...], what: str) -> None:
    for name in names:
        if name not in params:
            raise SipParseError(f"{what}: missing {name}")


def _quote(text: str, field: str) -> str:
    # Refuse what would break the header (CR/LF injection) or could not be encoded as UTF-8.
    if _BAD_QUOTED_RE.search(text.replace("\t", " ")) is not None:
        raise SipParseError(f"{field}: control character in value", 500)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise SipParseError(f"{field}: not encodable as UTF-8", 500) from None
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _token(text: str, field: str) -> str:
    if _TOKEN_RE.fullmatch(text) is None:
        raise SipParseError(f"{field}: not a token: {text!r}", 500)
    return text


# --- challenges (WWW-Authenticate / Proxy-Authenticate) --------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    """A Digest challenge. `qop` holds the offered values as sent (empty: RFC 2069 style)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None


def parse_challenge(value: str) -> Challenge:
    """Parse a WWW-/Proxy-Authenticate value. Unknown parameters are ignored (RFC 7616 §3.3)."""
    p = _parse_digest(value, "challenge")
    _require(p, ("realm", "nonce"), "challenge")
    qop: tuple[str, ...] = ()
    if "qop" in p:  # qop-options = "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT
        qop = tuple(v.strip(" \t") for v in p["qop"].split(","))
        if not all(_TOKEN_RE.fullmatch(v) for v in qop):
            raise SipParseError(f"challenge: malformed qop {p['qop']!r}")
    return Challenge(
        realm=p["realm"],
        nonce=p["nonce"],
        algorithm=_algorithm(p["algorithm"])[0] if "algorithm" in p else "MD5",
        qop=qop,
        opaque=p.get("opaque"),
        # RFC 2617 §3.2.1: "TRUE" (case-insensitive) is stale; anything else is not.
        stale=p.get("stale", "").lower() == "true",
        domain=p.get("domain"),
    )


def format_challenge(ch: Challenge) -> str:
    """Serialise a challenge; raises SipParseError (status 500) for values that cannot be sent."""
    parts = [
        f"Digest realm={_quote(ch.realm, 'realm')}",
        f"nonce={_quote(ch.nonce, 'nonce')}",
        f"algorithm={_algorithm(ch.algorithm, 500)[0]}",
    ]
    if ch.qop:
        parts.append('qop="' + ",".join(_token(q, "qop") for q in ch.qop) + '"')
    if ch.opaque is not None:
        parts.append(f"opaque={_quote(ch.opaque, 'opaque')}")
    if ch.domain is not None:
        parts.append(f"domain={_quote(ch.domain, 'domain')}")
    if ch.stale:
        parts.append("stale=TRUE")
    return ", ".join(parts)


# --- credentials (Authorization / Proxy-Authorization) ---------------------------------------


@dataclass(slots=True)
class Credentials:
    """A Digest answer. `nc` is the 8-hex-digit nonce count as sent; `response` is hex.

    Treated as immutable but not frozen: the registrar parses one per REGISTER, and a frozen
    dataclass's generated __init__ runs interpreted even under mypyc (about 1 µs here)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    def __init__(
        self,
        username: str,
        realm: str,
        nonce: str,
        uri: str,
        response: str,
        algorithm: str = "MD5",
        qop: str | None = None,
        nc: str | None = None,
        cnonce: str | None = None,
        opaque: str | None = None,
    ) -> None:
        self.username = username
        self.realm = realm
        self.nonce = nonce
        self.uri = uri
        self.response = response
        self.algorithm = algorithm
        self.qop = qop
        self.nc = nc
        self.cnonce = cnonce
        self.opaque = opaque


def parse_credentials(value: str) -> Credentials:
    """Parse an Authorization/Proxy-Authorization value (qop, nc, algorithm may come quoted)."""
    p = _parse_digest(value, "credentials")
    _require(p, ("username", "realm", "nonce", "uri", "response"), "credentials")
    algorithm, _h, _sess, hex_len = _algorithm(p.get("algorithm", "MD5"))
    qop = p.get("qop")
    if qop is not None:
        if _TOKEN_RE.fullmatch(qop) is None:
            raise SipParseError(f"credentials: malformed qop {qop!r}")
        _require(p, ("nc", "cnonce"), "credentials")  # RFC 2617 §3.2.2: both MUST be present
    nc = p.get("nc")
    if nc is not None and _NC_RE.fullmatch(nc) is None:  # nc-value = 8LHEX
        raise SipParseError(f"credentials: malformed nc {nc!r}")
    response = p["response"]
    if len(response) != hex_len or _HEX_RE.fullmatch(response) is None:
        raise SipParseError("credentials: response is not a digest of the stated algorithm")
    return Credentials(
        username=p["username"],
        realm=p["realm"],
        nonce=p["nonce"],
        uri=p["uri"],
        response=response,
        algorithm=algorithm,
        qop=qop,
        nc=nc,
        cnonce=p.get("cnonce"),
        opaque=p.get("opaque"),
    )


def format_credentials(c: Credentials) -> str:
    """Serialise credentials in RFC 3261 §22.4 order; qop, nc and algorithm as tokens."""
    parts = [
        f"Digest username={_quote(c.username, 'username')}",
        f"realm={_quote(c.realm, 'realm')}",
        f"nonce={_quote(c.nonce, 'nonce')}",
        f"uri={_quote(c.uri, 'uri')}",
        f"response={_quote(c.response, 'response')}",
        f"algorithm={_algorithm(c.algorithm, 500)[0]}",
    ]
    if c.cnonce is not None:
        parts.append(f"cnonce={_quote(c.cnonce, 'cnonce')}")
    if c.opaque is not None:
        parts.append(f"opaque={_quote(c.opaque, 'opaque')}")
    if c.qop is not None:
        if c.nc is None or c.cnonce is None:
            raise SipParseError("credentials: qop needs nc and cnonce", 500)
        parts.append(f"qop={_token(c.qop, 'qop')}")
    if c.nc is not None:
        if _NC_RE.fullmatch(c.nc) is None:
            raise SipParseError(f"credentials: malformed nc {c.nc!r}", 500)
        parts.append(f"nc={c.nc}")
    return ", ".join(parts)


# --- the hash chain (RFC 2617 §3.2.2.1-3, RFC 7616 §3.4.1-3) --------------------------------


def compute_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """H(username:realm:password) in hex — what a registrar stores instead of the password.

    For -sess algorithms this is still the plain value; compute_response folds in nonce/cnonce.
    """
    h = _algorithm(algorithm)[1]
    return h(f"{username}:{realm}:{password}".encode())


def compute_response(
    ha1: str,
    method: str,
    uri: str,
    nonce: str,
    *,
    algorithm: str = "MD5",
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The request-digest. Only qop=auth or no qop: auth-int needs the body and is never offered."""
    _name, h, sess, _len = _algorithm(algorithm)
    if sess:  # RFC 2617 §3.2.2.2: A1 = H(user:realm:pw):nonce:cnonce
        if cnonce is None:
            raise SipParseError("a -sess algorithm needs a cnonce")
        ha1 = h(f"{ha1}:{nonce}:{cnonce}".encode())
    ha2 = h(f"{method}:{uri}".encode())
    if qop is None:  # RFC 2069 compatibility (RFC 2617 §3.2.2.1)
        return h(f"{ha1}:{nonce}:{ha2}".encode())
    if qop.lower() != "auth":
        raise SipParseError(f"unsupported qop {qop!r}")
    if nc is None or cnonce is None:
        raise SipParseError("qop needs nc and cnonce")
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}".encode())


def answer_challenge(
    ch: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> Credentials:
    """Client side: answer `ch` for one request. qop=auth when offered (never auth-int)."""
    if not 1 <= nc <= 0xFFFFFFFF:
        raise SipParseError(f"nonce count out of range: {nc}")
    qop: str | None = None
    if ch.qop:
        if not any(q.lower() == "auth" for q in ch.qop):
            raise SipParseError(f"challenge offers no supported qop: {','.join(ch.qop)}")
        qop = "auth"
    algorithm, _h, sess, _len = _algorithm(ch.algorithm)
    # RFC 2617 §3.2.2: cnonce and nc only go with qop; -sess needs the cnonce regardless.
    send_cnonce = cnonce if qop is not None or sess else None
    nc_text = f"{nc:08x}" if qop is not None else None
    ha1 = compute_ha1(username, ch.realm, password, algorithm)
    response = compute_response(
        ha1, method, uri, ch.nonce, algorithm=algorithm, qop=qop, nc=nc_text, cnonce=send_cnonce
    )
    return Credentials(
        username=username,
        realm=ch.realm,
        nonce=ch.nonce,
        uri=uri,
        response=response,
        algorithm=algorithm,
        qop=qop,
        nc=nc_text,
        cnonce=send_cnonce,
        opaque=ch.opaque,  # RFC 2617 §3.2.2: opaque MUST be returned unchanged
    )


def verify_credentials(c: Credentials, *, method: str, ha1: str) -> bool:
    """Server side: does `c.response` match `ha1` (H(user:realm:pw) for c.algorithm's hash)?

    The caller still checks that c.username/c.realm are the ones `ha1` belongs to, and the
    nonce with NonceManager.check. Never raises: anything it cannot compute is simply False.
    """
    if not c.response.isascii():
        return False
    try:
        expected = compute_response(
            ha1,
            method,
            c.uri,
            c.nonce,
            algorithm=c.algorithm,
            qop=c.qop,
            nc=c.nc,
            cnonce=c.cnonce,
        )
    except (SipParseError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(expected, c.response.lower())
