"""Facts pjsua2 does not expose, read from the message trace instead.

pjsua tracks one dialog per call and hides the rest of what forking proxies do:
- An outgoing INVITE that forks gets 18x responses from several devices, each with its own To
  tag (an early dialog per device, RFC 3261 §12.1.2, §13.2.2.4). pjsua reports the call's state
  once; the extra 180s change nothing in its callbacks. Counting distinct To tags of the 18x
  responses per Call-ID gives "ringing on N devices".
- An incoming INVITE CANCELled because another device answered carries
  `Reason: SIP;cause=200;text="Call completed elsewhere"` (RFC 3326). pjsua answers the CANCEL
  itself and reports DISCONNECTED 487; the Reason header is in the CANCEL only, which the trace
  shows before the DISCONNECTED callback runs (the log entry is written on receipt).
- A wrong password: pjsip re-sends REGISTER with fresh digest answers (up to 3 times for new
  nonces, engine-notes §7) before reporting 401. Counting authenticated REGISTERs per Call-ID
  says how often the challenge was answered.

Pure bookkeeping over SipTrace records, bounded in size; the engine feeds it every trace.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.trace import SipTrace

MAX_TRACKED = 512  # Call-IDs remembered; the oldest are forgotten first
_CAUSE_RE = re.compile(r"(?i)^\s*SIP\s*;(?:.*;)?\s*cause\s*=\s*(\d{3})")


@dataclass
class _Dialogs:
    early_tags: set[str] = field(default_factory=set)
    cancel_cause: int | None = None
    cancel_reason: str | None = None
    auth_streak: int = 0


def reason_cause(value: str) -> int | None:
    """The SIP cause of a Reason header value (`SIP ;cause=200 ;text="..."`), if any."""
    for part in value.split(","):
        m = _CAUSE_RE.match(part.replace(" ;", ";"))
        if m:
            return int(m.group(1))
    return None


class DialogWatcher:
    """Feed it every trace; ask it about a Call-ID."""

    def __init__(self) -> None:
        self._by_call_id: OrderedDict[str, _Dialogs] = OrderedDict()

    def _entry(self, call_id: str) -> _Dialogs:
        entry = self._by_call_id.get(call_id)
        if entry is None:
            entry = self._by_call_id[call_id] = _Dialogs()
            while len(self._by_call_id) > MAX_TRACKED:
                self._by_call_id.popitem(last=False)
        return entry

    def feed(self, trace: SipTrace) -> bool:
        """Record what matters in `trace`; True if a call's devices-ringing count changed."""
        msg = trace.parsed
        if msg is None or not msg.call_id:
            return False
        if isinstance(msg, SipResponse):
            return self._response(trace, msg)
        return self._request(trace, msg)

    def _response(self, trace: SipTrace, msg: SipResponse) -> bool:
        try:
            method = msg.cseq.method
        except ValueError:
            return False
        if trace.direction != "in":
            return False
        if method == "INVITE" and 101 <= msg.status <= 199:
            tag = msg.to_addr.tag
            if tag:
                entry = self._entry(msg.call_id)
                before = len(entry.early_tags)
                entry.early_tags.add(tag)
                return len(entry.early_tags) != before
        elif method == "REGISTER" and 200 <= msg.status <= 299:
            self._entry(msg.call_id).auth_streak = 0
        return False

    def _request(self, trace: SipTrace, msg: SipRequest) -> bool:
        if msg.method == "CANCEL" and trace.direction == "in":
            entry = self._entry(msg.call_id)
            for value in msg.headers.get_all("reason"):
                cause = reason_cause(value)
                if cause is not None:
                    entry.cancel_cause, entry.cancel_reason = cause, value
                    break
        elif msg.method == "REGISTER" and trace.direction == "out":
            entry = self._entry(msg.call_id)
            if "authorization" in msg.headers or "proxy-authorization" in msg.headers:
                entry.auth_streak += 1
            else:
                entry.auth_streak = 0
        return False

    def devices_ringing(self, call_id: str) -> int:
        entry = self._by_call_id.get(call_id)
        return len(entry.early_tags) if entry else 0

    def answered_elsewhere(self, call_id: str) -> bool:
        """True if a CANCEL for this call said another device answered (cause 200)."""
        entry = self._by_call_id.get(call_id)
        return entry is not None and entry.cancel_cause == 200

    def cancel_reason(self, call_id: str) -> str | None:
        entry = self._by_call_id.get(call_id)
        return entry.cancel_reason if entry else None

    def auth_attempts(self, call_id: str) -> int:
        """Authenticated REGISTERs sent on this Call-ID since the last 2xx or plain REGISTER."""
        entry = self._by_call_id.get(call_id)
        return entry.auth_streak if entry else 0

    def forget(self, call_id: str) -> None:
        self._by_call_id.pop(call_id, None)
