"""Realistic SIP flows as SipTrace lists, for the ladder, diagnosis and export tests.

REGISTER flows go through the real lab registrar (real digest challenges, real 401/423/403
answers); INVITE flows are built the way pjsua and Twilio write them (header order and values
from the pjsua log captures in tests/engine/data and the Twilio traces in shared/seeds), with
responses made by the real `make_response` and digest answers by the real `answer_challenge`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from softphone.lab.registrar import RegistrarPolicy, Source
from softphone.sip.build import make_response
from softphone.sip.digest import Challenge, answer_challenge, format_credentials, parse_challenge
from softphone.sip.message import SipRequest, SipResponse, parse_message
from softphone.sip.trace import Direction, SipTrace, make_trace
from tests.lab.conftest import make_lab
from tests.lab.sipclient import RegisterClient

T0 = 1_700_000_000.0
PHONE = "127.0.0.1:5070"  # the registering phone of the lab tests (RegisterClient's Via)
REGISTRAR = "127.0.0.1:5060"
ALICE = "127.0.0.1:46195"
PROXY = "127.0.0.1:5060"
BOB = "127.0.0.1:5080"
BOB2 = "127.0.0.1:5082"
TWILIO = "54.172.60.0:5061"

_branches: dict[str, itertools.count[int]] = {}

SDP_AVP = (
    "v=0\r\no=- 4004384430 4004384430 IN IP4 127.0.0.1\r\ns=pjmedia\r\nb=AS:84\r\nt=0 0\r\n"
    "a=X-nat:0\r\nm=audio 22896 RTP/AVP 0 8 101\r\nc=IN IP4 127.0.0.1\r\n"
    "a=rtcp:22897 IN IP4 127.0.0.1\r\na=sendrecv\r\na=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
)
SDP_SAVP = SDP_AVP.replace("RTP/AVP", "RTP/SAVP").replace(
    "a=sendrecv\r\n",
    "a=sendrecv\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:LjwhrgKC5bLthzvgjj1S3NAGjw2pa2lhgAKXF5w3\r\n",
)


def wire(time: float, src: str, dst: str, raw: bytes, at: str, origin: str = "") -> SipTrace:
    """The trace of `raw` going src → dst as captured at address `at`."""
    direction: Direction = "out" if at == src else "in"
    remote = dst if direction == "out" else src
    return make_trace(time, direction, "UDP", at, remote, raw, origin=origin)


def branch(call_id: str) -> str:
    """Branches numbered per Call-ID from each flow's start, so flows (and snapshots of them)
    are the same whatever ran before."""
    counter = _branches.setdefault(call_id, itertools.count(1))
    return f"z9hG4bKPj{call_id}-{next(counter):04d}"


def fresh(call_id: str) -> None:
    _branches[call_id] = itertools.count(1)


# --- REGISTER through the real lab registrar ----------------------------------------------


@dataclass
class RegisterFlow:
    """A phone talking to the lab registrar; every message recorded as the phone sees it."""

    user: str = "alice"
    password: str = "alice-pw"
    policy: RegistrarPolicy = field(default_factory=RegistrarPolicy)
    traces: list[SipTrace] = field(default_factory=list)
    now: float = T0

    def __post_init__(self) -> None:
        self.lab = make_lab()
        self.lab.registrar.policy = self.policy
        self.client = RegisterClient(self.user, self.password, call_id="reg-1@127.0.0.1")

    def send(self, request: SipRequest) -> SipResponse:
        self.lab.now = self.now
        self.traces.append(wire(self.now, PHONE, REGISTRAR, request.to_bytes(), PHONE, "alice"))
        response = self.lab.registrar.handle(request, Source("UDP", "127.0.0.1", 5070), self.now)
        self.now += 0.004
        raw = response.to_bytes()
        self.traces.append(wire(self.now, REGISTRAR, PHONE, raw, PHONE, "alice"))
        self.now += 0.010
        parsed = parse_message(raw)
        assert isinstance(parsed, SipResponse)
        return parsed

    def register(
        self,
        *,
        password: str | None = None,
        realm: str | None = None,
        expires: int | None = 600,
        contact: str = "<sip:alice@127.0.0.1:5070>",
    ) -> SipResponse:
        """REGISTER, and answer one challenge the way pjsua does (with the given password)."""
        first = self.send(self.client.request([contact], expires=expires))
        if first.status != 401:
            return first
        challenge = parse_challenge(first.headers.get("www-authenticate") or "")
        if realm is not None:
            challenge = replace(challenge, realm=realm)
        return self.send(
            self.client.request(
                [contact], expires=expires, authorization=self._answer(challenge, password)
            )
        )

    def _answer(self, challenge: Challenge, password: str | None) -> str:
        credentials = answer_challenge(
            challenge,
            method="REGISTER",
            uri="sip:127.0.0.1",
            username=self.user,
            password=self.password if password is None else password,
            cnonce="0a4f113b",
        )
        return format_credentials(credentials)


# --- INVITE flows ---------------------------------------------------------------------------


def invite(
    *,
    ruri: str,
    from_uri: str,
    call_id: str,
    cseq: int,
    via: str,
    sdp: str = SDP_AVP,
    auth: tuple[str, str] | None = None,
    extra: tuple[str, ...] = (),
    vias: tuple[str, ...] = (),
    to_tag: str | None = None,
    from_tag: str = "ohCnyx17oDaOQ1TIu4FZ1n92lqFfk4AF",
) -> SipRequest:
    """An INVITE the way pjsua writes one (header order of the captured pjsua INVITE)."""
    to = f"<{ruri}>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"INVITE {ruri} SIP/2.0",
        f"Via: SIP/2.0/UDP {via};rport;branch={branch(call_id)}",
        *[f"Via: {v}" for v in vias],
        "Max-Forwards: 70",
        f"From: <{from_uri}>;tag={from_tag}",
        f"To: {to}",
        f"Contact: <{from_uri.split('@')[0]}@{via};ob>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} INVITE",
        "Allow: PRACK, INVITE, ACK, BYE, CANCEL, UPDATE, INFO, SUBSCRIBE, NOTIFY, REFER, "
        "MESSAGE, OPTIONS",
        "Supported: replaces, 100rel, timer, norefersub",
        "User-Agent: softphone/0.1",
        *extra,
    ]
    if auth is not None:
        lines.append(f"{auth[0]}: {auth[1]}")
    lines += ["Content-Type: application/sdp", f"Content-Length: {len(sdp)}", "", sdp]
    message = parse_message("\r\n".join(lines).encode())
    assert isinstance(message, SipRequest)
    return message


def request_like(original: SipRequest, method: str, *, to_tag: str | None = None) -> bytes:
    """ACK/CANCEL/BYE sharing the original's identifiers (RFC 3261 §9.1, §17.1.1.3): ACK of a
    non-2xx and CANCEL reuse the INVITE's branch; BYE gets a new one and the next CSeq."""
    via = original.headers.get("via")
    if method == "BYE":
        top = original.top_via
        via = f"SIP/2.0/UDP {top.host}:{top.port};rport;branch={branch(original.call_id)}"
    cseq_number = original.cseq.number + (1 if method == "BYE" else 0)
    to = original.headers.get("to") or ""
    if to_tag and ";tag=" not in to:
        to += f";tag={to_tag}"
    lines = [
        f"{method} {original.uri} SIP/2.0",
        f"Via: {via}",
        "Max-Forwards: 70",
        f"From: {original.headers.get('from')}",
        f"To: {to}",
        f"Call-ID: {original.call_id}",
        f"CSeq: {cseq_number} {method}",
        "Content-Length: 0",
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def respond(
    request: SipRequest,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = "d6e864ebae3c",
    extra: list[tuple[str, str]] | None = None,
) -> bytes:
    return make_response(request, status, reason, to_tag=to_tag, extra=extra).to_bytes()


def digest_answer(
    challenge_value: str, *, header: str, method: str, uri: str, user: str, password: str
) -> tuple[str, str]:
    credentials = answer_challenge(
        parse_challenge(challenge_value),
        method=method,
        uri=uri,
        username=user,
        password=password,
        cnonce="c72ad22495784a21ba43e5aeb59faca1",
    )
    return header, format_credentials(credentials)


TWILIO_407 = [
    ("Server", "Twilio"),
    (
        "Proxy-Authenticate",
        'Digest realm="sip.twilio.com",qop="auth",'
        'nonce="dkgRu3NUwBJN5UHD-q-XNwUP0awwrMLV6VIPjHAhaaPx76L3",'
        'opaque="79787547fec3e815d5590577bc77769e"',
    ),
]


def trunk_call(
    *,
    number: str = "+14155550100",
    caller: str = "+15005550006",
    password: str | None = "right",
    final: tuple[int, str, list[tuple[str, str]]] = (200, "OK", []),
    auth_header: str = "Proxy-Authorization",
    sdp: str = SDP_AVP,
    second_challenge: bool = False,
) -> list[SipTrace]:
    """An outbound call to a Twilio Elastic SIP Trunk (seed 003): INVITE, 100, 407, ACK, then
    the authenticated INVITE and `final` (or the second 407 when `second_challenge`)."""
    ruri = f"sip:{number}@example.pstn.twilio.com"
    at, t = ALICE, T0
    fresh("tr-1")
    first = invite(
        ruri=ruri,
        from_uri=f"sip:{caller}@127.0.0.1",
        call_id="tr-1",
        cseq=30121,
        via=ALICE,
        sdp=sdp,
    )
    out = [wire(t, ALICE, TWILIO, first.to_bytes(), at, "trunk")]
    out.append(
        wire(
            t + 0.08,
            TWILIO,
            ALICE,
            respond(
                first,
                100,
                "trying -- your call is important to us",
                to_tag=None,
                extra=[("Server", "Twilio Gateway")],
            ),
            at,
            "trunk",
        )
    )
    out.append(
        wire(
            t + 0.12,
            TWILIO,
            ALICE,
            respond(
                first,
                407,
                "Proxy Authentication required",
                to_tag="91558776_c3356d0b",
                extra=TWILIO_407,
            ),
            at,
            "trunk",
        )
    )
    out.append(
        wire(
            t + 0.121,
            ALICE,
            TWILIO,
            request_like(first, "ACK", to_tag="91558776_c3356d0b"),
            at,
            "trunk",
        )
    )
    if password is None:
        return out
    auth = digest_answer(
        TWILIO_407[1][1],
        header=auth_header,
        method="INVITE",
        uri=ruri,
        user="grable",
        password=password,
    )
    second = invite(
        ruri=ruri,
        from_uri=f"sip:{caller}@127.0.0.1",
        call_id="tr-1",
        cseq=30122,
        via=ALICE,
        sdp=sdp,
        auth=auth,
    )
    out.append(wire(t + 0.2, ALICE, TWILIO, second.to_bytes(), at, "trunk"))
    out.append(
        wire(
            t + 0.28,
            TWILIO,
            ALICE,
            respond(
                second,
                100,
                "trying -- your call is important to us",
                to_tag=None,
                extra=[("Server", "Twilio Gateway")],
            ),
            at,
            "trunk",
        )
    )
    if second_challenge:
        out.append(
            wire(
                t + 0.3,
                TWILIO,
                ALICE,
                respond(
                    second,
                    407,
                    "Proxy Authentication required",
                    to_tag="91558777_c3356d0b",
                    extra=TWILIO_407,
                ),
                at,
                "trunk",
            )
        )
        return out
    status, reason, extra = final
    out.append(
        wire(
            t + 0.9,
            TWILIO,
            ALICE,
            respond(
                second,
                status,
                reason,
                to_tag="aed3c9da",
                extra=[("Server", "Twilio Gateway"), *extra],
            ),
            at,
            "trunk",
        )
    )
    if status >= 300:
        out.append(
            wire(
                t + 0.901,
                ALICE,
                TWILIO,
                request_like(second, "ACK", to_tag="aed3c9da"),
                at,
                "trunk",
            )
        )
    return out
