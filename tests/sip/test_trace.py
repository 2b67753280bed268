"""SipTrace records: what the log pane, the ladder and the JSON export share."""

from __future__ import annotations

import json

from softphone.sip.message import SipRequest
from softphone.sip.trace import make_trace, mask_credentials, trace_from_json_dict

REGISTER = (
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
    b"From: <sip:alice@127.0.0.1>;tag=1\r\nTo: <sip:alice@127.0.0.1>\r\nCall-ID: t-1\r\n"
    b"CSeq: 2 REGISTER\r\n"
    b'Authorization: Digest username="alice", realm="lab", nonce="n1", uri="sip:127.0.0.1",\r\n'
    b' response="6629fae49393a05397450978507c4ef1", algorithm=MD5\r\n'
    b"Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_credentials_are_masked_even_when_folded() -> None:
    masked = mask_credentials(REGISTER)
    assert b"6629fae49393a05397450978507c4ef1" not in masked
    assert b"YWxpY2U6c2VjcmV0" not in masked
    assert b'response="***"' in masked and b"Basic ***" in masked
    assert b'username="alice"' in masked  # who tried is kept: it is what diagnoses a 401
    assert mask_credentials(b"OPTIONS sip:a SIP/2.0\r\n\r\n") == b"OPTIONS sip:a SIP/2.0\r\n\r\n"


def test_passwords_in_uris_are_masked() -> None:
    raw = b"INVITE sip:bob:hunter2@example.com SIP/2.0\r\nContact: <sips:a:pw@10.0.0.1:5061>\r\n"
    masked = mask_credentials(raw)
    assert b"hunter2" not in masked and b":pw@" not in masked
    assert b"sip:bob:***@example.com" in masked and b"sips:a:***@10.0.0.1:5061" in masked
    ports = b"REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nTo: <sip:alice@127.0.0.1:5060>\r\n"
    assert mask_credentials(ports) == ports


def test_trace_parses_and_round_trips_through_json() -> None:
    trace = make_trace(1.5, "in", "UDP", "127.0.0.1:5060", "127.0.0.1:5070", REGISTER)
    assert isinstance(trace.parsed, SipRequest) and trace.summary == "REGISTER"
    record = json.loads(trace.to_json())
    assert record["call_id"] == "t-1" and record["direction"] == "in"
    assert "6629fae4" not in record["raw"]
    again = trace_from_json_dict(record)
    assert (again.time, again.remote, again.summary) == (1.5, "127.0.0.1:5070", "REGISTER")


def test_unparsable_messages_are_kept_with_the_reason() -> None:
    trace = make_trace(2.0, "out", "TCP", "a:1", "b:2", b"GARBAGE\r\n\r\n")
    assert trace.parsed is None and trace.error and trace.summary == "(unparsable)"
    binary = make_trace(2.0, "in", "UDP", "a:1", "b:2", b"\xff\xfe\r\n\r\n")
    record = binary.to_json_dict()
    assert "raw_b64" in record
    assert trace_from_json_dict(record).raw == b"\xff\xfe\r\n\r\n"
