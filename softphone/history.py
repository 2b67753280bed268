"""Call history: one SQLite row per call, in the data dir.

Why SQLite: several phone processes may run at once (a `listen` next to a `call`, the TUI next
to a script) and each must add its calls without losing the others'; SQLite's locking does
that, and the TUI can query the same file later (recent calls, numbers to redial).

A row is written when a call first shows up and updated as it changes, so a process that dies
mid-call still leaves the call in the history (with no end time). Times are wall-clock
seconds since the epoch, stamped by the caller when the engine reported the change.

What is kept beyond the obvious: `answered_elsewhere` (an incoming call CANCELled with
`Reason: SIP;cause=200`, RFC 3326: another device of this AOR took it, so it is not a missed
call), `devices_ringing` (the most early dialogs an outgoing call had at once, RFC 3261
§12.1.2), and the codec and SRTP suite the media used.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from softphone import paths
from softphone.engine.events import CallEvent

HISTORY_NAME = "history.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 5.0  # seconds to wait for another process's write lock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    remote TEXT NOT NULL,
    request_uri TEXT NOT NULL,
    call_id TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    answered REAL,
    ended REAL,
    final_code INTEGER,
    final_reason TEXT,
    answered_elsewhere INTEGER NOT NULL DEFAULT 0,
    devices_ringing INTEGER NOT NULL DEFAULT 0,
    codec TEXT,
    srtp_suite TEXT
);
CREATE INDEX IF NOT EXISTS calls_started ON calls (started DESC);
"""

Outcome = Literal[
    "answered", "answered elsewhere", "missed", "rejected", "failed", "cancelled", "ongoing"
]


class HistoryError(Exception):
    """The history database cannot be opened or written; the message says which file."""


@dataclass(frozen=True)
class CallRecord:
    """One call as stored."""

    id: int
    account: str
    direction: Literal["in", "out"]
    remote: str
    request_uri: str
    call_id: str
    started: float
    answered: float | None
    ended: float | None
    final_code: int | None
    final_reason: str | None
    answered_elsewhere: bool
    devices_ringing: int
    codec: str | None
    srtp_suite: str | None

    @property
    def outcome(self) -> Outcome:
        """What happened, in the words a call list shows."""
        if self.ended is None:
            return "ongoing"
        if self.answered is not None:
            return "answered"
        if self.direction == "in":
            if self.answered_elsewhere:
                return "answered elsewhere"
            # 487 means the caller gave up (RFC 3261 §9.1); other codes are our own refusals.
            return "missed" if self.final_code in (None, 487) else "rejected"
        if self.final_code == 487:
            return "cancelled"  # we hung up before the answer
        return "failed"

    @property
    def talk_seconds(self) -> float:
        if self.answered is None or self.ended is None:
            return 0.0
        return max(0.0, self.ended - self.answered)

    @property
    def number(self) -> str:
        """The address to redial: the dialled Request-URI, or the caller's URI."""
        return self.request_uri if self.direction == "out" else uri_of(self.remote)


def uri_of(name_addr: str) -> str:
    """The URI inside a From/To value: `"Bob" <sip:bob@host>;tag=x` → `sip:bob@host`."""
    text = name_addr.strip()
    if "<" in text and ">" in text:
        return text[text.index("<") + 1 : text.index(">")]
    return text.split(";", 1)[0]


def default_path() -> Path:
    """The history file in the data dir (the dir is created on first use)."""
    return paths.data_dir() / HISTORY_NAME


class History:
    """The call history. `record(event, at)` for every CallEvent; queries for the UI."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()
        try:
            # Created private (0600): it lists who called whom, which is personal data.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            self._db.executescript(_SCHEMA)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                self._db.close()
                raise HistoryError(
                    f"{self.path} was written by a newer softphone (schema {version})"
                )
        except (sqlite3.Error, OSError) as exc:
            raise HistoryError(f"cannot open the call history {self.path}: {exc}") from None
        self._rows: dict[tuple[str, int], int] = {}  # (account, engine call handle) → row id

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._db:  # one transaction per change
                yield self._db
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot write the call history {self.path}: {exc}") from None

    def record(self, event: CallEvent, at: float) -> int:
        """Add or update the row of `event`'s call; returns the row id."""
        key = (event.account, event.call)
        row = self._rows.get(key)
        answered = at if event.state in ("confirmed", "held") else None
        final = event.state == "disconnected"
        with self._write() as db:
            if row is None:
                cursor = db.execute(
                    "INSERT INTO calls (account, direction, remote, request_uri, call_id, "
                    "started) VALUES (?, ?, ?, ?, ?, ?)",
                    (event.account, event.direction, event.remote, event.request_uri,
                     event.call_id, at),
                )  # fmt: skip
                row = int(cursor.lastrowid or 0)
                self._rows[key] = row
            # COALESCE keeps the first answer time and the first non-empty values;
            # MAX keeps the most devices that rang at once.
            db.execute(
                "UPDATE calls SET remote = ?, call_id = COALESCE(NULLIF(?, ''), call_id), "
                "answered = COALESCE(answered, ?), "
                "ended = CASE WHEN ? THEN COALESCE(ended, ?) ELSE ended END, "
                "final_code = CASE WHEN ? THEN ? ELSE final_code END, "
                "final_reason = CASE WHEN ? THEN ? ELSE final_reason END, "
                "answered_elsewhere = MAX(answered_elsewhere, ?), "
                "devices_ringing = MAX(devices_ringing, ?), "
                "codec = COALESCE(?, codec), srtp_suite = COALESCE(?, srtp_suite) "
                "WHERE id = ?",
                (event.remote, event.call_id, answered, final, at, final, event.code, final,
                 event.reason, int(event.answered_elsewhere), event.devices_ringing,
                 event.codec, event.srtp_suite, row),
            )  # fmt: skip
        if final:
            self._rows.pop(key, None)
        return row

    def recent_calls(self, limit: int = 50, account: str | None = None) -> list[CallRecord]:
        """The newest calls first."""
        where, args = ("WHERE account = ?", [account]) if account else ("", [])
        try:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM calls {where} ORDER BY started DESC, id DESC LIMIT ?",
                [*args, limit],
            ).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot read the call history {self.path}: {exc}") from None
        return [_record(row) for row in rows]

    def recent_numbers(self, limit: int = 10, account: str | None = None) -> list[str]:
        """Distinct addresses called or called from, the most recent first (for redial)."""
        seen: dict[str, None] = {}
        for record in self.recent_calls(limit * 20, account):
            number = record.number
            if number and number.lower() not in {n.lower() for n in seen}:
                seen[number] = None
                if len(seen) == limit:
                    break
        return list(seen)


_COLUMNS = (
    "id, account, direction, remote, request_uri, call_id, started, answered, ended, "
    "final_code, final_reason, answered_elsewhere, devices_ringing, codec, srtp_suite"
)


def _record(row: tuple[Any, ...]) -> CallRecord:
    (id_, account, direction, remote, request_uri, call_id, started, answered, ended, code,
     reason, elsewhere, devices, codec, suite) = row  # fmt: skip
    return CallRecord(
        id=int(id_),
        account=str(account),
        direction="in" if direction == "in" else "out",
        remote=str(remote),
        request_uri=str(request_uri),
        call_id=str(call_id),
        started=float(started),
        answered=None if answered is None else float(answered),
        ended=None if ended is None else float(ended),
        final_code=None if code is None else int(code),
        final_reason=None if reason is None else str(reason),
        answered_elsewhere=bool(elsewhere),
        devices_ringing=int(devices),
        codec=None if codec is None else str(codec),
        srtp_suite=None if suite is None else str(suite),
    )
