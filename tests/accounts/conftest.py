"""Isolation for account tests: a throwaway home and XDG dirs, and an in-memory keyring.

Every test here runs with HOME and XDG_* pointing into its own tmp dir and with keyring's
backend swapped for `MemoryKeyring`, so nothing can read or write the developer's real config or
keyring (harlequin does the same). The previous backend is restored after each test.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import keyring
import keyring.core
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

REPO = Path(__file__).resolve().parents[2]


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict; negative priority so auto-detection never picks it."""

    priority = -1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError(username)
        del self.entries[(service, username)]


@dataclass
class Home:
    """The tmp dirs a test runs in."""

    root: Path
    config: Path
    data: Path
    keyring_file: Path

    @property
    def config_file(self) -> Path:
        return self.config / "softphone" / "config.toml"

    def env(self, backend: str = "tests.accounts.file_keyring.JsonFileKeyring") -> dict[str, str]:
        """Environment for a subprocess: only the tmp dirs, the chosen keyring backend."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "XDG_CONFIG_HOME": str(self.config),
            "XDG_DATA_HOME": str(self.data),
            "XDG_CACHE_HOME": str(self.root / "cache"),
            "XDG_STATE_HOME": str(self.root / "state"),
            "PYTHONPATH": str(REPO),
            "PYTHON_KEYRING_BACKEND": backend,
            "SOFTPHONE_TEST_KEYRING": str(self.keyring_file),
            "LANG": "C.UTF-8",
        }


def _real_config_state() -> tuple[bool, float]:
    import platformdirs

    real = Path(platformdirs.user_config_dir("softphone")) / "config.toml"
    return (real.exists(), real.stat().st_mtime if real.exists() else 0.0)


@contextlib.contextmanager
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """HOME and XDG_* in `tmp_path` for the body; afterwards the real config.toml must be as
    it was (shared by the account and the UI tests)."""
    real_before = _real_config_state()  # computed before the XDG variables move
    root = tmp_path / "home"
    paths = Home(root, root / "config", root / "data", tmp_path / "test-keyring.json")
    monkeypatch.setenv("HOME", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(paths.config))
    monkeypatch.setenv("XDG_DATA_HOME", str(paths.data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(root / "state"))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    yield paths
    monkeypatch.undo()  # back to the real environment, to check it was left alone
    assert _real_config_state() == real_before, "a test touched the real config.toml"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    with isolated_home(tmp_path, monkeypatch) as paths:
        yield paths


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    # Record the current backend so monkeypatch puts it back, then install ours.
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    return ring
