"""`softphone lab`: the whole flow on one machine, in one command.

The README's first command ends here, so it has to work on a fresh machine with no account and
no configuration, start fast, and leave nothing behind. It starts the lab registrar + forking
proxy in this process, the far end (the numbers below) in child processes, registers the TUI
as the lab user alice and opens the TUI ready to dial. Quitting the TUI or Ctrl-C stops the far
end and then the registrar. With --no-tui it runs the lab alone until Ctrl-C, for your own SIP
phones. A problem the user can fix (a port in use, pjsua2 missing) is one line and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from softphone.lab.instance import LabStartError
from softphone.labapp import demo
from softphone.labapp.demo import DEMO_USERS
from softphone.labapp.farend_proc import Report
from softphone.labapp.session import DEFAULT_PORT, HOST, LabSession

__all__ = ["DEMO_USERS", "main"]

FAR_END_WAIT = 20.0  # --no-tui: how long to wait for the far end before saying it failed


def build_parser() -> argparse.ArgumentParser:
    numbers = "\n".join(f"  {n.user}  {n.summary}" for n in demo.NUMBERS)
    people = ", ".join(f"{u} ({pw})" for u, pw in DEMO_USERS.items())
    description = textwrap.fill(
        "Start a SIP lab on this machine and open the phone in it: the registrar and forking "
        "proxy on 127.0.0.1, a far end that answers the numbers below, and the TUI registered "
        "as alice. Type a number and press Enter; F9 shows the ladder, F3 hangs up, Ctrl-Q "
        "quits and stops the lab.",
        width=88,
    )
    epilog = "\n\n".join(
        [
            f"numbers to dial:\n{numbers}",
            textwrap.fill(
                f"Users for your own SIP phones (realm {demo.REALM}): {people}; or 700 "
                f"({demo.password_of(demo.MULTI)}) to ring along with 700's phones. The lab's "
                "bindings and TLS certificate live in the data directory, the far end's logs "
                "in the log directory.",
                width=88,
                break_on_hyphens=False,
            ),
        ]
    )
    p = argparse.ArgumentParser(
        prog="softphone lab",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=description,
        epilog=epilog,
    )
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"UDP/TCP port; TLS uses the next one (default {DEFAULT_PORT}, or the next free of "
        "5070/5080/5090 when it is taken; 0 = any free port)",
    )
    p.add_argument(
        "--no-tui", action="store_true", help="run the lab only, until Ctrl-C (for other phones)"
    )
    p.add_argument("--trace", type=Path, metavar="FILE.jsonl", help="the proxy's view, as JSON")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    # Until the TUI takes over these signals (_AppLink), SIGTERM ends the lab like Ctrl-C: the
    # same clean path (far end and registrar stopped) instead of dying on the spot.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    session = LabSession(port=args.port, trace=args.trace)
    try:
        problem = _missing_dependency(tui=not args.no_tui)
        if problem is not None:
            return _fail(problem)
        session.start()
        if args.no_tui:
            return _headless(session)
        return _with_tui(session)
    except LabStartError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how a lab is meant to end
    finally:
        # A second Ctrl-C must not cut the shutdown short (un-REGISTERs, far-end exits).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        session.stop()


def _fail(message: str) -> int:
    print(f"softphone lab: error: {message}", file=sys.stderr)
    return 2


def _missing_dependency(*, tui: bool) -> str | None:
    """One line naming what is missing, before anything starts."""
    try:
        from softphone.engine import Engine  # noqa: F401  (loads pjsua2: the phone needs it)
    except ImportError as exc:
        return f"the SIP engine pjsua2 cannot be loaded ({exc}); run scripts/setup"
    if tui:
        try:
            import textual  # noqa: F401
        except ImportError as exc:
            return f"the TUI library textual cannot be loaded ({exc}); run scripts/setup"
    return None


# -- with the TUI ---------------------------------------------------------------------------


class _AppLink:
    """What the lab tells the running TUI, and how it asks it to quit.

    Far-end reports come on reader threads, maybe before the app is ready: they wait here
    until on_ready hands us the app, then go to its event loop without blocking the reader
    (a blocked reader would stop draining the far end's stdout). SIGINT, SIGTERM and SIGHUP
    are the app's own business (softphone.ui.lifeline: its quit action, so the terminal is
    always given back).
    """

    def __init__(self, session: LabSession) -> None:
        self.session = session
        self.app: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def on_ready(self, app: Any) -> None:
        """Called by the app on its event loop once the first frame is drawn."""
        loop = asyncio.get_running_loop()
        with self.lock:
            self.app, self.loop = app, loop
            waiting, self.waiting = self.waiting, []
        if self.session.note:
            self._notify(self.session.note, "warning")
        for text, severity in waiting:
            self._notify(text, severity)

    def report(self, report: Report) -> None:
        message = _message(report)
        if message is None:
            return
        with self.lock:
            if self.loop is None:
                self.waiting.append(message)
                return
            loop = self.loop
        with contextlib.suppress(RuntimeError):  # the loop has closed: the TUI is gone
            loop.call_soon_threadsafe(self._notify, *message)

    def _notify(self, text: str, severity: str) -> None:
        timeout = 12 if severity != "error" else 30
        with contextlib.suppress(Exception):  # the app may be closing
            self.app.notify(text, severity=severity, timeout=timeout, markup=False)


def _message(report: Report) -> tuple[str, str] | None:
    kind = report.get("kind")
    if kind == "lab-ready":
        return f"lab numbers ready — {demo.legend(0, short=True)}", "information"
    if kind == "error":
        return f"lab far end: {report.get('message')}", "error"
    if kind == "failed":
        text = f"lab number {report.get('account')} did not register: {report.get('code')}"
        return text, "warning"
    return None


def _with_tui(session: LabSession) -> int:
    from softphone.config import ConfigError, Settings, load_settings

    try:
        from softphone.ui.run import run_tui
    except ImportError:
        print("softphone lab: the TUI is not installed yet; running the lab only", flush=True)
        return _headless(session)
    try:
        user = load_settings()
    except ConfigError:
        user = Settings()  # the lab needs none of it; `softphone account` reports the problem
    # Only the lab's accounts: a lab run must not register the user's real ones too. Theme,
    # key bindings and audio devices are the user's.
    settings = dataclasses.replace(user, accounts={}, default_account="lab")
    link = _AppLink(session)
    _forward_reports(session, link.report)
    accounts = session.tui_accounts()
    return run_tui(
        settings,
        engine_factory=_engine_factory(accounts[0][0], settings.audio),
        extra_accounts=accounts,
        title=session.title(),
        on_ready=link.on_ready,
    )


def _engine_factory(account: Any, audio: Any) -> Any:
    """The TUI's engine with the options every command uses for a loopback server: bound to
    127.0.0.1, so its Contact and SDP name an address the lab can reach (RFC 3261 §8.1.1.8);
    with the sound devices of [settings.audio] (null audio, said once, when there are none)."""
    from softphone.engine_account import headless_options
    from softphone.providers import effective
    from softphone.ui.run import engine_with_sound

    options = headless_options(effective(account))

    def make(sink: Any) -> Any:
        return engine_with_sound(sink, options, audio)

    return make


def _forward_reports(session: LabSession, send: Any) -> None:
    """Pass far-end reports on, plus one "lab-ready" when every far end is ready (also when
    that happened before we got here)."""
    lock = threading.Lock()
    told = [False]

    def forward(report: Report) -> None:
        send(report)
        with lock:
            if told[0] or session.far_end_state != "ready":
                return
            told[0] = True
        send({"kind": "lab-ready"})

    session.on_far_end = forward
    forward({"kind": "check"})


# -- without the TUI ------------------------------------------------------------------------


def _headless(session: LabSession) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for spec in session.listeners:
        print(f"listening {spec}", flush=True)
    if session.note:
        print(f"softphone lab: {session.note}", file=sys.stderr, flush=True)
    print(_instructions(session.port), file=sys.stderr, flush=True)
    if session.wait_far_end(FAR_END_WAIT):
        print(f"far end ready in {session.far_end_ready_after:.2f} s", flush=True)
    else:
        print(
            f"softphone lab: the far end is not ready: {session.far_end_error or 'no answer'}",
            file=sys.stderr,
            flush=True,
        )
    print("Ctrl-C stops the lab.", file=sys.stderr, flush=True)
    stop.wait()
    return 0


def _instructions(port: int) -> str:
    return f"""softphone lab: registrar and forking proxy on {HOST}
  point a SIP phone at sip:{HOST}:{port} (UDP or TCP) or sip:{HOST}:{port + 1};transport=tls,
  domain {HOST}, realm {demo.REALM}
{demo.legend(port)}"""
