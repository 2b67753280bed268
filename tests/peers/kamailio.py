"""Run a real Kamailio 5.6 as the reference digest registrar + forking proxy.

Our own registrar is judged against this one (interop tests, scripts/bench_registrar),
so it must start the same way every time, on free loopback ports, and never outlive
the test: the process runs in the foreground (`-DD -E`) in its own process group and
is always stopped — SIGTERM, then SIGKILL to the group — even when the test fails.

Readiness is observed, not assumed: we send SIP OPTIONS over UDP until Kamailio
answers 200 (its config answers OPTIONS to itself before any auth).  If it exits
or never answers, the error carries its stderr log.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.peers.kamailio_cfg import Listeners, render_config, render_subscribers, render_tls_cfg
from tests.peers.ports import HOST, free_port, free_port_block, release
from tests.peers.process import PeerProcess

KAMAILIO = "kamailio"
TLS_MODULE = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so")


class KamailioError(RuntimeError):
    """Kamailio did not start (the message includes its log)."""


def kamailio_available(tls: bool = False) -> str | None:
    """None when Kamailio (and tls.so if asked) is installed, else the reason it is not."""
    if shutil.which(KAMAILIO) is None:
        return "kamailio not installed (Debian package `kamailio`)"
    if tls and not TLS_MODULE.exists():
        return "Kamailio tls.so missing (Debian package `kamailio-tls-modules`)"
    return None


def sip_options_ping(host: str, port: int, timeout: float) -> int | None:
    """Send one OPTIONS over UDP and return the status code of the answer (None: no answer)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        local_port = sock.getsockname()[1]
        tag = secrets.token_hex(6)
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{local_port};branch=z9hG4bK{tag};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{HOST}:{local_port}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: probe-{tag}@{HOST}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.settimeout(timeout)
        sock.sendto(request.encode(), (host, port))
        try:
            data = sock.recv(65535)
        except (TimeoutError, ConnectionRefusedError):
            return None
    first_line = data.split(b"\r\n", 1)[0].split()
    if len(first_line) >= 2 and first_line[0] == b"SIP/2.0" and first_line[1].isdigit():
        return int(first_line[1])
    return None


class Kamailio(PeerProcess):
    """Context manager: a running Kamailio registrar/proxy on 127.0.0.1.

    `users` maps user name → password (db_text `subscriber`, domain 127.0.0.1).
    UDP and TCP listen on `port`; TLS on `tls_port` when `tls_cert`/`tls_key` are given.
    """

    def __init__(
        self,
        users: dict[str, str],
        *,
        max_contacts: int = 10,
        children: int = 4,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        start_timeout: float = 15.0,
    ) -> None:
        super().__init__()
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both tls_cert and tls_key")
        self.users = dict(users)
        self.max_contacts = max_contacts
        self.children = children
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        self.start_timeout = start_timeout
        self.host = HOST
        self.port = 0
        self.tls_port: int | None = None
        self._log_path: Path | None = None

    # -- public accessors -------------------------------------------------------------

    @property
    def udp_port(self) -> int:
        return self.port

    @property
    def tcp_port(self) -> int:
        return self.port

    @property
    def domain(self) -> str:
        """The SIP domain (and digest realm) users belong to."""
        return self.host

    @property
    def log(self) -> str:
        """Everything Kamailio wrote to stderr so far."""
        if self._log_path is None or not self._log_path.exists():
            return self._final_log
        return self._log_path.read_text(errors="replace")

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Kamailio:
        reason = kamailio_available(tls=self.tls_cert is not None)
        if reason is not None:
            raise KamailioError(reason)
        self._tmp = tempfile.TemporaryDirectory(prefix="kamailio-")
        work = Path(self._tmp.name)
        self.port = free_port_block([0], kinds=("udp", "tcp"))
        tls_cfg: Path | None = None
        if self.tls_cert is not None and self.tls_key is not None:
            self.tls_port = free_port("tcp")
            tls_cfg = work / "tls.cfg"
            tls_cfg.write_text(render_tls_cfg(self.tls_cert, self.tls_key))
        db_dir = work / "db"
        db_dir.mkdir()
        version, subscriber = render_subscribers(self.users, self.domain)
        (db_dir / "version").write_text(version)
        (db_dir / "subscriber").write_text(subscriber)
        cfg = work / "kamailio.cfg"
        cfg.write_text(
            render_config(
                Listeners(self.host, self.port, self.tls_port),
                db_dir,
                max_contacts=self.max_contacts,
                children=self.children,
                tls_cfg=tls_cfg,
            )
        )
        run_dir = work / "run"
        run_dir.mkdir()
        self._log_path = work / "kamailio.log"
        with self._log_path.open("wb") as log:
            # -DD: no daemon, main process stays our child; -E: log to stderr;
            # -Y: runtime dir of our own (no /run/kamailio in a sandbox); -w: cwd for cores.
            self._proc = subprocess.Popen(
                [
                    *(KAMAILIO, "-DD", "-E", "-f", str(cfg)),
                    *("-P", str(run_dir / "kamailio.pid"), "-Y", str(run_dir), "-w", str(work)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            # __exit__ does not run when __enter__ raises: clean up here (the log is kept).
            self.cleanup()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise KamailioError(f"kamailio exited at start-up:\n{self.log}")
            if sip_options_ping(self.host, self.port, timeout=0.2) == 200:
                return
        raise KamailioError(
            f"kamailio did not answer OPTIONS in {self.start_timeout}s:\n{self.log}"
        )

    def stop(self) -> int | None:
        """Stop Kamailio and every child it forked; return the main process's exit code."""
        proc, self._proc = self._proc, None
        code: int | None = None
        if proc is not None:
            # The process group is ours (start_new_session): SIGTERM reaches the main
            # process and every worker it forked; SIGKILL them if they hang.
            for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    continue
            code = proc.poll()
        ports = [self.port] + ([self.tls_port] if self.tls_port else [])
        release(p for p in ports if p)
        return code
