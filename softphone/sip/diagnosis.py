"""One plain-language line that says why a SIP flow failed, or None when it did not.

"401 Unauthorized" does not tell a user whether the phone answered the challenge, and "488"
does not say that SRTP was the problem. These rules read a whole flow (one Call-ID) the way a
VoIP engineer reads a ladder: which transaction failed last, what the request carried, what the
response asked for, and say it in one sentence with what to change. Provider facts (Twilio's
407 on trunk INVITEs, E.164 only, verified caller IDs; Telnyx's 405 on siphv) come from the
provider documents in shared/seeds.

Pure and sans-IO: traces in, a string out; `now` is an argument, never read from a clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from softphone.sip.errors import SipParseError
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.trace import SipTrace
from softphone.sip.uri import SipUri

TIMER_B = 32.0  # 64*T1: a client transaction gives up after this (RFC 3261 §17.1.1.2, §17.1.2.2)
_PARAM_RE = re.compile(r'([A-Za-z][\w-]*)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^\s,]+)')
_NUMBER_RE = re.compile(r"[0-9][0-9().\- ]*")
_MIN_PHONE_DIGITS = 7  # shorter digit strings are extensions, not phone numbers


@dataclass
class _Txn:
    """Every copy of one request (retransmissions, both legs of a proxy) and its responses."""

    method: str
    cseq: int
    requests: list[tuple[SipTrace, SipRequest]] = field(default_factory=list)
    responses: list[tuple[SipTrace, SipResponse]] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.requests[0][0].time if self.requests else self.responses[0][0].time

    @property
    def request(self) -> SipRequest | None:
        return self.requests[0][1] if self.requests else None

    def final(self) -> tuple[SipTrace, SipResponse] | None:
        """A 2xx if any branch answered (forking), else the last final response sent."""
        finals = [(t, r) for t, r in self.responses if r.status >= 200]
        ok = [(t, r) for t, r in finals if r.status < 300]
        chosen = ok or finals
        return chosen[-1] if chosen else None

    def credentials(self, header: str) -> str | None:
        for _, req in self.requests:
            value = req.headers.get(header)
            if value:
                return value
        return None


def _transactions(traces: Iterable[SipTrace]) -> list[_Txn]:
    txns: dict[tuple[int, str], _Txn] = {}
    for trace in sorted(traces, key=lambda t: t.time):
        msg = trace.parsed
        if msg is None:
            continue
        try:
            number, method = msg.cseq
        except SipParseError:
            continue
        if method == "ACK":
            continue  # part of the INVITE transaction or its dialog, never failed on its own
        txn = txns.setdefault((number, method), _Txn(method, number))
        if isinstance(msg, SipRequest):
            txn.requests.append((trace, msg))
        else:
            txn.responses.append((trace, msg))
    return sorted(txns.values(), key=lambda t: t.start)


def _params(value: str | None) -> dict[str, str]:
    """Lenient Digest parameters (a masked response="***" must not stop the diagnosis)."""
    if not value:
        return {}
    return {k.lower(): v[1:-1] if v[:1] == '"' else v for k, v in _PARAM_RE.findall(value)}


def _who(method: str, code: int) -> str:
    if method == "REGISTER":
        return "the registrar"
    return "the proxy" if code == 407 else "the server"


def _user_of(uri: object) -> str | None:
    if isinstance(uri, SipUri):
        return uri.user
    text = str(uri)
    return text[4:].split(";", 1)[0] if text.lower().startswith("tel:") else None


def _is_twilio(txn: _Txn, response: SipResponse) -> bool:
    for header in ("server", "user-agent"):
        if "twilio" in (response.headers.get(header) or "").lower():
            return True
    request = txn.request
    return request is not None and "twilio.com" in str(request.uri).lower()


def _non_e164(number: str | None) -> str | None:
    """The number if it looks like a phone number written without +<country> (E.164)."""
    if not number or not _NUMBER_RE.fullmatch(number):
        return None
    digits = sum(ch.isdigit() for ch in number)
    return number if digits >= _MIN_PHONE_DIGITS else None


def _caller_id(request: SipRequest) -> str:
    for header in ("p-asserted-identity", "remote-party-id"):
        value = request.headers.get(header)
        if value:
            m = re.search(r"(?:sip|sips|tel):([^@;>]+)", value)
            if m:
                return m.group(1)
    try:
        return _user_of(request.from_addr.uri) or str(request.from_addr.uri)
    except (SipParseError, ValueError):
        return "?"


def _expires(request: SipRequest | None) -> int | None:
    try:
        return request.expires if request is not None else None
    except SipParseError:
        return None


def _sdp(body: bytes) -> tuple[set[str], bool]:
    """(media profiles of the m= lines, whether a=crypto is present) of an SDP body."""
    profiles: set[str] = set()
    crypto = False
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("m="):
            parts = line[2:].split()
            if len(parts) >= 3:
                profiles.add(parts[2].upper())
        elif line.startswith("a=crypto:"):
            crypto = True
    return profiles, crypto


# --- the rules, most specific first ----------------------------------------------------------


def _answered_challenge(txns: list[_Txn], txn: _Txn, code: int, header: str) -> dict[str, str]:
    """The challenge an authenticated request answered: the latest earlier one."""
    for earlier in reversed(txns):
        if earlier.method != txn.method or earlier.start >= txn.start:
            continue
        for _, response in reversed(earlier.responses):
            if response.status == code:
                return _params(response.headers.get(header))
    return {}


def _auth(txns: list[_Txn], txn: _Txn, response: SipResponse) -> str:
    code = response.status
    want = "authorization" if code == 401 else "proxy-authorization"
    wrong = "proxy-authorization" if code == 401 else "authorization"
    challenge_header = "www-authenticate" if code == 401 else "proxy-authenticate"
    challenge = _params(response.headers.get(challenge_header))
    realm = challenge.get("realm", "?")
    who = _who(txn.method, code)
    answered = txn.credentials(want)
    if answered is None and txn.credentials(wrong) is not None:
        header = "Proxy-Authorization" if code == 407 else "Authorization"
        other = "Authorization" if code == 407 else "Proxy-Authorization"
        return (
            f"407 vs 401: {who} challenged with {code} but the answer was sent in {other}; "
            f"a {code} must be answered in {header} (RFC 3261 §22.3)"
        )
    if answered is not None:
        creds = _params(answered)
        asked = _answered_challenge(txns, txn, code, challenge_header) or challenge
        asked_realm = asked.get("realm", realm)
        if creds.get("realm") is not None and creds["realm"] != asked_realm:
            return (
                f"realm mismatch: the challenge is for realm {asked_realm} but the "
                f"credentials are for {creds['realm']}"
            )
        if challenge.get("stale", "").lower() != "true":
            user = creds.get("username", "?")
            kind = "password" if txn.method == "REGISTER" or code == 401 else "credentials"
            return (
                f"{code} after answering the challenge: {who} rejected the {kind} for "
                f"user {user} (realm {asked_realm}) — check the user name and password"
            )
        return f"{code} with a stale nonce and no new attempt: {who} wanted a fresh answer"
    if code == 407 and txn.method == "INVITE":
        return (
            f"407 on INVITE: the proxy wants credentials for calls (realm {realm}; trunk/"
            "Twilio termination) — set a password for this account"
        )
    return (
        f"{code} on {txn.method} and no answer to the challenge: {who} wants credentials for "
        f"realm {realm} and this account has none for it — set a password (or the realm)"
    )


def _forbidden(txn: _Txn, response: SipResponse) -> str:
    reason = f"403 {response.reason}".rstrip()
    request = txn.request
    if txn.method == "REGISTER":
        if "contact" in response.reason.lower() or "device" in response.reason.lower():
            return (
                f"{reason} on REGISTER: too many devices are registered on this address "
                "(Twilio allows 10 per SIP Domain user) — remove one or wait for it to expire"
            )
        return (
            f"{reason} on REGISTER: the registrar refused this user (wrong domain, account "
            "disabled, or too many failed attempts)"
        )
    if txn.method == "INVITE" and request is not None:
        caller = _caller_id(request)
        if _is_twilio(txn, response):
            if not caller.startswith("+"):
                return (
                    f"403 from Twilio on INVITE: the caller ID {caller} is not E.164; Twilio "
                    "requires +<country><number> from a verified number or one of yours"
                )
            return (
                f"403 from Twilio on INVITE: the caller ID {caller} is not a verified number "
                "or a Twilio number on this account"
            )
        if "from" in response.reason.lower() or "caller" in response.reason.lower():
            return f"{reason} on INVITE: the caller ID {caller} was refused"
        return (
            f"{reason} on INVITE: the proxy refused the call — check the caller ID "
            f"({caller}) and what this account may dial"
        )
    return f"{reason} on {txn.method}: refused by the server"


def _bad_number(txn: _Txn, response: SipResponse) -> str | None:
    request = txn.request
    if txn.method != "INVITE" or request is None or response.status not in (400, 404, 484, 604):
        return None
    number = _non_e164(_user_of(request.uri))
    if number is None:
        return None
    who = "Twilio requires" if _is_twilio(txn, response) else "the provider likely wants"
    head = f"{response.status} {response.reason}".rstrip()
    return f"{head}: the number {number} is not E.164; {who} +<country><number>"


def _media(txn: _Txn, response: SipResponse) -> str:
    request = txn.request
    profiles, crypto = _sdp(request.body) if request is not None else (set(), False)
    head = f"{response.status} {response.reason}".rstrip()
    if any("SAVP" in p for p in profiles):
        return (
            f"{head}: the far end refused the media: this call made SRTP mandatory "
            "(RTP/SAVP) and the other side does not do SRTP — make SRTP optional or enable it"
        )
    if profiles and not crypto:
        return (
            f"{head}: the far end refused the media: SRTP mandatory on one side, not offered "
            "on the other (the offer was plain RTP/AVP) — enable SRTP (and TLS)"
        )
    return f"{head}: the far end refused the media offer (no codec or media type in common)"


def _timeout(txn: _Txn, end: float) -> str | None:
    if txn.responses:
        return None  # a provisional came back: the far end is alive (ringing, INVITE Timer C)
    elapsed = end - txn.start
    if elapsed < TIMER_B - 1:  # the last UDP retransmission goes out at 31.5 s
        return None
    sent = len(txn.requests)
    trace = txn.requests[0][0]
    who = "registrar" if txn.method == "REGISTER" else "server"
    hint = "firewall, wrong port, TLS"
    if trace.transport == "TLS":
        hint = "firewall, wrong port (TLS is usually 5061), TLS handshake or certificate"
    times = f", sent {sent} times" if sent > 1 else ""
    return (
        f"timeout: no response to {txn.method} after {round(min(elapsed, TIMER_B))} s"
        f"{times} — {who} {trace.remote} unreachable ({hint})"
    )


_GENERIC = {
    404: "{who} does not know {target}",
    405: "{who} does not accept {method} (e.g. Telnyx siphv.telnyx.com and Twilio trunk "
    "termination URIs take no REGISTER: register to sip.telnyx.com / a Twilio SIP Domain)",
    408: "no answer in time from the next hop ({target}); it may be offline or unreachable",
    480: "{target} is not available right now (not registered, or not answering)",
    481: "the other side no longer knows this call or transaction",
    482: "a loop: the request came back to a proxy that already handled it",
    483: "too many hops (Max-Forwards reached 0): a routing loop is likely",
    486: "{target} is busy",
    487: "the request was cancelled before it was answered",
    500: "{who} failed internally",
    503: "{who} is unavailable or overloaded; try again later or another edge",
    504: "{who} timed out waiting for the next server",
    600: "{target} is busy everywhere",
    603: "{target} declined the call",
}


def _generic(txn: _Txn, response: SipResponse) -> str:
    request = txn.request
    target = "the target"
    if request is not None:
        user = _user_of(request.uri)
        target = user or str(request.uri)
    template = _GENERIC.get(response.status)
    head = f"{response.status} {response.reason}".rstrip() + f" on {txn.method}"
    if template is None:
        return f"{head}: the request failed"
    who = _who(txn.method, response.status)
    return f"{head}: " + template.format(who=who, target=target, method=txn.method)


def diagnose(traces: Iterable[SipTrace], now: float | None = None) -> str | None:
    """Why the flow failed, in one line, or None when it looks fine.

    The failing transaction is the latest one whose method's last attempt got no success: a
    401 answered by a 200 is fine, a 487 after the caller's CANCEL is fine, one 2xx among the
    forks is fine. `now` (seconds since the epoch) lets a request with no answer at all count
    as timed out; without it, the last message seen is the clock.
    """
    items = list(traces)
    txns = _transactions(items)
    if not txns:
        return None
    end = now if now is not None else max(t.time for t in items)
    last_of: dict[str, _Txn] = {}
    for txn in txns:
        last_of[txn.method] = txn
    cancelled = {t.cseq for t in txns if t.method == "CANCEL" and t.requests}
    failing: list[tuple[_Txn, SipResponse | None]] = []
    for txn in last_of.values():
        if not txn.requests or txn.method == "CANCEL":
            continue
        final = txn.final()
        if final is None:
            if _timeout(txn, end) is not None:
                failing.append((txn, None))
            continue
        status = final[1].status
        if status < 300 or (status == 487 and txn.cseq in cancelled):
            continue
        failing.append((txn, final[1]))
    if not failing:
        return None
    txn, response = max(failing, key=lambda f: f[0].start)
    if response is None:
        return _timeout(txn, end)
    code = response.status
    if code in (401, 407):
        return _auth(txns, txn, response)
    if code == 423:
        minimum = response.headers.get("min-expires")
        asked = _expires(txn.request)
        wants = f"at least {minimum} s (Min-Expires)" if minimum else "a longer interval"
        extra = f"; the phone asked for {asked} s" if asked is not None else ""
        return f"423 Interval Too Brief: the registrar wants {wants}{extra}"
    bad_number = _bad_number(txn, response)
    if bad_number is not None:
        return bad_number
    if code == 403:
        return _forbidden(txn, response)
    if code in (488, 606) or (code == 415 and txn.method == "INVITE"):
        return _media(txn, response)
    return _generic(txn, response)
