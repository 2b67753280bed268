"""Signals and a lost terminal end the app through its quit action, never a spinning process."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from softphone.ui.lifeline import Lifeline


async def wait_for(condition: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.01)  # polling a flag set by the loop itself, with a deadline
    return False


def test_a_signal_quits_once() -> None:
    async def main() -> int:
        calls: list[int] = []
        lifeline = Lifeline(lambda: calls.append(1))
        lifeline.start()
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)
        await wait_for(lambda: calls)
        await asyncio.sleep(0)  # both signals were queued before the first: both are handled
        lifeline.stop()
        return len(calls)

    assert asyncio.run(main()) == 1


def test_a_vanished_terminal_quits() -> None:
    master, slave = os.openpty()

    async def main() -> bool:
        calls: list[int] = []
        lifeline = Lifeline(lambda: calls.append(1))
        lifeline.start(slave)
        os.close(master)  # the terminal goes away (an SSH session dropped)
        fired = await wait_for(lambda: calls)
        lifeline.stop()
        return fired

    try:
        assert asyncio.run(main())
    finally:
        os.close(slave)
