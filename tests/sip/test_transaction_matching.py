"""Matching (§17.1.3, §17.2.3, §9.2), ACK and CANCEL building, and the transaction table."""

from __future__ import annotations

import pytest

from softphone.sip.build import make_response
from softphone.sip.message import SipRequest, SipResponse, parse_message
from softphone.sip.transaction import (
    ClientTransaction,
    ServerTransaction,
    TransactionTable,
    cancel_key,
    client_key,
    make_ack,
    make_cancel,
    server_key,
)

from .transaction_support import request, response

# A request as a proxy forwards it: its own Via on top of the UAC's (one joined line plus one).
FORWARDED = (
    b"INVITE sip:bob@127.0.0.1:5062;transport=udp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy1;rport, "
    b"SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-uac1;received=127.0.0.1\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.9:5080;branch=z9hG4bK-deep\r\n"
    b"Max-Forwards: 69\r\n"
    b"Route: <sip:edge1.example;lr>, <sip:edge2.example;lr>\r\n"
    b"Route: <sip:edge3.example;lr>\r\n"
    b"Record-Route: <sip:127.0.0.1:5060;lr>\r\n"
    b'From: "Alice" <sip:alice@127.0.0.1>;tag=a-tag\r\n'
    b"To: <sip:bob@127.0.0.1>\r\n"
    b"Call-ID: fwd-1@127.0.0.1\r\n"
    b"CSeq: 314 INVITE\r\n"
    b"Contact: <sip:alice@127.0.0.1:5070>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n\r\n"
    b"v=0\n"
)


def forwarded() -> SipRequest:
    message = parse_message(FORWARDED)
    assert isinstance(message, SipRequest)
    return message


def reparse(message: SipRequest) -> SipRequest:
    out = parse_message(message.to_bytes())
    assert isinstance(out, SipRequest)
    return out


def test_make_ack_follows_17_1_1_3() -> None:
    invite = forwarded()
    busy = response(invite, 486, to_tag="bob-tag")
    ack = reparse(make_ack(invite, busy))
    assert ack.method == "ACK"
    assert str(ack.uri) == "sip:bob@127.0.0.1:5062;transport=udp"
    assert ack.headers.get_all("via") == ["SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy1;rport"]
    assert ack.headers.get("from") == invite.headers.get("from")
    assert ack.headers.get("to") == busy.headers.get("to")
    assert ack.to_addr.tag == "bob-tag"
    assert ack.call_id == "fwd-1@127.0.0.1"
    assert ack.cseq == (314, "ACK")
    assert [str(r.uri) for r in ack.routes] == [
        "sip:edge1.example;lr",
        "sip:edge2.example;lr",
        "sip:edge3.example;lr",
    ]
    assert ack.body == b"" and ack.headers.get("content-type") is None
    assert ack.headers.get("contact") is None and ack.headers.get("record-route") is None
    assert ack.max_forwards == 69


def test_make_cancel_follows_9_1() -> None:
    invite = forwarded()
    cancel = reparse(make_cancel(invite))
    assert (cancel.method, str(cancel.uri)) == ("CANCEL", str(invite.uri))
    assert cancel.headers.get_all("via") == [
        "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-proxy1;rport"
    ]
    assert cancel.headers.get("to") == invite.headers.get("to")  # no tag: the request's To
    assert cancel.headers.get("from") == invite.headers.get("from")
    assert cancel.cseq == (314, "CANCEL")
    assert len(cancel.routes) == 3
    assert cancel.body == b""


def test_client_key_matches_responses_per_method() -> None:
    invite = request("INVITE", branch="z9hG4bK-c1")
    inv_txn = ClientTransaction(invite, reliable=False)
    cancel_txn = ClientTransaction(make_cancel(invite), reliable=False)
    assert inv_txn.key == ("z9hG4bK-c1", "INVITE")
    assert cancel_txn.key == ("z9hG4bK-c1", "CANCEL")  # same branch, its own transaction
    table = TransactionTable()
    table.add(inv_txn)
    table.add(cancel_txn)
    assert table.match_response(response(invite, 487)) is inv_txn
    assert table.match_response(response(cancel_txn.request, 200)) is cancel_txn
    other = response(request("INVITE", branch="z9hG4bK-other"), 200)
    assert table.match_response(other) is None
    assert client_key(other) == ("z9hG4bK-other", "INVITE")


def test_server_key_ack_and_cancel() -> None:
    invite = request("INVITE", branch="z9hG4bK-s1", sent_by="Client.Example:5070")
    key = server_key(invite)
    assert key == ("z9hG4bK-s1", "client.example", 5070, "INVITE")
    ack = reparse(make_ack(invite, response(invite, 404)))
    assert server_key(ack) == key  # an ACK for a non-2xx lands on the INVITE transaction
    cancel = reparse(make_cancel(invite))
    assert server_key(cancel) == ("z9hG4bK-s1", "client.example", 5070, "CANCEL")
    assert cancel_key(cancel) == key
    # The ACK for a 2xx is a new transaction with a new branch (§13.2.2.4): no match.
    ack_2xx = request("ACK", branch="z9hG4bK-new", sent_by="client.example:5070", to_tag="t")
    assert server_key(ack_2xx) != key
    # Same branch from another sent-by is another transaction (§17.2.3).
    assert server_key(request("INVITE", branch="z9hG4bK-s1", sent_by="other:5070")) != key
    assert server_key(request("INVITE", branch="z9hG4bK-s1", sent_by="client.example")) != key


@pytest.mark.parametrize("branch", [None, "1234abcd"], ids=["no-branch", "rfc2543-branch"])
def test_rfc2543_requests_get_a_fallback_key(branch: str | None) -> None:
    invite = request("INVITE", branch=branch, cseq=7)
    key = server_key(invite)
    assert key[0].startswith("rfc2543|call-1@127.0.0.1|from-1|7|")
    assert server_key(reparse(invite)) == key  # a retransmission matches
    ack = request("ACK", branch=branch, cseq=7, to_tag="bob-tag")
    assert server_key(ack) == key
    assert cancel_key(request("CANCEL", branch=branch, cseq=7)) == key
    assert server_key(request("INVITE", branch=branch, cseq=8)) != key
    assert server_key(request("INVITE", branch="z9hG4bK-x", cseq=7)) != key
    txn = ServerTransaction(invite, reliable=False)
    assert txn.key == key


def test_table_add_match_remove() -> None:
    table = TransactionTable()
    invite = request("INVITE", branch="z9hG4bK-t1")
    register = request("REGISTER", branch="z9hG4bK-t2")
    inv = ServerTransaction(invite, reliable=False)
    reg = ServerTransaction(register, reliable=False)
    client = ClientTransaction(request("OPTIONS", branch="z9hG4bK-t3"), reliable=False)
    for txn in (inv, reg, client):
        table.add(txn)
    assert len(table) == 3
    assert table.match_request(reparse(invite)) is inv
    assert table.match_request(reparse(make_ack(invite, response(invite, 486)))) is inv
    assert table.match_cancel(reparse(make_cancel(invite))) is inv
    assert table.match_request(reparse(make_cancel(invite))) is None  # a new transaction
    assert table.get_server(reg.key) is reg and table.get_client(client.key) is client
    # A newer transaction under the same key is not removed on behalf of the old one.
    newer = ServerTransaction(register, reliable=False)
    table.add(newer)
    table.remove(reg)
    assert table.get_server(reg.key) is newer
    table.remove(newer)
    table.remove(inv)
    table.remove(client)
    table.remove(client)
    assert len(table) == 0


def test_response_from_make_response_round_trips_the_client_key() -> None:
    invite = request("INVITE", branch="z9hG4bK-rt")
    raw = make_response(invite, 180, to_tag="x").to_bytes()
    parsed = parse_message(raw)
    assert isinstance(parsed, SipResponse)
    assert client_key(parsed) == ClientTransaction(invite, reliable=False).key
