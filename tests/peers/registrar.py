"""Run OUR registrar (`python -m softphone registrar`) the way tests/peers runs Kamailio.

Same shape as tests.peers.kamailio.Kamailio (host, port, domain, log, context manager),
so interop tests and scripts/bench_registrar can swap one for the other.

The CLI contract this relies on:
    python -m softphone registrar --listen udp:127.0.0.1:0 --listen tcp:127.0.0.1:0
        [--listen tls:127.0.0.1:0] --users-file FILE --db FILE --realm REALM
        [--max-contacts N] [--trace FILE]
- users file: one `name:password` per line;
- once ready it prints exactly one line per listener on stdout, flushed:
  `listening udp:127.0.0.1:PORT` (likewise tcp:/tls:), with the real port for port 0;
- SIGTERM stops it cleanly with exit code 0.
Readiness is those lines, not a delay: with port 0 nobody else knows the port anyway.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from tests.peers.ports import HOST
from tests.peers.process import PeerProcess

_LISTENING = re.compile(r"^listening (udp|tcp|tls):([0-9.]+):(\d+)$")


class RegistrarError(RuntimeError):
    """Our registrar did not start or did not stop cleanly (the message has its output)."""


class OurRegistrar(PeerProcess):
    """Context manager: our registrar on 127.0.0.1, ports chosen by the OS (port 0).

    `db` defaults to a fresh SQLite file in a temp dir; pass a path to keep bindings
    across a restart.  `trace` is handed to --trace as is.
    """

    def __init__(
        self,
        users: dict[str, str],
        *,
        realm: str = HOST,
        tls: bool = False,
        max_contacts: int | None = None,
        trace: Path | None = None,
        db: Path | None = None,
        start_timeout: float = 15.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.users = dict(users)
        self.realm = realm
        self.transports = ("udp", "tcp", "tls") if tls else ("udp", "tcp")
        self.max_contacts = max_contacts
        self.trace = trace
        self.db = db
        self.start_timeout = start_timeout
        self.extra_args = tuple(extra_args)
        self.host = HOST
        self.ports: dict[str, int] = {}
        self.returncode: int | None = None
        self._stdout: list[str] = []
        self._stdout_changed = threading.Condition()
        self._reader: threading.Thread | None = None
        self._stderr_path: Path | None = None

    # -- the same accessors as tests.peers.kamailio.Kamailio ---------------------------

    @property
    def port(self) -> int:
        """The UDP port (SIP's default transport)."""
        return self.ports["udp"]

    @property
    def udp_port(self) -> int:
        return self.ports["udp"]

    @property
    def tcp_port(self) -> int:
        return self.ports["tcp"]

    @property
    def tls_port(self) -> int | None:
        return self.ports.get("tls")

    @property
    def domain(self) -> str:
        return self.realm

    @property
    def log(self) -> str:
        """stdout lines, then stderr, as far as written."""
        if self._stderr_path is None or not self._stderr_path.exists():
            return self._final_log
        with self._stdout_changed:
            out = "".join(self._stdout)
        return out + self._stderr_path.read_text(errors="replace")

    # -- lifecycle ----------------------------------------------------------------------

    def command(self, work: Path) -> list[str]:
        args = [sys.executable, "-m", "softphone", "registrar"]
        for transport in self.transports:
            args += ["--listen", f"{transport}:{self.host}:0"]
        db = self.db if self.db is not None else work / "registrar.db"
        args += ["--users-file", str(work / "users.txt"), "--db", str(db)]
        args += ["--realm", self.realm]
        if self.max_contacts is not None:
            args += ["--max-contacts", str(self.max_contacts)]
        if self.trace is not None:
            args += ["--trace", str(self.trace)]
        return args + list(self.extra_args)

    def start(self) -> OurRegistrar:
        self._tmp = tempfile.TemporaryDirectory(prefix="registrar-")
        work = Path(self._tmp.name)
        lines = []
        for name, password in self.users.items():
            if ":" in name or "\n" in name + password:
                raise ValueError("user names may not contain ':'; no newlines anywhere")
            lines.append(f"{name}:{password}\n")
        users_file = work / "users.txt"
        users_file.write_text("".join(lines))
        users_file.chmod(0o600)
        self._stderr_path = work / "stderr.log"
        with self._stderr_path.open("wb") as err:
            self._proc = subprocess.Popen(
                self.command(work),
                cwd=work,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        # Drain stdout all along, so a chatty registrar never blocks on a full pipe.
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        try:
            self._wait_ready()
        except BaseException:
            self.cleanup()
            raise
        return self

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._stdout_changed:
                self._stdout.append(line)
                match = _LISTENING.match(line.strip())
                if match:
                    self.ports[match.group(1)] = int(match.group(3))
                self._stdout_changed.notify_all()
        with self._stdout_changed:
            self._stdout_changed.notify_all()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        with self._stdout_changed:
            while not all(t in self.ports for t in self.transports):
                if self._proc is None or self._proc.poll() is not None:
                    raise RegistrarError(f"registrar exited at start-up:\n{self._log_unlocked()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RegistrarError(
                        f"registrar printed no `listening` lines for {self.transports} "
                        f"in {self.start_timeout}s:\n{self._log_unlocked()}"
                    )
                # Woken by each stdout line and at EOF; the timeout re-checks process exit.
                self._stdout_changed.wait(timeout=min(left, 0.1))

    def _log_unlocked(self) -> str:
        err = ""
        if self._stderr_path is not None and self._stderr_path.exists():
            err = self._stderr_path.read_text(errors="replace")
        return "".join(self._stdout) + err

    def stop(self) -> int | None:
        """SIGTERM, wait for a clean exit; SIGKILL the group if it hangs.  Returns the exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return self.returncode
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=5)
        self.returncode = proc.returncode
        return self.returncode

    def cleanup(self) -> None:
        super().cleanup()
        self._stderr_path = None
