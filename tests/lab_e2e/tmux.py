"""Drive a program in a real terminal: a private tmux server, keys in, screen text out.

The end-to-end test sees what a newcomer sees: `tmux send-keys` types, `tmux capture-pane`
reads the screen, and `wait_for` polls the screen against a condition until a deadline (the
condition is the synchronisation, never the time). Each Tmux runs its own server (`-L` socket,
no config file), so a developer's tmux is never touched, and `kill()` ends it and everything
started in it.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

POLL = 0.05  # seconds between screen reads while waiting on a condition


class ScreenTimeout(AssertionError):
    """The screen never met the condition; the message carries the last screen."""


class Tmux:
    def __init__(self, width: int = 160, height: int = 48) -> None:
        self.socket = f"softphone-e2e-{uuid.uuid4().hex[:12]}"
        self.width, self.height = width, height
        self.target = "e2e:0.0"
        self.screens: list[str] = []  # every screen read, for checks over the whole run
        self.raw_log: Path | None = None

    def _tmux(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def start(self, env: dict[str, str], prompt: str, raw_log: Path | None = None) -> None:
        """A clean interactive bash with only `env` and a recognisable prompt; with `raw_log`,
        every byte the programs write to the terminal is also appended to that file (tmux
        pipe-pane), so output that was painted over later can still be found."""
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell = f"env -i {assignments} PS1={shlex.quote(prompt)} bash --norc --noprofile -i"
        self._tmux(
            "new-session", "-d", "-s", "e2e", "-x", str(self.width), "-y", str(self.height), shell
        )
        self._tmux("set-option", "-t", "e2e", "status", "off")
        if raw_log is not None:
            self.raw_log = raw_log
            command = f"cat >> {shlex.quote(str(raw_log))}"
            self._tmux("pipe-pane", "-o", "-t", self.target, command)
        self.wait_for(lambda s: prompt.rstrip() in s, 10, "the shell prompt")

    def raw(self) -> str:
        """Everything written to the terminal so far (needs `raw_log`)."""
        if self.raw_log is None or not self.raw_log.exists():
            return ""
        return self.raw_log.read_bytes().decode("utf-8", "replace")

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.target, "-l", text)

    def keys(self, *keys: str) -> None:
        """tmux key names: Enter, F3, C-q ..."""
        self._tmux("send-keys", "-t", self.target, *keys)

    def screen(self) -> str:
        text = self._tmux("capture-pane", "-p", "-t", self.target)
        self.screens.append(text)
        return text

    def alternate_screen(self) -> bool:
        """True while a full-screen program holds the terminal's alternate screen."""
        return (
            self._tmux("display-message", "-p", "-t", self.target, "#{alternate_on}").strip() == "1"
        )

    def pane_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", self.target, "#{pane_pid}"))

    def wait_for(self, condition: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if condition(text):
                return text
            if time.monotonic() > deadline:
                raise ScreenTimeout(f"no {what} within {timeout} s; the screen:\n{text}")
            time.sleep(POLL)  # poll interval; the condition above is what is waited on

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self._tmux("kill-server", check=False)
