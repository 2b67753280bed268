"""Build the compiled speedups: `python -m softphone._speedups_build` (needs mypy and a C
compiler; scripts/setup --test runs it). See softphone/_speedups.py for how they are used.

The sources are copied to a scratch directory and compiled there, so no build product ever
appears next to the source files; only the resulting extension modules are copied into the
environment's build directory, with a manifest of the source hashes they came from.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from softphone._speedups import (
    MANIFEST,
    MODULES,
    PACKAGE,
    build_dir,
    digest_of,
    source_of,
    usable,
)


def build(*, if_stale: bool = False) -> int:
    """Compile MODULES; with `if_stale`, do nothing when the build on disk is current."""
    if if_stale and usable():
        return 0
    target = build_dir()
    with tempfile.TemporaryDirectory(prefix="softphone-mypyc-") as scratch:
        work = Path(scratch)
        shutil.copytree(PACKAGE, work / "softphone", ignore=shutil.ignore_patterns("*.so"))
        sources = [str(Path(*m.split(".")).with_suffix(".py")) for m in MODULES]
        result = subprocess.run(
            [sys.executable, "-m", "mypyc", *sources],
            cwd=work,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", file=sys.stderr)
            print("speedups: mypyc failed; softphone runs as pure Python", file=sys.stderr)
            return 1
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for built in work.rglob("*.so"):
            if "build" in built.relative_to(work).parts:
                continue
            destination = target / built.relative_to(work)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built, destination)
    manifest = {
        "python": sys.implementation.cache_tag,
        "modules": {module: digest_of(source_of(module)) for module in MODULES},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1))
    print(f"speedups: {len(MODULES)} modules compiled into {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(build(if_stale="--if-stale" in sys.argv[1:]))
