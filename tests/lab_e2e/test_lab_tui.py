"""`softphone lab` end to end in a real terminal (tmux), the way the README's first command runs.

Start the lab, wait for the TUI to show its accounts registered, dial the echo number, see
INVITE and 200 on the ladder, hang up, quit: exit code 0, no traceback, the terminal given back
(alternate screen left, shell prompt shown), no pjsua2 text on the screen at any point, and no
far-end process left. Every wait is on the screen's content, with a deadline.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from softphone.labapp import demo
from softphone.labapp.session import ports_free
from tests.engine.harness import REPO
from tests.lab_e2e import procs
from tests.lab_e2e.tmux import Tmux
from tests.peers.ports import free_port_block

PROMPT = "lab-e2e$ "
# What pjsua prints when it escapes to the terminal (its libCreate banner, console log lines):
# a time stamp, then the C source file ("02:00:00.123 os_core_unix.c !pjlib 2.15.1 for POSIX
# initialized"). Text the TUI chooses to show (a notification quoting an engine warning) is not
# stray output and is not matched.
PJSUA_TEXT = re.compile(r"\d\d:\d\d:\d\d\.\d{3}\s+\S+\.(?:c|cpp)\b|pjlib \d")
ACCOUNTS = 2  # SoftphoneApp shows a row per lab account: lab (alice) and lab-700


@pytest.fixture
def term(tmp_path: Path) -> Iterator[Tmux]:
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "LANG": "C.UTF-8",
        "TERM": "tmux-256color",
        "PYTHONPATH": str(REPO),
        # Never the developer's keyring (the lab passes its passwords in, but be sure).
        "PYTHON_KEYRING_BACKEND": "tests.accounts.file_keyring.JsonFileKeyring",
        "SOFTPHONE_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }
    tmux = Tmux()
    try:
        tmux.start(env, PROMPT, raw_log=tmp_path / "terminal.raw")
        yield tmux
    finally:
        tmux.kill()


def _launch(term: Tmux, port: int) -> float:
    command = f"cd {REPO} && timeout -k 5 150 {sys.executable} -m softphone lab --port {port}"
    term.type(f"{command}; echo LAB-EXIT=$?")
    started = time.monotonic()
    term.keys("Enter")
    return started


def _exited(screen: str) -> bool:
    """The shell printed the lab's exit code (not just the typed `echo LAB-EXIT=$?`)."""
    return re.search(r"^LAB-EXIT=\d+", screen, re.MULTILINE) is not None


def _registered(screen: str) -> bool:
    return screen.count("✓ registered") >= ACCOUNTS


def _call_row(screen: str, number: str, state: str) -> bool:
    """A row of the calls panel: the number (as user or user@host) and the call's state."""
    pattern = re.compile(rf"\b{number}\b.*\b{state}\b")
    return any(pattern.search(line) for line in screen.splitlines())


def _far_ends(port: int) -> list[int]:
    return procs.with_args("softphone.labapp.farend", "--port", str(port))


def _assert_clean(term: Tmux, screen: str, far_ends: list[int], port: int) -> None:
    assert re.search(r"^LAB-EXIT=0$", screen, re.MULTILINE), screen
    assert not term.alternate_screen(), "the TUI left the terminal on the alternate screen"
    screen = term.wait_for(
        lambda s: s.rstrip().endswith(PROMPT.rstrip()), 5, "the shell prompt after the lab"
    )
    assert "LAB-EXIT=0" in screen
    for seen in [*term.screens, term.raw()]:
        assert "Traceback" not in seen, seen
        stray = PJSUA_TEXT.search(seen)
        assert stray is None, f"pjsua2 text on the screen: {stray.group()!r} in\n{seen[-3000:]}"
    procs.wait_gone(far_ends, 10)
    assert ports_free(port), "the registrar still holds its port"


def test_dial_the_echo_number_read_the_ladder_and_quit(term: Tmux) -> None:
    port = free_port_block([0, 1])
    started = _launch(term, port)
    term.wait_for(_registered, 30, "lab accounts registered")
    registered_after = time.monotonic() - started
    far_ends = _far_ends(port)
    assert len(far_ends) == len(demo.PROCESSES)

    term.type(demo.ECHO)
    dialled = time.monotonic()
    term.keys("Enter")
    term.wait_for(lambda s: _call_row(s, demo.ECHO, "connected"), 15, "call connected")
    setup = time.monotonic() - dialled

    term.keys("F9")  # binding id "ladder": a screen of its own, without the accounts panel
    ladder = term.wait_for(
        lambda s: "Accounts" not in s and "INVITE" in s and re.search(r"\b200\b", s) is not None,
        10,
        "INVITE and 200 on the ladder",
    )
    assert ladder.index("INVITE") < ladder.rindex("200"), ladder  # top to bottom, in time
    term.keys("Escape")
    term.wait_for(lambda s: "Accounts" in s, 10, "the main screen again")

    term.keys("F3")  # binding id "hangup"
    term.wait_for(lambda s: _call_row(s, demo.ECHO, "ended"), 10, "call ended")

    term.keys("C-q")  # binding id "quit"
    screen = term.wait_for(_exited, 30, "the lab's exit")
    _assert_clean(term, screen, far_ends, port)
    print(f"\ncommand → registered: {registered_after:.2f} s; dial → connected: {setup:.2f} s")
    assert registered_after < 10
    assert setup < 5


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_lab_and_its_far_ends(term: Tmux, sig: signal.Signals) -> None:
    """Ctrl-C outside the TUI's raw mode (`kill -INT`), or `kill`: everything stops cleanly,
    exit code 0, and the terminal is given back."""
    port = free_port_block([0, 1])
    _launch(term, port)
    term.wait_for(_registered, 30, "lab accounts registered")
    far_ends = _far_ends(port)
    lab = procs.with_args("-m", "softphone", "lab", str(port))
    lab = [pid for pid in lab if pid not in far_ends and "timeout" not in _comm(pid)]
    assert len(lab) == 1 and len(far_ends) == len(demo.PROCESSES), (lab, far_ends)
    os.kill(lab[0], sig)
    screen = term.wait_for(_exited, 30, "the lab's exit")
    _assert_clean(term, screen, far_ends, port)


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""
