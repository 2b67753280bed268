"""config.toml: round trip, atomic writes, the user's own keys kept, clear errors, XDG honoured."""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from softphone.config import (
    AccountConfig,
    AudioSettings,
    ConfigError,
    Settings,
    config_path,
    load_settings,
    save_settings,
)

from .conftest import Home

WORK = AccountConfig(
    name="work",
    provider="twilio-domain",
    username="+14155550100",
    domain="acme.sip.twilio.com",
    transport="tls",
    srtp="mandatory",
    expires=600,
    caller_id="+14155550100",
)
TRUNK = AccountConfig(
    name="pbx-trunk",
    provider="twilio-trunk",
    username="trunkuser",
    domain="acme.pstn.ashburn.twilio.com",
    region="GB",
    allowed_cidrs=("54.172.60.0/30", "2001:db8::/32"),
    options_interval=30,
    register=False,
    realm="sip.twilio.com",
    outbound_proxy="sip:proxy.example.com;lr",
    registrar="sip:acme.pstn.ashburn.twilio.com:5061;transport=tls",
    ca_file="/etc/ssl/certs/ca-certificates.crt",
)


def test_xdg_config_home_is_honoured(home: Home) -> None:
    assert config_path() == home.config_file
    assert not home.config.exists(), "computing the path must not create anything"
    written = save_settings(Settings().with_account(WORK))
    assert written == home.config_file
    assert home.config_file.is_file()


def test_missing_file_is_an_empty_configuration() -> None:
    assert load_settings() == Settings()


def test_round_trip_keeps_every_field(home: Home) -> None:
    settings = Settings(
        accounts={"work": WORK, "pbx-trunk": TRUNK},
        default_account="work",
        theme="nord",
        audio=AudioSettings(input="USB mic", output="Headset", ring="Speakers"),
        keys={"dial": "d", "hangup": "ctrl+h"},
    )
    save_settings(settings)
    loaded = load_settings()
    assert loaded == settings
    assert loaded.accounts["pbx-trunk"].allowed_cidrs == ("54.172.60.0/30", "2001:db8::/32")
    assert loaded.accounts["pbx-trunk"].register is False


def test_file_never_contains_a_password_field(home: Home) -> None:
    save_settings(Settings().with_account(WORK).with_account(TRUNK))
    data = tomllib.loads(home.config_file.read_text())
    for table in data["accounts"].values():
        assert not any("pass" in key for key in table)
    assert not any("pass" in f for f in AccountConfig.__dataclass_fields__)


def test_password_key_in_the_file_is_refused_with_the_fix(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text(
        '[accounts.work]\nprovider = "lab"\nusername = "alice"\npassword = "hunter2"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "line 4" in message and "keyring" in message and "--password-stdin" in message
    assert "hunter2" not in message


USER_FILE = """\
# my phone setup -- do not lose this comment
editor_note = "kept"   # a top-level key softphone does not know

[accounts.work]        # the work line
provider = "twilio-domain"
username = "+14155550100"
domain = "acme.sip.twilio.com"
colour = "blue"        # a key softphone does not know

[plugins.recorder]
enabled = true
paths = ["/a", "/b"]

[settings]
theme = "nord"
experimental = 3
"""


def test_unknown_keys_sections_and_comments_survive_a_write(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text(USER_FILE)
    settings = load_settings()
    assert settings.warnings == ("account 'work': unknown key 'colour' ignored (kept in the file)",)
    changed = settings.with_account(replace(settings.accounts["work"], transport="tls"))
    changed = changed.with_account(AccountConfig(name="lab", provider="lab", username="bob"))
    save_settings(replace(changed, theme="dark"))
    text = home.config_file.read_text()
    for kept in (
        "# my phone setup -- do not lose this comment",
        'editor_note = "kept"   # a top-level key softphone does not know',
        "[accounts.work]        # the work line",
        'colour = "blue"        # a key softphone does not know',
        "[plugins.recorder]",
        'paths = ["/a", "/b"]',
        "experimental = 3",
    ):
        assert kept in text
    data = tomllib.loads(text)
    assert data["accounts"]["work"]["transport"] == "tls"
    assert data["accounts"]["lab"] == {"provider": "lab", "username": "bob"}
    assert data["settings"]["theme"] == "dark"
    assert data["plugins"] == {"recorder": {"enabled": True, "paths": ["/a", "/b"]}}


def test_removing_an_account_keeps_the_others_and_user_sections(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text(USER_FILE)
    save_settings(load_settings().with_account(replace(TRUNK)).without_account("work"))
    data = tomllib.loads(home.config_file.read_text())
    assert list(data["accounts"]) == ["pbx-trunk"]
    assert data["editor_note"] == "kept" and data["plugins"]["recorder"]["enabled"] is True


def test_write_is_atomic_and_keeps_the_old_file_when_rename_fails(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_settings(Settings().with_account(WORK))
    before = home.config_file.read_bytes()
    inode = home.config_file.stat().st_ino

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:  # only this patch; the tmp XDG dirs stay in force
        patch.setattr(os, "replace", broken_replace)
        with pytest.raises(ConfigError, match="No space left on device"):
            save_settings(Settings().with_account(WORK).with_account(TRUNK))
    assert home.config_file.read_bytes() == before
    assert sorted(p.name for p in home.config_file.parent.iterdir()) == ["config.toml"]
    # A successful write replaces the file by rename (a new inode), never in place.
    save_settings(Settings().with_account(TRUNK))
    assert home.config_file.stat().st_ino != inode


def test_write_keeps_file_mode_and_a_symlinked_file(home: Home, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "softphone.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text('[accounts.work]\nprovider = "lab"\nusername = "alice"\n')
    os.chmod(dotfiles, 0o640)
    home.config_file.parent.mkdir(parents=True)
    home.config_file.symlink_to(dotfiles)
    save_settings(load_settings().with_account(TRUNK))
    assert home.config_file.is_symlink(), "the user's link must not be replaced by a file"
    assert "pbx-trunk" in tomllib.loads(dotfiles.read_text())["accounts"]
    assert dotfiles.stat().st_mode & 0o777 == 0o640


def test_malformed_toml_names_file_line_and_fix(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text('[accounts.work]\nprovider = "lab"\nusername = alice\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert str(home.config_file) in message
    assert "line 3" in message
    assert "malformed TOML" in message and "fix that line" in message
    assert "\n" not in message


def test_a_malformed_file_is_never_overwritten(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    broken = "[accounts.work\nprovider = 'lab'\n"
    home.config_file.write_text(broken)
    with pytest.raises(ConfigError, match="line 1"):
        save_settings(Settings().with_account(WORK))
    assert home.config_file.read_text() == broken


def test_not_utf8_is_a_config_error(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_bytes(b'theme = "\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings()


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("expires = 'soon'", "expires", "whole number"),
        ("expires = 0", "expires", "1 to 86400"),
        ("transport = 'sctp'", "transport", "udp, tcp or tls"),
        ("srtp = true", "srtp", "text in quotes"),
        ("register = 'no'", "register", "true or false"),
        ("options_interval = 5", "options_interval", "at least 15"),
        ("allowed_cidrs = '10.0.0.0/8'", "allowed_cidrs", "list of networks"),
        ("allowed_cidrs = ['10.0.0.1/8']", "allowed_cidrs", "host bits set"),
        ("caller_id = '4155550100'", "caller_id", "not E.164"),
        ("region = 'usa'", "region", "US or GB"),
    ],
)
def test_field_errors_name_account_field_and_line(
    home: Home, line: str, field: str, words: str
) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text(f'[accounts.desk]\nprovider = "lab"\nusername = "alice"\n{line}\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.account == "desk" and info.value.field == field
    message = str(info.value)
    assert "'desk'" in message and field in message and words in message
    assert "line 4" in message


def test_missing_required_key_is_named(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text('[accounts.desk]\nprovider = "lab"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "line 1: account 'desk': username: missing" in str(info.value)


def test_invalid_values_are_refused_when_built_in_code() -> None:
    with pytest.raises(ConfigError, match="name"):
        AccountConfig(name="my account", provider="lab", username="alice")
    with pytest.raises(ConfigError, match="provider"):
        AccountConfig(name="a", provider="vonage", username="alice")
    with pytest.raises(ConfigError, match="username"):
        AccountConfig(name="a", provider="lab", username="alice@example.com")
    with pytest.raises(ConfigError, match="domain"):
        AccountConfig(name="a", provider="lab", username="alice", domain="")


def test_default_account_naming_nothing_is_a_warning(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text('[settings]\ndefault_account = "gone"\n')
    assert load_settings().warnings == ("settings.default_account 'gone' names no account",)


def test_emptied_settings_section_is_dropped(home: Home) -> None:
    save_settings(replace(Settings().with_account(WORK), default_account="work"))
    assert "[settings]" in home.config_file.read_text()
    save_settings(load_settings().without_account("work"))
    assert "[settings]" not in home.config_file.read_text()
    assert load_settings() == Settings()


def test_inline_tables_are_edited_in_place(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text(
        'settings = { theme = "a", mine = 1 }\n'
        '[accounts]\nwork = { provider = "lab", username = "alice", colour = "x" }\n'
    )
    settings = load_settings()
    changed = settings.with_account(replace(settings.accounts["work"], expires=120))
    save_settings(replace(changed, theme="b"))
    text = home.config_file.read_text()
    assert 'work = { provider = "lab", username = "alice", colour = "x", expires = 120' in text
    assert 'settings = { theme = "b", mine = 1 }' in text
    assert load_settings().accounts["work"].expires == 120


def test_dotted_keys_fall_back_to_a_plain_rewrite_that_keeps_every_key(home: Home) -> None:
    # tomlkit cannot add a [section] next to dotted keys without changing their meaning; the
    # read-back check catches that and the file is rewritten plainly instead.
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text(
        'accounts.work.provider = "lab"\naccounts.work.username = "alice"\n'
        'accounts.work.colour = "x"\n[other]\ny = 2\n'
    )
    save_settings(load_settings().with_account(TRUNK))
    data = tomllib.loads(home.config_file.read_text())
    assert data["accounts"]["work"] == {"provider": "lab", "username": "alice", "colour": "x"}
    assert data["other"] == {"y": 2}
    assert set(load_settings().accounts) == {"work", "pbx-trunk"}
