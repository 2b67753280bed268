"""Tone WAV files for real peers to send, and an analyser that proves a recording holds a tone.

Interop tests prove that RTP really flowed by making each peer send a different sine tone and
checking that the other side's recording contains it. The analysis runs in pure Python (stdlib
`wave` + a small radix-2 FFT with a Hann window, Welch-averaged) so the test extras need no
numpy: a 4096-point FFT costs a few milliseconds here, and the recordings are seconds long.

The WAV format is the one baresip's `aufile` source accepts and what G.711 carries: 8 kHz,
mono, signed 16-bit little-endian.
"""

from __future__ import annotations

import array
import cmath
import math
import struct
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path

SAMPLE_RATE = 8000
BLOCK_SECONDS = 0.020  # one 20 ms RTP packet's worth of audio (the G.711 default ptime)
FFT_SIZE = 4096  # 1.95 Hz bins at 8 kHz: far finer than the ±10 Hz the tests assert
MAX_SEGMENTS = 16  # Welch average over at most this many half-overlapping segments (cost bound)
SILENCE_RMS = 0.01  # a 20 ms block below 1 % of full scale (-40 dBFS) counts as silent


def write_tone(
    path: Path,
    freq_hz: float,
    seconds: float,
    *,
    amplitude: float = 0.5,
    rate: int = SAMPLE_RATE,
) -> Path:
    """Write a mono s16 sine tone; amplitude 0.5 (-6 dBFS) stays clear of G.711 clipping."""
    if not 0 < freq_hz < rate / 2:
        raise ValueError(f"tone {freq_hz} Hz is outside 0..{rate / 2} Hz")
    count = round(seconds * rate)
    peak = amplitude * 32767
    samples = array.array(
        "h", (round(peak * math.sin(2 * math.pi * freq_hz * i / rate)) for i in range(count))
    )
    if sys.byteorder != "little":
        samples.byteswap()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def read_wav(path: Path) -> tuple[list[float], int]:
    """Samples of the first channel scaled to -1..1, and the sample rate (s16 files only)."""
    with wave.open(str(path), "rb") as src:
        if src.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit WAV is supported")
        channels = src.getnchannels()
        rate = src.getframerate()
        raw = src.readframes(src.getnframes())
    samples = array.array("h")
    samples.frombytes(raw[: len(raw) - len(raw) % 2])
    if sys.byteorder != "little":
        samples.byteswap()
    return [s / 32768 for s in samples[::channels]], rate


def wav_is_complete(path: Path) -> bool:
    """True once a WAV's header announces exactly the data on disk and that data is not empty.

    A recorder (libsndfile in baresip's sndfile module) rewrites the header sizes only when it
    closes the file, so this is the condition to wait for before analysing a recording.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return False
    riff_size: int = struct.unpack_from("<I", head, 4)[0]
    if riff_size + 8 != size:
        return False
    pos = 12
    while pos + 8 <= len(head):
        chunk_id = head[pos : pos + 4]
        chunk_size: int = struct.unpack_from("<I", head, pos + 4)[0]
        if chunk_id == b"data":
            return chunk_size > 0 and pos + 8 + chunk_size <= size
        pos += 8 + chunk_size + (chunk_size & 1)
    return False


def wait_for_wav(path: Path, timeout: float) -> None:
    """Poll until `wav_is_complete(path)`; raise TimeoutError with the file state otherwise."""
    deadline = time.monotonic() + timeout
    while not wav_is_complete(path):
        if time.monotonic() > deadline:
            state = f"{path.stat().st_size} bytes" if path.exists() else "missing"
            raise TimeoutError(f"{path} is not a complete WAV after {timeout} s ({state})")
        time.sleep(0.02)


@dataclass(frozen=True)
class ToneAnalysis:
    """What a recording contains.

    `band_share` is the fraction of the spectral energy within ±band of `dominant_hz`: near 1
    for a clean tone, small for noise or for a mix of two tones. `active_share` is the fraction
    of 20 ms blocks above -40 dBFS: it shows how much of the call actually carried audio.
    """

    dominant_hz: float
    band_share: float
    active_share: float
    seconds: float


def analyse(path: Path, *, band_hz: float = 50.0) -> ToneAnalysis:
    """Dominant frequency, energy share around it and non-silent share of a WAV file."""
    samples, rate = read_wav(path)
    return analyse_samples(samples, rate, band_hz=band_hz)


def analyse_samples(samples: list[float], rate: int, *, band_hz: float = 50.0) -> ToneAnalysis:
    seconds = len(samples) / rate
    block = max(1, round(rate * BLOCK_SECONDS))
    active = [
        start
        for start in range(0, len(samples) - block + 1, block)
        if math.sqrt(sum(s * s for s in samples[start : start + block]) / block) >= SILENCE_RMS
    ]
    total_blocks = len(samples) // block
    if not active:
        return ToneAnalysis(0.0, 0.0, 0.0, seconds)
    active_share = len(active) / total_blocks
    # Analyse only the span that carries audio: leading/trailing silence (jitter buffer
    # warm-up, the tail after the peer stopped sending) would only dilute the spectrum.
    span = samples[active[0] : active[-1] + block]
    power = _welch_power(span)
    bin_hz = rate / FFT_SIZE
    first = max(1, math.ceil(20 / bin_hz))  # ignore DC and sub-audio rumble
    peak = max(range(first, len(power)), key=power.__getitem__)
    dominant = (peak + _parabolic_offset(power, peak)) * bin_hz
    total = sum(power[first:])
    band = sum(
        p for k, p in enumerate(power) if k >= first and abs(k * bin_hz - dominant) <= band_hz
    )
    return ToneAnalysis(dominant, band / total if total else 0.0, active_share, seconds)


def _welch_power(samples: list[float]) -> list[float]:
    """One-sided power spectrum averaged over Hann-windowed, half-overlapping segments."""
    mean = sum(samples) / len(samples)
    centred = [s - mean for s in samples]
    if len(centred) < FFT_SIZE:
        centred += [0.0] * (FFT_SIZE - len(centred))
    starts = list(range(0, len(centred) - FFT_SIZE + 1, FFT_SIZE // 2))
    if len(starts) > MAX_SEGMENTS:  # spread the segments we keep over the whole span
        starts = [starts[i * (len(starts) - 1) // (MAX_SEGMENTS - 1)] for i in range(MAX_SEGMENTS)]
    window = [0.5 - 0.5 * math.cos(2 * math.pi * i / FFT_SIZE) for i in range(FFT_SIZE)]
    power = [0.0] * (FFT_SIZE // 2 + 1)
    for start in starts:
        seg = [complex(centred[start + i] * window[i]) for i in range(FFT_SIZE)]
        spectrum = _fft(seg)
        for k in range(len(power)):
            power[k] += abs(spectrum[k]) ** 2
    return power


def _parabolic_offset(power: list[float], k: int) -> float:
    """Sub-bin peak position from a parabola through the log power of the peak and neighbours."""
    if k <= 0 or k >= len(power) - 1 or min(power[k - 1 : k + 2]) <= 0:
        return 0.0
    a, b, c = (math.log(p) for p in power[k - 1 : k + 2])
    denom = a - 2 * b + c
    return 0.0 if denom == 0 else 0.5 * (a - c) / denom


def _fft(values: list[complex]) -> list[complex]:
    """Iterative radix-2 Cooley-Tukey FFT; len(values) must be a power of two."""
    n = len(values)
    if n & (n - 1):
        raise ValueError("FFT length must be a power of two")
    out = values[:]
    j = 0
    for i in range(1, n):  # bit-reversal permutation
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            out[i], out[j] = out[j], out[i]
    twiddles = [cmath.exp(-2j * math.pi * k / n) for k in range(n // 2)]
    size = 2
    while size <= n:
        half = size // 2
        stride = n // size
        for start in range(0, n, size):
            for k in range(half):
                t = twiddles[k * stride] * out[start + k + half]
                out[start + k + half] = out[start + k] - t
                out[start + k] = out[start + k] + t
        size *= 2
    return out
