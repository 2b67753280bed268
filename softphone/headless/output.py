"""What the headless commands print: progress lines for people, JSON lines for programs.

Human mode: progress on stdout, problems on stderr, each line plain words. JSON mode: stdout
carries only JSON objects, one per line: every engine event except SIP messages (those go to
`--trace`), a few of our own (`Dialling`), and a final `Summary` with the exit code, so a
script reads one stream. Events are plain data without secrets (the password never leaves the
EngineAccount; SIP messages are not printed here at all).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from softphone.engine.events import Binding, CallEvent, Event, RtpStats, TraceEvent
from softphone.engine.serialize import event_to_dict

# Plain words for the final codes a call most often ends with (RFC 3261 §21, RFC 3326).
_CALL_END = {
    400: "the server did not understand the request (for trunks: is the number in E.164?)",
    401: "the server rejected the credentials; check the user name and password",
    403: "refused: this account may not call that destination (or the caller ID is not allowed)",
    404: "no such user or number there",
    407: "the proxy rejected the credentials; check the user name and password",
    408: "nobody answered in time (the request timed out)",
    410: "that number or user is gone",
    480: "not available right now (not registered, or not answering)",
    484: "the number is incomplete",
    486: "busy",
    487: "the call was cancelled before it was answered",
    488: "the other side could not agree on the media (codecs or SRTP)",
    500: "the server failed",
    502: "a server on the path failed (bad gateway)",
    503: "the service is unavailable (or the server could not be reached)",
    504: "a server on the path timed out",
    600: "busy everywhere",
    603: "declined",
    604: "that number or user does not exist anywhere",
    606: "not acceptable (the media could not be agreed)",
}


def call_failure_text(code: int, reason: str, srtp: str = "off") -> str:
    """`486 Busy Here: busy` — the SIP code and reason, then what it means."""
    plain = _CALL_END.get(code)
    if plain is None and 500 <= code < 600:
        plain = "the server failed"
    if code in (488, 606) and srtp == "mandatory":
        plain = (
            "the other side refused the media: this account requires SRTP and the far end "
            "does not offer or accept it (SRTP mismatch)"
        )
    head = f"{code} {reason}".strip() if code else (reason or "no response")
    return f"{head}: {plain}" if plain else head


def srtp_text(event: CallEvent) -> str:
    return f"SRTP {event.srtp_suite}" if event.srtp_suite else "not encrypted (plain RTP)"


def rtp_text(rtp: RtpStats | None) -> str:
    if rtp is None:
        return "no RTP statistics"
    return (
        f"RTP received {rtp.rx_packets} packets ({rtp.rx_lost} lost, jitter "
        f"{rtp.rx_jitter_ms:.1f} ms), sent {rtp.tx_packets}"
    )


def binding_text(binding: Binding) -> str:
    parts = [binding.contact]
    if binding.expires is not None:
        parts.append(f"expires {binding.expires} s")
    if binding.instance:
        parts.append(f"device {binding.instance}")
    return "  ".join(parts)


class Output:
    """Prints for one command run; `json_mode` switches stdout to JSON lines."""

    def __init__(
        self,
        prog: str,
        json_mode: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.prog = prog
        self.json_mode = json_mode
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr

    def say(self, text: str) -> None:
        """A progress line (human mode only)."""
        if not self.json_mode:
            print(text, file=self._out, flush=True)

    def warn(self, text: str) -> None:
        """A problem that does not end the command (stderr, both modes)."""
        print(f"{self.prog}: warning: {text}", file=self._err, flush=True)

    def error(self, text: str) -> None:
        print(f"{self.prog}: {text}", file=self._err, flush=True)

    def record(self, data: dict[str, Any]) -> None:
        """One JSON object (JSON mode only)."""
        if self.json_mode:
            print(json.dumps(data, ensure_ascii=False), file=self._out, flush=True)

    def event(self, event: Event) -> None:
        if self.json_mode and not isinstance(event, TraceEvent):
            self.record(event_to_dict(event))

    def summary(self, command: str, exit_code: int, message: str, /, **extra: Any) -> None:
        """The last line: the outcome. Human mode: stdout when it worked, else stderr."""
        if self.json_mode:
            self.record(
                {"type": "Summary", "command": command, "ok": exit_code == 0, "exit": exit_code,
                 "message": message, **extra}
            )  # fmt: skip
            if exit_code != 0:
                self.error(message)
        elif exit_code == 0:
            if message:
                self.say(message)
        else:
            self.error(message)
