"""`softphone doctor`: what it finds on this machine, and that only a broken engine or Python
(or an unreadable config) fails it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from softphone.doctor import check_ca_bundle
from tests.headless.conftest import PhoneHome

pytestmark = pytest.mark.timeout(60)


def _checks(output: str) -> dict[str, dict[str, str]]:
    data = json.loads(output)
    assert data["type"] == "Doctor"
    return {c["name"]: c for c in data["checks"]}


def test_doctor_on_this_machine(home: PhoneHome) -> None:
    result = home.run("doctor", "--json")
    assert result.returncode == 0, result
    checks = _checks(result.stdout)
    assert list(checks) == ["python", "pjsua2", "audio", "keyring", "ca-bundle", "config"]
    assert checks["pjsua2"]["status"] == "ok"
    assert "pjsua2-python 2.15.1.post1: engine started" in checks["pjsua2"]["detail"]
    # This machine has no sound card: a warning that says what it means, not a failure.
    assert checks["audio"]["status"] in ("ok", "warn")
    assert "null audio" in checks["audio"]["detail"]
    assert checks["keyring"]["status"] == "ok" and "usable" in checks["keyring"]["detail"]
    assert checks["config"]["status"] == "warn"  # no accounts yet in this home
    human = home.run("doctor")
    assert human.returncode == 0
    assert human.stdout.splitlines()[-1].startswith("the phone can work here")


def test_no_keyring_is_a_warning_with_the_way_out(home: PhoneHome) -> None:
    result = home.run("doctor", "--json", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.returncode == 0, result
    keyring = _checks(result.stdout)["keyring"]
    assert keyring["status"] == "warn" and "--password-stdin" in keyring["detail"]


def test_a_broken_config_fails_the_doctor(home: PhoneHome) -> None:
    home.config_file.parent.mkdir(parents=True)
    home.config_file.write_text("[accounts.x\n")
    result = home.run("doctor")
    assert result.returncode == 1
    assert "  fail  config" in result.stdout and "malformed TOML" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("the phone cannot work here")


def test_ca_bundle_check(tmp_path: Path) -> None:
    assert check_ca_bundle("/nonexistent/ca.pem").status == "warn"
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    assert "holds no certificate" in check_ca_bundle(str(empty)).detail
