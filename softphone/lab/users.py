"""The lab's user directory: usernames with HA1 digests, never passwords.

The registrar only ever needs H(user:realm:password) to check a digest (RFC 2617 §3.2.2.2), so
that is all it keeps, in memory and in SQLite. Users come from `--user NAME:PASSWORD` and
`--users-file` (one `name:password` per line); the parse errors name the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from softphone.sip.digest import compute_ha1

# A user part we can put into a SIP URI without escaping (RFC 3261 §25.1 unreserved + a few).
_USERNAME_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/]+")


class UserError(ValueError):
    """A user specification that cannot be used; the message says what and where."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    username: str
    realm: str
    ha1_md5: str
    ha1_sha256: str

    def ha1(self, algorithm: str) -> str:
        """The HA1 for a digest algorithm name (the -sess variants share the plain HA1)."""
        return self.ha1_sha256 if algorithm.upper().startswith("SHA-256") else self.ha1_md5


def make_user(username: str, password: str, realm: str) -> UserRecord:
    """Hash a password into a record; the password is not kept anywhere."""
    if not _USERNAME_RE.fullmatch(username):
        raise UserError(
            f"invalid user name {username!r}: use letters, digits and - _ . ! ~ * ' ( )"
        )
    if not password:
        raise UserError(f"user {username!r} has an empty password")
    return UserRecord(
        username,
        realm,
        compute_ha1(username, realm, password, "MD5"),
        compute_ha1(username, realm, password, "SHA-256"),
    )


def parse_user_spec(spec: str, realm: str) -> UserRecord:
    """`NAME:PASSWORD` from the command line (the password may itself contain colons)."""
    name, sep, password = spec.partition(":")
    if not sep:
        raise UserError(f"--user expects NAME:PASSWORD, got {name!r} with no ':'")
    return make_user(name, password, realm)


def read_users_file(path: Path, realm: str) -> list[UserRecord]:
    """Read `name:password` lines; blank lines and lines starting with # are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read users file {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UserError(f"users file {path} is not UTF-8 text") from exc
    users: list[UserRecord] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, password = stripped.partition(":")
        if not sep:
            raise UserError(f"{path}:{number}: expected name:password")
        try:
            users.append(make_user(name.strip(), password, realm))
        except UserError as exc:
            raise UserError(f"{path}:{number}: {exc}") from exc
    return users


class UserDirectory:
    """In-memory lookup by username for the current realm."""

    def __init__(self, realm: str, records: list[UserRecord] | None = None) -> None:
        self.realm = realm
        self._users: dict[str, UserRecord] = {}
        for record in records or []:
            self.add(record)

    def add(self, record: UserRecord) -> None:
        if record.realm == self.realm:
            self._users[record.username] = record

    def get(self, username: str) -> UserRecord | None:
        return self._users.get(username)

    def __contains__(self, username: object) -> bool:
        return username in self._users

    def __len__(self) -> int:
        return len(self._users)

    def records(self) -> list[UserRecord]:
        return list(self._users.values())
