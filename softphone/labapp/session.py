"""LabSession: the registrar in this process, the far end in a child, accounts for the TUI.

`softphone lab` is one command that must leave nothing behind, whatever happens: start() brings
up the registrar (on its own event-loop thread, so it serves before and after the TUI's loop)
and launches the far end without waiting for it, so the TUI draws while the far end registers;
stop() takes them down in the order that keeps every goodbye answered: the far end first (its
un-REGISTERs need the registrar), then the registrar (which writes its bindings). stop() is
idempotent and safe after a failed start, and the far end also stops by itself when its stdin
closes, so even a killed lab leaves no orphan.

Ports: the lab's usual 5060 (UDP, TCP) and 5061 (TLS) on 127.0.0.1. If they are taken and the
user did not ask for a port, the next free pair of 5070, 5080, 5090 (then any free pair) is
used and `note` says so; an explicit --port that is taken is an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from softphone.config import AccountConfig
from softphone.lab.instance import LabInstance, LabStartError
from softphone.lab.registrar_cli import CliError, build_parser, settings_from_args
from softphone.lab.store import LabStore, StoreError
from softphone.lab.transport import ListenSpec, bind_socket
from softphone.labapp import demo
from softphone.labapp.farend_proc import FarEndProcess, Report

HOST = "127.0.0.1"
DEFAULT_PORT = 5060
FALLBACK_PORTS = (5070, 5080, 5090)
START_TIMEOUT = 10.0
FAR_END_RTP_PORT = 41000  # the TUI's engine starts at 40000; pjsua skips ports in use anyway
FAR_END_RTP_SPAN = 200  # RTP ports per far-end process (its EngineOptions.rtp_port_range)


def ports_free(port: int, host: str = HOST) -> bool:
    """Whether UDP+TCP `port` and TCP `port`+1 can be bound here, the way the lab binds them."""
    specs = (
        ListenSpec("UDP", host, port),
        ListenSpec("TCP", host, port),
        ListenSpec("TLS", host, port + 1),
    )
    opened = []
    try:
        for spec in specs:
            opened.append(bind_socket(spec))
    except OSError:
        return False
    finally:
        for sock in opened:
            sock.close()
    return True


def choose_port(
    requested: int | None,
    default: int = DEFAULT_PORT,
    fallbacks: tuple[int, ...] = FALLBACK_PORTS,
) -> tuple[int, str | None]:
    """(port, note): the port the lab will use and, when it is not the usual one, why."""
    if requested:
        if not 1 <= requested <= 65534:
            raise LabStartError(f"--port {requested}: use 1-65534 (TLS takes the port above)")
        if not ports_free(requested):
            raise LabStartError(
                f"port {requested} (UDP/TCP) or {requested + 1} (TLS) on {HOST} is in use: "
                "stop the program using it or choose another --port"
            )
        return requested, None
    candidates = fallbacks if requested == 0 else (default, *fallbacks)
    for port in candidates:
        if ports_free(port):
            note = None
            if requested is None and port != default:
                note = (
                    f"{HOST}:{default} is in use (another SIP server?); "
                    f"the lab listens on {port} instead"
                )
            return port, note
    for _ in range(50):
        with contextlib.closing(bind_socket(ListenSpec("UDP", HOST, 0))) as probe:
            port = int(probe.getsockname()[1])
        if port < 65535 and ports_free(port):
            note = None if requested == 0 else f"{HOST}:{default} is in use; using {port}"
            return port, note
    raise LabStartError(f"no free port pair for the lab on {HOST}")


class _RegistrarThread:
    """A LabInstance on an event loop of its own, in a daemon thread."""

    def __init__(self, instance: LabInstance) -> None:
        self.instance = instance
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lab-registrar")
        self.thread.daemon = True  # never keeps a dying process alive; stop() joins it

    def start(self) -> list[ListenSpec]:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self.instance.start(), self.loop)
        return future.result(START_TIMEOUT)

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        if self.thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.instance.stop(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class LabSession:
    """The running lab. Use as a context manager, or start() then stop() in a finally."""

    def __init__(
        self,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        log_dir: Path | None = None,
        far_end: bool = True,
        trace: Path | None = None,
        on_far_end: Callable[[Report], None] | None = None,
        far_end_rtp_port: int = FAR_END_RTP_PORT,
    ) -> None:
        from softphone import paths

        self.requested_port = port
        self.data_dir = data_dir if data_dir is not None else paths.data_dir()
        self.log_dir = log_dir if log_dir is not None else paths.log_dir()
        self.want_far_end = far_end
        self.trace = trace
        self.on_far_end = on_far_end  # called on a reader thread with each far-end report
        self.far_end_rtp_port = far_end_rtp_port
        self.port = 0
        self.note: str | None = None
        self.listeners: list[ListenSpec] = []
        self.far_ends: list[FarEndProcess] = []
        self.reports: list[Report] = []
        self.started_at = 0.0
        self._cond = threading.Condition()
        self._registrar: _RegistrarThread | None = None

    @property
    def db(self) -> Path:
        return self.data_dir / "lab.sqlite3"

    @property
    def tone_file(self) -> Path:
        return self.data_dir / f"lab-tone-{demo.TONE_HZ:g}hz-{demo.TONE_SECONDS:g}s.wav"

    # -- start ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Registrar up (LabStartError if it cannot be), far ends launched; fast."""
        self.started_at = time.monotonic()
        try:
            self.port, self.note = choose_port(self.requested_port)
            settings = self._settings()
            self._forget_lab_devices()
            self._registrar = _RegistrarThread(LabInstance(settings))
            self.listeners = self._registrar.start()
            if self.want_far_end:
                self._start_far_ends()
        except BaseException:
            self.stop()
            raise
        return self

    def _settings(self) -> Any:
        args = [
            f"--listen=udp:{HOST}:{self.port}",
            f"--listen=tcp:{HOST}:{self.port}",
            f"--listen=tls:{HOST}:{self.port + 1}",
            f"--db={self.db}",
            "--quiet",
            *(f"--user={name}:{pw}" for name, pw in demo.lab_users().items()),
        ]
        if self.trace is not None:
            args.append(f"--trace={self.trace}")
        try:
            return settings_from_args(build_parser().parse_args(args))
        except CliError as exc:
            raise LabStartError(str(exc)) from exc

    def _forget_lab_devices(self) -> None:
        """Drop bindings the lab's own devices left behind (a far end or TUI that was killed):
        a stale Contact would be forked to and, being dead, hold up 486/480 answers until
        Timer B (32 s, RFC 3261 §17.1.1.2). They register again within a second."""
        owned = {*demo.FAR_END_USERS, demo.TUI_USER}
        try:
            store = LabStore(self.db)
        except StoreError as exc:
            raise LabStartError(str(exc)) from exc
        try:
            stale = [(b.aor, b.key) for b in store.load_bindings(time.time()) if b.aor in owned]
            store.apply([], stale)
        finally:
            store.close()

    def _start_far_ends(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for index, devices in enumerate(demo.PROCESSES):
            self.far_ends.append(
                FarEndProcess(
                    devices,
                    port=self.port,
                    host=HOST,
                    tone=self.tone_file,
                    rtp_port=self.far_end_rtp_port + index * FAR_END_RTP_SPAN,
                    log=self.log_dir / f"lab-farend-{index + 1}.log",
                    on_report=self._report,
                    cond=self._cond,
                )
            )

    def _report(self, report: Report) -> None:
        with self._cond:
            self.reports.append(report)
            self._cond.notify_all()
        if self.on_far_end is not None:
            with contextlib.suppress(Exception):  # a UI that has gone away must not kill us
                self.on_far_end(report)

    # -- far-end state --------------------------------------------------------------------

    @property
    def far_end_state(self) -> str:
        """off, starting, ready (every far end), failed (any), stopped."""
        with self._cond:
            states = {f.state for f in self.far_ends}
        if not states:
            return "off"
        for state in ("failed", "stopped"):
            if state in states:
                return state
        return "ready" if states == {"ready"} else "starting"

    @property
    def far_end_error(self) -> str | None:
        return next((f.error for f in self.far_ends if f.error), None)

    @property
    def far_end_ready_after(self) -> float | None:
        """Seconds from start() until the last far-end number registered."""
        times = [f.ready_at for f in self.far_ends]
        if not times or None in times:
            return None
        return max(t for t in times if t is not None) - self.started_at

    def wait_far_end(self, timeout: float) -> bool:
        """Wait until every far-end number is registered; False on failure or timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                state = self.far_end_state
                if state != "starting":
                    return state == "ready"
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    def wait_report(self, match: Callable[[Report], bool], timeout: float) -> Report:
        """The first far-end report (since start) that `match`es; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((r for r in self.reports if match(r)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching far-end report in {timeout} s")
                self._cond.wait(left)

    @property
    def far_end_pids(self) -> list[int]:
        return [f.pid for f in self.far_ends]

    # -- what the TUI needs ---------------------------------------------------------------

    def registrar_uri(self) -> str:
        return f"sip:{HOST}:{self.port}"

    def tui_accounts(self) -> list[tuple[AccountConfig, str]]:
        """The TUI's lab accounts (provider "lab") with their passwords, for run_tui: alice,
        who dials, and a third phone of 700, so a call to 700 shows a fork from both ends."""
        accounts = []
        for name, user in (("lab", demo.TUI_USER), (f"lab-{demo.MULTI}", demo.MULTI)):
            account = AccountConfig(
                name=name, provider="lab", username=user, domain=HOST,
                registrar=self.registrar_uri(),
            )  # fmt: skip
            accounts.append((account, demo.password_of(user)))
        return accounts

    def title(self) -> str:
        return f"softphone lab {HOST}:{self.port} — {demo.legend(self.port, short=True)}"

    # -- stop -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Far ends (in parallel), then the registrar; idempotent, never raises."""
        for far in self.far_ends:
            far.close_stdin()
        for far in self.far_ends:
            far.wait_stopped()
        if self._registrar is not None:
            self._registrar.stop()
            self._registrar = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
