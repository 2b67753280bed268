"""Bad input ends with exit 2 and one line saying what to fix, before anything is sent.

No peer is needed: every one of these is refused before the engine starts. The account points at
a port nobody listens on, so a check that let the command through would show up as a different
exit code (1, after a registration timeout), not as a pass.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.headless.conftest import PhoneHome
from tests.peers.ports import free_port

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def phone(home: PhoneHome, tmp_path: Path) -> PhoneHome:
    nowhere = SimpleNamespace(port=free_port("udp"))
    home.add_account("alice", nowhere)
    home.add_account("trunk", None, user="alice")
    home.add_account("nopw", nowhere, user="alice", password=None)
    (tmp_path / "text.wav").write_text("not audio")
    return home


CASES = [
    (["register", "ghost"], "no account 'ghost' (accounts: alice, trunk, nopw)"),
    (["call", "alice", "12ab"], "has letters"),
    (["call", "alice", "+1 415 555"], "too short"),
    (["call", "alice", "bob", "--dtmf", "12x"], "DTMF digits are"),
    (["call", "alice", "bob", "--play", "{tmp}/missing.wav"], "no such file"),
    (["call", "alice", "bob", "--play", "{tmp}/text.wav"], "not a PCM WAV"),
    (["call", "alice", "bob", "--record", "{tmp}/no/dir/x.wav"], "does not exist"),
    (["listen", "alice", "--record", "{tmp}/x.mp3"], "must end in .wav"),
    (["register", "alice", "--trace", "{tmp}/no/dir/t.jsonl"], "does not exist"),
    (["register", "trunk"], "does not register"),
    (["listen", "alice", "--calls", "0"], "at least 1"),
    (["call", "alice", "bob", "--duration", "-1"], "0 to 86400"),
    (["register", "alice", "--rtp-ports", "80-90"], "RTP ports"),
    (["register", "nopw"], "no password for account 'nopw'"),
    (["call", "alice"], "required: TARGET"),
    (["register", "alice", "--bogus"], "unrecognized arguments"),
]


@pytest.mark.parametrize(("args", "words"), CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_bad_input_exits_2(phone: PhoneHome, tmp_path: Path, args: list[str], words: str) -> None:
    result = phone.run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.returncode == 2, result
    assert words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""  # nothing was dialled or registered


def test_bad_input_in_json_mode_ends_with_a_summary(phone: PhoneHome) -> None:
    result = phone.run("call", "alice", "12ab", "--json")
    assert result.returncode == 2
    summary = result.summary()
    assert summary["exit"] == 2 and not summary["ok"] and "has letters" in summary["message"]


def test_a_broken_config_file_is_bad_input(phone: PhoneHome) -> None:
    phone.config_file.write_text("[accounts.alice\n")
    result = phone.run("register", "alice")
    assert result.returncode == 2 and "malformed TOML" in result.stderr


def test_help_exits_0(phone: PhoneHome) -> None:
    for command in ("register", "call", "listen", "doctor"):
        result = phone.run(command, "--help")
        assert result.returncode == 0 and "usage: softphone " + command in result.stdout
    assert "register" in phone.run("--help").stdout
