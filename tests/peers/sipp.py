"""Drive the real sipp 3.6.1 (Debian `sip-tester`) from tests and benchmarks.

Why a wrapper: sipp must be pinned to loopback ports we chose (it binds 0.0.0.0:8888
and 6000-6006 otherwise), it must never outlive its test (`-timeout` does not stop a
UAS that waits forever, so every run sits under coreutils `timeout` in a process group
we kill), its trace files must land in a temp dir (by default it writes them next to
the scenario, i.e. into the repository), and its result must be read as numbers:
successful/failed calls come from the `-trace_stat` CSV it writes at exit.

sipp binds SIP on B, RTP echo on B+2 and B+4, control on B+6 (seen with `ss -lunp`).

Exit codes (sipp 3.6): 0 every call succeeded, 1 at least one failed, 97 stopped by an
internal command, 99 ended without processing a call, 255/-1 fatal error, and 124 from
`timeout` when the run overran.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from tests.peers.ports import HOST, free_port_block, release, udp_bound

SIPP = "sipp"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
PORT_OFFSETS = (0, 2, 4, 6)
TIMED_OUT = 124


def sipp_available() -> str | None:
    """None when sipp and coreutils timeout are installed, else the reason they are not."""
    if shutil.which(SIPP) is None:
        return "sipp not installed (Debian package `sip-tester`)"
    if shutil.which("timeout") is None:
        return "coreutils `timeout` not found"
    return None


def scenario(name: str) -> Path:
    """Path of one of our scenario files, e.g. scenario("register_digest")."""
    path = SCENARIOS / (name if name.endswith(".xml") else f"{name}.xml")
    if not path.exists():
        raise FileNotFoundError(path)
    return path


def write_injection(path: Path, rows: Iterable[Sequence[str]]) -> Path:
    """Write a sipp injection file: `SEQUENTIAL`, then one `;`-separated line per call."""
    lines = ["SEQUENTIAL"]
    for row in rows:
        if any(";" in f or "\n" in f for f in row):
            raise ValueError("injection fields may not contain ';' or newlines")
        lines.append(";".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(frozen=True)
class SippResult:
    """What one sipp run did."""

    returncode: int
    successful: int
    failed: int
    retransmissions: int
    elapsed_s: float
    stats: dict[str, str] = field(repr=False)
    messages: str = field(repr=False)
    errors: str = field(repr=False)
    output: str = field(repr=False)

    @property
    def timed_out(self) -> bool:
        return self.returncode == TIMED_OUT

    def explain(self) -> str:
        """A failure message for assertions: counts, then sipp's own error log."""
        return (
            f"sipp rc={self.returncode} successful={self.successful} failed={self.failed}\n"
            f"--- errors ---\n{self.errors[-4000:]}\n--- output ---\n{self.output[-2000:]}"
        )


def parse_stat_file(path: Path) -> dict[str, str]:
    """The last row of a `-trace_stat` CSV (`;`-separated; sipp appends a row per dump)."""
    if not path.exists():
        return {}
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1], strict=False))


def _epoch(stamp: str) -> float:
    # sipp writes "date<TAB>time<TAB>epoch.micro"; the epoch is the precise part.
    return float(stamp.split("\t")[-1]) if stamp else 0.0


class Sipp:
    """One sipp process, started in the background; `wait()` returns its SippResult."""

    def __init__(
        self,
        scenario_file: Path,
        remote: tuple[str, int] | None = None,
        *,
        calls: int | None = None,
        injection: Path | None = None,
        service: str | None = None,
        rate: float | None = None,
        rate_period_ms: int | None = None,
        limit: int | None = None,
        timeout_s: float = 30.0,
        trace_messages: bool = False,
        base_port: int | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.scenario_file = Path(scenario_file).resolve()
        self.remote = remote
        self.timeout_s = timeout_s
        self._own_port = base_port is None
        self.port = base_port if base_port is not None else free_port_block(PORT_OFFSETS, ("udp",))
        self._tmp = tempfile.TemporaryDirectory(prefix="sipp-")
        self.workdir = Path(self._tmp.name)
        self._stat = self.workdir / "stat.csv"
        self._messages = self.workdir / "messages.log"
        self._errors = self.workdir / "errors.log"
        self._output = self.workdir / "output.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._result: SippResult | None = None
        p = self.port
        args = [SIPP]
        if remote is not None:
            args.append(f"{remote[0]}:{remote[1]}")
        args += ["-sf", str(self.scenario_file)]
        # Loopback only, on the ports we found free (peers.md).
        args += ["-i", HOST, "-mi", HOST, "-ci", HOST]
        args += ["-p", str(p), "-mp", str(p + 2), "-cp", str(p + 6)]
        # Abort a call on an unexpected message (so it counts as failed at once) but do not
        # send the BYE sipp would add on its own: that pollutes the peer under test.
        # (-nd would also stop the abort: the call then waits until `timeout` kills it.)
        args += ["-nostdin", "-default_behaviors", "all,-bye"]
        args += ["-trace_stat", "-stf", str(self._stat), "-fd", "1"]
        args += ["-trace_err", "-error_file", str(self._errors)]
        if trace_messages:
            args += ["-trace_msg", "-message_file", str(self._messages)]
        if injection is not None:
            args += ["-inf", str(Path(injection).resolve())]
        if service is not None:
            args += ["-s", service]
        if calls is not None:
            args += ["-m", str(calls)]
        if rate is not None:
            args += ["-r", f"{rate:g}"]
        if rate_period_ms is not None:
            args += ["-rp", str(rate_period_ms)]
        if limit is not None:
            args += ["-l", str(limit)]
        args += list(extra_args)
        self.args = args

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Sipp:
        reason = sipp_available()
        if reason is not None:
            raise RuntimeError(reason)
        cmd = ["timeout", "--kill-after=5", f"{self.timeout_s:g}", *self.args]
        with self._output.open("wb") as out:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._started = time.monotonic()
        return self

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def wait_listening(self, timeout: float = 5.0) -> None:
        """Block until sipp has bound its SIP port (a UAS is then ready to receive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if udp_bound(self.port):
                return
            if not self.running():
                raise RuntimeError(f"sipp exited before listening:\n{self.result().explain()}")
            time.sleep(0.005)  # poll interval of a deadline-bounded condition check
        raise TimeoutError(f"sipp did not bind {HOST}:{self.port} within {timeout}s")

    def soft_stop(self) -> None:
        """Ask sipp to place no new calls and exit once the calls in flight are done.

        sipp treats SIGUSR1 like pressing `q`.  It is sent to sipp itself, the child of
        `timeout` (which does not forward SIGUSR1).
        """
        if self._proc is None:
            return
        for pid in _children(self._proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)

    def wait(self, timeout: float | None = None) -> SippResult:
        """Wait for sipp to exit (bounded by its own `timeout` wrapper) and read its result."""
        if self._proc is None:
            raise RuntimeError("sipp was not started")
        limit = timeout if timeout is not None else self.timeout_s + 10
        try:
            self._proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.kill()
        return self.result()

    def kill(self) -> None:
        """Kill sipp and its `timeout` wrapper (their own process group)."""
        if self._proc is None or self._proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait(timeout=5)

    def result(self) -> SippResult:
        if self._result is not None:
            return self._result
        code = self._proc.poll() if self._proc is not None else None
        stats = parse_stat_file(self._stat)
        elapsed = _epoch(stats.get("CurrentTime", "")) - _epoch(stats.get("StartTime", ""))
        result = SippResult(
            returncode=-1 if code is None else code,
            successful=int(stats.get("SuccessfulCall(C)", "0") or 0),
            failed=int(stats.get("FailedCall(C)", "0") or 0),
            retransmissions=int(stats.get("Retransmissions(C)", "0") or 0),
            elapsed_s=elapsed if elapsed > 0 else time.monotonic() - self._started,
            stats=stats,
            messages=_read(self._messages),
            errors=_read(self._errors),
            output=_read(self._output),
        )
        if code is not None:
            self._result = result
        return result

    def run_for(self, seconds: float) -> SippResult:
        """Start sipp, let it place calls for `seconds`, then soft-stop it and wait.

        For open-ended load (no -m): the window is a measurement period, and sipp
        exiting early (a crash, a fatal error) ends it at once.
        """
        with self:
            assert self._proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=seconds)
            self.soft_stop()
            return self.wait()

    def run(self) -> SippResult:
        """Start sipp, wait for it to finish, clean up, and return its result."""
        with self:
            return self.wait()

    def close(self) -> None:
        self.kill()
        if self._own_port:
            release(self.port + off for off in PORT_OFFSETS)
        self._tmp.cleanup()

    def __enter__(self) -> Sipp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class RegisteredUas:
    """A sipp UAS that is a registered contact of `user` at `registrar`.

    Two sipp runs on one local port, in order: register_digest.xml (REGISTER with
    digest, Contact = that port; it exits 0 once the 200 arrived, so "registered" is a
    fact, not a guess), then `scenario_file` as a UAS bound to the same port.  Ready
    when the UAS has bound the port.  See uas_register_answer.xml for why one sipp
    process cannot do both.
    """

    def __init__(
        self,
        registrar: tuple[str, int],
        user: str,
        password: str,
        scenario_file: Path,
        *,
        calls: int = 1,
        timeout_s: float = 30.0,
        trace_messages: bool = True,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.registrar = registrar
        self.extra_args = tuple(extra_args)
        self.user = user
        self.password = password
        self.scenario_file = scenario_file
        self.calls = calls
        self.timeout_s = timeout_s
        self.trace_messages = trace_messages
        self.port = free_port_block(PORT_OFFSETS, ("udp",))
        self.registration: SippResult | None = None
        self.uas: Sipp | None = None

    def start(self) -> RegisteredUas:
        try:
            with tempfile.TemporaryDirectory(prefix="sipp-reg-") as tmp:
                users = write_injection(
                    Path(tmp) / "user.csv", [(self.user, self.password, self.user)]
                )
                self.registration = Sipp(
                    scenario("register_digest"),
                    self.registrar,
                    calls=1,
                    injection=users,
                    base_port=self.port,
                    timeout_s=15,
                    trace_messages=True,
                ).run()
            reg = self.registration
            if reg.returncode != 0 or reg.successful != 1:
                raise RuntimeError(f"REGISTER of {self.user} failed:\n{reg.explain()}")
            self.uas = Sipp(
                self.scenario_file,
                calls=self.calls,
                base_port=self.port,
                timeout_s=self.timeout_s,
                trace_messages=self.trace_messages,
                extra_args=self.extra_args,
            ).start()
            self.uas.wait_listening()
        except BaseException:
            self.close()
            raise
        return self

    def wait(self, timeout: float | None = None) -> SippResult:
        if self.uas is None:
            raise RuntimeError("UAS not started")
        return self.uas.wait(timeout)

    def close(self) -> None:
        if self.uas is not None:
            self.uas.close()
        release(self.port + off for off in PORT_OFFSETS)

    def __enter__(self) -> RegisteredUas:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
