"""Our registrar's own behaviour beyond what Kamailio shares (that part is in
test_registrar_behaviour.py): the CANCEL to a late-ringing branch keeps its Reason text, and
bindings survive a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.conftest import NAMED_USERS, REFERENCE_USERS
from tests.interop.flows import call, explain
from tests.peers.registrar import OurRegistrar
from tests.peers.sipp import RegisteredUas, scenario

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=[1, 2], ids=["1-worker", "2-workers"])
def ours(request: pytest.FixtureRequest, need_sipp: None) -> Iterator[OurRegistrar]:
    with OurRegistrar(REFERENCE_USERS, extra_args=["--workers", str(request.param)]) as server:
        yield server


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
