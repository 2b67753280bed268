"""The tone analyser that interop tests trust to prove RTP arrived: check it on known signals."""

from __future__ import annotations

import cmath
import math
import random
import struct
import wave
from pathlib import Path

import pytest

from tests.peers import audio


def _sine(freq: float, seconds: float, amplitude: float = 0.4) -> list[float]:
    n = round(seconds * audio.SAMPLE_RATE)
    return [amplitude * math.sin(2 * math.pi * freq * i / audio.SAMPLE_RATE) for i in range(n)]


def test_fft_matches_naive_dft() -> None:
    rng = random.Random(7)
    values = [complex(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(64)]
    naive = [
        sum(v * cmath.exp(-2j * math.pi * k * n / 64) for n, v in enumerate(values))
        for k in range(64)
    ]
    assert all(abs(a - b) < 1e-9 for a, b in zip(audio._fft(values), naive, strict=True))


def test_written_tone_has_the_baresip_format(tmp_path: Path) -> None:
    path = audio.write_tone(tmp_path / "t.wav", 1000, 1.5)
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        assert w.getnframes() == 12000
    result = audio.analyse(path)
    assert abs(result.dominant_hz - 1000) < 1
    assert result.band_share > 0.99
    assert result.active_share == 1.0
    assert result.seconds == 1.5


@pytest.mark.parametrize("freq", [300.0, 437.3, 600.0, 1000.0, 3333.0])
def test_dominant_frequency(freq: float) -> None:
    assert abs(audio.analyse_samples(_sine(freq, 1.0), 8000).dominant_hz - freq) < 0.5


def test_two_tones_share_the_energy() -> None:
    mix = [a + b for a, b in zip(_sine(1000, 1), _sine(600, 1, 0.2), strict=True)]
    result = audio.analyse_samples(mix, 8000)
    assert abs(result.dominant_hz - 1000) < 1
    assert 0.75 < result.band_share < 0.85  # 0.4² / (0.4² + 0.2²) = 0.8


def test_noise_has_no_dominant_band() -> None:
    rng = random.Random(1)
    noise = [rng.uniform(-0.5, 0.5) for _ in range(16000)]
    assert audio.analyse_samples(noise, 8000).band_share < 0.1


def test_silence_and_partial_silence() -> None:
    assert audio.analyse_samples([0.0] * 8000, 8000).active_share == 0.0
    half = [0.0] * 8000 + _sine(600, 1.0)
    result = audio.analyse_samples(half, 8000)
    assert result.active_share == 0.5
    assert abs(result.dominant_hz - 600) < 1 and result.band_share > 0.99


def test_wav_is_complete_only_after_the_header_is_final(tmp_path: Path) -> None:
    path = audio.write_tone(tmp_path / "t.wav", 600, 0.5)
    assert audio.wav_is_complete(path)
    data = bytearray(path.read_bytes())
    # What libsndfile leaves on disk while recording: sizes still zero in the header.
    struct.pack_into("<I", data, 4, 0)
    struct.pack_into("<I", data, 40, 0)
    open_recording = tmp_path / "open.wav"
    open_recording.write_bytes(bytes(data))
    assert not audio.wav_is_complete(open_recording)
    assert not audio.wav_is_complete(tmp_path / "missing.wav")
    with pytest.raises(TimeoutError, match="not a complete WAV"):
        audio.wait_for_wav(open_recording, timeout=0.1)
