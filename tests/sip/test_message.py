"""Parsing and serialising the pieces: URIs, addresses, Via, headers, whole messages."""

from __future__ import annotations

import pytest

from softphone.sip.address import STAR, parse_contacts, parse_name_addr
from softphone.sip.build import make_response, new_branch, reason_phrase
from softphone.sip.errors import SipParseError
from softphone.sip.headers import Headers
from softphone.sip.message import SipRequest, SipResponse, parse_message
from softphone.sip.uri import AbsoluteUri, SipUri, parse_sip_uri, parse_uri
from softphone.sip.via import parse_via

REGISTER = (
    b"REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1234;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Alice" <sip:alice@127.0.0.1>;tag=abc\r\n'
    b"To: <sip:alice@127.0.0.1>\r\n"
    b"Call-ID: 1-2345@127.0.0.1\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:alice@127.0.0.1:5070;transport=udp>;expires=3600;"
    b'+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>"\r\n'
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_sip_uri_parts_and_round_trip() -> None:
    text = "sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr?subject=hi&priority=urgent"
    uri = parse_sip_uri(text)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secret",
        "[2001:db8::1]",
        5061,
    )
    assert uri.params == {"transport": "tls", "lr": None}
    assert uri.headers == [("subject", "hi"), ("priority", "urgent")]
    assert uri.transport == "tls"
    assert str(uri) == text


@pytest.mark.parametrize(
    "bad",
    [
        "sip:",
        "sip:alice@",
        "sip:alice@host:99999",
        "sip:alice@host:12a",
        "sip:al ice@host",
        "sip:alice@ho st",
        "sip:alice@host;a=b c",
        "sip:alice@host?x",
        "sip:alice%4@host",
        "<sip:alice@host>",
        "no-scheme",
    ],
)
def test_bad_uris_raise(bad: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(bad)


def test_other_schemes_are_opaque_and_sip_only_parser_refuses_them() -> None:
    assert parse_uri("tel:+15551234567") == AbsoluteUri("tel", "+15551234567")
    with pytest.raises(SipParseError) as info:
        parse_sip_uri("tel:+15551234567")
    assert info.value.status == 416


def test_uri_copy_does_not_share_params() -> None:
    uri = parse_sip_uri("sip:bob@example.com;transport=tcp")
    other = uri.copy(port=5080)
    other.params["lr"] = None
    assert uri.params == {"transport": "tcp"} and uri.port is None
    assert str(other) == "sip:bob@example.com:5080;transport=tcp;lr"


def test_name_addr_forms() -> None:
    a = parse_name_addr('"Alice \\"A\\"" <sip:alice@example.com;transport=tcp>;tag=x1;q=0.5')
    assert a.display == 'Alice "A"'
    assert isinstance(a.uri, SipUri) and a.uri.params == {"transport": "tcp"}
    assert a.params == {"tag": "x1", "q": "0.5"}
    b = parse_name_addr("sip:bob@example.com;tag=77")
    assert isinstance(b.uri, SipUri) and b.uri.params == {} and b.tag == "77"
    c = parse_name_addr("Bob Smith <sip:bob@example.com>")
    assert c.display == "Bob Smith"
    assert str(a) == '"Alice \\"A\\"" <sip:alice@example.com;transport=tcp>;tag=x1;q=0.5'


def test_contact_star_and_lists() -> None:
    assert parse_contacts(["*"]) == STAR
    contacts = parse_contacts(['"A, B" <sip:a@h1>;expires=10, sip:b@h2;expires=20', "<sip:c@h3>"])
    assert contacts != STAR
    assert [c.params.get("expires") for c in contacts] == ["10", "20", None]
    assert contacts[0].display == "A, B"
    with pytest.raises(SipParseError):
        parse_contacts(["*, <sip:a@h1>"])


def test_via_parts() -> None:
    via = parse_via("SIP/2.0/tls [::1]:5061;branch=z9hG4bKabc;received=10.0.0.1;rport=5999")
    assert (via.transport, via.host, via.port, via.branch) == ("TLS", "[::1]", 5061, "z9hG4bKabc")
    assert via.params["rport"] == "5999"
    assert str(via) == "SIP/2.0/TLS [::1]:5061;branch=z9hG4bKabc;received=10.0.0.1;rport=5999"
    for bad in ("SIP/2.0 host", "SIP/2.0/UDP", "SIP/2.0/UDP host:70000", "SIP/2.0/UDP host;;"):
        with pytest.raises(SipParseError):
            parse_via(bad)


def test_headers_case_compact_and_order() -> None:
    headers = Headers(
        [("v", "SIP/2.0/UDP a;branch=z9hG4bK1"), ("VIA", "SIP/2.0/UDP b, SIP/2.0/UDP c")]
    )
    assert headers.get_all("Via") == [
        "SIP/2.0/UDP a;branch=z9hG4bK1",
        "SIP/2.0/UDP b, SIP/2.0/UDP c",
    ]
    assert headers.get_list("via") == [
        "SIP/2.0/UDP a;branch=z9hG4bK1",
        "SIP/2.0/UDP b",
        "SIP/2.0/UDP c",
    ]
    headers.prepend("Via", "SIP/2.0/UDP top")
    assert headers.get("v") == "SIP/2.0/UDP top"
    assert headers.pop_first("via") == "SIP/2.0/UDP top"
    assert headers.pop_first("via") == "SIP/2.0/UDP a;branch=z9hG4bK1"
    assert headers.pop_first("via") == "SIP/2.0/UDP b"
    assert headers.get_all("via") == ["SIP/2.0/UDP c"]
    headers.set("Max-Forwards", "70")
    assert "max-forwards" in headers and headers.count("MAX-FORWARDS") == 1
    assert headers.remove("max-forwards") == 1 and "Max-Forwards" not in headers


def test_parsed_cache_is_dropped_on_change() -> None:
    message = parse_message(REGISTER)
    assert message.top_via.branch == "z9hG4bK-1234"
    message.headers.prepend("Via", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKnew")
    assert message.top_via.branch == "z9hG4bKnew"
    assert len(message.vias) == 2


def test_register_parse_and_exact_round_trip() -> None:
    message = parse_message(REGISTER)
    assert isinstance(message, SipRequest)
    assert message.expires == 3600
    contacts = message.contacts
    assert contacts != STAR
    assert (
        contacts[0].param_text("+sip.instance") == "<urn:uuid:00000000-0000-1000-8000-000000000001>"
    )
    assert message.to_bytes() == REGISTER
    assert message.raw == REGISTER


def test_serialise_fixes_content_length_and_parses_back() -> None:
    message = parse_message(REGISTER)
    message.set_body(b"hello", "text/plain")
    data = message.to_bytes()
    again = parse_message(data)
    assert again.body == b"hello"
    assert again.headers.get("content-length") == "5"
    assert again.headers.get("content-type") == "text/plain"


def test_make_response_copies_mandatory_headers() -> None:
    request = parse_message(REGISTER)
    assert isinstance(request, SipRequest)
    response = make_response(request, 401, to_tag="srv1", extra=[("WWW-Authenticate", "Digest x")])
    parsed = parse_message(response.to_bytes())
    assert isinstance(parsed, SipResponse)
    assert (parsed.status, parsed.reason) == (401, "Unauthorized")
    assert parsed.headers.get_all("via") == request.headers.get_all("via")
    assert parsed.to_addr.tag == "srv1" and parsed.from_addr.tag == "abc"
    assert parsed.call_id == request.call_id and parsed.cseq == request.cseq
    trying = make_response(request, 100, to_tag="srv1")
    assert trying.to_addr.tag is None
    assert reason_phrase(499) == "Bad Request" and reason_phrase(423) == "Interval Too Brief"
    assert new_branch().startswith("z9hG4bK") and new_branch() != new_branch()


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n",
        b"SIP/2.0 20 OK\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",
        REGISTER.replace(b"Max-Forwards: 70", b"Max-Forwards: 256"),
        REGISTER.replace(b"Expires: 3600", b"Expires: soon"),
        REGISTER.replace(b"CSeq: 1 REGISTER", b"CSeq: one REGISTER"),
        REGISTER.replace(b"Call-ID: 1-2345@127.0.0.1", b"Call-ID: a b"),
        REGISTER.replace(b"To: <sip:alice@127.0.0.1>", b"To: <sip:alice@127.0.0.1"),
        REGISTER.replace(b"Content-Length: 0\r\n", b"Content-Length: 0\r\n\rX: y\r\n"),
    ],
)
def test_malformed_messages_raise_parse_error(data: bytes) -> None:
    with pytest.raises(SipParseError):
        message = parse_message(data)
        message.expires  # noqa: B018 - Expires is checked on access


def test_salvaged_malformed_request_can_be_answered() -> None:
    from softphone.sip.message import salvage_request
    from tests.sip.torture import INVALID

    data, _status = INVALID["mismatch01"]
    request = salvage_request(data)
    assert request is not None and request.method == "OPTIONS"
    answer = parse_message(make_response(request, 400, "bad To").to_bytes())
    assert isinstance(answer, SipResponse) and answer.status == 400
    assert answer.call_id == "mismatch01.dj0234sxdfl3"
    assert salvage_request(INVALID["insuf"][0]) is None  # no Call-ID/From/To: nothing to answer
    assert salvage_request(b"SIP/2.0 200 OK\r\n\r\n") is None
