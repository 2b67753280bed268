"""One behaviour, three servers: Kamailio (the reference), our registrar, our registrar with two
worker processes. The same sipp scenarios drive all three, so "behaves like Kamailio" is a
tested claim: digest REGISTER for many users, giving up after a second 401 (wrong password and
unknown user indistinguishable), INVITE with proxy auth to a registered UAS and BYE along the
Record-Route, parallel forking where the loser gets a CANCEL with
`Reason: SIP;cause=200;text="Call completed elsewhere"`, a caller's CANCEL reaching every
ringing phone, 404/480, and the 11th contact refused. Each test uses its own AOR.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop.conftest import BULK_USERS, NAMED_USERS, REFERENCE_USERS
from tests.interop.flows import (
    SipServer,
    call,
    explain,
    final_header_names,
    received,
    register_contacts,
    register_many,
    register_once,
    sent,
)
from tests.peers.kamailio import Kamailio, kamailio_available
from tests.peers.registrar import OurRegistrar
from tests.peers.sipp import RegisteredUas, scenario

pytestmark = pytest.mark.interop
USERS = {**REFERENCE_USERS, "ghost": "ghost-pw"}  # ghost never registers
ALICE = ("alice", NAMED_USERS["alice"])


@dataclass
class Server:
    """A running registrar and what differs between them."""

    flavour: str  # "kamailio" or "ours"
    peer: SipServer
    refusal: tuple[str, str]  # the 11th contact: status line, and a header saying why

    @property
    def address(self) -> tuple[str, int]:
        return (self.peer.host, self.peer.port)


@pytest.fixture(scope="module", params=["kamailio", "ours-1-worker", "ours-2-workers"])
def server(request: pytest.FixtureRequest, need_sipp: None) -> Iterator[Server]:
    name = str(request.param)
    if name == "kamailio":
        reason = kamailio_available()
        if reason is not None:
            pytest.skip(reason)
        with Kamailio(USERS, max_contacts=10) as kamailio:
            refusal = (
                "SIP/2.0 503 Service Unavailable",
                "P-Registrar-Error: Too many registered contacts",
            )
            yield Server("kamailio", kamailio, refusal)
        return
    workers = "2" if name.endswith("2-workers") else "1"
    with OurRegistrar(USERS, extra_args=["--workers", workers]) as ours:
        refusal = (
            "SIP/2.0 403 Too Many Registered Contacts",
            'Warning: 399 softphone-lab "erin already has 10 registered contacts"',
        )
        yield Server("ours", ours, refusal)


def test_many_users_register_with_digest(server: Server, tmp_path: Path) -> None:
    result = register_many(server.peer, tmp_path, BULK_USERS)
    assert result.returncode == 0, explain(result, server.peer)
    assert (result.successful, result.failed) == (len(BULK_USERS), 0)


@pytest.mark.parametrize(
    ("scenario_name", "user", "password"),
    [
        ("register_wrong_password", "frank", NAMED_USERS["frank"]),
        ("register_unknown_user", "mallory", "mallory-pw"),
    ],
)
def test_bad_credentials_give_up_after_second_401(
    server: Server, tmp_path: Path, scenario_name: str, user: str, password: str
) -> None:
    result = register_once(server.peer, tmp_path, scenario_name, user, password)
    assert result.returncode == 0, explain(result, server.peer)
    assert result.successful == 1
    # Exactly one answer to the challenge, then silence (RFC 3261 §22.2).
    host, port = server.address
    assert sent(result.messages) == [f"REGISTER sip:{host}:{port} SIP/2.0"] * 2
    assert received(result.messages) == ["SIP/2.0 401 Unauthorized"] * 2


def test_wrong_password_and_unknown_user_look_alike(server: Server, tmp_path: Path) -> None:
    """No user-existence oracle: the final 401s carry the same header fields."""
    frank = NAMED_USERS["frank"]
    wrong = register_once(server.peer, tmp_path, "register_wrong_password", "frank", frank)
    unknown = register_once(server.peer, tmp_path, "register_unknown_user", "mallory", "pw")
    assert wrong.returncode == 0, explain(wrong, server.peer)
    assert final_header_names(wrong) == final_header_names(unknown)


def test_invite_with_proxy_auth_reaches_a_registered_uas(server: Server, tmp_path: Path) -> None:
    carol = NAMED_USERS["carol"]
    with RegisteredUas(
        server.address, "carol", carol, scenario("uas_register_answer"), timeout_s=15
    ) as uas:
        uac = call(server.peer, tmp_path, ALICE, "carol")
        callee = uas.wait(timeout=10)
    assert uac.returncode == 0, explain(uac, server.peer)
    assert callee.returncode == 0, explain(callee, server.peer)
    answers = received(uac.messages)
    assert "SIP/2.0 407 Proxy Authentication Required" in answers
    assert "SIP/2.0 200 OK" in answers
    # The INVITE reached the UAS through the proxy: its Record-Route and two Vias.
    invite = callee.messages.split("INVITE sip:carol@", 1)[1].split("\n\n", 1)[0]
    host, port = server.address
    assert f"Record-Route: <sip:{host}:{port};" in invite
    assert invite.count("Via: ") == 2
    assert "BYE sip:" in callee.messages  # the BYE followed the Record-Route


def test_fork_one_answers_the_other_gets_cancel_with_reason(server: Server, tmp_path: Path) -> None:
    dave = NAMED_USERS["dave"]
    # The answering phone rings 300 ms (sipp -d) so the other branch's 180 reaches the proxy
    # first: Kamailio 5.6.3 drops the Reason text from a CANCEL it had to delay.
    with (
        RegisteredUas(
            server.address, "dave", dave, scenario("uas_register_answer"), extra_args=["-d", "300"]
        ) as answering,
        RegisteredUas(server.address, "dave", dave, scenario("uas_register_ring_cancel")) as losing,
    ):
        uac = call(server.peer, tmp_path, ALICE, "dave")
        answered = answering.wait(timeout=10)
        cancelled = losing.wait(timeout=10)
    assert uac.returncode == 0, explain(uac, server.peer)
    assert answered.returncode == 0, explain(answered, server.peer)
    # The losing UAS's scenario checks the Reason header itself (ereg check_it).
    assert cancelled.returncode == 0, explain(cancelled, server.peer)
    assert 'Reason: SIP;cause=200;text="Call completed elsewhere"' in cancelled.messages
    assert received(uac.messages).count("SIP/2.0 180 Ringing") == 2


def test_caller_cancel_reaches_every_ringing_phone(server: Server, tmp_path: Path) -> None:
    frank = NAMED_USERS["frank"]
    with (
        RegisteredUas(server.address, "frank", frank, scenario("uas_register_ring")) as first,
        RegisteredUas(server.address, "frank", frank, scenario("uas_register_ring")) as second,
    ):
        uac = call(server.peer, tmp_path, ALICE, "frank", "uac_invite_cancel")
        rang = [first.wait(timeout=10), second.wait(timeout=10)]
    assert uac.returncode == 0, explain(uac, server.peer)
    for phone in rang:
        assert phone.returncode == 0, explain(phone, server.peer)
        assert "Call completed elsewhere" not in phone.messages  # the caller gave up
    # 200 for the CANCEL (Kamailio says "200 canceling"), then 487 for the INVITE.
    last_two = [line[:11] for line in received(uac.messages)[-2:]]
    assert last_two == ["SIP/2.0 200", "SIP/2.0 487"]


def test_calling_an_unknown_or_absent_user(server: Server, tmp_path: Path) -> None:
    unknown = call(server.peer, tmp_path, ALICE, "nobody")
    assert "SIP/2.0 404 Not Found" in received(unknown.messages)
    absent = call(server.peer, tmp_path, ALICE, "ghost")
    assert "SIP/2.0 480 Temporarily Unavailable" in received(absent.messages)


def test_eleventh_contact_is_refused_with_a_reason(server: Server, tmp_path: Path) -> None:
    result = register_contacts(server.peer, tmp_path, "erin", NAMED_USERS["erin"], 11)
    assert result.returncode == 1, explain(result, server.peer)
    assert (result.successful, result.failed) == (10, 1)
    status, why = server.refusal
    assert received(result.messages)[-1] == status
    assert why in result.messages
