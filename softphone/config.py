"""Accounts and settings as typed values, read from and written to `config.toml`.

Why this shape:
- The file holds only what the user chose. A value left out (None) means "the provider's
  default", resolved by `softphone.providers.effective`, so a preset fix reaches old accounts.
- There is no password field, on purpose: passwords live in the OS keyring
  (`softphone.credentials`). A `password` key in the file is refused with the fix.
- Users edit this file by hand, so writing never destroys it: we update only the keys we own
  and keep every other key, section and comment, checked and written atomically
  (`softphone.config_write`), and a malformed file is one `ConfigError` naming the file, the
  line and the fix instead of a traceback; it is never overwritten.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal, get_args

import platformdirs

from softphone import paths

Transport = Literal["udp", "tcp", "tls"]
Srtp = Literal["off", "optional", "mandatory"]
TRANSPORTS: tuple[str, ...] = get_args(Transport)
SRTP_MODES: tuple[str, ...] = get_args(Srtp)
# The preset names; softphone.providers has one preset per name (a test keeps them in step).
PROVIDERS = ("twilio-domain", "twilio-trunk", "telnyx", "generic", "lab")
CONFIG_NAME = "config.toml"

# Account names become TOML keys and keyring user names: keep them plain and shell-friendly.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
# E.164 (ITU-T E.164 §6): "+", a country code not starting with 0, at most 15 digits in all.
_E164_RE = re.compile(r"\+[1-9][0-9]{1,14}")
# A SIP user part that needs no escaping (RFC 3261 §25.1 unreserved / user-unreserved).
_USER_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/]+")
_MIN_OPTIONS_INTERVAL = 15  # Twilio bans faster OPTIONS pings (seed 001: "10-15 seconds")


class ConfigError(Exception):
    """A config problem the user can fix; the message names the file/account, field and fix."""

    def __init__(self, message: str, *, account: str | None = None, field: str | None = None):
        super().__init__(message)
        self.account = account
        """The account concerned, when there is one."""
        self.field = field
        """The field concerned, when there is one."""


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One SIP account as the user configured it. None means "use the provider's default"."""

    name: str
    """Local name of the account: the TOML key and the keyring user name. Letters, digits, - _."""
    provider: str
    """Preset that knows the provider's rules: twilio-domain, twilio-trunk, telnyx, generic, lab."""
    username: str
    """SIP user name, also the digest user name (Twilio recommends E.164 user names)."""
    domain: str | None = None
    """Host of the AOR (`sip:user@domain`), e.g. example.sip.twilio.com; host only, no scheme."""
    registrar: str | None = None
    """Registrar URI override, e.g. sip:pbx.example.com:5070; default derived from the domain."""
    transport: Transport | None = None
    """Signalling transport: udp, tcp or tls (default udp)."""
    srtp: Srtp | None = None
    """Media encryption (SDES, RFC 4568): off, optional or mandatory (default off)."""
    expires: int | None = None
    """Requested registration lifetime in seconds (default per provider)."""
    ca_file: str | None = None
    """PEM file of CA certificates to verify the server's TLS certificate (default: system)."""
    caller_id: str | None = None
    """Caller ID in E.164, sent as the From user on trunks (must be a number you own)."""
    region: str = "US"
    """ISO 3166 region used to read national numbers typed without +country code."""
    outbound_proxy: str | None = None
    """SIP URI of an outbound proxy every request goes through (loose routing, ;lr)."""
    allowed_cidrs: tuple[str, ...] = ()
    """Trunk mode: networks allowed to send us INVITEs (the provider's signalling ranges)."""
    options_interval: int | None = None
    """Trunk mode: seconds between OPTIONS qualify pings (at least 15)."""
    register: bool | None = None
    """Whether to send REGISTER at all (trunks do not register)."""
    realm: str | None = None
    """Digest realm to answer; None answers the realm the server names."""

    def __post_init__(self) -> None:
        # Checks every provider shares; provider rules live in softphone.providers.
        interval = self.options_interval
        checks = (
            ("name", _NAME_RE.fullmatch(self.name), "use 1-64 letters, digits, '-' or '_'"),
            ("provider", self.provider in PROVIDERS, "use one of " + ", ".join(PROVIDERS)),
            ("username", _USER_RE.fullmatch(self.username), "not a usable SIP user name (no "
             "spaces, '@' or ':'; e.g. +14155550100 or alice)"),
            ("domain", self.domain != "", "give a host such as example.sip.twilio.com"),
            ("transport", self.transport in (None, *TRANSPORTS), "use udp, tcp or tls"),
            ("srtp", self.srtp in (None, *SRTP_MODES), "use off, optional or mandatory"),
            ("expires", self.expires is None or 0 < self.expires <= 86400,
             "use a number of seconds from 1 to 86400"),
            ("caller_id", self.caller_id is None or _E164_RE.fullmatch(self.caller_id),
             "not E.164: write + then country code and number, e.g. +14155550100"),
            ("region", re.fullmatch(r"[A-Z]{2}", self.region), "use a code such as US or GB"),
            ("options_interval", interval is None or interval >= _MIN_OPTIONS_INTERVAL,
             f"use at least {_MIN_OPTIONS_INTERVAL} s (Twilio bans faster OPTIONS pings)"),
        )  # fmt: skip
        for name, ok, why in checks:
            if not ok:
                value = getattr(self, name)
                raise ConfigError(
                    f"account {self.name!r}: {name}: {value!r}: {why}",
                    account=self.name,
                    field=name,
                )
        for cidr in self.allowed_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ConfigError(
                    f"account {self.name!r}: allowed_cidrs: {exc} (e.g. 54.172.60.0/30)",
                    account=self.name,
                    field="allowed_cidrs",
                ) from None


@dataclass(frozen=True, slots=True)
class AudioSettings:
    """Sound devices by name; None means the system default."""

    input: str | None = None
    """Microphone device name."""
    output: str | None = None
    """Speaker/headset device name."""
    ring: str | None = None
    """Device that plays the ring tone (e.g. the loudspeaker while calls use a headset)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in config.toml that softphone understands."""

    accounts: Mapping[str, AccountConfig] = field(default_factory=dict)
    """Accounts by name (`[accounts.NAME]` tables)."""
    default_account: str | None = None
    """Account used when a command names none."""
    theme: str | None = None
    """TUI theme name."""
    audio: AudioSettings = field(default_factory=AudioSettings)
    """Sound devices (`[settings.audio]`)."""
    keys: Mapping[str, str] = field(default_factory=dict)
    """Key binding overrides: binding id -> key (`[settings.keys]`)."""
    warnings: tuple[str, ...] = ()
    """Things in the file we did not understand (e.g. a misspelt key); the file keeps them."""

    def with_account(self, account: AccountConfig) -> Settings:
        """A copy with `account` added or replaced."""
        return replace(self, accounts={**self.accounts, account.name: account})

    def without_account(self, name: str) -> Settings:
        """A copy without the account `name` (the default account is cleared if it was that)."""
        accounts = {k: v for k, v in self.accounts.items() if k != name}
        default = None if self.default_account == name else self.default_account
        return replace(self, accounts=accounts, default_account=default)


ACCOUNT_KEYS = tuple(f.name for f in fields(AccountConfig) if f.name != "name")
# The keys softphone owns in the file; config_write leaves every other key alone.
SETTINGS_KEYS = ("default_account", "theme")
AUDIO_KEYS = tuple(f.name for f in fields(AudioSettings))
_INT_KEYS = {"expires", "options_interval"}


def config_path() -> Path:
    """Where config.toml lives (honours XDG_CONFIG_HOME); computed without creating anything."""
    return Path(platformdirs.user_config_dir(paths.APP)) / CONFIG_NAME


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; a missing file is an empty configuration, a broken one a ConfigError."""
    path = config_path() if path is None else path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return settings_from_text(text, path)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write `settings`, keeping every key, section and comment we do not own; returns the path."""
    if path is None:
        path = paths.config_dir() / CONFIG_NAME
    target = path.resolve() if path.is_symlink() else path  # keep a dotfile manager's link
    try:
        old = target.read_text(encoding="utf-8") if target.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {target} before writing it: {exc}") from None
    if old:
        settings_from_text(old, target)  # never overwrite a file we cannot understand
    from softphone.config_write import atomic_write, render  # tomlkit: loaded only to write

    atomic_write(target, render(old, settings, target))
    return target


def settings_from_text(text: str, path: Path) -> Settings:
    """Parse and check config text; `path` is only named in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", reason)
        where = f"{path}, line {m.group(1)}" if m else str(path)
        reason = reason[: m.start()].strip() if m else reason
        raise ConfigError(
            f"{where}: malformed TOML ({reason}); fix that line (values look like "
            'key = "text" or key = 600) or move the file away to start again'
        ) from None
    warnings: list[str] = []
    accounts_raw = data.get("accounts", {})
    if not isinstance(accounts_raw, dict):
        raise ConfigError(f"{path}: 'accounts' must be a table of [accounts.NAME] sections")
    accounts: dict[str, AccountConfig] = {}
    for name, table in accounts_raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(path, text, name)}: account {name!r} must be a table")
        accounts[name] = _account_from_table(name, table, path, text, warnings)
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 'settings' must be a table ([settings])")
    for key in SETTINGS_KEYS:
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{path}: settings.{key} must be text in quotes")
    audio_raw = raw.get("audio", {})
    keys_raw = raw.get("keys", {})
    if not isinstance(audio_raw, dict) or not all(
        isinstance(audio_raw.get(k), str | None) for k in AUDIO_KEYS
    ):
        raise ConfigError(f"{path}: [settings.audio] takes input, output and ring device names")
    if not isinstance(keys_raw, dict) or not all(isinstance(v, str) for v in keys_raw.values()):
        raise ConfigError(f'{path}: [settings.keys] maps binding ids to keys, e.g. dial = "d"')
    default = raw.get("default_account")
    if default is not None and default not in accounts:
        warnings.append(f"settings.default_account {default!r} names no account")
    return Settings(
        accounts=accounts,
        default_account=default,
        theme=raw.get("theme"),
        audio=AudioSettings(**{k: audio_raw.get(k) for k in AUDIO_KEYS}),
        keys=dict(keys_raw),
        warnings=tuple(warnings),
    )


def _account_from_table(
    name: str, table: dict[str, object], path: Path, text: str, warnings: list[str]
) -> AccountConfig:
    def fail(key: str, why: str) -> ConfigError:
        where = _where(path, text, name, key)
        return ConfigError(f"{where}: account {name!r}: {key}: {why}", account=name, field=key)

    if "password" in table:
        raise fail(
            "password",
            "passwords do not belong in this file; delete the line and "
            f"store it in the keyring: softphone account add {name} ... --password-stdin",
        )
    values: dict[str, object] = {}
    for key, value in table.items():
        if key not in ACCOUNT_KEYS:
            warnings.append(f"account {name!r}: unknown key {key!r} ignored (kept in the file)")
            continue
        if key == "register":
            if not isinstance(value, bool):
                raise fail(key, "must be true or false")
        elif key in _INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise fail(key, f"must be a whole number of seconds, not {value!r}")
        elif key == "allowed_cidrs":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(key, 'must be a list of networks, e.g. ["54.172.60.0/30"]')
            value = tuple(value)
        elif not isinstance(value, str):
            raise fail(key, f'must be text in quotes, e.g. {key} = "..."; got {value!r}')
        values[key] = value
    for required in ("provider", "username"):
        if required not in values:
            raise fail(required, f'missing; add {required} = "..." to [accounts.{name}]')
    try:
        return AccountConfig(name=name, **values)  # type: ignore[arg-type]
    except ConfigError as exc:
        where = _where(path, text, name, exc.field or "")
        raise ConfigError(f"{where}: {exc}", account=name, field=exc.field) from None


def _where(path: Path, text: str, account: str, key: str = "") -> str:
    """`file, line N` of an account's key, else of its header, when a plain layout shows it."""
    header = re.compile(rf"^\s*\[\s*accounts\s*\.\s*\"?{re.escape(account)}\"?\s*\]")
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=") if key else None
    found: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if header.match(line):
            found = number
            if key_re is None:
                break
        elif found and line.lstrip().startswith("["):
            break
        elif found and key_re is not None and key_re.match(line):
            return f"{path}, line {number}"
    return f"{path}, line {found}" if found else str(path)
