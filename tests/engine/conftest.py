"""Fixtures for the engine tests: engine processes, real registrars, the test PKI.

`engines` starts EngineProcs (one pjsua2 Endpoint per process, engine-notes §2) and, at the
end of the test, stops every one and fails the test unless each exited with 0 — no abort
(SIGABRT, rc -6/134), no hang (a process that does not exit in time is killed and counted as a
failure). Registrars are the real ones from tests/peers: Kamailio and our lab registrar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.harness import EngineProc, stop_all
from tests.peers.certs import PeerPki, session_pki
from tests.peers.kamailio import Kamailio, kamailio_available
from tests.peers.registrar import OurRegistrar

USERS = {
    "alice": "alice-pw",
    "bob": "bob-pw",
    "carol": "carol-pw",
    "dave": "dave-pw",
}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PeerPki:
    return session_pki(tmp_path_factory)


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Callable[..., EngineProc]]:
    """Factory: engines(name, **EngineOptions fields) -> a started EngineProc."""
    started: list[EngineProc] = []

    def make(name: str, **options: Any) -> EngineProc:
        proc = EngineProc(tmp_path, name, **options)
        started.append(proc)
        return proc.start()

    yield make
    stop_all(started)


@pytest.fixture(scope="session")
def need_kamailio() -> None:
    reason = kamailio_available()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def make_kamailio(need_kamailio: None) -> Iterator[Callable[..., Kamailio]]:
    started: list[Kamailio] = []

    def make(users: dict[str, str] | None = None, **kwargs: Any) -> Kamailio:
        server = Kamailio(users or USERS, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.cleanup()


@pytest.fixture
def kamailio(make_kamailio: Callable[..., Kamailio]) -> Kamailio:
    return make_kamailio()


@pytest.fixture
def make_registrar() -> Iterator[Callable[..., OurRegistrar]]:
    started: list[OurRegistrar] = []

    def make(users: dict[str, str] | None = None, **kwargs: Any) -> OurRegistrar:
        server = OurRegistrar(users or USERS, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.cleanup()


@pytest.fixture
def registrar(make_registrar: Callable[..., OurRegistrar]) -> OurRegistrar:
    return make_registrar()
