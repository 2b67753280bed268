"""`softphone doctor`: can this machine run the phone, and what will be missing?

Why: the parts that fail are outside the project: a pjsua2 wheel for the wrong Python, no
sound devices (the Linux wheel has no sound backend at all, engine-notes §0), no usable
keyring, no CA bundle. Each check says what it found and what that means for calls, in one
line. Only two things make the phone unusable (exit 1): a Python it does not run on, and an
engine that does not start. Everything else is a warning with its consequence (silent calls,
passwords per run with --password-stdin, unverifiable TLS).

The engine is started in a child process: a broken pjsua2 can abort the process it runs in
(engine-notes §10.1), and the doctor must still report that.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from softphone import credentials
from softphone.engine.types import SYSTEM_CA_BUNDLE

Status = Literal["ok", "warn", "fail"]
PROBE_TIMEOUT = 30.0
_PROBE_CODE = "from softphone.doctor import engine_probe; engine_probe()"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str


def check_python() -> Check:
    v = sys.version_info
    text = f"{v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if (v.major, v.minor) < (3, 11) or (v.major, v.minor) > (3, 12):
        return Check("python", "fail", f"{text}: softphone runs on Python 3.11 and 3.12 (the "
                     "pjsua2 wheel has no build for other versions)")  # fmt: skip
    return Check("python", "ok", text)


def engine_probe() -> None:
    """Child-process side of check_engine: start and stop an Engine, print one JSON line."""
    from softphone.engine import Engine, EngineOptions

    started = time.monotonic()
    engine = Engine(lambda event: None, EngineOptions(bind_host="127.0.0.1"))
    try:
        engine.start()
    except Exception as exc:
        print(json.dumps({"ok": False, "error": str(exc) or type(exc).__name__}))
        return
    up = time.monotonic()
    stopped = engine.stop()
    done = time.monotonic()
    print(json.dumps({"ok": stopped, "start_ms": (up - started) * 1000,
                      "stop_ms": (done - up) * 1000}))  # fmt: skip


def check_engine(timeout: float = PROBE_TIMEOUT) -> Check:
    try:
        version = importlib.metadata.version("pjsua2-python")
    except importlib.metadata.PackageNotFoundError:
        return Check("pjsua2", "fail", "pjsua2-python is not installed: pip install softphone "
                     "(it pins pjsua2-python==2.15.1.post1)")  # fmt: skip
    try:
        run = subprocess.run(
            [sys.executable, "-c", _PROBE_CODE],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return Check("pjsua2", "fail", f"pjsua2-python {version}: the engine did not start "
                     f"and stop within {timeout:g} s")  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1]) if lines else {}
    if run.returncode != 0 or not result.get("ok"):
        why = result.get("error") or (run.stderr.strip().splitlines() or ["no output"])[-1]
        return Check("pjsua2", "fail", f"pjsua2-python {version}: the engine failed "
                     f"(exit {run.returncode}): {why}")  # fmt: skip
    return Check(
        "pjsua2",
        "ok",
        f"pjsua2-python {version}: engine started in {result['start_ms']:.0f} ms (UDP and TCP "
        f"listeners, PCMU/PCMA/G722) and stopped in {result['stop_ms']:.0f} ms",
    )


def check_audio() -> Check:
    """Which sound devices calls would use; no devices is a warning (null audio), not a
    failure: calls still connect, and WAV --play/--record work."""
    from softphone.audio import audio_status
    from softphone.config import ConfigError, load_settings

    try:
        audio = load_settings().audio
    except ConfigError:
        audio = None  # the config check reports the broken file
    status = audio_status(audio)
    return Check("audio", "ok" if status.ok else "warn", status.line)


def check_keyring() -> Check:
    try:
        name = credentials.backend_name()
        plaintext = credentials.is_plaintext()
        credentials.get_password("softphone-doctor-probe")  # read-only: proves it answers
    except credentials.NoKeyringError as exc:
        return Check("keyring", "warn", f"no usable keyring: {exc}")
    except credentials.CredentialError as exc:
        return Check("keyring", "warn", f"the keyring does not answer: {exc}; use "
                     "--password-stdin meanwhile")  # fmt: skip
    if plaintext:
        return Check("keyring", "warn", f"{name}: usable, but it keeps passwords unencrypted")
    return Check("keyring", "ok", f"{name}: usable, encrypted")


def check_ca_bundle(path: str = SYSTEM_CA_BUNDLE) -> Check:
    consequence = (
        "TLS accounts without their own CA file cannot verify the server (install the "
        "`ca-certificates` package or set the account's --ca-file)"
    )
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return Check("ca-bundle", "warn", f"{path} is missing: {consequence}")
    except OSError as exc:
        return Check("ca-bundle", "warn", f"{path}: {exc.strerror or exc}: {consequence}")
    count = text.count("-----BEGIN CERTIFICATE-----")
    if not count:
        return Check("ca-bundle", "warn", f"{path} holds no certificate: {consequence}")
    return Check("ca-bundle", "ok", f"{path}: {count} certificates")


def check_config() -> Check:
    from softphone.config import ConfigError, config_path, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        return Check("config", "fail", str(exc))
    count = len(settings.accounts)
    if not count:
        return Check("config", "warn", f"no accounts yet ({config_path()}): add one with "
                     "`softphone account add`")  # fmt: skip
    return Check("config", "ok", f"{count} account(s) in {config_path()}")


def run_checks() -> list[Check]:
    return [
        check_python(),
        check_engine(),
        check_audio(),
        check_keyring(),
        check_ca_bundle(),
        check_config(),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="softphone doctor",
        description="Check pjsua2, audio devices, the keyring, the CA bundle and the config. "
        "Exit 0 if the phone can work here, 1 if not.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        checks = run_checks()
    except KeyboardInterrupt:
        return 130
    ok = not any(c.status == "fail" for c in checks)
    warnings = sum(1 for c in checks if c.status == "warn")
    if args.json:
        print(json.dumps({"type": "Doctor", "ok": ok, "checks": [asdict(c) for c in checks]}))
    else:
        width = max(len(c.name) for c in checks) + 2
        for c in checks:
            print(f"  {c.status:<5} {c.name:<{width}}{c.detail}")
        verdict = "the phone can work here" if ok else "the phone cannot work here"
        print(verdict + (f" ({warnings} warning(s))" if warnings else ""))
    return 0 if ok else 1
