"""Fixtures for the interop tests: real peers (Kamailio, sipp) on loopback.

A test that needs a peer asks for its fixture; when the peer is not installed the
test is skipped with the reason (which Debian package is missing), never failed.
Kamailio is started once per module with a known user set and always stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.peers.kamailio import Kamailio, kamailio_available
from tests.peers.sipp import sipp_available

# The reference user set: named users for the call tests, and 200 numbered users for
# the bulk REGISTER test (the same shape the registrar benchmark uses).
BULK_USERS = {f"user{i:03d}": f"pw-{i:03d}-secret" for i in range(200)}
NAMED_USERS = {
    "alice": "alice-pw",
    "carol": "carol-pw",
    "dave": "dave-pw",
    "erin": "erin-pw",
    "frank": "frank-pw",
}
REFERENCE_USERS = {**NAMED_USERS, **BULK_USERS}


@pytest.fixture(scope="session")
def need_sipp() -> None:
    reason = sipp_available()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def need_kamailio() -> None:
    reason = kamailio_available()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def kamailio(need_kamailio: None, need_sipp: None) -> Iterator[Kamailio]:
    """Kamailio as digest registrar + forking proxy with REFERENCE_USERS, max 10 contacts."""
    with Kamailio(REFERENCE_USERS, max_contacts=10) as server:
        yield server


@pytest.fixture
def make_kamailio(need_kamailio: None) -> Iterator[Callable[..., Kamailio]]:
    """Factory for a Kamailio with other settings (users, TLS, ...); all stopped at the end."""
    started: list[Kamailio] = []

    def make(users: dict[str, str], **kwargs: Any) -> Kamailio:
        server = Kamailio(users, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.cleanup()
