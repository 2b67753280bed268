"""The TUI end to end on the real engine (pjsua2) and our real registrar/proxy.

The app runs in its own process (tests/ui/e2e_driver.py: one pjsua2 Endpoint per process) and
is driven by keys; this test checks what it reported and that it exited cleanly (no abort).
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.peers.ports import free_port_block
from tests.peers.registrar import OurRegistrar

REPO = Path(__file__).resolve().parents[2]


def test_register_call_answer_hangup_ladder_quit(tmp_path: Path, home: Path) -> None:
    out = tmp_path / "result.json"
    rtp = free_port_block(range(20), kinds=("udp",))
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # HOME / XDG_* point at tmp (fixture)
    with OurRegistrar({"alice": "alice-pw", "bob": "bob-pw"}) as registrar:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.ui.e2e_driver",
                str(registrar.udp_port),
                str(rtp),
                str(out),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.exists(), f"rc={proc.returncode}\n{proc.stderr[-3000:]}"
    result = json.loads(out.read_text())
    assert result["ok"], f"{result}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result["devices_alice"] == 1
    assert set(result["connected"]) == {"in", "out"}
    assert result["connected"]["out"].split("/")[0] in ("PCMU", "PCMA", "G722")
    assert result["calls_table_rows"] == 2
    assert "INVITE" in result["trace_summaries"] and "REGISTER" in result["trace_summaries"]
    assert "BYE" in result["trace_summaries"]
    assert result["engine_stopped"] is True and result["return_code"] == 0
    assert not [n for n in result["notices"] if "error" in n.lower()], result["notices"]


def test_softphone_command_in_a_terminal(tmp_path: Path, home: Path) -> None:
    """`softphone` alone, in a pseudo-terminal, on an account stored with `softphone account`
    (password in a test keyring): it registers, shows it, quits on ctrl+q with exit code 0,
    and nothing is printed over the screen or after it (pjlib's start-up banner)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "tests.accounts.file_keyring.JsonFileKeyring",
        "SOFTPHONE_TEST_KEYRING": str(tmp_path / "keyring.json"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    with OurRegistrar({"alice": "alice-pw"}) as registrar:
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "softphone",
                "account",
                "add",
                "home",
                "--provider",
                "generic",
                "--username",
                "alice",
                "--domain",
                "127.0.0.1",
                "--registrar",
                f"sip:127.0.0.1:{registrar.udp_port}",
                "--password-stdin",
            ],
            input="alice-pw\n",
            text=True,
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert added.returncode == 0, added.stderr
        shown, rc, after = run_in_pty([sys.executable, "-m", "softphone"], env, b"registered")
    assert b"\xe2\x9c\x93 registered" in shown  # "✓ registered"
    assert b"REGISTER" in shown  # the SIP log pane
    assert rc == 0
    assert b"pjlib" not in shown + after and b"pjsua" not in (shown + after).lower()


def run_in_pty(argv: list[str], env: dict[str, str], wait_for: bytes) -> tuple[bytes, int, bytes]:
    """Run `argv` on a 120×40 pseudo-terminal until `wait_for` shows, then ctrl+q; returns
    (output until then, exit code, output after ctrl+q)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO, start_new_session=True
    )
    os.close(slave)
    shown = after = b""
    try:
        deadline = time.monotonic() + 30
        while wait_for not in shown:
            assert time.monotonic() < deadline, shown[-2000:]
            if select.select([master], [], [], 0.1)[0]:
                shown += os.read(master, 65536)
        # A moment for the log pane's next flush, then quit; keep reading meanwhile.
        settle = time.monotonic() + 0.5
        while time.monotonic() < settle:
            if select.select([master], [], [], 0.05)[0]:
                shown += os.read(master, 65536)
        os.write(master, b"\x11")
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    after += os.read(master, 65536)
                except OSError:  # the app closed the terminal
                    break
        rc = proc.wait(max(0.1, deadline - time.monotonic()))
        while select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            after += chunk
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        os.close(master)
    return shown, rc, after
