"""Levels, tones and sample-rate conversion (pure Python and audioop must agree on the tone)."""

from __future__ import annotations

import array

import pytest

from softphone.audio import pcm
from tests.peers import audio


def samples_of(data: bytes) -> list[float]:
    values = array.array("h")
    values.frombytes(data)
    return [v / 32768 for v in values]


def test_levels_and_meter() -> None:
    tone = pcm.sine(1000, 0.02, amplitude=0.5)
    assert 16380 <= pcm.peak(tone) <= 16384
    assert pcm.dbfs(pcm.peak(tone)) == pytest.approx(-6.02, abs=0.05)
    assert pcm.peak(pcm.SILENCE) == 0 and pcm.dbfs(0) == pcm.METER_FLOOR_DBFS
    assert pcm.meter(0.0) == 1.0 and pcm.meter(-60.0) == 0.0 and pcm.meter(-30.0) == 0.5
    assert pcm.meter(-90.0) == 0.0


def test_ring_cadence_is_two_seconds_of_440_and_480_then_four_of_silence() -> None:
    cadence = pcm.ring_cadence()
    assert len(cadence) == 6 * pcm.RATE * 2
    burst = samples_of(cadence[: 2 * pcm.RATE * 2])
    heard = audio.analyse_samples(burst, pcm.RATE, band_hz=50)
    assert min(abs(heard.dominant_hz - 440), abs(heard.dominant_hz - 480)) <= 5, heard
    assert heard.band_share > 0.95 and heard.active_share > 0.95
    assert pcm.peak(cadence[2 * pcm.RATE * 2 :]) == 0


@pytest.mark.parametrize("use_audioop", [True, False])
@pytest.mark.parametrize(
    ("rate_in", "rate_out"), [(48000, 16000), (16000, 48000), (44100, 16000), (16000, 44100)]
)
def test_rate_conversion_keeps_the_tone(use_audioop: bool, rate_in: int, rate_out: int) -> None:
    if use_audioop and pcm._audioop is None:
        pytest.skip("audioop is not in this Python")
    conv = pcm.RateConverter(rate_in, rate_out, use_audioop=use_audioop)
    source = pcm.sine(1000, 1.0, rate=rate_in)
    block = rate_in // 50
    out = b"".join(
        conv.convert(source[i : i + block * 2]) for i in range(0, len(source), block * 2)
    )
    assert abs(len(out) // 2 - rate_out) <= 2 * 50  # about one second, block by block
    heard = audio.analyse_samples(samples_of(out), rate_out)
    assert abs(heard.dominant_hz - 1000) <= 10 and heard.band_share > 0.95, heard


def test_identity_conversion_is_free() -> None:
    conv = pcm.RateConverter(16000, 16000)
    data = pcm.sine(1000, 0.02)
    assert conv.identity and conv.convert(data) is data
