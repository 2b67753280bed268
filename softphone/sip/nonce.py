"""Server nonces for digest authentication: stateless to issue, cheap to check, bounded memory.

A nonce carries its own issue time and a keyed MAC (BLAKE2b), so the registrar stores nothing
when it challenges; a nonce older than the lifetime is STALE (answered with stale=TRUE, RFC 7616
§3.3), a forged or garbled one INVALID. Only *used* nonces are remembered, with the highest
nonce count accepted, so a replayed request is REPLAY (RFC 7616 §3.4.5); that memory is kept in
time buckets dropped after two lifetimes.
"""

from __future__ import annotations

import binascii
import enum
import hashlib
import hmac
import itertools
import re
import secrets

_NC_RE = re.compile(r"[0-9A-Fa-f]{8}")  # nc-value = 8LHEX (RFC 2617 §3.2.2)


class NonceStatus(enum.Enum):
    VALID = "valid"
    STALE = "stale"  # ours and authentic but expired: answer 401 with stale=TRUE
    INVALID = "invalid"  # not ours, forged or garbled
    REPLAY = "replay"  # nc not above the highest accepted, or a no-qop nonce reused


_ID_LEN = 12  # 6-byte millisecond timestamp + 6-byte counter
_MAC_LEN = 18  # 30 bytes in all: a multiple of 3, so base64 has no padding and no spare bits
_NONCE_LEN = 40  # base64 characters of 30 bytes
_USED_NO_QOP = 1 << 32  # above any 8-hex-digit nc: a no-qop nonce is single use
_FUTURE_SLACK_MS = 1000  # nonces "from the future" beyond this are treated as stale (clock step)


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _b64url(data: bytes) -> bytes:
    """URL-safe base64 (RFC 4648 §5) straight from binascii: the nonce hot path."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE)


class NonceManager:
    """Issues and checks stateless nonces; remembers used ones only until they expire.

    `now` is any non-negative clock in seconds, the same for new_nonce and check (wall time if
    nonces should survive a restart that keeps the secret). Not thread-safe: one event loop.
    """

    def __init__(self, secret: bytes, lifetime: float = 30.0) -> None:
        if not secret:
            raise ValueError("NonceManager needs a non-empty secret")
        if lifetime <= 0:
            raise ValueError("lifetime must be positive")
        if len(secret) > 64:  # BLAKE2b keys are at most 64 bytes
            secret = hashlib.blake2b(secret).digest()
        # Keyed once; each MAC is a copy() of this, cheaper than re-keying (hashlib docs).
        self._mac = hashlib.blake2b(key=secret, digest_size=_MAC_LEN)
        self._lifetime_ms = max(1, int(lifetime * 1000))
        # Random start so two processes sharing a secret rarely mint the same (time, counter).
        self._counter = itertools.count(secrets.randbits(48))
        # Replay memory: bucket index (issue time // lifetime) -> {nonce id: highest nc}. A nonce
        # of bucket b expires before (b + 2) * lifetime, so only buckets b >= now_bucket - 1 are
        # ever consulted and older ones are dropped whole: memory is ~2 lifetimes of used nonces.
        self._buckets: dict[int, dict[int, int]] = {}
        self._current = -1

    def new_nonce(self, now: float) -> str:
        ts = int(now * 1000)
        self._prune(ts)
        ident = ts.to_bytes(6, "big") + (next(self._counter) & 0xFFFFFFFFFFFF).to_bytes(6, "big")
        mac = self._mac.copy()
        mac.update(ident)
        return _b64url(ident + mac.digest()).decode("ascii")

    def check(self, nonce: str, nc: str | None, now: float) -> NonceStatus:
        if len(nonce) != _NONCE_LEN or not nonce.isascii():
            return NonceStatus.INVALID
        raw_text = nonce.encode("ascii")
        try:
            raw = binascii.a2b_base64(raw_text.translate(_FROM_URLSAFE))
        except ValueError:
            return NonceStatus.INVALID
        # The decoder skips stray characters; a round trip rejects any non-canonical spelling.
        if len(raw) != _ID_LEN + _MAC_LEN or _b64url(raw) != raw_text:
            return NonceStatus.INVALID
        ident = raw[:_ID_LEN]
        mac = self._mac.copy()
        mac.update(ident)
        if not hmac.compare_digest(mac.digest(), raw[_ID_LEN:]):
            return NonceStatus.INVALID
        now_ms = int(now * 1000)
        issued = int.from_bytes(ident[:6], "big")
        if now_ms - issued > self._lifetime_ms or issued - now_ms > _FUTURE_SLACK_MS:
            return NonceStatus.STALE
        if nc is None:
            count = _USED_NO_QOP
        elif _NC_RE.fullmatch(nc) is None:
            return NonceStatus.INVALID
        else:
            count = int(nc, 16)
        self._prune(now_ms)
        bucket = self._buckets.get(issued // self._lifetime_ms)
        if bucket is None:
            bucket = self._buckets[issued // self._lifetime_ms] = {}
        # Keyed by the counter alone, a small int: one issuer's counters are consecutive, and
        # an int hashes to itself, so a million remembered nonces sit in neighbouring slots
        # instead of hashed bytes scattered over the table (which made every check a cache
        # miss: ~25 % slower after a minute at full load). The time is the bucket's business.
        key = int.from_bytes(ident[6:], "big")
        seen = bucket.get(key, 0)
        if count <= seen or (nc is None and seen):
            return NonceStatus.REPLAY
        bucket[key] = count
        return NonceStatus.VALID

    def remembered(self) -> int:
        """How many used nonces are held in the replay memory (for tests and metrics)."""
        return sum(len(b) for b in self._buckets.values())

    def _prune(self, now_ms: int) -> None:
        current = now_ms // self._lifetime_ms
        if current != self._current:
            self._current = current
            for key in [k for k in self._buckets if k < current - 1]:
                del self._buckets[key]
