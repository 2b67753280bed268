"""The compiled speedups load only when they match the sources on disk, and can be turned off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from softphone import _speedups


def write_manifest(directory: Path, digests: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / _speedups.MANIFEST).write_text(json.dumps({"modules": digests}))


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(_speedups, "build_dir", lambda: tmp_path)
    monkeypatch.delenv("SOFTPHONE_PURE", raising=False)
    return tmp_path


def test_current_build_is_used(fake_build: Path) -> None:
    write_manifest(
        fake_build, {m: _speedups.digest_of(_speedups.source_of(m)) for m in _speedups.MODULES}
    )
    assert _speedups._check()
    _speedups._checked = True
    try:
        path = _speedups.extend_path(["/src/softphone/sip"], "softphone.sip")
    finally:
        _speedups._checked = None
    assert path == [str(fake_build / "softphone" / "sip"), "/src/softphone/sip"]


def test_a_build_of_other_sources_is_ignored(fake_build: Path) -> None:
    digests = {m: _speedups.digest_of(_speedups.source_of(m)) for m in _speedups.MODULES}
    digests[_speedups.MODULES[0]] = "0" * 64  # as if that file was edited after the build
    write_manifest(fake_build, digests)
    assert not _speedups._check()


def test_no_build_means_pure_python(fake_build: Path) -> None:
    assert not _speedups._check()


def test_softphone_pure_turns_them_off(fake_build: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_manifest(
        fake_build, {m: _speedups.digest_of(_speedups.source_of(m)) for m in _speedups.MODULES}
    )
    monkeypatch.setenv("SOFTPHONE_PURE", "1")
    assert not _speedups._check()


def test_the_installed_build_loads_when_present() -> None:
    """In this environment: compiled when built and current, pure Python otherwise."""
    code = (
        "import softphone.sip.message as m, softphone._speedups as s;"
        "print(s.usable(), m.__file__.endswith('.so'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "SOFTPHONE_PURE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    usable, compiled = out.stdout.split()
    assert usable == compiled
    if os.environ.get("SOFTPHONE_REQUIRE_SPEEDUPS"):
        assert usable == "True", "scripts/setup --test should have built the speedups"
    pure = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "SOFTPHONE_PURE": "1"},
    )
    assert pure.stdout.split() == ["False", "False"]
