"""Configured accounts in the UI: resolved values, and passwords from the keyring or a prompt.

Why here: the UI is where a configured account meets its password (keyring, typed into a
prompt, or handed over by `softphone lab`); softphone.engine_account then makes the
EngineAccount. Passwords stay in memory only; a missing one leaves the account visible as "no
password" so the user can give it, rather than failing the whole start. The keyring module is
imported on first use, not at startup: some backends (D-Bus Secret Service) are slow to load
and the first frame should not wait on them.
"""

from __future__ import annotations

from softphone.config import AccountConfig
from softphone.ui.model import AccountView, Setup


def account_view(config: AccountConfig, *, lab: bool = False) -> AccountView:
    """The row for `config`: resolved values, or why the provider rejects it."""
    from softphone.providers import AccountInvalid, effective  # phonenumbers: not before needed

    try:
        resolved = effective(config)
    except AccountInvalid as exc:
        first = exc.problems[0]
        more = f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return AccountView(config, None, "invalid", f"{first.field}: {first.text}{more}", lab=lab)
    except KeyError as exc:  # an unknown provider name
        return AccountView(config, None, "invalid", str(exc).strip("'\""), lab=lab)
    return AccountView(config, resolved, lab=lab)


def stored_password(name: str) -> tuple[str | None, Setup, str]:
    """(password, setup, problem) from the OS keyring; never raises."""
    from softphone import credentials

    try:
        password = credentials.get_password(name)
    except credentials.NoKeyringError:
        return None, "no keyring", "no OS keyring to read the password from"
    except credentials.CredentialError as exc:
        return None, "no keyring", str(exc)
    if not password:
        return None, "no password", "no password stored"
    return password, "ok", ""


def save_password(name: str, password: str) -> str | None:
    """Store `password` in the keyring; the problem in words, or None when stored."""
    from softphone import credentials

    try:
        credentials.set_password(name, password)
    except credentials.CredentialError as exc:
        return str(exc)
    return None
