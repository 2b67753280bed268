"""`softphone account` end to end: real processes, tmp XDG dirs, a keyring backend chosen through
PYTHON_KEYRING_BACKEND (the test-only JSON file backend, or keyring's own fail backend), plus
in-process checks of `main` and `resolve_password`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from softphone import account_cli, cli, credentials
from softphone.account_cli import NO_PASSWORD, PasswordError, resolve_password
from softphone.config import AccountConfig

from .conftest import REPO, Home, MemoryKeyring

SECRET = "correct horse battery staple 9d1e"  # spaces on purpose: one whole line is the password
TWILIO_ADD = [
    "add",
    "work",
    "--provider",
    "twilio-domain",
    "--username",
    "+14155550100",
    "--domain",
    "acme.sip.twilio.com",
    "--transport",
    "tls",
    "--srtp",
    "mandatory",
]
FAIL_BACKEND = "keyring.backends.fail.Keyring"


def run(
    home: Home, *args: str, stdin: str = "", backend: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = home.env() if backend is None else home.env(backend)
    result = subprocess.run(
        [sys.executable, "-m", "softphone", "account", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert SECRET not in result.stdout + result.stderr, "a password was printed"
    return result


def stored(home: Home) -> dict[str, str]:
    if not home.keyring_file.exists():
        return {}
    data: dict[str, str] = json.loads(home.keyring_file.read_text())
    return data


def test_add_with_password_stdin_show_list_remove(home: Home) -> None:
    added = run(home, *TWILIO_ADD, "--password-stdin", stdin=SECRET + "\n")
    assert added.returncode == 0, added.stderr
    assert "added account 'work'" in added.stdout and "stored in the keyring" in added.stdout
    assert stored(home) == {"softphone/work": SECRET}  # newline stripped, spaces kept
    text = home.config_file.read_text()
    assert SECRET not in text and "password" not in text
    assert tomllib.loads(text)["accounts"]["work"]["domain"] == "acme.sip.twilio.com"

    shown = run(home, "show", "work")
    assert shown.returncode == 0, shown.stderr
    assert "password         stored in the keyring" in shown.stdout
    assert "registrar        sip:acme.sip.twilio.com:5061;transport=tls" in shown.stdout
    assert "AES_CM_128_HMAC_SHA1_80" in shown.stdout and "(default)" in shown.stdout

    listed = run(home, "list")
    assert listed.returncode == 0
    assert listed.stdout.split() == [
        "*",
        "work",
        "twilio-domain",
        "+14155550100@acme.sip.twilio.com",
        "tls+srtp",
    ]

    removed = run(home, "remove", "work")
    assert removed.returncode == 0, removed.stderr
    assert "its password was deleted" in removed.stdout
    assert stored(home) == {}
    assert "work" not in tomllib.loads(home.config_file.read_text()).get("accounts", {})
    assert run(home, "show", "work").returncode == 2


def test_add_without_password_says_how_to_give_one(home: Home) -> None:
    result = run(home, "add", "desk", "--provider", "lab", "--username", "bob")
    assert result.returncode == 0, result.stderr
    assert NO_PASSWORD in result.stdout
    assert f"password         {NO_PASSWORD}" in run(home, "show", "desk").stdout
    assert stored(home) == {}


def test_password_action_stores_from_stdin(home: Home) -> None:
    run(home, "add", "desk", "--provider", "lab", "--username", "bob")
    result = run(home, "password", "desk", "--password-stdin", stdin=SECRET + "\r\n")
    assert result.returncode == 0, result.stderr
    assert stored(home) == {"softphone/desk": SECRET}
    no_tty = run(home, "password", "desk")
    assert no_tty.returncode == 2 and "pass --password-stdin" in no_tty.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["add", "x", "--provider", "vonage", "--username", "u"], "invalid choice: 'vonage'"),
        (["add", "x", "--provider", "lab"], "required: --username"),
        (["add", "x", "--provider", "lab", "--username", "u", "--expires", "soon"], "invalid int"),
        (["add", "x y", "--provider", "lab", "--username", "u"], "name"),
        (
            ["add", "x", "--provider", "telnyx", "--username", "u", "--domain", "siphv.telnyx.com"],
            "405 Method Not Allowed",
        ),
        (
            [
                "add",
                "x",
                "--provider",
                "twilio-trunk",
                "--username",
                "u",
                "--domain",
                "acme.pstn.twilio.com",
                "--caller-id",
                "call me",
            ],
            "has letters",
        ),
        (
            ["add", "x", "--provider", "lab", "--username", "u", "--options-interval", "5"],
            "at least 15",
        ),
        (["frobnicate"], "invalid choice"),
        (["show", "nobody"], "no account 'nobody'"),
        (["remove", "nobody"], "no account 'nobody'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(home: Home, args: list[str], words: str) -> None:
    result = run(home, *args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert lines[0].startswith("softphone account: error: ")
    assert not home.config_file.exists(), "nothing may be written on bad input"


def test_existing_account_needs_replace(home: Home) -> None:
    run(home, *TWILIO_ADD, "--password-stdin", stdin=SECRET + "\n")
    again = run(home, *TWILIO_ADD)
    assert again.returncode == 2 and "--replace" in again.stderr
    replaced = run(home, *TWILIO_ADD[:-4], "--replace")
    assert replaced.returncode == 0 and "keeping the stored password" in replaced.stdout
    assert "transport" not in tomllib.loads(home.config_file.read_text())["accounts"]["work"]
    assert stored(home) == {"softphone/work": SECRET}


def test_trunk_account_normalises_caller_id_and_keeps_cidrs(home: Home) -> None:
    result = run(
        home,
        "add",
        "trunk",
        "--provider",
        "twilio-trunk",
        "--username",
        "u",
        "--domain",
        "acme.pstn.ashburn.twilio.com",
        "--caller-id",
        "(415) 555-0100",
        "--allow-cidr",
        "54.172.60.0/30",
        "--allow-cidr",
        "54.244.51.0/30",
    )
    assert result.returncode == 0, result.stderr
    table = tomllib.loads(home.config_file.read_text())["accounts"]["trunk"]
    assert table["caller_id"] == "+14155550100"
    assert table["allowed_cidrs"] == ["54.172.60.0/30", "54.244.51.0/30"]
    shown = run(home, "show", "trunk").stdout
    assert "registrar        none: this account does not register" in shown
    assert "OPTIONS every    60 s" in shown


def test_malformed_config_is_one_line_naming_file_and_line(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text("[accounts.work]\nprovider = lab\n")
    result = run(home, "list")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert str(home.config_file) in result.stderr and "line 2" in result.stderr


def _files_holding(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_no_keyring_backend_fails_clearly_and_writes_no_plaintext(home: Home) -> None:
    result = run(home, *TWILIO_ADD, "--password-stdin", stdin=SECRET + "\n", backend=FAIL_BACKEND)
    assert result.returncode == 1
    assert "no usable OS keyring" in result.stderr and "--password-stdin" in result.stderr
    assert not home.config_file.exists(), "the account must not be half-added"
    assert _files_holding(home.root.parent, SECRET) == []
    # Without a password everything else still works, and says what it cannot know.
    assert run(home, *TWILIO_ADD, backend=FAIL_BACKEND).returncode == 0
    shown = run(home, "show", "work", backend=FAIL_BACKEND)
    assert (
        shown.returncode == 0 and "password         unknown: no usable OS keyring" in shown.stdout
    )
    removed = run(home, "remove", "work", backend=FAIL_BACKEND)
    assert removed.returncode == 0 and "no keyring reachable" in removed.stdout
    assert _files_holding(home.root.parent, SECRET) == []


def test_top_level_cli_dispatches_account(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["account", "list"]) == 0
    assert "no accounts" in capsys.readouterr().out
    assert cli.main(["--help"]) == 0
    assert "account" in capsys.readouterr().out
    assert cli.main(["account", "--help"]) == 0


# --- in process: main() with the in-memory keyring, resolve_password -------------------------


def test_main_in_process_uses_the_keyring(
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET + "\n"))
    assert account_cli.main([*TWILIO_ADD, "--password-stdin"]) == 0
    assert memory_keyring.entries == {("softphone", "work"): SECRET}
    assert account_cli.main(["show", "work"]) == 0
    assert account_cli.main(["add"]) == 2
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err


def test_resolve_password_order(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = AccountConfig(name="work", provider="lab", username="alice")
    credentials.set_password("work", "from-keyring")
    monkeypatch.setattr(sys, "stdin", io.StringIO("from-stdin\n"))
    assert resolve_password(account, password_stdin=True, prompt=True) == "from-stdin"
    assert resolve_password(account, password_stdin=False, prompt=False) == "from-keyring"
    credentials.delete_password("work")
    with pytest.raises(PasswordError) as info:  # StringIO is not a terminal: no prompt
        resolve_password(account, password_stdin=False, prompt=True)
    assert "none is stored" in str(info.value) and "--password-stdin" in str(info.value)


def test_resolve_password_prompts_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    account = AccountConfig(name="work", provider="lab", username="alice")

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed"

    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert resolve_password(account, password_stdin=False, prompt=True) == "typed"
    assert prompts == ["SIP password for work (alice): "]
    with pytest.raises(PasswordError):
        resolve_password(account, password_stdin=False, prompt=False)


def test_resolve_password_without_keyring_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # type: ignore[no-untyped-call]
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    account = AccountConfig(name="work", provider="lab", username="alice")
    with pytest.raises(PasswordError, match="no usable OS keyring"):
        resolve_password(account, password_stdin=False, prompt=True)
    with pytest.raises(PasswordError, match="empty password"):
        resolve_password(account, password_stdin=True, prompt=False)


def test_show_of_a_hand_edited_broken_account_lists_its_errors(home: Home) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text(
        '[accounts.w]\nprovider = "twilio-domain"\nusername = "bob"\ndomain = "x.pstn.twilio.com"\n'
    )
    result = run(home, "show", "w")
    assert result.returncode == 1
    assert "domain           x.pstn.twilio.com" in result.stdout
    assert "error: account 'w', domain: " in result.stdout and "twilio-trunk" in result.stdout
