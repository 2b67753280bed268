"""Our registrar + forking proxy (`softphone registrar`) against real sipp peers.

The same sipp scenarios as the Kamailio reference tests, so the behaviour compared is the
behaviour a VoIP engineer would see. The call and registration tests also run with two worker
processes, where any worker may receive any datagram and state lives with its owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.conftest import BULK_USERS, NAMED_USERS, REFERENCE_USERS
from tests.interop.flows import (
    call,
    explain,
    final_header_names,
    received,
    register_contacts,
    register_many,
    register_once,
    sent,
)
from tests.peers.registrar import OurRegistrar
from tests.peers.sipp import RegisteredUas, scenario

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def ours(request: pytest.FixtureRequest, need_sipp: None) -> Iterator[OurRegistrar]:
    workers = int(request.param)
    users = {**REFERENCE_USERS, "ghost": "ghost-pw"}  # ghost never registers
    with OurRegistrar(users, extra_args=["--workers", str(workers)]) as server:
        yield server


def test_many_users_register_with_digest(ours: OurRegistrar, tmp_path: Path) -> None:
    result = register_many(ours, tmp_path, BULK_USERS)
    assert result.returncode == 0, explain(result, ours)
    assert (result.successful, result.failed) == (len(BULK_USERS), 0)


@pytest.mark.parametrize(
    ("scenario_name", "user", "password"),
    [
        ("register_wrong_password", "frank", NAMED_USERS["frank"]),
        ("register_unknown_user", "mallory", "mallory-pw"),
    ],
)
def test_bad_credentials_get_a_second_401(
    ours: OurRegistrar, tmp_path: Path, scenario_name: str, user: str, password: str
) -> None:
    result = register_once(ours, tmp_path, scenario_name, user, password)
    assert result.returncode == 0, explain(result, ours)
    assert sent(result.messages) == [f"REGISTER sip:{ours.host}:{ours.port} SIP/2.0"] * 2
    assert received(result.messages) == ["SIP/2.0 401 Unauthorized"] * 2


def test_wrong_password_and_unknown_user_look_alike(ours: OurRegistrar, tmp_path: Path) -> None:
    wrong = register_once(ours, tmp_path, "register_wrong_password", "frank", NAMED_USERS["frank"])
    unknown = register_once(ours, tmp_path, "register_unknown_user", "mallory", "pw")
    assert final_header_names(wrong) == final_header_names(unknown)


def test_invite_through_the_proxy_to_a_registered_uas(ours: OurRegistrar, tmp_path: Path) -> None:
    registrar = (ours.host, ours.port)
    with RegisteredUas(
        registrar, "carol", NAMED_USERS["carol"], scenario("uas_register_answer"), timeout_s=15
    ) as uas:
        uac = call(ours, tmp_path, ("alice", NAMED_USERS["alice"]), "carol")
        callee = uas.wait(timeout=10)
    assert uac.returncode == 0, explain(uac, ours)
    assert callee.returncode == 0, explain(callee, ours)
    answers = received(uac.messages)
    assert answers[0] == "SIP/2.0 100 Trying"
    assert "SIP/2.0 407 Proxy Authentication Required" in answers
    assert "SIP/2.0 200 OK" in answers
    invite = callee.messages.split("INVITE sip:carol@", 1)[1].split("\n\n", 1)[0]
    assert f"Record-Route: <sip:{ours.host}:{ours.port};transport=udp;lr;dlg=" in invite
    assert invite.count("Via: ") == 2
    # The BYE came through the proxy too (it follows the Record-Route).
    assert "BYE sip:" in callee.messages


def test_fork_one_answers_the_other_gets_cancel_with_reason(
    ours: OurRegistrar, tmp_path: Path
) -> None:
    registrar = (ours.host, ours.port)
    password = NAMED_USERS["dave"]
    with (
        RegisteredUas(
            registrar, "dave", password, scenario("uas_register_answer"), extra_args=["-d", "300"]
        ) as answering,
        RegisteredUas(registrar, "dave", password, scenario("uas_register_ring_cancel")) as losing,
    ):
        uac = call(ours, tmp_path, ("alice", NAMED_USERS["alice"]), "dave")
        answered = answering.wait(timeout=10)
        cancelled = losing.wait(timeout=10)
    assert uac.returncode == 0, explain(uac, ours)
    assert answered.returncode == 0, explain(answered, ours)
    assert cancelled.returncode == 0, explain(cancelled, ours)  # checks Reason itself (ereg)
    assert 'Reason: SIP;cause=200;text="Call completed elsewhere"' in cancelled.messages
    # The caller saw both phones ring before one answered.
    assert received(uac.messages).count("SIP/2.0 180 Ringing") == 2


def test_fork_without_provisional_still_cancels_with_reason(
    ours: OurRegistrar, tmp_path: Path
) -> None:
    """Unlike Kamailio 5.6.3, the CANCEL sent once the late 180 arrives keeps its text."""
    registrar = (ours.host, ours.port)
    password = NAMED_USERS["erin"]
    with (
        RegisteredUas(registrar, "erin", password, scenario("uas_register_answer")) as answering,
        RegisteredUas(registrar, "erin", password, scenario("uas_register_ring_cancel")) as losing,
    ):
        uac = call(ours, tmp_path, ("alice", NAMED_USERS["alice"]), "erin")
        assert answering.wait(timeout=10).returncode == 0
        cancelled = losing.wait(timeout=10)
    assert uac.returncode == 0, explain(uac, ours)
    assert cancelled.returncode == 0, explain(cancelled, ours)


def test_caller_cancel_reaches_every_ringing_phone(ours: OurRegistrar, tmp_path: Path) -> None:
    registrar = (ours.host, ours.port)
    password = NAMED_USERS["carol"]
    with (
        RegisteredUas(registrar, "carol", password, scenario("uas_register_ring")) as first,
        RegisteredUas(registrar, "carol", password, scenario("uas_register_ring")) as second,
    ):
        uac = call(ours, tmp_path, ("alice", NAMED_USERS["alice"]), "carol", "uac_invite_cancel")
        rang = [first.wait(timeout=10), second.wait(timeout=10)]
    assert uac.returncode == 0, explain(uac, ours)
    for phone in rang:
        assert phone.returncode == 0, explain(phone, ours)
        assert "Call completed elsewhere" not in phone.messages  # the caller gave up
    assert received(uac.messages)[-2:] == ["SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated"]


def test_calling_an_unknown_or_absent_user(ours: OurRegistrar, tmp_path: Path) -> None:
    unknown = call(ours, tmp_path, ("alice", NAMED_USERS["alice"]), "nobody")
    assert "SIP/2.0 404 Not Found" in received(unknown.messages)
    absent = call(ours, tmp_path, ("alice", NAMED_USERS["alice"]), "ghost")
    assert "SIP/2.0 480 Temporarily Unavailable" in received(absent.messages)


def test_eleventh_contact_is_refused_with_a_reason(ours: OurRegistrar, tmp_path: Path) -> None:
    result = register_contacts(ours, tmp_path, "frank", NAMED_USERS["frank"], 11)
    assert (result.successful, result.failed) == (10, 1), explain(result, ours)
    assert received(result.messages)[-1] == "SIP/2.0 403 Too Many Registered Contacts"
    assert (
        'Warning: 399 softphone-lab "frank already has 10 registered contacts"' in result.messages
    )


def test_bindings_survive_a_restart(need_sipp: None, tmp_path: Path) -> None:
    """carol registers, the registrar restarts on the same database, a call still reaches her."""
    db = tmp_path / "bindings.sqlite3"
    users = {"alice": NAMED_USERS["alice"], "carol": NAMED_USERS["carol"]}
    first = OurRegistrar(users, db=db).start()
    try:
        uas = RegisteredUas(
            (first.host, first.port), "carol", users["carol"], scenario("uas_register_answer")
        ).start()
    finally:
        assert first.stop() == 0  # SIGTERM: clean exit, pending bindings written
        first.cleanup()
    try:
        with OurRegistrar(users, db=db) as second:
            assert "1 bindings kept" in second.log
            uac = call(second, tmp_path, ("alice", users["alice"]), "carol")
            callee = uas.wait(timeout=10)
    finally:
        uas.close()
    assert uac.returncode == 0, explain(uac, second)
    assert callee.returncode == 0, explain(callee, second)
