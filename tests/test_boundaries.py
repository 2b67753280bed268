"""The layers of design.md: sip and lab never import textual or pjsua2; only engine and audio
import pjsua2; ui never imports pjsua2. Checked in fresh interpreters, so nothing imported by
another test can hide a violation."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import softphone

FORBIDDEN = {
    "softphone.sip": ("textual", "pjsua2", "asyncio", "socket", "threading", "sounddevice"),
    "softphone.lab": ("textual", "pjsua2", "sounddevice", "softphone.engine", "softphone.ui"),
    "softphone.ui": ("pjsua2",),
}


def modules_of(package: str) -> list[str]:
    root = softphone.__path__[0] + "/" + package.split(".", 1)[1]
    try:
        found = [f"{package}.{m.name}" for m in pkgutil.walk_packages([root])]
    except FileNotFoundError:
        return []
    return [package, *found]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_modules(package: str) -> None:
    modules = modules_of(package)
    if len(modules) <= 1 and package == "softphone.ui":
        pytest.skip("softphone.ui has not landed yet")
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') "
        f"for f in {FORBIDDEN[package]!r}))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{package} pulls in {result.stdout.strip()}"


def test_the_check_itself_can_fail() -> None:
    code = "import softphone.sip.message, asyncio, sys; print('asyncio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "True"


def test_only_engine_and_audio_import_pjsua2() -> None:
    """Every other module can be imported without loading pjsua2 (it is loaded, lazily, only by
    softphone.engine and softphone.audio when a phone actually starts)."""
    names = [
        m.name
        for m in pkgutil.walk_packages(softphone.__path__, "softphone.")
        if not m.name.startswith(("softphone.engine", "softphone.audio", "softphone.__main__"))
        and not m.name.endswith("_speedups_build")
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print('pjsua2' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
