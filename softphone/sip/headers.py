"""An ordered, case-insensitive header list that knows compact forms (RFC 3261 §7.3).

Order matters in SIP (Via and Route are processed top-down), names are case-insensitive and may
be written in their one-letter compact form, and a comma-list header may arrive split over several
lines or joined on one. Headers keeps every field exactly as received (so a proxy forwards what it
got) and offers lookups by the long, lower-case name. Parsed forms are cached per name and the
cache is dropped on every change, so a mutated message never serves stale parsed values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from softphone.sip.grammar import split_top_level

# RFC 3261 §7.3.3 plus the compact forms later RFCs registered (IANA "Header Fields" registry).
COMPACT_FORMS = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "u": "allow-events",
    "a": "accept-contact",
    "j": "reject-contact",
    "d": "request-disposition",
    "x": "session-expires",
    "y": "identity",
    "n": "identity-info",
}

_CANONICAL_NAMES = [
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Diversion",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "Identity",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "Min-SE",
    "MIME-Version",
    "Organization",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "P-Registrar-Error",
    "Path",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "RAck",
    "Reason",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Replaces",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "RSeq",
    "Server",
    "Service-Route",
    "Session-Expires",
    "SIP-ETag",
    "SIP-If-Match",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
]
CANONICAL = {name.lower(): name for name in _CANONICAL_NAMES}
# Precomputed keys for the spellings code and peers actually use, so a lookup is one dict hit.
HEADER_KEYS: dict[str, str] = {}
for _name in _CANONICAL_NAMES:
    HEADER_KEYS[_name] = HEADER_KEYS[_name.lower()] = _name.lower()
for _short, _long in COMPACT_FORMS.items():
    HEADER_KEYS[_short] = HEADER_KEYS[_short.upper()] = _long

T = TypeVar("T")
_EMPTY: list[str] = []
_MISSING = object()


def header_key(name: str) -> str:
    """The lookup key of a header name: lower case, compact form expanded."""
    key = HEADER_KEYS.get(name)
    if key is None:
        key = name.lower()
        key = COMPACT_FORMS.get(key, key)
    return key


def canonical_name(name: str) -> str:
    """The conventional spelling of a header name (`call-id` → `Call-ID`)."""
    key = header_key(name)
    return CANONICAL.get(key, name)


class Headers:
    """Ordered header fields: (key, name as written, value) triples."""

    __slots__ = ("_cache", "_index", "_items")

    def __init__(
        self,
        fields: Iterable[tuple[str, str]] = (),
        keyed: list[tuple[str, str, str]] | None = None,
    ) -> None:
        self._items: list[tuple[str, str, str]] = (
            keyed if keyed is not None else [(header_key(n), n, v) for n, v in fields]
        )
        self._cache: dict[str, object] = {}
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def from_parsed(cls, items: list[tuple[str, str, str]]) -> Headers:
        """Adopt already-keyed (key, name, value) triples from the parser as they are."""
        return cls(keyed=items)

    def _values(self, key: str) -> list[str]:
        # Lookups go through a key → values index built on first use and dropped on change.
        index = self._index
        if index is None:
            index = self._build_index()
        return index.get(key, _EMPTY)

    def _build_index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for k, _, value in self._items:
            values = index.get(k)
            if values is None:
                index[k] = [value]
            else:
                values.append(value)
        self._index = index
        return index

    def index(self) -> dict[str, list[str]]:
        """key → values of every header, in order (built once; do not modify it)."""
        return self._index if self._index is not None else self._build_index()

    def _changed(self) -> None:
        self._cache.clear()
        self._index = None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for _, name, value in self._items:
            yield name, value

    def __len__(self) -> int:
        return len(self._items)

    def triples(self) -> list[tuple[str, str, str]]:
        """(key, name as written, value) in order; do not modify the list."""
        return self._items

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self._values(header_key(name)))

    def __repr__(self) -> str:
        return f"Headers({list(self)!r})"

    def copy(self) -> Headers:
        return Headers.from_parsed(list(self._items))

    def count(self, name: str) -> int:
        return len(self._values(HEADER_KEYS.get(name) or header_key(name)))

    def get(self, name: str) -> str | None:
        """The first field's value, or None."""
        index = self._index if self._index is not None else self._build_index()
        values = index.get(HEADER_KEYS.get(name) or header_key(name))
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        """Every field's value, in order, not split on commas."""
        return list(self._values(header_key(name)))

    def get_list(self, name: str) -> list[str]:
        """Every element of a comma-list header across all its fields (RFC 3261 §7.3.1)."""
        out: list[str] = []
        for value in self.get_all(name):
            out.extend(part.strip(" \t") for part in split_top_level(value))
        return out

    def parsed(self, name: str, parse: Callable[[list[str]], T]) -> T:
        """`parse(get_all(name))`, cached until the headers change."""
        key = HEADER_KEYS.get(name) or header_key(name)
        cached = self._cache.get(key, _MISSING)
        if cached is _MISSING:
            cached = self._cache[key] = parse(self._values(key))
        return cached  # type: ignore[return-value]

    def add(self, name: str, value: str) -> None:
        """Append a field at the end."""
        self._items.append((header_key(name), canonical_name(name), value))
        self._changed()

    def prepend(self, name: str, value: str) -> None:
        """Insert a field above the first field of the same name (or at the top if none)."""
        key = header_key(name)
        index = next((i for i, item in enumerate(self._items) if item[0] == key), 0)
        self._items.insert(index, (key, canonical_name(name), value))
        self._changed()

    def set(self, name: str, value: str) -> None:
        """Replace every field of that name with one field, where the first one stood."""
        key = header_key(name)
        index = next((i for i, item in enumerate(self._items) if item[0] == key), None)
        self._items = [item for item in self._items if item[0] != key]
        entry = (key, canonical_name(name), value)
        if index is None:
            self._items.append(entry)
        else:
            self._items.insert(index, entry)
        self._changed()

    def remove(self, name: str) -> int:
        """Remove every field of that name; return how many were removed."""
        key = header_key(name)
        before = len(self._items)
        self._items = [item for item in self._items if item[0] != key]
        self._changed()
        return before - len(self._items)

    def pop_first(self, name: str) -> str | None:
        """Remove and return the topmost element of a comma-list header (e.g. the top Route)."""
        key = header_key(name)
        for i, (k, written, value) in enumerate(self._items):
            if k != key:
                continue
            parts = split_top_level(value)
            if len(parts) == 1:
                del self._items[i]
            else:
                rest = ",".join(parts[1:]).strip(" \t")
                self._items[i] = (k, written, rest)
            self._changed()
            return parts[0].strip(" \t")
        return None
