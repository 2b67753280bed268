"""SQLite persistence of the lab registrar: users (HA1 digests only) and bindings.

Bindings are written behind the hot path in batches (see bindings.BindingTable.take_changes), so
a restart keeps them; expired rows are purged when the database is opened. WAL journaling keeps
each batch cheap. Every failure to open the file becomes a StoreError naming the file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from softphone.lab.bindings import Binding
from softphone.lab.users import UserRecord

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    realm TEXT NOT NULL,
    ha1_md5 TEXT NOT NULL,
    ha1_sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bindings (
    aor TEXT NOT NULL,
    key TEXT NOT NULL,
    contact TEXT NOT NULL,
    expires_at REAL NOT NULL,
    call_id TEXT NOT NULL,
    cseq INTEGER NOT NULL,
    q TEXT,
    instance TEXT,
    reg_id TEXT,
    transport TEXT NOT NULL,
    source_host TEXT NOT NULL,
    source_port INTEGER NOT NULL,
    user_agent TEXT NOT NULL,
    PRIMARY KEY (aor, key)
);
"""
_BINDING_COLUMNS = (
    "aor, key, contact, expires_at, call_id, cseq, q, instance, reg_id, transport, "
    "source_host, source_port, user_agent"
)


class StoreError(RuntimeError):
    """The database cannot be used; the message names the file and the reason."""


class LabStore:
    """One SQLite file with the users and bindings tables."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot use database {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # -- users --
    def save_users(self, records: list[UserRecord]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO users (username, realm, ha1_md5, ha1_sha256) "
                "VALUES (?, ?, ?, ?)",
                [(r.username, r.realm, r.ha1_md5, r.ha1_sha256) for r in records],
            )

    def load_users(self) -> list[UserRecord]:
        rows = self._db.execute("SELECT username, realm, ha1_md5, ha1_sha256 FROM users")
        return [UserRecord(*row) for row in rows]

    # -- bindings --
    def load_bindings(self, now: float) -> list[Binding]:
        """Purge expired rows, then return the rest."""
        with self._transaction():
            self._db.execute("DELETE FROM bindings WHERE expires_at <= ?", (now,))
        rows = self._db.execute(f"SELECT {_BINDING_COLUMNS} FROM bindings")
        return [Binding(*row) for row in rows]

    def apply(self, upserts: list[Binding], deletes: list[tuple[str, str]]) -> None:
        """Write one batch of binding changes atomically."""
        if not upserts and not deletes:
            return
        with self._transaction():
            if deletes:
                self._db.executemany("DELETE FROM bindings WHERE aor = ? AND key = ?", deletes)
            if upserts:
                self._db.executemany(
                    f"INSERT OR REPLACE INTO bindings ({_BINDING_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            b.aor,
                            b.key,
                            b.contact,
                            b.expires_at,
                            b.call_id,
                            b.cseq,
                            b.q,
                            b.instance,
                            b.reg_id,
                            b.transport,
                            b.source_host,
                            b.source_port,
                            b.user_agent,
                        )
                        for b in upserts
                    ],
                )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK if the block raised."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
