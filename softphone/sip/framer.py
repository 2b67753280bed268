"""Split a TCP/TLS byte stream into SIP messages (RFC 3261 §18.3).

On a stream the only message boundary is Content-Length, so the framer finds the end of the
header section, reads Content-Length from it and waits for that many body octets. Data may
arrive a byte at a time or several messages at once; both give the same frames. A double CRLF
between messages is the RFC 5626 §3.5.1 keep-alive ping and is reported as KEEPALIVE_PING so the
transport can answer with a single CRLF (the pong).
"""

from __future__ import annotations

import re

from softphone.sip.errors import SipParseError

KEEPALIVE_PING = b"\r\n\r\n"
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024
_CONTENT_LENGTH_RE = re.compile(
    rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(?:\r?\n[ \t]+)?([^\r\n]*)"
)


class StreamFramer:
    """Feed bytes in, get whole messages (bytes) out; raises SipParseError if the stream is
    unrecoverable (bad Content-Length or an endless header), after which the connection must
    be closed because the next message boundary cannot be known."""

    __slots__ = ("_buf", "_scan_from")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scan_from = 0  # where to resume looking for the end of the headers

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add data; return every message (or KEEPALIVE_PING) now complete, in order."""
        self._buf += data
        frames: list[bytes] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return frames
            frames.append(frame)

    def _next_frame(self) -> bytes | None:
        buf = self._buf
        # CRLFs before a start line are not part of a message (§7.5). Two of them are a ping.
        lead = 0
        while buf.startswith(b"\r\n", lead):
            lead += 2
        if lead:
            if lead >= 4:
                del buf[:4]
                self._scan_from = 0
                return KEEPALIVE_PING
            rest = len(buf) - lead
            if rest == 0 or (rest == 1 and buf[lead] == 0x0D):
                return None  # maybe the first half of a ping: wait for more
            del buf[:lead]
            self._scan_from = 0
        head_end = buf.find(b"\r\n\r\n", max(self._scan_from - 3, 0))
        if head_end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise SipParseError("header section too long on stream", status=513)
            self._scan_from = len(buf)
            return None
        body_start = head_end + 4
        m = _CONTENT_LENGTH_RE.search(buf, 0, head_end)
        length = 0
        if m is not None:
            text = m.group(1).strip()
            if not text.isdigit() or len(text) > 10:
                raise SipParseError("bad Content-Length on stream")
            length = int(text)
            if length > MAX_BODY_BYTES:
                raise SipParseError("body too large", status=513)
        end = body_start + length
        if len(buf) < end:
            self._scan_from = head_end  # the header end is known; just wait for the body
            return None
        frame = bytes(buf[:end])
        del buf[:end]
        self._scan_from = 0
        return frame
