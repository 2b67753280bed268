"""The tone line's WAV file: written once per machine, then reused.

8 kHz mono signed 16-bit, what G.711 carries, so pjsua's player needs no format conversion
beyond the bridge's resampling. Written to a temporary name and renamed, so two far ends
starting at once (or a crash halfway) never leave a torn file for the player to open.
"""

from __future__ import annotations

import array
import math
import os
import sys
import wave
from pathlib import Path

RATE = 8000
AMPLITUDE = 0.3  # about -10 dBFS: clearly audible, far from G.711's clipping


def write_tone(path: Path, freq_hz: float, seconds: float) -> Path:
    """Make `path` a sine tone WAV unless it already is one of the right length."""
    frames = round(seconds * RATE)
    if _is_tone_file(path, frames):
        return path
    peak = AMPLITUDE * 32767
    step = 2 * math.pi * freq_hz / RATE
    samples = array.array("h", (round(peak * math.sin(step * i)) for i in range(frames)))
    if sys.byteorder != "little":
        samples.byteswap()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    os.replace(tmp, path)
    return path


def _is_tone_file(path: Path, frames: int) -> bool:
    try:
        with wave.open(str(path), "rb") as src:
            return (
                src.getnframes() == frames
                and src.getframerate() == RATE
                and src.getnchannels() == 1
                and src.getsampwidth() == 2
            )
    except (OSError, EOFError, wave.Error):
        return False
