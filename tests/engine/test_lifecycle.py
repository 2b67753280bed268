"""Engine lifecycle: start, refuse what would abort, stop cleanly — every process exits 0.

Each case runs in a fresh interpreter (tests/engine/probe.py or the runner), bounded by a
timeout: a hang fails the test, and so does an abort (rc -6 / 134).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.harness import REPO, EngineProc, account

Engines = Callable[..., EngineProc]


def _probe(case: str, timeout: float = 30) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.engine.probe", case],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc.returncode, json.loads(lines[-1]) if lines else {}, proc.stderr


def test_guards_against_what_would_abort() -> None:
    code, out, err = _probe("guards")
    assert code == 0, err
    assert out["started_s"] < 1.0
    assert "one Endpoint per process" in out["refused"]
    assert out["bad_uri"].startswith("make_call: ") and len(out["bad_uri"]) > len("make_call: ")
    assert out["unknown"] == "account: no account named 'nobody'"
    assert out["thread"] == "sip-engine"
    assert "pjsua version 2.15.1" in out["recent"][0]  # recent_log() keeps pjsua's own lines
    assert out["stopped"] is True and out["again"] is True
    assert out["stop_s"] < 1.0  # no fixed 1 s busy-wait in libDestroy (PJSUA_DESTROY_NO_RX_MSG)
    assert "not running" in out["after"]
    assert out["restarted"] is True
    assert out["states"] == ["started", "stopping", "stopped"] * 2


def test_port_in_use_is_a_clear_start_error() -> None:
    code, out, err = _probe("port_in_use")
    assert code == 0, err
    assert "Address already in use" in out["error"]
    assert out["running"] is False


def test_a_failing_sink_does_not_break_the_engine() -> None:
    code, out, err = _probe("broken_sink")
    assert code == 0, err
    assert out["stopped"] is True and out["sink_calls"] > 3


def test_sip_capture_file_is_open_but_on_no_disk() -> None:
    # It holds every SIP message, Authorization headers included: unlinked once pjsua has it.
    code, out, err = _probe("private_capture")
    assert code == 0, err
    assert out["dir_left"] is False
    assert len(out["open_logs"]) >= 1
    assert all(link.endswith("(deleted)") for link in out["open_logs"]), out["open_logs"]
    assert out["stream"] is True  # glibc: the log stream was found and given a 1 MB buffer
    assert out["grew"] is True  # a mark counts what is still in that buffer
    assert len(out["read"]) == 1 and out["read"][0].endswith("a line from the probe\n")
    assert out["stopped"] is True


def test_only_the_pinned_codecs_are_offered() -> None:
    # speex comes in 8, 16 and 32 kHz and L16 in four variants: every one of them must be
    # off, not just the last of each name (speex/16000 and /8000 were still offered).
    code, out, err = _probe("codecs")
    assert code == 0, err
    assert out["enabled"] == ["PCMU/8000/1", "PCMA/8000/1", "G722/16000/1"]


def test_forgotten_stop_still_exits() -> None:
    code, out, err = _probe("forgotten_stop")
    assert out == {"started": True}
    assert code == 7, err  # the program's own exit code: no abort, no hang
    assert "Assertion" not in err


@pytest.mark.interop
def test_stop_with_a_live_call_and_registration(engines: Engines, registrar: Any) -> None:
    procs = {}
    for user in ("alice", "bob"):
        proc = engines(user)
        proc.cmd(
            "add_account",
            **account(user, user, f"{user}-pw", registrar.domain, registrar.port,
                      proxy=f"sip:127.0.0.1:{registrar.port};lr"),
        )  # fmt: skip
        proc.wait_event("RegistrationEvent", state="registered")
        procs[user] = proc
    alice, bob = procs["alice"], procs["bob"]
    alice.cmd("make_call", "alice", f"sip:bob@{registrar.domain}")
    ring = bob.wait_event("IncomingCallEvent")
    bob.cmd("answer", ring["call"])
    alice.wait_event("CallEvent", state="confirmed")
    mark = alice.mark()
    assert alice.stop() == 0
    stopping = next(e for e in alice.events[mark:] if e["type"] == "EngineStateEvent")
    stopped = alice.events[-1]
    assert stopped["type"] == "EngineStateEvent" and stopped["state"] == "stopped"
    took = stopped["_t"] - stopping["_t"]
    print(f"\nstop with a call and a registration: {took * 1000:.0f} ms")
    assert took < 1.5
    assert alice.find("CallEvent", mark, state="disconnected")
    assert alice.find("RegistrationEvent", mark, state="unregistered", code=200)
    assert bob.wait_event("CallEvent", state="disconnected")["code"] == 200  # BYE reached bob


def test_runner_exits_cleanly_on_eof(engines: Engines) -> None:
    proc = engines("eof")
    assert proc._proc is not None and proc._proc.stdin is not None
    proc._proc.stdin.close()  # the parent went away
    assert proc._proc.wait(15) == 0
