"""A tiny REGISTER builder for registrar unit tests (real messages, real digest answers)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from softphone.sip.digest import answer_challenge, format_credentials, parse_challenge
from softphone.sip.message import SipRequest, SipResponse, parse_message

_branches = itertools.count(1)


@dataclass
class RegisterClient:
    user: str
    password: str
    domain: str = "127.0.0.1"
    call_id: str = "reg-1@127.0.0.1"
    cseq: int = 0
    user_agent: str = "unit-test"
    extra: list[str] = field(default_factory=list)

    def request(
        self,
        contacts: list[str] | None = None,
        *,
        expires: int | None = None,
        authorization: str | None = None,
        to_user: str | None = None,
        domain: str | None = None,
    ) -> SipRequest:
        self.cseq += 1
        host = domain or self.domain
        lines = [
            f"REGISTER sip:{host} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-t{next(_branches)}",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@{host}>;tag=t1",
            f"To: <sip:{to_user or self.user}@{host}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
            f"User-Agent: {self.user_agent}",
        ]
        lines += [f"Contact: {c}" for c in contacts or []]
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines += self.extra
        lines.append("Content-Length: 0")
        message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
        assert isinstance(message, SipRequest)
        return message

    def answer(self, challenge: SipResponse, password: str | None = None) -> str:
        value = challenge.headers.get("www-authenticate")
        assert value is not None, "expected a challenge"
        credentials = answer_challenge(
            parse_challenge(value),
            method="REGISTER",
            uri=f"sip:{self.domain}",
            username=self.user,
            password=self.password if password is None else password,
            cnonce="0a4f113b",
        )
        return format_credentials(credentials)
