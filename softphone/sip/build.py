"""Building messages: responses to requests (RFC 3261 §8.2.6) and fresh identifiers.

Responses copy their Via, From, Call-ID and CSeq values verbatim from the request (no re-parsing,
no re-serialising): that is both what §8.2.6.2 asks for and the cheapest thing to do on the
registrar's hot path.
"""

from __future__ import annotations

import secrets

from softphone.sip.headers import Headers, header_key
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.via import MAGIC_COOKIE

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}


def reason_phrase(status: int) -> str:
    """The RFC 3261 §21 reason phrase for a status code (or a generic one for its class)."""
    return REASONS.get(status) or REASONS.get(status // 100 * 100, "Unknown")


def new_branch() -> str:
    """A globally unique Via branch with the RFC 3261 magic cookie (§8.1.1.7)."""
    return MAGIC_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    """A From/To tag: 32 random bits at least (§19.3)."""
    return secrets.token_hex(6)


def new_call_id(host: str = "") -> str:
    """A Call-ID unique in space and time (§8.1.1.4)."""
    token = secrets.token_hex(12)
    return f"{token}@{host}" if host else token


def make_response(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> SipResponse:
    """A response to `request` with the mandatory headers copied per §8.2.6.2.

    `to_tag` is added to To unless the request's To already has one (an in-dialog request) or
    the response is 100 Trying (§8.2.6.2: a 100 carries no new tag).
    """
    index = request.headers.index()
    # Keyed triples straight into Headers: this runs for every REGISTER the lab answers.
    items: list[tuple[str, str, str]] = [("via", "Via", v) for v in index.get("via", ())]
    to_value = (index.get("to") or ("",))[0]
    if to_tag and status > 100 and request.to_addr.tag is None:
        to_value = f"{to_value};tag={to_tag}"
    items.append(("from", "From", (index.get("from") or ("",))[0]))
    items.append(("to", "To", to_value))
    items.append(("call-id", "Call-ID", (index.get("call-id") or ("",))[0]))
    items.append(("cseq", "CSeq", (index.get("cseq") or ("",))[0]))
    if status == 100 and (timestamp := index.get("timestamp")):
        items.append(("timestamp", "Timestamp", timestamp[0]))  # §8.2.6.1
    if extra:
        items.extend((header_key(name), name, value) for name, value in extra)
    items.append(("content-length", "Content-Length", "0"))
    return SipResponse(status, reason or reason_phrase(status), Headers.from_parsed(items))
