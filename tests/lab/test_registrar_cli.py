"""`softphone registrar` as a user meets it: clear errors with exit code 2, clean exit on
SIGTERM, one `listening` line per listener."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "softphone", "registrar", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """Data and config dirs in the test's tmp dir: never the developer's own."""
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "sctp:127.0.0.1:5060"], "expected udp:HOST:PORT"),
        (["--listen", "udp:127.0.0.1:99999"], "expected udp:HOST:PORT"),
        (["--max-contacts", "-3"], "not a whole number"),
        (["--bogus"], "unrecognized arguments"),
        (["--user", "nopassword"], "expects NAME:PASSWORD"),
        (["--users-file", "/nonexistent/users.txt"], "cannot read users file"),
        (["--tls-cert", "/tmp/x.pem"], "--tls-cert and --tls-key go together"),
        (["--algorithms", "MD4"], "choose from"),
    ],
)
def test_bad_input_is_one_clear_error_and_exit_2(
    args: list[str], message: str, home: dict[str, str], tmp_path: Path
) -> None:
    result = run(*args, "--db", str(tmp_path / "db"), "--listen=udp:127.0.0.1:0", env=home)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_users_file_line_is_named(home: dict[str, str], tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# demo users\nalice:pw\nbob\n")
    result = run("--users-file", str(users), "--db", str(tmp_path / "db"), env=home)
    assert result.returncode == 2
    assert f"{users}:3: expected name:password" in result.stderr


def test_port_in_use_is_a_clear_error(home: dict[str, str], tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run(f"--listen=udp:127.0.0.1:{port}", "--db", str(tmp_path / "db"), env=home)
    assert result.returncode == 2
    assert f"cannot listen on udp:127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_not_a_database_is_a_clear_error(home: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.write_bytes(b"this is not sqlite" * 100)
    result = run("--listen=udp:127.0.0.1:0", "--db", str(db), env=home)
    assert result.returncode == 2
    assert f"cannot use database {db}" in result.stderr
    assert db.read_bytes().startswith(b"this is not sqlite")  # never overwritten


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ready_lines_and_clean_exit(home: dict[str, str], tmp_path: Path, workers: str) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "softphone",
            "registrar",
            "--workers",
            workers,
            "--listen=udp:127.0.0.1:0",
            "--listen=tcp:127.0.0.1:0",
            "--listen=tls:127.0.0.1:0",
            "--user=alice:pw",
            "--db",
            str(tmp_path / "db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=home,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(3)]
        assert [line.split(":")[0] for line in lines] == [
            "listening udp",
            "listening tcp",
            "listening tls",
        ]
        assert all(int(line.rsplit(":", 1)[1]) > 0 for line in lines)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    # The self-signed certificate went to the data dir we gave it, with a private key.
    key = tmp_path / "data" / "softphone" / "registrar-key.pem"
    assert key.exists() and (key.stat().st_mode & 0o077) == 0
