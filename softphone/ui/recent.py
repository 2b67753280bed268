"""Recent numbers for the dialer, behind a two-method interface.

Why an interface: call history is its own module (softphone/history.py, SQLite, written
separately); the dialer only needs "the last few targets" and "remember this one". Until that
`HistoryRecent` reads them from the call history (which the app feeds with every CallEvent);
`MemoryRecent` keeps them for the session when the history cannot be opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from softphone.history import History

MAX_RECENT = 20


class RecentNumbers(Protocol):
    def recent(self, limit: int = 10) -> list[str]:
        """Most recent first, without duplicates."""
        ...

    def add(self, target: str) -> None:
        """Remember that `target` was dialled."""
        ...


class MemoryRecent:
    """Recent targets in memory for this session."""

    def __init__(self, initial: list[str] | None = None) -> None:
        self._items: list[str] = []
        for target in reversed(initial or []):
            self.add(target)

    def recent(self, limit: int = 10) -> list[str]:
        return self._items[:limit]

    def add(self, target: str) -> None:
        target = target.strip()
        if not target:
            return
        if target in self._items:
            self._items.remove(target)
        self._items.insert(0, target)
        del self._items[MAX_RECENT:]


class HistoryRecent:
    """Recent targets from the call history (SQLite, shared with other softphone processes)."""

    def __init__(self, history: History) -> None:
        self.history = history

    def recent(self, limit: int = 10) -> list[str]:
        from softphone.history import HistoryError

        try:
            return self.history.recent_numbers(limit)
        except HistoryError:
            return []

    def add(self, target: str) -> None:
        """Nothing to do: the call's CallEvents put it in the history."""
