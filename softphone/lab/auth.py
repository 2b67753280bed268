"""Digest authentication for the lab registrar (401) and proxy (407), RFC 3261 §22.

Three rules shape this module:
- an unknown user and a wrong password get byte-for-byte the same kind of 401 (a fresh
  challenge), with the same work done, so the answer never reveals which names exist;
- a stale nonce with a correct digest gets `stale=TRUE` (RFC 7616 §3.3) so clients retry
  silently instead of reporting a wrong password;
- failures are counted per source, and a source over the limit gets 403 until it cools down.
"""

from __future__ import annotations

from dataclasses import dataclass

from softphone.lab.limits import FailureThrottle
from softphone.lab.users import UserDirectory
from softphone.sip.build import make_response
from softphone.sip.digest import (
    Challenge,
    Credentials,
    format_challenge,
    parse_credentials,
    verify_credentials,
)
from softphone.sip.errors import SipParseError
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.nonce import NonceManager, NonceStatus

# Verifying against this keeps the work for an unknown user the same as for a known one.
_DUMMY_HA1 = "0" * 64


@dataclass(slots=True)
class AuthResult:
    """Either the authenticated username, or the response to send instead of serving.

    `replayed`: the digest was right but its nonce count was used already: a replay, or a
    retransmission of a request we served (the registrar tells the two apart).
    Not frozen, and __init__ written out, so that mypyc compiles its construction (two per
    REGISTER); nothing assigns to it after construction."""

    username: str | None
    response: SipResponse | None
    replayed: bool = False

    def __init__(
        self, username: str | None, response: SipResponse | None, replayed: bool = False
    ) -> None:
        self.username = username
        self.response = response
        self.replayed = replayed


class Authenticator:
    """Challenges and checks requests for one realm."""

    def __init__(
        self,
        realm: str,
        users: UserDirectory,
        nonces: NonceManager,
        throttle: FailureThrottle,
        algorithms: tuple[str, ...] = ("MD5",),
    ) -> None:
        self.realm = realm
        self.users = users
        self.nonces = nonces
        self.throttle = throttle
        self.algorithms = algorithms
        # RFC 8760 §2.4: one challenge per algorithm, most preferred first.
        self._offered = {a.upper() for a in algorithms}
        # Everything of a challenge but the nonce, formatted once (nonces are URL-safe base64,
        # so they never need quoting); checked against the full formatter at start-up.
        self._templates = [_template(realm, algorithm) for algorithm in algorithms]

    def authenticate(
        self, request: SipRequest, source_host: str, now: float, *, proxy: bool, to_tag: str
    ) -> AuthResult:
        """Check the request's credentials for our realm; on success return the username."""
        if self.throttle.blocked(source_host, now):
            retry = str(self.throttle.retry_after(source_host, now))
            return AuthResult(
                None,
                make_response(
                    request,
                    403,
                    "Too Many Failed Authentications",
                    to_tag=to_tag,
                    extra=[("Retry-After", retry)],
                ),
            )
        credentials = self._credentials(request, proxy)
        if credentials is None:
            return AuthResult(None, self._challenge(request, now, proxy, to_tag, stale=False))
        user = self.users.get(credentials.username)
        ha1 = user.ha1(credentials.algorithm) if user is not None else _DUMMY_HA1
        good = verify_credentials(credentials, method=request.method, ha1=ha1)
        if not good or user is None or credentials.algorithm.upper() not in self._offered:
            self.throttle.record(source_host, now)
            return AuthResult(None, self._challenge(request, now, proxy, to_tag, stale=False))
        status = self.nonces.check(credentials.nonce, credentials.nc, now)
        if status is NonceStatus.VALID:
            return AuthResult(user.username, None)
        # The password was right; only the nonce was old, forged or reused: just re-challenge.
        stale = status is NonceStatus.STALE
        challenge = self._challenge(request, now, proxy, to_tag, stale=stale)
        return AuthResult(user.username, challenge, replayed=status is NonceStatus.REPLAY)

    def _credentials(self, request: SipRequest, proxy: bool) -> Credentials | None:
        header = "proxy-authorization" if proxy else "authorization"
        for value in request.headers.get_all(header):
            try:
                credentials = parse_credentials(value)
            except SipParseError:
                continue  # malformed credentials are treated like none: challenge again
            if credentials.realm == self.realm:
                return credentials
        return None

    def _challenge(
        self, request: SipRequest, now: float, proxy: bool, to_tag: str, *, stale: bool
    ) -> SipResponse:
        nonce = self.nonces.new_nonce(now)
        header = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        suffix = ", stale=TRUE" if stale else ""
        extra = [(header, f"{head}{nonce}{tail}{suffix}") for head, tail in self._templates]
        return make_response(request, 407 if proxy else 401, to_tag=to_tag, extra=extra)


def _template(realm: str, algorithm: str) -> tuple[str, str]:
    """The text of a challenge before and after its nonce."""
    marker = "NONCE"
    full = format_challenge(Challenge(realm, marker, algorithm, ("auth",)))
    head, _, tail = full.partition(f'"{marker}"')
    return head + '"', '"' + tail
