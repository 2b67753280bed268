"""REGISTER processing (RFC 3261 §10.3), pure: a request and the time in, a response out.

The steps follow §10.3 in order: the domain is checked before authentication (so the answer to
a foreign domain never depends on the password), then the rate cap, then digest auth, then the
authenticated user must own the AOR, then Contact/Expires are validated as a whole and applied
atomically with the Call-ID/CSeq rules of step 7, and the 200 OK lists every current binding
with its remaining lifetime (step 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate

from softphone.lab.auth import Authenticator
from softphone.lab.bindings import Binding, BindingTable, contact_key
from softphone.lab.limits import RateLimiter
from softphone.sip.address import STAR, NameAddr
from softphone.sip.build import make_response
from softphone.sip.errors import SipParseError
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.uri import SipUri


@dataclass(slots=True)
class Source:
    """Where a request came from: the transport it arrived on and the peer address.

    Immutable by convention; __init__ written out so mypyc compiles it (one per message)."""

    transport: str  # "UDP", "TCP", "TLS"
    host: str
    port: int

    def __init__(self, transport: str, host: str, port: int) -> None:
        self.transport = transport
        self.host = host
        self.port = port


@dataclass(frozen=True, slots=True)
class RegistrarPolicy:
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 10  # Twilio allows 10 devices per SIP Domain user
    server_name: str = "softphone-lab"


class _Refused(Exception):
    """Internal: abort a REGISTER with this response."""

    def __init__(self, response: SipResponse) -> None:
        self.response = response


class Registrar:
    """Owns the binding table's updates; one instance per lab server."""

    def __init__(
        self,
        *,
        domains: frozenset[str],
        auth: Authenticator,
        bindings: BindingTable,
        rate: RateLimiter,
        policy: RegistrarPolicy,
        to_tag: str,
    ) -> None:
        self.domains = domains
        self.auth = auth
        self.bindings = bindings
        self.rate = rate
        self.policy = policy
        self.to_tag = to_tag
        self._date_second = -1
        self._date = ""

    def is_local(self, host: str) -> bool:
        return host.lower() in self.domains

    def handle(self, request: SipRequest, source: Source, now: float) -> SipResponse:
        try:
            return self._handle(request, source, now)
        except _Refused as refused:
            return refused.response
        except SipParseError as exc:
            return self._reply(request, exc.status, exc.reason)

    def _handle(self, request: SipRequest, source: Source, now: float) -> SipResponse:
        to_uri = request.to_addr.uri
        if not isinstance(to_uri, SipUri):
            return self._reply(request, 416)
        if not self.is_local(to_uri.host):
            return self._reply(request, 403, "Not A Local Domain")
        aor = to_uri.user_text
        if not aor:
            return self._reply(request, 400, "To Has No User Part")
        if not self.rate.allow(aor, now):
            return self._reply(request, 503, "Too Many REGISTERs", [("Retry-After", "1")])
        result = self.auth.authenticate(request, source.host, now, proxy=False, to_tag=self.to_tag)
        if result.response is not None:
            if result.replayed and result.username == aor and self._served(request, aor, now):
                # §8.2.7: a stateless UAS answers a retransmission as it answered the original.
                return self._ok(request, aor, now)
            return result.response
        if result.username != aor:
            # §10.3 step 3: these credentials may not change this AOR's bindings.
            return self._reply(request, 403, "Not Allowed To Register This AOR")
        if "contact" in request.headers:
            self._update(request, aor, source, now)
        return self._ok(request, aor, now)

    def _update(self, request: SipRequest, aor: str, source: Source, now: float) -> None:
        contacts = request.contacts
        header_expires = request.expires
        if contacts == STAR:
            # §10.3 step 6: "*" only with Expires: 0 and as the only Contact.
            if header_expires != 0 or len(request.headers.get_all("contact")) != 1:
                raise _Refused(self._reply(request, 400, "Wildcard Contact Needs Expires 0"))
            for binding in self.bindings.current(aor, now):
                self._check_order(request, binding)
            for binding in self.bindings.current(aor, now):
                self.bindings.remove(aor, binding.key)
            return
        plan: list[tuple[NameAddr, str, int]] = []
        for contact in contacts:
            expires = self._expires(request, contact, header_expires)
            key = contact_key(contact)
            existing = self.bindings.get(aor, key)
            if existing is not None and existing.expires_at > now:
                self._check_order(request, existing)
            plan.append((contact, key, expires))
        keep = {b.key for b in self.bindings.current(aor, now)}
        for _, key, expires in plan:
            if expires:
                keep.add(key)
            else:
                keep.discard(key)
        if len(keep) > self.policy.max_contacts:
            raise _Refused(self._too_many(request, aor))
        cseq = request.cseq.number
        user_agent = request.headers.get("user-agent") or ""
        branch = request.top_via.branch or ""
        for contact, key, expires in plan:
            if expires == 0:
                self.bindings.remove(aor, key)
                continue
            self.bindings.put(
                Binding(
                    aor=aor,
                    key=key,
                    contact=str(contact.uri),
                    expires_at=now + expires,
                    call_id=request.call_id,
                    cseq=cseq,
                    q=contact.params.get("q"),
                    instance=contact.params.get("+sip.instance"),
                    reg_id=contact.params.get("reg-id"),
                    transport=source.transport,
                    source_host=source.host,
                    source_port=source.port,
                    user_agent=user_agent,
                    branch=branch,
                )
            )

    def _expires(self, request: SipRequest, contact: NameAddr, header_expires: int | None) -> int:
        """§10.3 step 7: the contact's expires parameter, else the Expires header, else ours."""
        text = contact.params.get("expires")
        if text is not None:
            if not text.isdigit():
                raise _Refused(self._reply(request, 400, "Bad Contact Expires"))
            expires = min(int(text) if len(text) < 12 else 2**32 - 1, 2**32 - 1)
        elif header_expires is not None:
            expires = header_expires
        else:
            expires = self.policy.default_expires
        if 0 < expires < self.policy.min_expires:
            # §10.3 step 7 / §20.23: too brief; tell the client the minimum.
            raise _Refused(
                self._reply(request, 423, extra=[("Min-Expires", str(self.policy.min_expires))])
            )
        return min(expires, self.policy.max_expires)

    def _check_order(self, request: SipRequest, binding: Binding) -> None:
        """§10.3 step 7: same Call-ID needs a higher CSeq, otherwise the update fails (a
        retransmission of the request that set the binding is not an update: it passes)."""
        same_call = binding.call_id == request.call_id
        if same_call and request.cseq.number <= binding.cseq:
            if self._is_retransmission(request, binding):
                return
            raise _Refused(self._reply(request, 500, "Out Of Order CSeq"))

    @staticmethod
    def _is_retransmission(request: SipRequest, binding: Binding) -> bool:
        return (
            binding.call_id == request.call_id
            and binding.cseq == request.cseq.number
            and binding.branch == (request.top_via.branch or "")
        )

    def _served(self, request: SipRequest, aor: str, now: float) -> bool:
        """Did this very request (Call-ID, CSeq, branch) set one of the AOR's bindings?"""
        return any(self._is_retransmission(request, b) for b in self.bindings.current(aor, now))

    def _too_many(self, request: SipRequest, aor: str) -> SipResponse:
        limit = self.policy.max_contacts
        warning = f'399 {self.policy.server_name} "{aor} already has {limit} registered contacts"'
        return self._reply(request, 403, "Too Many Registered Contacts", [("Warning", warning)])

    def _ok(self, request: SipRequest, aor: str, now: float) -> SipResponse:
        extra = [("Contact", b.contact_header(now)) for b in self.bindings.current(aor, now)]
        extra.append(("Date", self._date_header(now)))
        return self._reply(request, 200, extra=extra)

    def _date_header(self, now: float) -> str:
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date = formatdate(second, usegmt=True)
        return self._date

    def _reply(
        self,
        request: SipRequest,
        status: int,
        reason: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> SipResponse:
        fields = [("Server", self.policy.server_name), *(extra or [])]
        return make_response(request, status, reason, to_tag=self.to_tag, extra=fields)
