"""Fixtures for the audio tests: engine processes with and without a SoundBridge.

Like tests/engine: every process is stopped at the end of the test, and the test fails unless
each one exited with 0 (no abort at port destruction, no hang: engine-notes §2, §5, §10).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.audio.harness import AudioEngineProc
from tests.engine.harness import EngineProc, stop_all

Factory = Callable[..., EngineProc]


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """procs(name, audio=None | {...}, **EngineOptions fields) -> a started engine process;
    with `audio` it runs tests/audio/runner.py (engine + SoundBridge)."""
    started: list[EngineProc] = []

    def make(name: str, audio: dict[str, Any] | None = None, **options: Any) -> EngineProc:
        options.setdefault("codecs", ["PCMU"])  # speex distorts test tones (§4)
        proc: EngineProc
        if audio is None:
            proc = EngineProc(tmp_path, name, **options)
        else:
            proc = AudioEngineProc(tmp_path, name, audio, **options)
        started.append(proc)
        return proc.start()

    yield make
    stop_all(started)
