"""Calls through the lab proxy, captured there (three and four addresses), and a call with
UDP retransmissions captured at the phone: the ladder's harder cases."""

from __future__ import annotations

from softphone.sip.message import SipRequest, parse_message
from softphone.sip.trace import SipTrace
from tests.sip.sipflows import (
    ALICE,
    BOB,
    BOB2,
    PROXY,
    T0,
    branch,
    digest_answer,
    fresh,
    invite,
    request_like,
    respond,
    wire,
)

# --- through the lab proxy (captured there: three and four addresses) ----------------------

LAB_407 = [("Proxy-Authenticate", 'Digest realm="softphone.lab", nonce="AaIF6zVVf8c4", qop="auth"')]


def forward(request: SipRequest, target: str) -> SipRequest:
    """What a proxy sends on: its own Via on top, Max-Forwards down, Record-Route (§16.6)."""
    raw = request.to_bytes().decode()
    head, _, rest = raw.partition("\r\n")
    via = f"Via: SIP/2.0/UDP {PROXY};branch={branch(request.call_id)}\r\n"
    record_route = f"Record-Route: <sip:{PROXY};lr>\r\n" if request.method == "INVITE" else ""
    text = f"{head}\r\n{via}{record_route}{rest}".replace("Max-Forwards: 70", "Max-Forwards: 69")
    message = parse_message(text.encode())
    assert isinstance(message, SipRequest)
    return message


def proxied_call() -> list[SipTrace]:
    """alice → proxy → bob: 407, authenticated INVITE, 100/180/200, ACK, BYE/200."""
    at, t = PROXY, T0
    fresh("px-1")
    out: list[SipTrace] = []

    def put(dt: float, src: str, dst: str, raw: bytes) -> None:
        out.append(wire(t + dt, src, dst, raw, at, "registrar"))

    ruri = "sip:bob@127.0.0.1"
    first = invite(ruri=ruri, from_uri="sip:alice@127.0.0.1", call_id="px-1", cseq=1, via=ALICE)
    put(0.000, ALICE, PROXY, first.to_bytes())
    put(0.001, PROXY, ALICE, respond(first, 407, to_tag="p1", extra=LAB_407))
    put(0.002, ALICE, PROXY, request_like(first, "ACK", to_tag="p1"))
    auth = digest_answer(
        LAB_407[0][1],
        header="Proxy-Authorization",
        method="INVITE",
        uri=ruri,
        user="alice",
        password="alice-pw",
    )
    second = invite(
        ruri=ruri, from_uri="sip:alice@127.0.0.1", call_id="px-1", cseq=2, via=ALICE, auth=auth
    )
    put(0.010, ALICE, PROXY, second.to_bytes())
    put(0.011, PROXY, ALICE, respond(second, 100, to_tag=None))
    leg = forward(second, BOB)
    put(0.012, PROXY, BOB, leg.to_bytes())
    put(0.013, BOB, PROXY, respond(leg, 100, to_tag=None))
    put(0.020, BOB, PROXY, respond(leg, 180, to_tag="b1"))
    put(0.021, PROXY, ALICE, respond(second, 180, to_tag="b1"))
    put(2.000, BOB, PROXY, respond(leg, 200, to_tag="b1"))
    put(2.001, PROXY, ALICE, respond(second, 200, to_tag="b1"))
    ack = parse_message(request_like(second, "BYE", to_tag="b1").replace(b"BYE", b"ACK"))
    assert isinstance(ack, SipRequest)
    put(2.010, ALICE, PROXY, ack.to_bytes())
    put(2.011, PROXY, BOB, forward(ack, BOB).to_bytes())
    bye = parse_message(request_like(second, "BYE", to_tag="b1").replace(b"CSeq: 3", b"CSeq: 4"))
    assert isinstance(bye, SipRequest)
    put(9.000, ALICE, PROXY, bye.to_bytes())
    bye_leg = forward(bye, BOB)
    put(9.001, PROXY, BOB, bye_leg.to_bytes())
    put(9.010, BOB, PROXY, respond(bye_leg, 200, to_tag=None))
    put(9.011, PROXY, ALICE, respond(bye, 200, to_tag=None))
    return out


def forked_cancelled_call() -> list[SipTrace]:
    """alice → proxy → bob (two devices): two 180s, alice CANCELs, both legs 487."""
    at, t = PROXY, T0
    fresh("fk-1")
    out: list[SipTrace] = []

    def put(dt: float, src: str, dst: str, raw: bytes) -> None:
        out.append(wire(t + dt, src, dst, raw, at, "registrar"))

    first = invite(
        ruri="sip:bob@127.0.0.1", from_uri="sip:alice@127.0.0.1", call_id="fk-1", cseq=7, via=ALICE
    )
    put(0.000, ALICE, PROXY, first.to_bytes())
    put(0.001, PROXY, ALICE, respond(first, 100, to_tag=None))
    legs = {BOB: forward(first, BOB), BOB2: forward(first, BOB2)}
    for i, (device, leg) in enumerate(legs.items()):
        put(0.002 + i / 1000, PROXY, device, leg.to_bytes())
    for i, (device, leg) in enumerate(legs.items()):
        tag = f"dev{i + 1}"
        put(0.010 + i / 10, device, PROXY, respond(leg, 180, to_tag=tag))
        put(0.011 + i / 10, PROXY, ALICE, respond(first, 180, to_tag=tag))
    cancel = parse_message(request_like(first, "CANCEL"))
    assert isinstance(cancel, SipRequest)
    put(3.000, ALICE, PROXY, cancel.to_bytes())
    put(3.001, PROXY, ALICE, respond(cancel, 200, to_tag="px"))
    for i, (device, leg) in enumerate(legs.items()):
        leg_cancel = parse_message(request_like(leg, "CANCEL"))
        assert isinstance(leg_cancel, SipRequest)
        put(3.002 + i / 1000, PROXY, device, leg_cancel.to_bytes())
        put(3.010 + i / 1000, device, PROXY, respond(leg_cancel, 200, to_tag=f"dev{i + 1}"))
        put(3.020 + i / 1000, device, PROXY, respond(leg, 487, to_tag=f"dev{i + 1}"))
        put(3.021 + i / 1000, PROXY, device, request_like(leg, "ACK", to_tag=f"dev{i + 1}"))
    put(3.030, PROXY, ALICE, respond(first, 487, to_tag="dev1"))
    put(3.031, ALICE, PROXY, request_like(first, "ACK", to_tag="dev1"))
    return out


def retransmitted_call() -> list[SipTrace]:
    """A UDP INVITE the far end answers late: Timer A retransmissions (0.5 s, 1 s apart, RFC 3261
    §17.1.1.2) and a 200 OK retransmitted until the ACK (§13.3.1.4); captured at the phone."""
    at, t = ALICE, T0
    fresh("rt-1")
    out: list[SipTrace] = []

    def put(dt: float, src: str, dst: str, raw: bytes) -> None:
        out.append(wire(t + dt, src, dst, raw, at, "alice"))

    first = invite(
        ruri="sip:bob@127.0.0.1", from_uri="sip:alice@127.0.0.1", call_id="rt-1", cseq=1, via=ALICE
    )
    for dt in (0.0, 0.5, 1.5):
        put(dt, ALICE, PROXY, first.to_bytes())
    put(1.6, PROXY, ALICE, respond(first, 100, to_tag=None))
    put(1.7, PROXY, ALICE, respond(first, 180, to_tag="b1"))
    ok = respond(first, 200, to_tag="b1")
    put(3.0, PROXY, ALICE, ok)
    put(3.5, PROXY, ALICE, ok)
    ack = parse_message(
        request_like(first, "BYE", to_tag="b1")
        .replace(b"BYE", b"ACK")
        .replace(b"CSeq: 2", b"CSeq: 1")
    )
    assert isinstance(ack, SipRequest)
    put(3.6, ALICE, PROXY, ack.to_bytes())
    return out
