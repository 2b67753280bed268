"""`softphone register` (and the way every headless command ends) against real registrars.

Our lab registrar serves the module; one test uses Kamailio, the reference. What is asserted is
what went over the wire (the --trace file) and what a script sees (exit code, JSON lines).
"""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.headless.conftest import USERS, PhoneHome
from tests.peers.kamailio import Kamailio, kamailio_available
from tests.peers.registrar import OurRegistrar

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


def _trace(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _registers(trace: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in trace if t["direction"] == "out" and t["summary"] == "REGISTER"]


def test_register_with_the_stored_password(
    home: PhoneHome, registrar: OurRegistrar, tmp_path: Path
) -> None:
    home.add_account("work", registrar, user="alice")
    trace = tmp_path / "trace.jsonl"
    result = home.run("register", "work", "--trace", str(trace))
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == f"registering sip:alice@127.0.0.1 at sip:127.0.0.1:{registrar.port}"
    assert lines[1] == "registered as alice@127.0.0.1 for 3600 s"
    assert lines[2] == "bindings of sip:alice@127.0.0.1 (1):"
    assert lines[3].startswith("  sip:alice@127.0.0.1:") and "expires 3600 s" in lines[3]
    assert result.stderr == ""
    messages = _trace(trace)
    # REGISTER → 401 → REGISTER with credentials → 200, and the un-REGISTER at exit.
    assert [t["summary"] for t in messages[:4]] == [
        "REGISTER", "401 Unauthorized", "REGISTER", "200 OK"
    ]  # fmt: skip
    authorised = [t for t in _registers(messages) if "authorization:" in t["raw"].lower()]
    assert authorised and all('response="***"' in t["raw"] for t in authorised)
    unregister = _registers(messages)[-1]
    assert "expires: 0" in unregister["raw"].lower()
    assert messages[-1]["summary"] == "200 OK"
    assert trace.stat().st_mode & 0o777 == 0o600
    home.assert_no_secrets(result.stdout, result.stderr, extra=(trace,))


def test_register_password_stdin_json(home: PhoneHome, registrar: OurRegistrar) -> None:
    home.add_account("work", registrar, user="bob", password=None)
    result = home.run("register", "work", "--json", "--password-stdin", stdin=USERS["bob"] + "\n")
    assert result.returncode == 0, result
    events = result.json_lines()
    registered = next(
        e for e in events if e["type"] == "RegistrationEvent" and e["state"] == "registered"
    )
    assert registered["code"] == 200 and registered["account"] == "work"
    assert len(registered["bindings"]) == 1
    assert registered["bindings"][0]["contact"].startswith("sip:bob@127.0.0.1:")
    summary = result.summary()
    assert summary["ok"] and summary["exit"] == 0 and summary["expires"] == 3600
    assert summary["bindings"] == [registered["bindings"][0]["contact"]]
    assert not home.keyring_file.exists()  # used for this run, never stored
    home.assert_no_secrets(result.stdout, result.stderr)


def test_wrong_password_exits_1_with_the_reason(
    home: PhoneHome, registrar: OurRegistrar, tmp_path: Path
) -> None:
    home.add_account("work", registrar, user="alice", password="not-the-password")
    trace = tmp_path / "bad.jsonl"
    result = home.run("register", "work", "--trace", str(trace), "--json")
    assert result.returncode == 1, result
    summary = result.summary()
    assert summary["code"] == 401 and summary["exit"] == 1
    assert summary["message"].startswith(
        "registration failed: 401 Unauthorized: the registrar rejected the credentials for "
        "user alice (401 after answering the challenge"
    )
    assert "check the user name and password" in result.stderr
    authorised = [t for t in _registers(_trace(trace)) if "authorization:" in t["raw"].lower()]
    print(f"\n{len(authorised)} authenticated REGISTERs for a wrong password")
    assert 1 <= len(authorised) <= 3
    assert "not-the-password" not in trace.read_text() + result.stdout + result.stderr


def test_register_at_kamailio_with_password_stdin(home: PhoneHome, tmp_path: Path) -> None:
    reason = kamailio_available()
    if reason:
        pytest.skip(reason)
    with Kamailio(USERS) as kamailio:
        home.add_account("kam", kamailio, user="carol", password=None)
        trace = tmp_path / "kam.jsonl"
        result = home.run(
            "register", "kam", "--password-stdin", "--trace", str(trace),
            stdin=USERS["carol"] + "\n",
        )  # fmt: skip
        port = kamailio.port
    assert result.returncode == 0, result
    assert "registered as carol@127.0.0.1 for" in result.stdout
    messages = _trace(trace)
    assert [t["summary"] for t in messages[:4]] == [
        "REGISTER", "401 Unauthorized", "REGISTER", "200 OK"
    ]  # fmt: skip
    assert {t["remote"] for t in messages} == {f"127.0.0.1:{port}"}
    home.assert_no_secrets(result.stdout, result.stderr, extra=(trace,))


def test_no_answer_from_the_registrar_times_out(home: PhoneHome) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:  # bound, never read
        silent.bind(("127.0.0.1", 0))
        home.add_account("work", SimpleNamespace(port=silent.getsockname()[1]), user="alice")
        result = home.run("register", "work", "--timeout", "1.5")
    assert result.returncode == 1
    assert "no final answer from the registrar within 1.5 s" in result.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_hangs_up_unregisters_and_exits(
    home: PhoneHome, registrar: OurRegistrar, tmp_path: Path, sig: int, code: int
) -> None:
    home.add_account("work", registrar, user="carol")
    trace = tmp_path / "listen.jsonl"
    listener = home.spawn("listen", "work", "--trace", str(trace))
    listener.wait_for("waiting for calls")
    listener.proc.send_signal(sig)
    result = listener.finish(20)
    assert result.returncode == code, result
    assert "hung up and unregistered" in result.stderr
    assert "Traceback" not in result.stderr
    unregister = _registers(_trace(trace))[-1]
    assert "expires: 0" in unregister["raw"].lower()
    assert _trace(trace)[-1]["summary"] == "200 OK"


def test_a_taken_sip_port_is_reported_not_hung(home: PhoneHome, registrar: OurRegistrar) -> None:
    home.add_account("work", registrar, user="alice")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = str(taken.getsockname()[1])
        result = home.run("register", "work", "--sip-port", port, timeout=20)
    assert result.returncode == 1, result
    assert "the phone engine did not start" in result.stderr
    assert "Address already in use" in result.stderr
