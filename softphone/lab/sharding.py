"""Which lab worker owns a message, decided from the raw bytes before parsing.

With `--workers N` the registrar runs N processes that all read the same UDP socket, so any of
them may receive any datagram. State lives with an owner instead of being shared:
- REGISTER belongs to the owner of its AOR (To user): bindings, nonce-count memory, the
  rate cap and the retransmission cache of that AOR live there;
- an initial request (no To tag), its CANCEL and the ACK of a non-2xx answer belong to the owner
  of the Request-URI user: the forking context and the INVITE transaction live there;
- everything else (in-dialog requests, 2xx ACKs, requests to the server itself) belongs to the
  owner of its Call-ID, so retransmissions always meet their transaction;
- a response belongs to the worker whose tag is in the top Via branch (our client transaction).
The receiver forwards a message it does not own to the owner; everything here is pure.
"""

from __future__ import annotations

import re
import zlib
from urllib.parse import unquote

BRANCH_TAG = "z9hG4bKw"  # our branches: z9hG4bKw<worker>.<random>

_START_RE = re.compile(rb"[\r\n]*([A-Za-z0-9\-.!%*_+`'~]+) ([^ \r\n]+) SIP/2\.0\r?\n")
_RESPONSE_RE = re.compile(rb"[\r\n]*SIP/2\.0 ")
_TOP_VIA_BRANCH_RE = re.compile(rb"(?im)^(?:via|v)[ \t]*:[^\r\n,]*?;[ \t]*branch=z9hG4bKw(\d+)\.")
_TO_RE = re.compile(rb"(?im)^(?:to|t)[ \t]*:([^\r\n]*)")
_CALL_ID_RE = re.compile(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$")
_ROUTE_RE = re.compile(rb"(?im)^route[ \t]*:")
_USER_RE = re.compile(rb"(?i)sips?:([^@;?>\s]+)@")
_TAG_RE = re.compile(rb"(?i);[ \t]*tag[ \t]*=")


def make_branch(worker: int, token: str) -> str:
    """A Via branch that routes responses back to `worker`."""
    return f"{BRANCH_TAG}{worker}.{token}"


def owner_of(data: bytes, workers: int) -> int | None:
    """The worker that must handle `data`, or None when the receiver may keep it (one worker,
    or a message too malformed to route: the receiver answers or drops it)."""
    if workers <= 1:
        return None
    if _RESPONSE_RE.match(data):
        branch = _TOP_VIA_BRANCH_RE.search(data)
        return int(branch.group(1)) % workers if branch else None
    start = _START_RE.match(data)
    if start is None:
        return None
    method, uri = start.group(1), start.group(2)
    to = _TO_RE.search(data)
    if to is None:
        return None
    if method == b"REGISTER":
        return _by_user(_USER_RE.search(to.group(1)), workers)
    initial = _TAG_RE.search(to.group(1)) is None
    if initial or method == b"CANCEL" or (method == b"ACK" and not _ROUTE_RE.search(data)):
        user = _USER_RE.match(uri)
        if user is not None:
            return _by_user(user, workers)
    call_id = _CALL_ID_RE.search(data)
    return zlib.crc32(call_id.group(1)) % workers if call_id else None


def owner_of_aor(aor: str, workers: int) -> int:
    """The worker owning an AOR user part (as the registrar keys it: %-escapes decoded)."""
    return zlib.crc32(aor.encode("utf-8", "surrogateescape")) % workers if workers > 1 else 0


def _by_user(match: re.Match[bytes] | None, workers: int) -> int | None:
    if match is None:
        return None
    # Decode exactly as SipUri.user_text does, so this agrees with owner_of_aor.
    return owner_of_aor(unquote(match.group(1).decode("utf-8", "surrogateescape")), workers)
