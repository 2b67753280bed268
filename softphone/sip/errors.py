"""The single error type of the SIP core: anything malformed raises SipParseError."""

from __future__ import annotations


class SipParseError(ValueError):
    """Malformed SIP input. `status` is the response a server should send (400 unless noted)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
