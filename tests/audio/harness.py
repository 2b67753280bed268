"""An EngineProc whose engine has a SoundBridge (tests/audio/runner.py), plus tone helpers.

Everything else (commands, events, the exit-code check) is tests/engine/harness.py's.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.engine.harness import EngineProc, EngineProcError
from tests.peers import audio

# The machine the fake sounddevice pretends to be: a laptop's card and a USB headset whose
# microphone hums another tone, so the far end can tell which microphone it hears.
BUILTIN: dict[str, Any] = {"name": "Built-in Audio", "inputs": 2, "outputs": 2, "tone_hz": 1000.0}
HEADSET: dict[str, Any] = {"name": "USB Headset", "inputs": 1, "outputs": 2, "tone_hz": 1500.0}


class AudioEngineProc(EngineProc):
    """Engine + SoundBridge in a child process; `audio` is the runner's audio config."""

    def __init__(
        self, workdir: Path, name: str, audio_config: dict[str, Any], **options: Any
    ) -> None:
        super().__init__(workdir, name, **options)
        self.audio_config = audio_config

    runner = "tests.audio.runner"

    def runner_config(self) -> str:
        return json.dumps({"options": self.options, "audio": self.audio_config})

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.cmd("bridge_stats")
        return result

    def wait_stats(self, what: str, done: Any, timeout: float) -> dict[str, Any]:
        """Poll bridge_stats until `done(stats)`; EngineProcError with the last stats if not."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if done(stats):
                return stats
            if time.monotonic() > deadline:
                raise EngineProcError(f"{self.name}: {what} not reached in {timeout} s: {stats}")
            time.sleep(0.1)  # polling a real condition with a deadline

    def played(self, device: str, path: Path, seconds: float) -> audio.ToneAnalysis:
        """Analyse the last `seconds` a fake output device played."""
        self.cmd("played_wav", device=device, path=str(path), seconds=seconds)
        return audio.analyse(path)


def tail_analysis(path: Path, seconds: float) -> audio.ToneAnalysis:
    """Analyse only the last `seconds` of a recording."""
    audio.wait_for_wav(path, 10)
    samples, rate = audio.read_wav(path)
    return audio.analyse_samples(samples[-int(seconds * rate) :], rate)
