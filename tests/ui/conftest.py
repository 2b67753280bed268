"""Isolation for UI tests: throwaway HOME and XDG dirs and an in-memory keyring.

The app reads config.toml, the keyring and the call history from the user's directories; every
test here points those at its own tmp dir and swaps the keyring backend for a dict, so nothing
can read or write the developer's real config or passwords. The real config file is checked to
be untouched after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import pytest

from tests.accounts.conftest import MemoryKeyring


def _real_config_state() -> tuple[bool, float]:
    import platformdirs

    real = Path(platformdirs.user_config_dir("softphone")) / "config.toml"
    return (real.exists(), real.stat().st_mtime if real.exists() else 0.0)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    real_before = _real_config_state()
    root = tmp_path / "home"
    monkeypatch.setenv("HOME", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(root / "state"))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    yield root
    monkeypatch.undo()
    assert _real_config_state() == real_before, "a test touched the real config.toml"


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    monkeypatch.setattr(keyring.core, "_keyring_backend", keyring.core._keyring_backend)
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    return ring
