"""name-addr / addr-spec values: From, To, Contact, Route, Record-Route, Refer-To (RFC 3261 §20).

The two written forms differ in what the parameters belong to: inside `<...>` the URI keeps its
own parameters and what follows `>` belongs to the header; without brackets everything after the
first `;` is a header parameter, which is why RFC 3261 §20.10 requires brackets when a URI holds
`,`, `;` or `?` (RFC 4475 §3.1.2.13 "regbadct").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from softphone.sip.errors import SipParseError
from softphone.sip.grammar import (
    QUOTED_RE,
    TOKEN_RE,
    Memo,
    Params,
    format_params,
    parse_params,
    quote,
    split_top_level,
    unquote,
)
from softphone.sip.uri import Uri, parse_uri

_WS = " \t"
_DISPLAY_WORDS_RE = re.compile(r"[ \t]+")


@dataclass(slots=True)
class NameAddr:
    """One address with an optional display name and header parameters (tag, expires, q, ...)."""

    uri: Uri
    display: str | None = None
    params: Params = field(default_factory=dict)

    def __str__(self) -> str:
        head = f"{quote(self.display)} " if self.display else ""
        return f"{head}<{self.uri}>{format_params(self.params)}"

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def param_text(self, name: str) -> str | None:
        """A parameter with quotes removed (e.g. +sip.instance="<urn:uuid:...>")."""
        value = self.params.get(name)
        return None if value is None else unquote(value)

    def copy(self) -> NameAddr:
        return NameAddr(self.uri, self.display, dict(self.params))


Star = Literal["*"]
STAR: Star = "*"


def parse_name_addr(text: str) -> NameAddr:
    """Parse one name-addr or addr-spec with its header parameters.

    Memoised like parse_uri (To, Contact and Route values repeat): the returned object is
    shared, treat it as immutable (`copy()` it to change it)."""
    return _MEMO(text)


def _parse_name_addr(text: str) -> NameAddr:
    s = text.strip(_WS)
    if not s:
        raise SipParseError("empty address")
    display: str | None = None
    if s[0] == '"':
        m = QUOTED_RE.match(s)
        if m is None:
            raise SipParseError(f"unterminated quoted display name in {text!r}")
        display = unquote(m.group(0))
        s = s[m.end() :].lstrip(_WS)
        if not s.startswith("<"):
            raise SipParseError(f"display name not followed by <URI> in {text!r}")
    lt = s.find("<")
    if lt >= 0:
        if lt > 0:
            display = _token_display(s[:lt], text)
        gt = s.find(">", lt)
        if gt < 0:
            raise SipParseError(f"missing '>' in {text!r}")
        uri = parse_uri(s[lt + 1 : gt])
        rest = s[gt + 1 :]
    else:
        semi = s.find(";")
        uri_text = (s if semi < 0 else s[:semi]).rstrip(_WS)
        if "?" in uri_text or "," in uri_text:
            # RFC 3261 §20.10: such a URI must be enclosed in <> (RFC 4475 §3.1.2.13).
            raise SipParseError(f"URI with '?' or ',' must be enclosed in <>: {text!r}")
        uri = parse_uri(uri_text)
        rest = "" if semi < 0 else s[semi:]
    params = parse_params(rest, "address") if rest.strip(_WS) else {}
    return NameAddr(uri, display, params)


def _token_display(raw: str, text: str) -> str | None:
    """display-name = *(token LWS): unquoted names may only hold token characters (§25.1)."""
    words = [w for w in _DISPLAY_WORDS_RE.split(raw.strip(_WS)) if w]
    for word in words:
        if not TOKEN_RE.fullmatch(word):
            raise SipParseError(f"display name must be quoted in {text!r}")
    return " ".join(words) or None


def parse_address_list(values: list[str]) -> list[NameAddr]:
    """Parse every comma-separated element of one or more header values (Route, Contact, ...)."""
    result: list[NameAddr] = []
    for value in values:
        for part in split_top_level(value):
            result.append(parse_name_addr(part))
    return result


def parse_contacts(values: list[str]) -> list[NameAddr] | Star:
    """Contact header values: a list of addresses or the wildcard `*` (RFC 3261 §10.2.2)."""
    if len(values) == 1 and values[0].strip(_WS) == "*":
        return STAR
    contacts = parse_address_list(values)
    return contacts


_MEMO: Memo[NameAddr] = Memo(_parse_name_addr)
