"""Time from process start to the first frame of the real `softphone` TUI.

Each run starts `python -m softphone` (no command: the TUI) in a fresh pseudo-terminal of
120×40 cells with an empty configuration (throwaway HOME and XDG dirs, so the developer's
accounts, keyring and history are never touched), and measures, from just before the process
is spawned, until the terminal has received the first full frame (the main screen's border
titles and footer). That is what a user sees, interpreter start-up and imports included. Then
ctrl+q quits the app (which also stops the phone engine it started after the first frame).

For scale, the same is measured for a bare Textual app (a header, one line, a footer): the
floor any Textual program pays on this machine. Printed: every run, the median, and the
ratio softphone / bare Textual. Target: median ≤ 0.35 s.

Usage: python -m scripts.benchlib.bench_tui_startup [--runs N] [--target S]
Exit code 0 when the median meets the target, 1 otherwise, 2 when the TUI did not start.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COLUMNS, ROWS = 120, 40
TARGET = 0.35
FRAME_TIMEOUT = 20.0
EXIT_TIMEOUT = 20.0

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Bare(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]

    def compose(self):
        yield Header()
        yield Static("bare textual ready")
        yield Footer()

Bare().run()
"""
# Texts that are all in the first frame (the main screen's panel titles and the footer).
SOFTPHONE_MARKERS = (b"Accounts", b"Calls", b"Palette")
BARE_MARKERS = (b"bare textual ready", b"Quit")


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "COLORTERM": "truecolor",
        # No real keyring in a benchmark: the app shows "no keyring" rather than touching one.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


def first_frame(argv: list[str], markers: tuple[bytes, ...], home: Path) -> float:
    """Seconds from spawn to the frame holding every marker; the app is then quit."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=_env(home), cwd=str(REPO),
        start_new_session=True, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    elapsed: float | None = None
    try:
        deadline = start + FRAME_TIMEOUT
        while elapsed is None:
            left = deadline - time.perf_counter()
            if left <= 0 or proc.poll() is not None:
                break
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            if all(m in seen for m in markers):
                elapsed = time.perf_counter() - start
        if elapsed is None:
            tail = seen[-400:].decode("utf-8", "replace")
            raise RuntimeError(f"no first frame within {FRAME_TIMEOUT} s; output ended {tail!r}")
        os.write(master, b"\x11")  # ctrl+q
        _drain_until_exit(master, proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        os.close(master)
    return elapsed


def _drain_until_exit(master: int, proc: subprocess.Popen[bytes]) -> None:
    # Keep reading so the app never blocks on a full pty buffer while it shuts down, and
    # repeat ctrl+q now and then: a key typed before the app switched the terminal to raw
    # mode is taken by the terminal's own flow control (XON) and never reaches the app.
    deadline = time.perf_counter() + EXIT_TIMEOUT
    resend = time.perf_counter() + 1.0
    while proc.poll() is None and time.perf_counter() < deadline:
        if time.perf_counter() > resend:
            os.write(master, b"\x11")
            resend = time.perf_counter() + 1.0
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:  # EIO: the app closed the terminal, it is exiting
                break
    try:
        proc.wait(max(0.1, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the app did not exit within {EXIT_TIMEOUT} s of ctrl+q") from None


def measure(
    apps: dict[str, tuple[list[str], tuple[bytes, ...]]], runs: int
) -> dict[str, list[float]]:
    """`runs` first frames per app, the apps taking turns (so a burst of load from elsewhere
    on the machine hits both alike), after one uncounted warm-up each (cold file cache)."""
    times: dict[str, list[float]] = {label: [] for label in apps}
    for i in range(runs + 1):
        for label, (argv, markers) in apps.items():
            with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
                took = first_frame(argv, markers, Path(tmp))
            if i == 0:
                print(f"{label:<10} warm-up   {took:.3f} s (not counted)")
                continue
            times[label].append(took)
            print(f"{label:<10} run {i:<5} {took:.3f} s")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs per app (7)")
    parser.add_argument("--target", type=float, default=TARGET, help="median target, s (0.35)")
    args = parser.parse_args(argv)
    python = sys.executable
    apps = {
        "softphone": ([python, "-m", "softphone"], SOFTPHONE_MARKERS),
        "textual": ([python, "-c", BARE_APP], BARE_MARKERS),
    }
    try:
        times = measure(apps, args.runs)
    except RuntimeError as exc:
        print(f"bench_tui_startup: {exc}", file=sys.stderr)
        return 2
    ours, bare = times["softphone"], times["textual"]
    mine, floor = statistics.median(ours), statistics.median(bare)
    print()
    print(f"first frame, median of {args.runs}: softphone {mine:.3f} s "
          f"(min {min(ours):.3f}, max {max(ours):.3f}); bare Textual {floor:.3f} s")  # fmt: skip
    print(f"ratio softphone / bare Textual: {mine / floor:.2f}")
    verdict = "met" if mine <= args.target else "NOT met"
    print(f"target: first frame ≤ {args.target:.2f} s — {verdict}")
    return 0 if mine <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
