"""The adaptive jitter buffer between two clocks, simulated deterministically (no threads).

A producer and a consumer tick on their own schedules (drift in ppm, late wake-ups, blocks of
another size than the consumer's frame); the events are replayed in time order over minutes of
simulated audio, which is what a sound card against the conference clock does for a long call.
"""

from __future__ import annotations

import array
import heapq
import random

import pytest

from softphone.audio.jitter import JitterBuffer
from softphone.audio.pcm import FRAME_BYTES

_RAMP = array.array("h", (i - 32768 for i in range(65536))).tobytes() * 2


def ramp(start: int, count: int) -> bytes:
    """`count` samples of a counter (wrapping in s16), to follow every sample through."""
    first = (start % 65536) * 2
    return _RAMP[first : first + count * 2]


def simulate(
    buf: JitterBuffer,
    seconds: float,
    *,
    producer_ppm: float = 0.0,
    consumer_ppm: float = 0.0,
    producer_block: int = FRAME_BYTES,
    late_ms: float = 0.0,
    seed: int = 1,
) -> tuple[bytes, bytes, int]:
    """Run both clocks; returns (everything pushed, everything pulled, max depth seen)."""
    rng = random.Random(seed)
    block_samples = producer_block // 2
    p_period = block_samples / 16000 / (1 + producer_ppm * 1e-6)
    c_period = 0.020 / (1 + consumer_ppm * 1e-6)
    pushed: list[bytes] = []
    pulled: list[bytes] = []
    events = [(0.0, 0, 0), (0.0005, 1, 0)]  # (due, who, n); the consumer starts 0.5 ms later
    max_depth = 0
    sample = 0
    while events:
        due, who, n = heapq.heappop(events)
        if due > seconds:
            break
        late = rng.uniform(0, late_ms / 1000) if late_ms else 0.0  # woke up late, this once
        if who == 0:
            data = ramp(sample, block_samples)
            sample += block_samples
            pushed.append(data)
            buf.push(data)
            heapq.heappush(events, ((n + 1) * p_period + late, 0, n + 1))
        else:
            max_depth = max(max_depth, buf.depth)
            pulled.append(buf.pull() or b"")
            heapq.heappush(events, ((n + 1) * c_period + late, 1, n + 1))
    return b"".join(pushed), b"".join(pulled), max_depth


def test_equal_clocks_pass_every_sample_through_unchanged() -> None:
    buf = JitterBuffer()
    pushed, pulled, _ = simulate(buf, 60)
    assert buf.underruns == buf.overruns == buf.skipped == buf.stretched == buf.cut == 0
    assert pushed.startswith(pulled)  # byte for byte, nothing lost, nothing invented
    assert len(pushed) - len(pulled) <= 3 * FRAME_BYTES  # what is still buffered


@pytest.mark.parametrize("ppm", [-2000, -300, 300, 2000])
@pytest.mark.parametrize("late_ms", [0.0, 10.0])
def test_drift_is_followed_without_glitches(ppm: float, late_ms: float) -> None:
    """Ten simulated minutes with the sound card's clock off by `ppm` and both sides waking
    up to `late_ms` late: never dry, never full, depth stays near the target."""
    buf = JitterBuffer()
    _, _, max_depth = simulate(buf, 600, producer_ppm=ppm, late_ms=late_ms)
    assert buf.underruns == 0 and buf.overruns == 0 and buf.cut == 0
    assert max_depth <= buf.cut_at
    drifted = 600 * 16000 * abs(ppm) * 1e-6  # samples the two clocks part by
    corrected = (buf.skipped if ppm > 0 else buf.stretched) // 2
    # Everything beyond the dead band was corrected, and in the right direction only.
    slack = (buf.high - buf.low + FRAME_BYTES) // 2
    assert corrected >= drifted - slack, (corrected, drifted, slack)
    assert (buf.stretched if ppm > 0 else buf.skipped) == 0


def test_consumer_drift_and_odd_producer_blocks() -> None:
    """A 48 kHz card delivering 10 ms blocks (converted: 160 samples) against a bridge clock
    that runs 1000 ppm slow."""
    buf = JitterBuffer(producer_block=320)
    simulate(buf, 300, consumer_ppm=-1000, producer_block=320, late_ms=5)
    assert buf.underruns == 0 and buf.overruns == 0
    assert buf.skipped // 2 >= 300 * 16000 * 1000e-6 - buf.high  # ~4800 samples of drift
    assert buf.stretched <= FRAME_BYTES  # at most some settling after priming


def test_without_adaptation_the_same_drift_would_glitch() -> None:
    """The control case: the drift test can fail. With the correction step set to zero the
    buffer must eventually overflow or cut."""
    buf = JitterBuffer(step_samples=0)
    simulate(buf, 120, producer_ppm=2000)
    assert buf.cut > 0 or buf.overruns > 0


def test_equal_clocks_at_any_phase_need_no_correction() -> None:
    """Whatever the phase between two equal clocks, the average depth stays inside the dead
    band: no sample is ever skipped or repeated (the band is a block plus half a frame)."""
    for offset_ms in (0.1, 5, 10, 15, 19.9):
        buf = JitterBuffer()
        simulate_offset(buf, offset_ms / 1000)
        assert buf.skipped == buf.stretched == buf.underruns == 0, offset_ms


def simulate_offset(buf: JitterBuffer, offset: float) -> None:
    for tick in range(3000):  # one minute
        buf.push(ramp(tick * 320, 320))  # the producer ticks at 20 ms * tick
        if tick * 0.020 + offset >= 0:  # the consumer ticks `offset` later
            buf.pull()


def test_priming_underrun_and_refill() -> None:
    buf = JitterBuffer()
    assert buf.low == 2 * FRAME_BYTES + FRAME_BYTES // 2  # a frame + half a block + 20 ms
    assert buf.prime == buf.low + FRAME_BYTES // 4
    for _ in range(2):
        buf.push(bytes(FRAME_BYTES))
    assert buf.pull() is None and buf.underruns == 0  # still priming: silence, not a glitch
    buf.push(bytes(FRAME_BYTES // 2))
    assert buf.pull() is None  # 2.5 frames: not yet
    buf.push(bytes(FRAME_BYTES // 2))
    assert [buf.pull() for _ in range(3)] == [bytes(FRAME_BYTES)] * 3
    assert buf.pull() is None and buf.underruns == 1  # ran dry once primed
    assert buf.pull() is None and buf.underruns == 1  # one dry spell counts once
    for _ in range(2):
        buf.push(bytes(FRAME_BYTES))
    assert buf.pull() is None  # refilling first
    buf.push(bytes(FRAME_BYTES))
    assert buf.pull() is not None


def test_a_burst_is_cut_back_and_a_stalled_consumer_overflows() -> None:
    buf = JitterBuffer()
    frames = buf.cut_at // FRAME_BYTES + 2
    for i in range(frames):
        buf.push(ramp(i * 320, 320))
    out = buf.pull()
    cut = frames * FRAME_BYTES - buf.prime
    assert buf.cut == cut  # back to the priming depth at once
    assert out == ramp(cut // 2, 320)  # the newest audio survives, in order
    stalled = JitterBuffer()
    for _ in range(100):
        stalled.push(bytes(FRAME_BYTES))
    assert stalled.overruns > 0 and stalled.depth <= stalled.limit
