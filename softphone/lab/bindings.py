"""The registrar's location service: AOR → contact bindings, in memory with change tracking.

The hot path (a REGISTER every few microseconds under load) works on dicts; what changed is
remembered per binding so the adapter can write it to SQLite in batches (write-behind) and a
restart reloads it. Expired bindings vanish lazily on lookup and in periodic sweeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from softphone.sip.address import NameAddr
from softphone.sip.uri import SipUri


@dataclass(slots=True)
class Binding:
    """One registered contact of an AOR and what §10.3 needs to judge updates to it."""

    aor: str
    key: str  # identity for matching updates: instance id or the normalised contact URI
    contact: str  # the Contact URI as registered
    expires_at: float
    call_id: str
    cseq: int
    q: str | None = None
    instance: str | None = None  # +sip.instance as sent, quotes included (RFC 5626 §4.1)
    reg_id: str | None = None
    transport: str = "UDP"  # how the REGISTER arrived; TCP/TLS contacts are reached over it
    source_host: str = ""
    source_port: int = 0
    user_agent: str = ""
    branch: str = (
        ""  # top Via branch of the REGISTER that set it: spots retransmissions (memory only)
    )

    # Written out because mypyc compiles it (the generated one runs interpreted): one per
    # REGISTER.
    def __init__(
        self,
        aor: str,
        key: str,
        contact: str,
        expires_at: float,
        call_id: str,
        cseq: int,
        q: str | None = None,
        instance: str | None = None,
        reg_id: str | None = None,
        transport: str = "UDP",
        source_host: str = "",
        source_port: int = 0,
        user_agent: str = "",
        branch: str = "",
    ) -> None:
        self.aor = aor
        self.key = key
        self.contact = contact
        self.expires_at = expires_at
        self.call_id = call_id
        self.cseq = cseq
        self.q = q
        self.instance = instance
        self.reg_id = reg_id
        self.transport = transport
        self.source_host = source_host
        self.source_port = source_port
        self.user_agent = user_agent
        self.branch = branch

    def remaining(self, now: float) -> int:
        return max(0, int(self.expires_at - now + 0.5))

    def contact_header(self, now: float) -> str:
        """The Contact value a 200 OK lists for this binding (RFC 3261 §10.3 step 8)."""
        parts = [f"<{self.contact}>;expires={self.remaining(now)}"]
        if self.q is not None:
            parts.append(f";q={self.q}")
        if self.instance is not None:
            parts.append(f";+sip.instance={self.instance}")
        if self.reg_id is not None:
            parts.append(f";reg-id={self.reg_id}")
        return "".join(parts)


def contact_key(address: NameAddr) -> str:
    """Which binding a Contact refers to.

    RFC 5626 §6: with +sip.instance (and reg-id) the instance identifies the binding, whatever
    the URI says. Otherwise the URIs are compared by the RFC 3261 §19.1.4 rules that matter:
    scheme, user (unescaped, case-sensitive), host (case-insensitive), port, and the transport,
    user, maddr, ttl and method parameters.
    """
    instance = address.params.get("+sip.instance")
    if instance is not None:
        return f"instance:{instance}:{address.params.get('reg-id') or ''}"
    uri = address.uri
    if not isinstance(uri, SipUri):
        return f"uri:{uri}"
    params = uri.params
    significant = ";".join(
        f"{name}={(params.get(name) or '').lower()}"
        for name in ("transport", "user", "maddr", "ttl", "method")
        if name in params
    )
    return f"{uri.scheme}:{uri.user_text}@{uri.host.lower()}:{uri.port or ''};{significant}"


class BindingTable:
    """All bindings, with the set of changes not yet written to disk."""

    def __init__(self) -> None:
        self._by_aor: dict[str, dict[str, Binding]] = {}
        self._dirty: dict[tuple[str, str], Binding | None] = {}

    def load(self, bindings: list[Binding]) -> None:
        """Adopt bindings read from disk (not marked dirty)."""
        for binding in bindings:
            self._by_aor.setdefault(binding.aor, {})[binding.key] = binding

    def current(self, aor: str, now: float) -> list[Binding]:
        """Unexpired bindings of an AOR; expired ones are dropped on the way."""
        table = self._by_aor.get(aor)
        if not table:
            return []
        expired = [key for key, b in table.items() if b.expires_at <= now]
        for key in expired:
            self.remove(aor, key)
        return list(table.values())

    def get(self, aor: str, key: str) -> Binding | None:
        table = self._by_aor.get(aor)
        return table.get(key) if table else None

    def put(self, binding: Binding) -> None:
        self._by_aor.setdefault(binding.aor, {})[binding.key] = binding
        self._dirty[(binding.aor, binding.key)] = binding

    def remove(self, aor: str, key: str) -> None:
        table = self._by_aor.get(aor)
        if table is not None and table.pop(key, None) is not None:
            self._dirty[(aor, key)] = None
            if not table:
                del self._by_aor[aor]

    def purge_expired(self, now: float) -> int:
        """Drop every expired binding; returns how many went."""
        gone = 0
        for aor in list(self._by_aor):
            before = len(self._by_aor[aor])
            gone += before - len(self.current(aor, now))
        return gone

    def aors(self) -> list[str]:
        return list(self._by_aor)

    def __len__(self) -> int:
        return sum(len(t) for t in self._by_aor.values())

    def take_changes(self) -> tuple[list[Binding], list[tuple[str, str]]]:
        """Return (upserts, deletes) since the last call and forget them."""
        upserts: list[Binding] = []
        deletes: list[tuple[str, str]] = []
        for key, binding in self._dirty.items():
            if binding is None:
                deletes.append(key)
            else:
                upserts.append(binding)
        self._dirty = {}
        return upserts, deletes

    @property
    def has_changes(self) -> bool:
        return bool(self._dirty)
