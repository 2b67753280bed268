"""Where softphone keeps its files: platformdirs locations that honour the XDG_* variables.

Directories are created on first use, never at import, so a command that writes nothing leaves
no trace on the machine.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "softphone"


def _ensure(path: str) -> Path:
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def config_dir() -> Path:
    """Accounts and settings (TOML)."""
    return _ensure(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """Databases (call history, lab bindings) and the lab's TLS certificate."""
    return _ensure(platformdirs.user_data_dir(APP))


def log_dir() -> Path:
    """Traces and logs."""
    return _ensure(platformdirs.user_log_dir(APP))


def cache_dir() -> Path:
    """Anything that can be rebuilt."""
    return _ensure(platformdirs.user_cache_dir(APP))
