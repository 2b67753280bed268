"""One far-end child process seen from the lab: launch, follow its reports, stop it in order.

The child (softphone.labapp.farend) reports on stdout in JSON lines; a reader thread records them
and wakes whoever waits. Stopping closes the child's stdin, which makes it hang up, unregister
(while the registrar still answers) and exit 0; only a child that does not exit in time is
terminated, then killed. The child runs in its own session so the terminal's Ctrl-C reaches the
lab alone, which then stops everything in the right order.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STOP_WAIT = 8.0  # its engine waits ≤2 s for hang-ups and ≤3 s for un-REGISTER answers

Report = dict[str, Any]


class FarEndProcess:
    """A running `python -m softphone.labapp.farend` for some of the lab's devices."""

    def __init__(
        self,
        devices: tuple[str, ...],
        *,
        port: int,
        host: str,
        tone: Path,
        rtp_port: int,
        log: Path,
        on_report: Callable[[Report], None],
        cond: threading.Condition,
    ) -> None:
        self.devices = devices
        self.log = log
        self.state = "starting"  # starting, started, ready, failed, stopped
        self.error: str | None = None
        self.exit_code: int | None = None
        self.ready_at: float | None = None  # time.monotonic() of "ready"
        self._on_report = on_report
        self._cond = cond  # shared with the session, so one wait covers every far end
        self._stopping = False
        command = [
            sys.executable, "-m", "softphone.labapp.farend",
            "--port", str(port), "--host", host, "--tone", str(tone),
            "--rtp-port", str(rtp_port), "--devices", ",".join(devices),
        ]  # fmt: skip
        with log.open("w") as stderr:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        self._reader = threading.Thread(target=self._read, name="lab-farend-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                report = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(report, dict):
                self._record(report)
        code = self.proc.wait()
        with self._cond:
            self.exit_code = code
            failed = not self._stopping and self.state != "failed"
            if failed:
                self.state = "failed"
                self.error = self.error or f"the far end exited with code {code}; see {self.log}"
            elif self.state != "failed":
                self.state = "stopped"
            self._cond.notify_all()
        if failed:
            self._on_report({"kind": "error", "message": self.error})

    def _record(self, report: Report) -> None:
        kind = report.get("kind")
        with self._cond:
            if kind == "started" and self.state == "starting":
                self.state = "started"
            elif kind == "ready" and self.state != "failed":
                self.state = "ready"
                self.ready_at = time.monotonic()
            elif kind == "error":
                self.state = "failed"
                self.error = str(report.get("message"))
            elif kind == "failed" and self.state != "ready":
                self.error = f"{report.get('account')} did not register: " + (
                    f"{report.get('code')} {report.get('reason', '')}".strip()
                )
            self._cond.notify_all()
        self._on_report(report)

    def close_stdin(self) -> None:
        """Ask the child to stop (EOF on its stdin); returns at once."""
        with self._cond:
            self._stopping = True
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()

    def wait_stopped(self, timeout: float = STOP_WAIT) -> int:
        """Wait for the exit (terminate, then kill, if it overstays); the exit code."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(2)
        self._reader.join(5)
        return self.proc.returncode
