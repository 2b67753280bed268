"""PCM helpers for the bridge: the bridge format, level meters, tones and rate conversion.

Everything the conference bridge sees is 16 kHz mono signed 16-bit little-endian in 20 ms
frames (engine-notes §5: 640 bytes a frame), so the rest of the package speaks that format and
converts at the sound-card edge only. No numpy (not a dependency): levels use the C-level
`max`/`min` of an `array`, and rate conversion uses `audioop.ratecv` (C, ~12 µs per 20 ms at
48 kHz) while Python still ships it (3.11 and 3.12, which pjsua2 pins us to), with a pure
Python linear interpolator as the fallback (~100 µs per 20 ms, measured; still < 1 % of a core).
"""

from __future__ import annotations

import array
import math
import sys
import warnings
from types import ModuleType

RATE = 16000  # the bridge's clock rate (pjsua default, engine-notes §4: recordings are 16 kHz)
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000  # 320
FRAME_BYTES = FRAME_SAMPLES * 2  # 640
SILENCE = bytes(FRAME_BYTES)
METER_FLOOR_DBFS = -60.0  # the bottom of a level meter: quieter than this shows as empty


def _load_audioop() -> ModuleType | None:
    # audioop is deprecated (PEP 594) and gone in 3.13; pjsua2 has no wheel past 3.12.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError:
            return None
    return audioop


_audioop = _load_audioop()


def peak(pcm: bytes) -> int:
    """Largest absolute sample value of s16 PCM (0..32768)."""
    if len(pcm) < 2:
        return 0
    if _audioop is not None:
        return int(_audioop.max(pcm[: len(pcm) & ~1], 2))
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) & ~1])
    if sys.byteorder != "little":
        samples.byteswap()
    return max(max(samples), -min(samples))


def dbfs(level: int) -> float:
    """A sample magnitude in dB relative to full scale (METER_FLOOR_DBFS for silence)."""
    if level <= 0:
        return METER_FLOOR_DBFS
    return max(METER_FLOOR_DBFS, 20 * math.log10(level / 32768))


def meter(level_dbfs: float) -> float:
    """Position 0..1 of a level meter that spans METER_FLOOR_DBFS..0 dBFS linearly in dB."""
    return min(1.0, max(0.0, 1 - level_dbfs / METER_FLOOR_DBFS))


def sine(freq_hz: float, seconds: float, *, rate: int = RATE, amplitude: float = 0.5) -> bytes:
    """A sine tone as s16le PCM."""
    count = round(seconds * rate)
    step = 2 * math.pi * freq_hz / rate
    peak_value = amplitude * 32767
    samples = array.array("h", (round(peak_value * math.sin(step * i)) for i in range(count)))
    if sys.byteorder != "little":
        samples.byteswap()
    return samples.tobytes()


def ring_cadence(rate: int = RATE, *, amplitude: float = 0.25) -> bytes:
    """One cycle of a ring tone: 440 + 480 Hz for 2 s, then 4 s of silence (the North American
    ringing cadence, ITU-T E.180 suppl. 2); looped by the ringer."""
    count = 2 * rate
    a, b = 2 * math.pi * 440 / rate, 2 * math.pi * 480 / rate
    peak_value = amplitude * 32767 / 2
    fade = rate // 100  # 10 ms ramps: no click at the edges of the burst
    tone = array.array(
        "h",
        (
            round(
                peak_value
                * min(1.0, i / fade, (count - i) / fade)
                * (math.sin(a * i) + math.sin(b * i))
            )
            for i in range(count)
        ),
    )
    if sys.byteorder != "little":
        tone.byteswap()
    return tone.tobytes() + bytes(4 * rate * 2)


class RateConverter:
    """Stateful s16 mono sample-rate converter for a stream cut into arbitrary blocks.

    State (the fractional position and the last sample) carries across blocks, so a tone
    stays continuous. Identity when the rates are equal (the common case: PortAudio opens most
    devices at 16 kHz itself).
    """

    def __init__(self, in_rate: int, out_rate: int, *, use_audioop: bool = True) -> None:
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError("sample rates must be positive")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.identity = in_rate == out_rate
        self._audioop = _audioop if use_audioop else None
        self._state: object = None
        self._pos = 0.0  # position of the next output sample, in input samples after `_last`
        self._last = 0

    def convert(self, pcm: bytes) -> bytes:
        if self.identity or not pcm:
            return pcm
        if self._audioop is not None:
            out, self._state = self._audioop.ratecv(
                pcm, 2, 1, self.in_rate, self.out_rate, self._state
            )
            return bytes(out)
        return self._linear(pcm)

    def _linear(self, pcm: bytes) -> bytes:
        src = array.array("h")
        src.frombytes(pcm[: len(pcm) & ~1])
        if sys.byteorder != "little":
            src.byteswap()
        step = self.in_rate / self.out_rate
        n = len(src)
        pos = self._pos
        prev = self._last
        out = array.array("h")
        append = out.append
        # Sample k of this block sits at position k + 1 (position 0 is the previous block's
        # last sample), so every output between two input samples is a linear blend of them.
        while pos < n:
            i = int(pos)
            frac = pos - i
            a = src[i - 1] if i else prev
            b = src[i]
            append(int(a + (b - a) * frac))
            pos += step
        self._pos = pos - n
        self._last = src[-1] if n else prev
        if sys.byteorder != "little":
            out.byteswap()
        return out.tobytes()
