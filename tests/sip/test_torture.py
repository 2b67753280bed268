"""RFC 4475 torture messages: valid ones parse, invalid ones raise SipParseError with the right
status, whole and fed byte-at-a-time through the stream framer."""

from __future__ import annotations

import pytest

from softphone.sip.errors import SipParseError
from softphone.sip.framer import StreamFramer
from softphone.sip.message import SipRequest, SipResponse, parse_message
from softphone.sip.uri import AbsoluteUri, SipUri
from tests.sip.torture import INVALID, VALID, WSINV


def frames_byte_at_a_time(data: bytes) -> list[bytes]:
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(data)):
        out.extend(framer.feed(data[i : i + 1]))
    return out


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_message_parses_whole(name: str) -> None:
    message = parse_message(VALID[name])
    assert message.call_id.startswith(name) or name == "mpart01"
    assert message.cseq.number >= 0
    assert message.vias


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_message_parses_byte_at_a_time(name: str) -> None:
    data = VALID[name]
    frames = frames_byte_at_a_time(data)
    assert frames, "the framer produced no message"
    whole = parse_message(data)
    streamed = parse_message(frames[0], datagram=False)
    assert streamed.headers.get_all("via") == whole.headers.get_all("via")
    assert streamed.body == whole.body
    assert streamed.to_bytes() == whole.to_bytes()


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_message_raises_with_status(name: str) -> None:
    data, status = INVALID[name]
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.status == status


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_message_byte_at_a_time(name: str) -> None:
    data, status = INVALID[name]
    framer = StreamFramer()
    frames: list[bytes] = []
    try:
        for i in range(len(data)):
            frames.extend(framer.feed(data[i : i + 1]))
    except SipParseError:
        assert name in {"ncl"}, "only a bad Content-Length makes the stream unrecoverable"
        return
    if name == "clerr":
        # On a stream a too-large Content-Length simply means "more is coming".
        assert frames == [] and framer.buffered == len(data)
        return
    assert len(frames) == 1
    with pytest.raises(SipParseError) as info:
        parse_message(frames[0], datagram=False)
    assert info.value.status == status


def test_wsinv_values_survive_folding_and_odd_spacing() -> None:
    message = parse_message(WSINV)
    assert isinstance(message, SipRequest)
    assert message.max_forwards == 68
    assert message.cseq == (9, "INVITE")
    assert message.to_addr.tag == "1918181833n"
    assert message.from_addr.tag == "98asjd8"
    assert message.from_addr.display == 'J Rosenberg \\"'
    assert [(v.transport, v.host, v.branch) for v in message.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    contacts = message.contacts
    assert contacts != "*"
    assert contacts[0].display == 'Quoted string ""'
    assert contacts[0].params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert message.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert message.headers.get("subject") == ""
    route = message.routes[0].uri
    assert isinstance(route, SipUri) and route.params["unknown-no-value"] is None


def test_intmeth_keeps_unusual_characters() -> None:
    message = parse_message(VALID["intmeth"])
    assert isinstance(message, SipRequest)
    assert message.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert isinstance(message.uri, SipUri)
    assert message.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert message.to_addr.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert message.from_addr.param_text("fromparam''~+*_!.-%") == "работающий"


def test_escapes_and_semicolons_in_user_part() -> None:
    esc = parse_message(VALID["esc01"])
    assert isinstance(esc, SipRequest) and isinstance(esc.uri, SipUri)
    assert esc.uri.user_text == "sips:user@example.com"
    semi = parse_message(VALID["semiuri"])
    assert isinstance(semi, SipRequest) and isinstance(semi.uri, SipUri)
    assert semi.uri.user == "user;par=u%40example.net"
    assert semi.uri.params == {}
    assert len(semi.headers.get_list("accept")) == 6


def test_escnull_keeps_two_contacts() -> None:
    message = parse_message(VALID["escnull"])
    contacts = message.contacts
    assert contacts != "*"
    assert [c.uri.user_text for c in contacts if isinstance(c.uri, SipUri)] == ["\x00", "\x00\x00"]


def test_dblreq_ignores_the_second_message_in_a_datagram() -> None:
    message = parse_message(VALID["dblreq"])
    assert isinstance(message, SipRequest) and message.method == "REGISTER"
    assert message.body == b""
    assert len(message.raw) < len(VALID["dblreq"])
    assert frames_byte_at_a_time(VALID["dblreq"])[1].startswith(b"INVITE ")


def test_unknown_schemes_are_kept_opaque() -> None:
    for name in ("unkscm", "novelsc"):
        message = parse_message(VALID[name])
        assert isinstance(message, SipRequest)
        assert isinstance(message.uri, AbsoluteUri)
    unksm2 = parse_message(VALID["unksm2"])
    assert str(unksm2.to_addr.uri) == "isbn:2983792873"


def test_reason_phrases_utf8_and_empty() -> None:
    unreason = parse_message(VALID["unreason"])
    assert isinstance(unreason, SipResponse) and unreason.reason.endswith("простое")
    noreason = parse_message(VALID["noreason"])
    assert isinstance(noreason, SipResponse) and noreason.status == 100
    assert noreason.reason == ""


def test_multipart_binary_body_is_kept_exactly() -> None:
    message = parse_message(VALID["mpart01"])
    assert bytes(range(256)) in message.body
    assert message.to_bytes().endswith(message.body)
