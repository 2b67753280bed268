"""Counters that keep the lab registrar polite under abuse, with time passed in.

FailureThrottle: repeated authentication failures from one source address are answered with
403 for a while (by default only after 10 failures within a minute, so a user who mistypes a
password is never locked out). RateLimiter: at most N REGISTERs per second per AOR, the way
Twilio caps registrations (5/s); 0 disables it.
"""

from __future__ import annotations

from collections import deque


class FailureThrottle:
    """Sliding-window failure counter per source host."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._last_sweep = 0.0

    def record(self, host: str, now: float) -> None:
        if self.limit <= 0:
            return
        failures = self._failures.get(host)
        if failures is None:
            failures = self._failures[host] = deque(maxlen=self.limit + 1)
        failures.append(now)
        self._sweep(now)

    def blocked(self, host: str, now: float) -> bool:
        """True once a host has failed more than `limit` times within `window` seconds."""
        failures = self._failures.get(host)
        if not failures or self.limit <= 0:
            return False
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return len(failures) > self.limit

    def retry_after(self, host: str, now: float) -> int:
        """Seconds until the oldest failure in the window ages out."""
        failures = self._failures.get(host)
        if not failures:
            return 0
        return max(1, int(failures[0] + self.window - now + 0.999))

    def _sweep(self, now: float) -> None:
        # Forget quiet hosts now and then so spoofed sources cannot grow memory without bound.
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for host in [h for h, f in self._failures.items() if not f or f[-1] <= now - self.window]:
            del self._failures[host]


class RateLimiter:
    """Fixed one-second windows per key; `rate` 0 means unlimited."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._counts: dict[str, int] = {}
        self._current = -1

    def allow(self, key: str, now: float) -> bool:
        if self.rate <= 0:
            return True
        second = int(now)
        if second != self._current:
            # A new second: every old window is finished, so the whole table can go.
            self._current = second
            self._counts.clear()
        count = self._counts.get(key, 0)
        if count >= self.rate:
            return False
        self._counts[key] = count + 1
        return True
