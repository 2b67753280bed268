"""Which worker owns a message: every message of one transaction and one AOR meets its state."""

from __future__ import annotations

from softphone.lab.sharding import make_branch, owner_of, owner_of_aor

INVITE = (
    "{method} sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\n"
    "From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:{user}@127.0.0.1>{to_tag}\r\n"
    "Call-ID: {call_id}\r\nCSeq: 1 {method}\r\n{route}Content-Length: 0\r\n\r\n"
)


def request(
    method: str, user: str, call_id: str = "c1", to_tag: str = "", route: str = ""
) -> bytes:
    return INVITE.format(
        method=method, user=user, call_id=call_id, to_tag=to_tag, route=route
    ).encode()


def register(aor: str, call_id: str) -> bytes:
    return (
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-{call_id}\r\n"
        f'From: <sip:{aor}@127.0.0.1>;tag=x\r\nt: "Someone" <sip:{aor}@127.0.0.1>\r\n'
        f"Call-ID: {call_id}\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_one_worker_keeps_everything() -> None:
    assert owner_of(register("alice", "c"), 1) is None


def test_register_goes_to_the_aor_owner() -> None:
    for aor in ("alice", "bob", "u17", "+15551234567"):
        owners = {owner_of(register(aor, f"call-{n}"), 4) for n in range(20)}
        assert owners == {owner_of_aor(aor, 4)}
    assert owner_of(register("%61lice", "c"), 4) == owner_of_aor("alice", 4)  # escapes decoded


def test_an_invite_and_its_cancel_and_ack_meet() -> None:
    invite = owner_of(request("INVITE", "bob", call_id="x1"), 4)
    assert invite == owner_of_aor("bob", 4)
    assert owner_of(request("CANCEL", "bob", call_id="x1"), 4) == invite
    non2xx_ack = request("ACK", "bob", call_id="x1", to_tag=";tag=b1")
    assert owner_of(non2xx_ack, 4) == invite


def test_in_dialog_requests_follow_the_call_id() -> None:
    owners = set()
    for n in range(40):
        bye = request("BYE", "bob", call_id=f"dialog-{n}", to_tag=";tag=b1")
        again = request("BYE", "carol", call_id=f"dialog-{n}", to_tag=";tag=zz")
        assert owner_of(bye, 4) == owner_of(again, 4)
        owners.add(owner_of(bye, 4))
    ack_2xx = request(
        "ACK", "bob", call_id="dialog-0", to_tag=";tag=b1", route="Route: <sip:127.0.0.1;lr>\r\n"
    )
    assert owner_of(ack_2xx, 4) == owner_of(
        request("BYE", "x", call_id="dialog-0", to_tag=";tag=q"), 4
    )
    assert owners == {0, 1, 2, 3}


def test_responses_return_to_the_branch_owner() -> None:
    for worker in range(3):
        branch = make_branch(worker, "abc")
        response = (
            f"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch={branch}\r\n"
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1\r\nFrom: <sip:a@h>;tag=1\r\n"
            "To: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"
        ).encode()
        assert owner_of(response, 3) == worker
    foreign = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKother\r\n\r\n"
    assert owner_of(foreign, 3) is None


def test_aors_spread_over_workers() -> None:
    counts = [0, 0]
    for n in range(200):
        counts[owner_of_aor(f"user{n:03d}", 2)] += 1
    assert min(counts) > 60


def test_garbage_is_kept_by_the_receiver() -> None:
    assert owner_of(b"\x00\x01 nonsense", 2) is None
    assert owner_of(b"INVITE sip:bob@h SIP/2.0\r\n\r\n", 2) is None  # no To: nothing to route on
