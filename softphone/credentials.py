"""SIP passwords in the OS keyring (Secret Service, KWallet, macOS Keychain, Windows Vault).

Why a module of its own: the one rule that matters here is that a password is never written in
plain text behind the user's back. `keyring` quietly selects a "fail" backend (or an empty
chainer, or the null backend that drops what it is given) when no real keyring is reachable;
we detect all three before any operation and raise `NoKeyringError` with the fix, instead of
losing the password or storing it somewhere unsafe. Entries are keyed by the account name under
the service name "softphone".
"""

from __future__ import annotations

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

SERVICE = "softphone"

NO_KEYRING_FIX = (
    "no usable OS keyring to keep SIP passwords: start or unlock a Secret Service "
    "(e.g. gnome-keyring or KWallet) in this session, or pipe the password per run with "
    "--password-stdin; `pip install keyrings.alt` works too but keeps passwords in a file "
    "readable by your user, so only if you accept that risk"
)


class CredentialError(Exception):
    """The keyring refused or failed; the message says what to do."""


class NoKeyringError(CredentialError):
    """No keyring backend can store passwords on this machine."""


def backend() -> KeyringBackend:
    """The keyring backend in use, or NoKeyringError when it cannot really store anything."""
    current = keyring.get_keyring()
    if isinstance(current, fail.Keyring | null.Keyring):
        raise NoKeyringError(NO_KEYRING_FIX)
    if isinstance(current, chainer.ChainerBackend) and not current.backends:
        raise NoKeyringError(NO_KEYRING_FIX)
    return current


def backend_name() -> str:
    """A short description of the backend for `account show`, e.g. 'SecretService Keyring'."""
    current = backend()
    name = getattr(current, "name", None)
    return name if isinstance(name, str) and name else type(current).__name__


def is_plaintext() -> bool:
    """True when the chosen backend keeps passwords unencrypted (keyrings.alt Plaintext*)."""
    return "plaintext" in type(backend()).__name__.lower()


def get_password(account: str) -> str | None:
    """The stored password for `account`, or None when none is stored."""
    current = backend()
    try:
        return current.get_password(SERVICE, account)
    except Exception as exc:  # backends raise their own types too (D-Bus, secretstorage)
        raise _explain(exc) from None


def set_password(account: str, password: str) -> None:
    """Store (or replace) the password for `account`."""
    if not password:
        raise CredentialError("refusing to store an empty password")
    current = backend()
    try:
        current.set_password(SERVICE, account, password)
    except Exception as exc:  # backends raise their own types too (D-Bus, secretstorage)
        raise _explain(exc) from None


def delete_password(account: str) -> bool:
    """Forget the password for `account`; True if one was stored."""
    current = backend()
    try:
        if current.get_password(SERVICE, account) is None:
            return False
        current.delete_password(SERVICE, account)
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:  # backends raise their own types too (D-Bus, secretstorage)
        raise _explain(exc) from None
    return True


def _explain(exc: Exception) -> CredentialError:
    """Turn a backend error into one actionable message (never including a password)."""
    if isinstance(exc, keyring.errors.NoKeyringError):
        return NoKeyringError(NO_KEYRING_FIX)
    if isinstance(exc, keyring.errors.KeyringLocked):
        return CredentialError(
            "the keyring is locked: unlock it (log in to the desktop session or unlock "
            "'Login' in Passwords and Keys / KWallet), then try again"
        )
    detail = str(exc) or type(exc).__name__
    return CredentialError(f"the keyring failed: {detail}")
