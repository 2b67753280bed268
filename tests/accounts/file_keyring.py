"""TEST ONLY: a keyring backend that keeps passwords in PLAIN TEXT in a JSON file.

It exists so CLI tests can run `softphone account` in a subprocess (via
PYTHON_KEYRING_BACKEND=tests.accounts.file_keyring.JsonFileKeyring) and still see what the
previous process stored. It refuses to work unless SOFTPHONE_TEST_KEYRING names the file, so it
can never write anywhere by accident. Never use it outside the tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring.errors
from keyring.backend import KeyringBackend


class JsonFileKeyring(KeyringBackend):
    priority = -1  # never chosen by auto-detection

    @staticmethod
    def _path() -> Path:
        name = os.environ.get("SOFTPHONE_TEST_KEYRING")
        if not name:
            raise keyring.errors.InitError("SOFTPHONE_TEST_KEYRING is not set (test-only backend)")
        return Path(name)

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self._path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _store(self, data: dict[str, str]) -> None:
        self._path().write_text(json.dumps(data), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._store(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError(username)
        self._store(data)
