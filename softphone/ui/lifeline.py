"""Leave cleanly when the terminal or the system says so: SIGHUP/SIGTERM/SIGINT, or a terminal
that went away (an SSH session dropped, a closed terminal window).

Each of these becomes the app's own quit action (hang up, unregister, restore the terminal),
so a phone is never left registered by a process nobody can see. A vanished terminal is also
watched for directly: Textual's input thread sees end-of-file as "no input" and would spin
forever, holding a core and the registration (seen with a closed pseudo-terminal).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sys
import threading
from collections.abc import Callable

HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL
SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)


class Lifeline:
    """Calls `quit` (on the event loop) at most once, on a signal or a lost terminal."""

    def __init__(self, quit: Callable[[], None]) -> None:
        self._quit = quit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fired = False
        self._stop = threading.Event()
        self._signals: list[int] = []

    def start(self, terminal_fd: int | None = None) -> None:
        """Install the signal handlers (main thread only) and watch `terminal_fd`."""
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self._loop.add_signal_handler(sig, self._fire)
                self._signals.append(sig)
        if terminal_fd is not None and os.isatty(terminal_fd):
            threading.Thread(
                target=self._watch, args=(terminal_fd,), name="terminal-watch", daemon=True
            ).start()

    def stop(self) -> None:
        self._stop.set()
        if self._loop is not None:
            for sig in self._signals:
                with contextlib.suppress(Exception):
                    self._loop.remove_signal_handler(sig)
        self._signals.clear()

    def _fire(self) -> None:
        if not self._fired:
            self._fired = True
            self._quit()

    def _watch(self, fd: int) -> None:
        # POLLHUP and POLLERR are reported whatever is asked for; asking for no input events
        # leaves every byte to Textual's reader.
        poller = select.poll()
        poller.register(fd, 0)
        while not self._stop.is_set():
            events = poller.poll(500)
            if any(mask & HANGUP for _, mask in events):
                loop = self._loop
                if loop is not None and not loop.is_closed():
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(self._fire)
                return


def terminal_fd() -> int | None:
    """The terminal the app reads keys from, if it is one."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None
