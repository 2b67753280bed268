"""Isolation for UI tests: throwaway HOME and XDG dirs and an in-memory keyring.

The app reads config.toml, the keyring and the call history from the user's directories; every
test here points those at its own tmp dir and swaps the keyring backend for a dict, so nothing
can read or write the developer's real config or passwords. The real config file is checked to
be untouched after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.accounts.conftest import isolated_home
from tests.accounts.conftest import memory_keyring as memory_keyring  # autouse fixture


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The throwaway home directory (the UI tests want its path, not the accounts' Home)."""
    with isolated_home(tmp_path, monkeypatch) as paths:
        yield paths.root
