"""LabSession and `softphone lab --no-tui`: ports, clean stops, no orphans, clear failures.

Every process is bounded: subprocesses run under a deadline and are killed in `finally`; the
"no orphan" checks poll /proc for the far-end pids with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from softphone.lab.bindings import Binding
from softphone.lab.instance import LabStartError
from softphone.lab.store import LabStore
from softphone.labapp import demo
from softphone.labapp.session import LabSession, choose_port, ports_free
from tests.engine.harness import REPO, rtp_block
from tests.lab_e2e import procs
from tests.peers.ports import free_port_block


@contextlib.contextmanager
def _occupied(port: int) -> Iterator[None]:
    """Another program on the port (UDP, as a SIP server would be)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
        yield


def _session(home: Path, **kwargs: Any) -> LabSession:
    return LabSession(
        data_dir=home / "data", log_dir=home / "log", far_end_rtp_port=rtp_block(400), **kwargs
    )


def test_taken_default_port_falls_back_with_a_note() -> None:
    default, fallback = free_port_block([0, 1]), free_port_block([0, 1])
    with _occupied(default):
        port, note = choose_port(None, default=default, fallbacks=(fallback,))
    assert port == fallback
    assert note is not None and f"127.0.0.1:{default} is in use" in note
    assert choose_port(None, default=default, fallbacks=(fallback,)) == (default, None)


def test_taken_explicit_port_is_an_error(lab_home: Path) -> None:
    port = free_port_block([0, 1])
    with _occupied(port), pytest.raises(LabStartError, match=f"port {port} .* is in use"):
        _session(lab_home, port=port).start()
    assert ports_free(port)


def test_stop_ends_every_far_end_and_frees_the_ports(lab_home: Path) -> None:
    port = free_port_block([0, 1])
    session = _session(lab_home, port=port)
    with session:
        assert session.wait_far_end(20), session.far_end_error
        assert session.far_end_ready_after is not None and session.far_end_ready_after < 10
        pids = session.far_end_pids
        assert len(pids) == len(demo.PROCESSES) and all(procs.alive(p) for p in pids)
        assert not ports_free(port)
    assert [f.exit_code for f in session.far_ends] == [0, 0]
    assert not any(procs.alive(p) for p in pids)
    assert ports_free(port)
    session.stop()  # idempotent


def test_stale_bindings_of_lab_devices_are_dropped_at_start(lab_home: Path) -> None:
    """A killed far end leaves bindings; a dead Contact would hold up 486 for 32 s."""
    home = lab_home / "stale"
    store = LabStore(home / "data" / "lab.sqlite3")
    far_future = time.time() + 3600
    stale = Binding(demo.BUSY, "sip:602@127.0.0.1:9", "sip:602@127.0.0.1:9", far_future, "x", 1)
    keep = Binding("bob", "sip:bob@127.0.0.1:9", "sip:bob@127.0.0.1:9", far_future, "y", 1)
    store.apply([stale, keep], [])
    store.close()
    with _session(home, port=free_port_block([0, 1]), far_end=False):
        store = LabStore(home / "data" / "lab.sqlite3")
        left = {(b.aor, b.key) for b in store.load_bindings(time.time())}
        store.close()
    assert (demo.BUSY, stale.key) not in left
    assert ("bob", keep.key) in left  # other people's phones keep their bindings


def _lab_process(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **{v: str(home / v.lower()) for v in ("XDG_DATA_HOME",
           "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")}}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "softphone", "lab", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _read_until(proc: subprocess.Popen[str], text: str, timeout: float) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # the process prints its lines promptly, then blocks
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"no {text!r} in {lines}")


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_headless_lab_leaves_no_orphans(tmp_path: Path, how: str) -> None:
    port = free_port_block([0, 1])
    proc = _lab_process(tmp_path, "--no-tui", f"--port={port}")
    try:
        lines = _read_until(proc, "far end ready", 20)
        assert f"listening udp:127.0.0.1:{port}\n" in lines
        far_ends = procs.children(proc.pid)
        assert len(far_ends) == len(demo.PROCESSES)
        proc.send_signal(getattr(signal, how))
        code = proc.wait(20)
        # Ctrl-C ends the lab cleanly; after SIGKILL the far ends notice stdin closing.
        assert code == (0 if how == "SIGINT" else -9)
        procs.wait_gone(far_ends, 15)
        if how == "SIGINT":
            assert proc.stderr is not None
            assert "Traceback" not in proc.stderr.read()
            assert ports_free(port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def test_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    port = free_port_block([0, 1])
    with _occupied(port):
        proc = _lab_process(tmp_path, "--no-tui", f"--port={port}")
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        f"softphone lab: error: port {port} (UDP/TCP) or {port + 1} (TLS) on 127.0.0.1 is in "
        "use: stop the program using it or choose another --port"
    ]


def test_missing_pjsua2_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A pjsua2 that cannot be imported (as on a machine without the wheel) shadows the real
    one through PYTHONPATH."""
    fake = tmp_path / "shadow" / "pjsua2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'pjsua2'\")\n")
    env = {**os.environ, "PYTHONPATH": str(fake.parent), "XDG_DATA_HOME": str(tmp_path / "d")}
    result = subprocess.run(
        [sys.executable, "-m", "softphone", "lab", "--no-tui", "--port=0"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pjsua2 cannot be loaded" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_the_numbers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "softphone", "lab", "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0
    for number in demo.NUMBERS:
        assert f"{number.user}  {number.summary.splitlines()[0]}" in result.stdout
    assert "alice (alice-lab-pw)" in result.stdout
