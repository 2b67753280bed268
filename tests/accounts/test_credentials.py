"""Keyring access: set/get/delete through a real keyring backend object, and the refusal to
work (never a plaintext fallback) when no usable backend exists."""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backends import chainer, fail, null

from softphone import credentials
from softphone.credentials import SERVICE, CredentialError, NoKeyringError

from .conftest import Home, MemoryKeyring

SECRET = "pa55-w0rd-that-must-not-leak-7f3a"


def test_set_get_delete_round_trip(memory_keyring: MemoryKeyring) -> None:
    assert credentials.get_password("work") is None
    credentials.set_password("work", SECRET)
    assert memory_keyring.entries == {(SERVICE, "work"): SECRET}
    assert credentials.get_password("work") == SECRET
    assert credentials.get_password("home") is None
    credentials.set_password("work", "changed")
    assert credentials.get_password("work") == "changed"
    assert credentials.delete_password("work") is True
    assert credentials.get_password("work") is None
    assert credentials.delete_password("work") is False


def test_empty_password_is_refused(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(CredentialError, match="empty"):
        credentials.set_password("work", "")
    assert memory_keyring.entries == {}


def test_backend_name_and_plaintext_flag() -> None:
    assert credentials.backend_name().endswith("MemoryKeyring")
    assert credentials.is_plaintext() is False


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("make", [fail.Keyring, null.Keyring, chainer.ChainerBackend])
def test_no_usable_backend_raises_with_the_fix_and_writes_nothing(
    make: type[keyring.backend.KeyringBackend], home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty chainer is what keyring builds when it finds no backend at all.
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    keyring.set_keyring(make())
    for attempt in (
        lambda: credentials.set_password("work", SECRET),
        lambda: credentials.get_password("work"),
        lambda: credentials.delete_password("work"),
    ):
        with pytest.raises(NoKeyringError) as info:
            attempt()
        message = str(info.value)
        assert "Secret Service" in message and "--password-stdin" in message
        assert "keyrings.alt" in message and "risk" in message
    for path in _all_files(home.root.parent):
        assert SECRET.encode() not in path.read_bytes(), f"password written to {path}"


class _Locked(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    set_password = get_password  # type: ignore[assignment]


class _Broken(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


def test_locked_keyring_says_unlock_it() -> None:
    keyring.set_keyring(_Locked())
    with pytest.raises(CredentialError, match="locked: unlock it"):
        credentials.get_password("work")


def test_foreign_backend_errors_become_credential_errors() -> None:
    keyring.set_keyring(_Broken())
    with pytest.raises(CredentialError, match=r"keyring failed: .*ServiceUnknown") as info:
        credentials.set_password("work", SECRET)
    assert SECRET not in str(info.value)


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt.file.PlaintextKeyring, recognised by its class name."""


def test_plaintext_backend_is_flagged() -> None:
    keyring.set_keyring(PlaintextKeyring())
    assert credentials.is_plaintext() is True
