"""sipp flows shared by the reference (Kamailio) tests and the tests of our registrar."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from tests.peers.sipp import Sipp, SippResult, scenario, write_injection


class SipServer(Protocol):
    """What the flows need of Kamailio or OurRegistrar."""

    host: str

    @property
    def port(self) -> int: ...

    @property
    def log(self) -> str: ...


def explain(result: SippResult, server: SipServer) -> str:
    """sipp's account of a run plus the end of the server's log, for assertion messages."""
    return f"{result.explain()}\n--- server ---\n{server.log[-3000:]}"


def sent(messages: str) -> list[str]:
    """First lines of the messages sipp sent, from its -trace_msg log."""
    return re.findall(r"message sent \(\d+ bytes\):\n\n([^\r\n]+)", messages)


def received(messages: str) -> list[str]:
    return re.findall(r"message received \[\d+\] bytes :\n\n([^\r\n]+)", messages)


def register_many(server: SipServer, tmp_path: Path, users: dict[str, str]) -> SippResult:
    """Every user registers once with digest, 20 at a time."""
    csv = write_injection(tmp_path / "users.csv", [(u, p, u) for u, p in users.items()])
    return Sipp(
        scenario("register_digest"),
        (server.host, server.port),
        injection=csv,
        calls=len(users),
        rate=2000,
        limit=20,
        timeout_s=20,
    ).run()


def register_once(
    server: SipServer, tmp_path: Path, scenario_name: str, user: str, password: str
) -> SippResult:
    csv = write_injection(tmp_path / f"{scenario_name}.csv", [(user, password, user)])
    return Sipp(
        scenario(scenario_name),
        (server.host, server.port),
        injection=csv,
        calls=1,
        trace_messages=True,
        timeout_s=10,
    ).run()


def final_header_names(result: SippResult) -> list[str]:
    """The header names of the last message sipp received (sorted)."""
    last = result.messages.rsplit("message received", 1)[1]
    return sorted(re.findall(r"^([A-Za-z-]+):", last, flags=re.M))


def call(
    server: SipServer,
    tmp_path: Path,
    caller: tuple[str, str],
    callee: str,
    scenario_name: str = "uac_invite_auth",
) -> SippResult:
    """INVITE → 407 → INVITE with credentials → 200 → ACK → BYE, through the proxy (or another
    caller scenario with the same injection fields, e.g. uac_invite_cancel)."""
    csv = write_injection(tmp_path / "caller.csv", [caller])
    return Sipp(
        scenario(scenario_name),
        (server.host, server.port),
        injection=csv,
        service=callee,
        calls=1,
        trace_messages=True,
        timeout_s=10,
    ).run()


def register_contacts(
    server: SipServer, tmp_path: Path, user: str, password: str, count: int
) -> SippResult:
    """`count` different contacts for one user, one after the other."""
    csv = write_injection(
        tmp_path / "contacts.csv", [(user, password, f"{user}-{i}") for i in range(count)]
    )
    return Sipp(
        scenario("register_digest"),
        (server.host, server.port),
        injection=csv,
        calls=count,
        limit=1,
        rate=1000,
        trace_messages=True,
        timeout_s=10,
    ).run()
