"""Fixtures for the headless phone tests: the real CLI in subprocesses, in throwaway homes.

Every command runs as `python -m softphone ...` with HOME and XDG_* in the test's tmp dir and
the test-only file keyring (tests/accounts/file_keyring.py), so nothing reads or writes the
developer's config, data or keyring. Accounts are written straight into config.toml and the
keyring file (the account CLI has its own tests). One lab registrar serves a whole module.
Each phone process gets its own free RTP port block. Processes started in the background are
always killed at the end of the test; none may outlive it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.peers.kamailio import Kamailio
from tests.peers.ports import free_port_block
from tests.peers.registrar import OurRegistrar

REPO = Path(__file__).resolve().parents[2]
USERS = {
    "alice": "alice-Secret-7391",
    "bob": "bob-Secret-2846",
    "carol": "carol-Secret-5512",
}
PHONE_COMMANDS = ("register", "call", "listen")
Server = OurRegistrar | Kamailio | SimpleNamespace  # SimpleNamespace(port=N): no server
Env = dict[str, str]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def summary(self) -> dict[str, Any]:
        last = self.json_lines()[-1]
        assert last["type"] == "Summary", last
        return last


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Background:
    """A CLI process running while the test does something else; output read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str], stdin: str | None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "softphone", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            # A test runner started as a background job of a script inherits SIGINT ignored
            # (POSIX), and Python then installs no KeyboardInterrupt: the CLI would never see
            # the Ctrl-C these tests send. The phone gets SIGINT as a terminal would give it.
            preexec_fn=_default_sigint,
        )
        assert self.proc.stdin is not None
        if stdin is not None:
            self.proc.stdin.write(stdin)
        self.proc.stdin.close()
        self.out: list[str] = []
        self.err: list[str] = []
        self._cond = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._cond:
                into.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = 15.0) -> None:
        """Wait until a stdout line contains `text` (fails if the process ends first)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(text in line for line in self.out):
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._alive_readers()):
                    raise AssertionError(f"no {text!r} in time:\n{self.text()}")
                self._cond.wait(min(left, 0.2))

    def _alive_readers(self) -> bool:
        return any(r.is_alive() for r in self._readers)

    def finish(self, timeout: float = 30.0) -> Result:
        """Wait for the exit (kill on overrun: a hang is a failure) and return the output."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"process did not exit in {timeout} s:\n{self.text()}") from None
        for reader in self._readers:
            reader.join(5)
        return Result(self.proc.returncode, "".join(self.out), "".join(self.err))

    def text(self) -> str:
        with self._cond:
            return "".join(self.out) + "--- stderr ---\n" + "".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


@dataclass
class PhoneHome:
    """A throwaway home: config, data dir, keyring file; runs the CLI inside it."""

    root: Path
    started: list[Background] = field(default_factory=list)

    @property
    def config_file(self) -> Path:
        return self.root / "config" / "softphone" / "config.toml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data" / "softphone"

    @property
    def history_file(self) -> Path:
        return self.data_dir / "history.sqlite3"

    @property
    def keyring_file(self) -> Path:
        return self.root / "keyring.json"

    def env(self, keyring_backend: str = "tests.accounts.file_keyring.JsonFileKeyring") -> Env:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_DATA_HOME": str(self.root / "data"),
            "XDG_CACHE_HOME": str(self.root / "cache"),
            "XDG_STATE_HOME": str(self.root / "state"),
            "PYTHONPATH": str(REPO),
            "PYTHON_KEYRING_BACKEND": keyring_backend,
            "SOFTPHONE_TEST_KEYRING": str(self.keyring_file),
            "PYTHONUNBUFFERED": "1",
            "LANG": "C.UTF-8",
        }

    def add_account(
        self,
        name: str,
        server: Server | None,
        *,
        user: str | None = None,
        password: str | None = "stored",
        **fields: Any,
    ) -> None:
        """Add a generic account for `user` (default `name`) at `server` (None: a trunk
        account without a registrar); password "stored" stores the user's real one."""
        user = user or name
        values: dict[str, Any] = {"provider": "generic", "username": user, "domain": "127.0.0.1"}
        if server is not None:
            values["registrar"] = f"sip:127.0.0.1:{server.port}"
            values["outbound_proxy"] = f"sip:127.0.0.1:{server.port};lr"
        else:
            values["register"] = False
        values.update(fields)
        lines = [f"[accounts.{name}]"]
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value)}")  # TOML basic strings/bools/lists
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        with self.config_file.open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n\n")
        if password is not None:
            stored = json.loads(self.keyring_file.read_text()) if self.keyring_file.exists() else {}
            stored[f"softphone/{name}"] = USERS[user] if password == "stored" else password
            self.keyring_file.write_text(json.dumps(stored))

    def _args(self, args: tuple[str, ...]) -> list[str]:
        if args and args[0] in PHONE_COMMANDS and "--rtp-ports" not in args:
            first = free_port_block(range(0, 40, 2), kinds=("udp",)) & ~1
            return [*args, "--rtp-ports", f"{first}-{first + 39}"]
        return list(args)

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 40.0, **env: str
    ) -> Result:
        """Run `softphone ARGS` to completion."""
        done = subprocess.run(
            [sys.executable, "-m", "softphone", *self._args(args)],
            cwd=REPO,
            env={**self.env(), **env},
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def spawn(self, *args: str, stdin: str | None = None) -> Background:
        """Start `softphone ARGS` in the background (killed at the end of the test)."""
        proc = Background(self._args(args), self.env(), stdin)
        self.started.append(proc)
        return proc

    def history(self) -> list[dict[str, Any]]:
        from softphone.history import History

        with History(self.history_file) as history:
            return [{**vars(r), "outcome": r.outcome} for r in reversed(history.recent_calls(100))]

    def assert_no_secrets(self, *texts: str, extra: tuple[Path, ...] = ()) -> None:
        """No password appears in the outputs, in `extra` files or in the data dir."""
        blobs = list(texts)
        files = [*extra, *(self.data_dir.glob("*") if self.data_dir.exists() else [])]
        blobs += [p.read_bytes().decode("latin-1") for p in files if p.is_file()]
        for password in USERS.values():
            for blob in blobs:
                assert password not in blob, "a password leaked"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[PhoneHome]:
    phone_home = PhoneHome(tmp_path / "home")
    phone_home.root.mkdir()
    yield phone_home
    for proc in phone_home.started:
        proc.kill()


@pytest.fixture(scope="module")
def registrar() -> Iterator[OurRegistrar]:
    with OurRegistrar(USERS) as server:
        yield server
