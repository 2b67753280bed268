"""REGISTER handling against RFC 3261 §10.3, Twilio-like limits and the security rules."""

from __future__ import annotations

from softphone.sip.address import parse_contacts
from softphone.sip.digest import parse_challenge
from softphone.sip.message import SipResponse
from tests.lab.conftest import Lab, make_lab
from tests.lab.sipclient import RegisterClient


def register(lab: Lab, client: RegisterClient, contacts: list[str], **kw: object) -> SipResponse:
    """Challenge, answer, return the final response."""
    challenge = lab.send(client.request(contacts, **kw))  # type: ignore[arg-type]
    assert challenge.status == 401
    return lab.send(client.request(contacts, authorization=client.answer(challenge), **kw))  # type: ignore[arg-type]


def listed(response: SipResponse) -> dict[str, str | None]:
    contacts = parse_contacts(response.headers.get_all("contact"))
    assert contacts != "*"
    return {str(c.uri): c.params.get("expires") for c in contacts}


def test_challenge_then_ok_lists_the_binding(lab: Lab) -> None:
    alice = RegisterClient("alice", "alice-pw")
    first = lab.send(alice.request(["<sip:alice@127.0.0.1:5070>"], expires=600))
    assert first.status == 401
    challenge = parse_challenge(first.headers.get("www-authenticate") or "")
    assert (challenge.realm, challenge.algorithm, challenge.qop) == (
        "softphone.lab",
        "MD5",
        ("auth",),
    )
    ok = lab.send(
        alice.request(
            ["<sip:alice@127.0.0.1:5070>"], expires=600, authorization=alice.answer(first)
        )
    )
    assert ok.status == 200
    assert listed(ok) == {"sip:alice@127.0.0.1:5070": "600"}
    assert (ok.headers.get("date") or "").endswith("GMT")


def test_unknown_user_and_wrong_password_look_the_same(lab: Lab) -> None:
    wrong = RegisterClient("alice", "not-her-password")
    nobody = RegisterClient("mallory", "whatever")
    answers = []
    for client in (wrong, nobody):
        challenge = lab.send(client.request(["<sip:x@127.0.0.1:5070>"]))
        answers.append(
            lab.send(
                client.request(["<sip:x@127.0.0.1:5070>"], authorization=client.answer(challenge))
            )
        )
    assert [a.status for a in answers] == [401, 401]
    shapes = [[name for name, _ in a.headers] for a in answers]
    assert shapes[0] == shapes[1]
    for answer in answers:
        assert not parse_challenge(answer.headers.get("www-authenticate") or "").stale


def test_stale_nonce_with_right_password_says_stale(lab: Lab) -> None:
    alice = RegisterClient("alice", "alice-pw")
    challenge = lab.send(alice.request(["<sip:alice@127.0.0.1:5070>"]))
    lab.now += 31  # past the 30 s nonce lifetime
    again = lab.send(
        alice.request(["<sip:alice@127.0.0.1:5070>"], authorization=alice.answer(challenge))
    )
    assert again.status == 401
    assert parse_challenge(again.headers.get("www-authenticate") or "").stale


def test_replayed_nonce_count_is_rechallenged(lab: Lab) -> None:
    alice = RegisterClient("alice", "alice-pw")
    challenge = lab.send(alice.request(["<sip:alice@127.0.0.1:5070>"]))
    credentials = alice.answer(challenge)
    assert (
        lab.send(alice.request(["<sip:alice@127.0.0.1:5070>"], authorization=credentials)).status
        == 200
    )
    assert (
        lab.send(alice.request(["<sip:alice@127.0.0.1:5070>"], authorization=credentials)).status
        == 401
    )


def test_interval_too_brief_gets_423_with_min_expires(lab: Lab) -> None:
    response = register(
        lab, RegisterClient("alice", "alice-pw"), ["<sip:alice@127.0.0.1:5070>"], expires=30
    )
    assert response.status == 423
    assert response.headers.get("min-expires") == "60"


def test_contact_expires_wins_and_max_is_clamped(lab: Lab) -> None:
    contacts = ["<sip:alice@127.0.0.1:5070>;expires=120", "<sip:alice@127.0.0.1:5071>"]
    response = register(lab, RegisterClient("alice", "alice-pw"), contacts, expires=99999)
    assert response.status == 200
    assert listed(response) == {
        "sip:alice@127.0.0.1:5070": "120",
        "sip:alice@127.0.0.1:5071": "3600",
    }


def test_wildcard_unregister(lab: Lab) -> None:
    alice = RegisterClient("alice", "alice-pw")
    register(lab, alice, ["<sip:alice@127.0.0.1:5070>", "<sip:alice@127.0.0.1:5071>"])
    bad = register(lab, alice, ["*"], expires=60)
    assert bad.status == 400
    gone = register(lab, alice, ["*"], expires=0)
    assert gone.status == 200
    assert gone.headers.get("contact") is None
    assert lab.registrar.bindings.current("alice", lab.now) == []


def test_expires_zero_removes_one_binding(lab: Lab) -> None:
    alice = RegisterClient("alice", "alice-pw")
    register(lab, alice, ["<sip:alice@127.0.0.1:5070>", "<sip:alice@127.0.0.1:5071>"])
    response = register(lab, alice, ["<sip:alice@127.0.0.1:5070>;expires=0"])
    assert set(listed(response)) == {"sip:alice@127.0.0.1:5071"}


def test_same_call_id_needs_higher_cseq(lab: Lab) -> None:
    alice = RegisterClient("alice", "alice-pw", call_id="same@host")
    assert register(lab, alice, ["<sip:alice@127.0.0.1:5070>"]).status == 200
    alice.cseq = 0  # an out-of-order (older) request of the same registration
    assert register(lab, alice, ["<sip:alice@127.0.0.1:5070>"]).status == 500
    other = RegisterClient("alice", "alice-pw", call_id="another@host")
    assert register(lab, other, ["<sip:alice@127.0.0.1:5070>"]).status == 200


def test_eleventh_contact_is_refused_with_a_reason(lab: Lab) -> None:
    for n in range(10):
        device = RegisterClient("alice", "alice-pw", call_id=f"dev{n}@host")
        assert register(lab, device, [f"<sip:alice@127.0.0.1:{6000 + n}>"]).status == 200
    eleventh = RegisterClient("alice", "alice-pw", call_id="dev10@host")
    refused = register(lab, eleventh, ["<sip:alice@127.0.0.1:6010>"])
    assert (refused.status, refused.reason) == (403, "Too Many Registered Contacts")
    assert "10 registered contacts" in (refused.headers.get("warning") or "")
    again = RegisterClient("alice", "alice-pw", call_id="dev0@host", cseq=5)
    assert register(lab, again, ["<sip:alice@127.0.0.1:6000>"]).status == 200
    assert len(lab.registrar.bindings.current("alice", lab.now)) == 10


def test_instance_id_identifies_the_device(lab: Lab) -> None:
    instance = '"<urn:uuid:00000000-0000-1000-8000-00000000000a>"'
    alice = RegisterClient("alice", "alice-pw")
    register(lab, alice, [f"<sip:alice@127.0.0.1:5070>;+sip.instance={instance};reg-id=1"])
    moved = register(lab, alice, [f"<sip:alice@127.0.0.1:7070>;+sip.instance={instance};reg-id=1"])
    contacts = parse_contacts(moved.headers.get_all("contact"))
    assert contacts != "*" and len(contacts) == 1
    assert contacts[0].params["+sip.instance"] == instance and contacts[0].params["reg-id"] == "1"


def test_query_without_contact_lists_bindings(lab: Lab) -> None:
    register(
        lab, RegisterClient("alice", "alice-pw", call_id="a@h"), ["<sip:alice@127.0.0.1:5070>"]
    )
    lab.now += 100
    response = register(lab, RegisterClient("alice", "alice-pw", call_id="b@h"), [])
    assert listed(response) == {"sip:alice@127.0.0.1:5070": "3500"}


def test_bindings_expire(lab: Lab) -> None:
    register(lab, RegisterClient("alice", "alice-pw"), ["<sip:alice@127.0.0.1:5070>"], expires=60)
    lab.now += 61
    assert lab.registrar.bindings.current("alice", lab.now) == []


def test_foreign_domain_refused_before_auth(lab: Lab) -> None:
    response = lab.send(
        RegisterClient("alice", "alice-pw").request(["<sip:a@h>"], domain="example.com")
    )
    assert response.status == 403
    assert response.headers.get("www-authenticate") is None


def test_credentials_of_another_user(lab: Lab) -> None:
    bob = RegisterClient("bob", "bob-pw")
    challenge = lab.send(bob.request(["<sip:bob@h>"], to_user="alice"))
    response = lab.send(
        bob.request(["<sip:bob@h>"], to_user="alice", authorization=bob.answer(challenge))
    )
    assert response.status == 403


def test_register_rate_cap() -> None:
    lab = make_lab(register_rate=5)
    alice = RegisterClient("alice", "alice-pw")
    statuses = [lab.send(alice.request(["<sip:alice@h>"])).status for _ in range(7)]
    assert statuses == [401] * 5 + [503] * 2
    lab.now += 1
    assert lab.send(alice.request(["<sip:alice@h>"])).status == 401


def test_failures_are_throttled_only_after_ten_in_a_minute(lab: Lab) -> None:
    mallory = RegisterClient("alice", "guess")
    statuses = []
    for _ in range(12):
        challenge = lab.send(mallory.request(["<sip:a@h>"]))
        if challenge.status != 401:
            statuses.append(challenge.status)
            continue
        statuses.append(
            lab.send(mallory.request(["<sip:a@h>"], authorization=mallory.answer(challenge))).status
        )
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 403
    lab.now += 61
    alice = RegisterClient("alice", "alice-pw")
    assert register(lab, alice, ["<sip:alice@h>"]).status == 200
