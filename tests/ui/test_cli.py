"""`softphone` alone opens the TUI; --help stays instant and never loads the TUI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(args: list[str], home: Path, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONPATH": str(REPO),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    program = code or "import sys; from softphone.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_help_is_printed_without_loading_the_tui(home: Path) -> None:
    code = (
        "import sys; from softphone.cli import main; rc = main(['--help']); "
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'pjsua2') or m.startswith('softphone.ui')))"
    )
    result = run([], home, code)
    assert result.returncode == 0, result.stderr
    assert "without a command, softphone opens the terminal phone" in result.stdout.lower()
    assert "LOADED []" in result.stdout


def test_no_command_without_a_terminal_says_so(home: Path) -> None:
    result = run([], home)
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_config_is_one_line_not_a_traceback(home: Path) -> None:
    code = (
        "import sys, os; from softphone import cli; "
        "sys.stdin.isatty = lambda: True; sys.stderr.isatty = lambda: True; "
        "sys.exit(cli.main([]))"
    )
    config = home / "config" / "softphone"
    config.mkdir(parents=True)
    (config / "config.toml").write_text("[accounts.x\n", encoding="utf-8")
    result = run([], home, code)
    assert result.returncode == 2
    assert "malformed TOML" in result.stderr and "Traceback" not in result.stderr
