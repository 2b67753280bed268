"""pjsua log entry → SipTrace: the phone engine's view of every SIP message.

With `LogConfig.msgLogging` on, pjsua writes each message it sends or receives as exactly one
log entry at level 4, after TLS decryption (engine-notes §6):

    12:35:59.295  pjsua_core.c  ...TX 478 bytes Request msg REGISTER/cseq=62316 (tdta0x7f..)
    to UDP 127.0.0.1:25210:\\nREGISTER sip:... SIP/2.0\\r\\n...\\r\\n\\r\\n\\n--end msg--\\n

(one line up to the first `\\n`). The header line names the direction, transport and peer
address; the message follows with its own CRLFs, then `--end msg--`. This module turns such an
entry into the same SipTrace record the lab servers produce, so the log pane and the ladder do
not care who captured a message. Pure: no pjsua2, no clock (the time is an argument).

pjlib caps one log entry at PJ_LOG_MAX_SIZE (4000 characters by default): a longer message
arrives without its end marker. It is still recorded, with what was logged and an error saying
it was cut.
"""

from __future__ import annotations

import re

from softphone.sip.errors import SipParseError
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.trace import Direction, SipTrace, format_address, make_trace

# The header line; the message text follows the ":\n". Matched 24/24 real entries (§6).
_HEAD_RE = re.compile(
    r"^(?P<prefix>.*?)(?P<dir>TX|RX) (?P<len>\d+) bytes (?P<kind>Request|Response) msg "
    r"(?P<summary>\S+) \((?P<obj>[^)]*)\) (?P<tofrom>to|from) (?P<tp>[A-Za-z0-9]+) "
    r"(?P<addr>\S+):\n",
)
_END_MARK = "\n--end msg--"
TRUNCATED = "log entry truncated (pjlib caps a log line at 4000 characters)"


def is_message_entry(text: str) -> bool:
    """Cheap pre-check: could this log entry be a SIP message dump?"""
    return " bytes Re" in text and _HEAD_RE.match(text) is not None


def parse_log_entry(
    text: str,
    *,
    time: float,
    origin: str = "",
    local: str = "",
) -> SipTrace | None:
    """The SipTrace for one pjsua log entry, or None if the entry is not a SIP message.

    `local` is the address to record as our side when the message itself does not say it;
    for what we send as a request or receive as a response, our address is the top Via's
    sent-by (RFC 3261 §18.2.1), which is more exact for TCP/TLS, where pjsip uses a new
    ephemeral port per connection.
    """
    head = _HEAD_RE.match(text)
    if head is None:
        return None
    direction: Direction = "out" if head["dir"] == "TX" else "in"
    transport = head["tp"].upper()
    remote = head["addr"]
    rest = text[head.end() :]
    end = rest.rfind(_END_MARK)
    truncated = end < 0
    body = rest if truncated else rest[:end]
    raw = body.encode("utf-8", "surrogateescape")
    trace = make_trace(time, direction, transport, local, remote, raw, origin=origin)
    ours = _our_address(trace.parsed, direction)
    if ours is not None or truncated:
        error = trace.error
        if truncated:
            error = TRUNCATED if error is None else f"{TRUNCATED}; {error}"
        trace = SipTrace(
            trace.time,
            trace.direction,
            trace.transport,
            ours or local,
            trace.remote,
            trace.raw,
            trace.parsed,
            error,
            trace.origin,
        )
    return trace


def _our_address(message: SipRequest | SipResponse | None, direction: Direction) -> str | None:
    """Top Via sent-by of a request we send or a response we receive: that Via is ours."""
    if message is None:
        return None
    ours = isinstance(message, SipRequest) == (direction == "out")
    if not ours:
        return None
    try:
        via = message.top_via
    except SipParseError:
        return None
    host, port = via.sent_by
    return format_address(host, port if port is not None else 5060)
