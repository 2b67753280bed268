"""Lexical pieces of the SIP grammar (RFC 3261 §25.1) shared by the URI, address and Via parsers.

Kept in one place so that every parser agrees on what a token, a quoted string and a parameter
are; the torture tests of RFC 4475 mostly probe exactly these edges.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

from softphone.sip.errors import SipParseError

T = TypeVar("T")

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CLASS = r"A-Za-z0-9\-.!%*_+`'~"
TOKEN_RE = re.compile(rf"[{TOKEN_CLASS}]+")
# quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE; quoted-pair never escapes CR or LF.
QUOTED_RE = re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"')
# A generic parameter: SEMI token [ EQUAL (token / host / quoted-string) ]. LWS may surround both
# the semicolon and the equal sign (RFC 3261 §25.1 SEMI and EQUAL); hosts add ":" and "[]" (IPv6).
_PARAM_RE = re.compile(
    rf"[ \t]*;[ \t]*([{TOKEN_CLASS}]+)"
    rf'(?:[ \t]*=[ \t]*("(?:[^"\\\r\n]|\\[^\r\n])*"|[{TOKEN_CLASS}:\[\]]+))?[ \t]*'
)

Params = dict[str, str | None]


def is_token(text: str) -> bool:
    """True when `text` is a non-empty SIP token."""
    return TOKEN_RE.fullmatch(text) is not None


def parse_params(text: str, what: str) -> Params:
    """Parse `;name=value;flag` into a dict keyed by lower-case name (names are case-insensitive).

    Values keep their quotes, so serialising gives back what was received. The first occurrence
    of a repeated name wins. Empty parameters (`;;`) or stray characters raise SipParseError.
    """
    params: Params = {}
    pos = 0
    end = len(text.rstrip(" \t"))
    match = _PARAM_RE.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise SipParseError(f"malformed parameter in {what}: {text[pos : pos + 40]!r}")
        name = m.group(1).lower()
        if name not in params:
            params[name] = m.group(2)
        pos = m.end()
    return params


def format_params(params: Params) -> str:
    """Serialise parameters back to `;name=value` form."""
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def unquote(value: str) -> str:
    """Remove the quotes and backslash escapes of a quoted-string; other text is returned as is."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" in inner:
            inner = re.sub(r"\\(.)", r"\1", inner)
        return inner
    return value


def quote(value: str) -> str:
    """Make a quoted-string from arbitrary text (RFC 3261 §25.1 quoted-pair for `"` and `\\`)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_top_level(value: str) -> list[str]:
    """Split a header value on commas that are outside quoted strings and angle brackets.

    RFC 3261 §7.3.1: a header whose grammar is a comma-separated list may be split into several
    header fields; this reverses that. Empty elements are kept (callers decide if they are errors).
    """
    if "," not in value:
        return [value]
    parts: list[str] = []
    start = 0
    in_quote = False
    in_angle = False
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if in_quote:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quote = False
        elif c == '"':
            in_quote = True
        elif c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == "," and not in_angle:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts


class Memo(Generic[T]):
    """A small bounded memo for parsers whose inputs repeat (registrar URIs, AORs, contacts).

    Results are shared between callers, so they must be treated as immutable (`copy()` them to
    change them). When the table is full it is simply emptied: no bookkeeping per hit.
    """

    def __init__(self, parse: Callable[[str], T], size: int = 4096) -> None:
        self._parse = parse
        self._size = size
        self._table: dict[str, T] = {}

    def __call__(self, text: str) -> T:
        hit = self._table.get(text)
        if hit is not None:
            return hit
        value = self._parse(text)
        if len(self._table) >= self._size:
            self._table.clear()
        self._table[text] = value
        return value
