"""Writing config.toml without destroying the user's file (used by `config.save_settings`).

Why a separate module: editing TOML in place is its own problem. tomlkit keeps comments, key
order and formatting, and lets us change only the keys softphone owns. But some layouts (dotted
keys mixed with [section] headers) can come out of tomlkit meaning something else, so every
rendering is read back and checked: our values must load exactly, and every key we do not own
must be unchanged. If the in-place edit fails that check we rewrite the file plainly (every key
kept, comments lost); if that fails too we refuse to write. The file is then replaced atomically:
temp file in the same directory, fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import copy
import os
import stat
import tempfile
import tomllib
from collections.abc import Iterable, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeAlias

import tomlkit
from tomlkit.items import InlineTable, Table

from softphone.config import (
    ACCOUNT_KEYS,
    AUDIO_KEYS,
    SETTINGS_KEYS,
    ConfigError,
    Settings,
    settings_from_text,
)

_Map: TypeAlias = MutableMapping[str, Any]  # a tomlkit table of any style


def render(old: str, settings: Settings, path: Path) -> str:
    """The new file text: `old` with our keys set from `settings` and nothing else changed."""
    in_place = tomlkit.parse(old)
    _merge(in_place, settings)
    text = tomlkit.dumps(in_place)
    if _faithful(old, text, settings, path):
        return text
    plain = tomlkit.parse(tomlkit.dumps(tomllib.loads(old)))  # standard [table] layout
    _merge(plain, settings)
    text = tomlkit.dumps(plain)
    if _faithful(old, text, settings, path):
        return text
    raise ConfigError(
        f"cannot update {path} without changing keys softphone does not own; "
        "rewrite its [accounts] part as ordinary [accounts.NAME] sections and try again"
    )


def _faithful(old: str, new: str, settings: Settings, path: Path) -> bool:
    try:
        loaded = settings_from_text(new, path)
        new_data = tomllib.loads(new)
    except (ConfigError, tomllib.TOMLDecodeError):
        return False
    if replace(loaded, warnings=()) != replace(settings, warnings=()):
        return False
    old_data = tomllib.loads(old) if old else {}
    return _foreign(old_data, settings.accounts) == _foreign(new_data, settings.accounts)


def _foreign(data: dict[str, Any], accounts: Iterable[str]) -> dict[str, Any]:
    """Everything in `data` softphone does not own (accounts it deletes included)."""
    rest = copy.deepcopy(data)
    names = set(accounts)
    tables = rest.pop("accounts", {})
    extra = {
        name: {k: v for k, v in table.items() if k not in ACCOUNT_KEYS}
        for name, table in tables.items()
        if name in names
    }
    section = rest.pop("settings", {})
    audio = {k: v for k, v in section.pop("audio", {}).items() if k not in AUDIO_KEYS}
    section.pop("keys", None)
    section = {k: v for k, v in section.items() if k not in SETTINGS_KEYS}
    return {
        "top": rest,
        "accounts": {k: v for k, v in extra.items() if v},
        "settings": section,
        "audio": audio,
    }


def _merge(doc: tomlkit.TOMLDocument, settings: Settings) -> None:
    """Put our values into the parsed document, leaving keys and comments we do not own.

    Tables may be [sections], inline { } tables or dotted keys; tomlkit gives each a mapping
    that edits in place, so whichever the user chose is kept."""
    accounts = _child(doc, "accounts", super_table=True)
    for name in [k for k in accounts if k not in settings.accounts]:
        del accounts[name]
    for name, account in settings.accounts.items():
        created = name not in accounts
        table = _child(accounts, name)
        for key in ACCOUNT_KEYS:
            value = getattr(account, key)
            if key == "allowed_cidrs":
                value = list(value) or None
            if key == "region" and value == "US" and key not in table:
                value = None  # the default; keep new tables short
            _set(table, key, value)
        if created and isinstance(table, Table):
            table.add(tomlkit.nl())  # a blank line before whatever section follows
    if "settings" not in doc and not _has_settings(settings):
        return
    section = _child(doc, "settings")
    _set(section, "default_account", settings.default_account)
    _set(section, "theme", settings.theme)
    if "audio" in section or any(getattr(settings.audio, k) for k in AUDIO_KEYS):
        audio = _child(section, "audio")
        for key in AUDIO_KEYS:
            _set(audio, key, getattr(settings.audio, key))
    if "keys" in section or settings.keys:
        keys = _child(section, "keys")
        for key in [k for k in keys if k not in settings.keys]:
            del keys[key]
        for key, value in settings.keys.items():
            _set(keys, key, value)
    if not section:  # we emptied it (e.g. removed the default account): drop the header too
        del doc["settings"]


def _has_settings(settings: Settings) -> bool:
    return bool(settings.default_account or settings.theme or settings.keys) or any(
        getattr(settings.audio, k) for k in AUDIO_KEYS
    )


def _child(parent: _Map, key: str, *, super_table: bool = False) -> _Map:
    """The table `parent[key]`, created (inline inside an inline table) when missing."""
    if not isinstance(parent.get(key), MutableMapping):  # load_settings vetted the types
        inline = isinstance(parent, InlineTable)
        parent[key] = tomlkit.inline_table() if inline else tomlkit.table(super_table)
    found: _Map = parent[key]
    return found


def _set(table: _Map, key: str, value: object) -> None:
    if value is None:
        if key in table:
            del table[key]
    elif table.get(key) != value:  # untouched values keep their formatting and comments
        table[key] = value


def atomic_write(path: Path, text: str) -> None:
    """Write via a temp file in the same directory + fsync + rename (POSIX atomic replace)."""
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():  # keep the permissions the user gave the file
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
