"""Optional compiled speedups for the SIP core and the lab's pure logic (built with mypyc).

The hot paths (parsing, digest, REGISTER handling) are plain typed Python; `python -m
softphone._speedups_build` compiles the same source files with mypyc into a directory inside
the virtual environment, never into the source tree. A package calls `extend_path` from its
`__init__` so its modules load from there, but only when every compiled module was built from
exactly the source file now on disk (SHA-256 in a manifest): an edited file can never be
shadowed by a stale build. SOFTPHONE_PURE=1 turns the speedups off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

# Compiled together as one mypyc group; all or nothing.
MODULES = (
    "softphone.sip.errors",
    "softphone.sip.grammar",
    "softphone.sip.uri",
    "softphone.sip.address",
    "softphone.sip.via",
    "softphone.sip.headers",
    "softphone.sip.message",
    "softphone.sip.build",
    "softphone.sip.digest",
    "softphone.sip.nonce",
    "softphone.lab.users",
    "softphone.lab.limits",
    "softphone.lab.bindings",
    "softphone.lab.auth",
    "softphone.lab.registrar",
    "softphone.lab.sharding",
    "softphone.lab.transport",
    "softphone.lab.server",
)
MANIFEST = "manifest.json"
PACKAGE = Path(__file__).resolve().parent
_ROOT = PACKAGE.parent
_checked: bool | None = None


def build_dir() -> Path:
    """Where compiled modules live: inside this interpreter's environment (ABI-specific)."""
    return Path(sys.prefix) / "softphone-speedups" / sys.implementation.cache_tag


def source_of(module: str) -> Path:
    return _ROOT.joinpath(*module.split(".")).with_suffix(".py")


def digest_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def usable() -> bool:
    """True when the speedups are built, enabled, and match the current sources."""
    global _checked
    if _checked is None:
        _checked = _check()
    return _checked


def _check() -> bool:
    if os.environ.get("SOFTPHONE_PURE"):
        return False
    manifest = build_dir() / MANIFEST
    try:
        built = json.loads(manifest.read_text())
        return bool(built.get("modules")) and all(
            digest_of(source_of(module)) == built["modules"].get(module) for module in MODULES
        )
    except (OSError, ValueError, AttributeError):
        return False


def extend_path(path: list[str], package: str) -> list[str]:
    """A package's `__path__` with the compiled directory first, when the speedups are usable."""
    if not usable():
        return path
    root = build_dir()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # mypyc's shared library is a top-level module
    compiled = root.joinpath(*package.split("."))
    return [str(compiled), *path]


def active(module: str) -> bool:
    """True if `module` (already imported) runs compiled."""
    loaded = sys.modules.get(module)
    return loaded is not None and str(getattr(loaded, "__file__", "")).endswith(".so")
