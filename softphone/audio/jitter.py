"""An adaptive jitter buffer between two audio clocks (the sound card's and the bridge's).

The sound card and pjmedia's conference clock (the null device, engine-notes §4) tick
independently: 20 ms on one is not exactly 20 ms on the other, and both wake up late now and
then (a busy Python thread delays either callback by a few ms, §5: 13 ms at worst measured
with the fast path). So each direction goes through one of these: the producing clock appends
blocks, the consuming clock takes exactly one frame per tick, and the depth is steered:

* Depth seen by the consumer swings by one producer block between ticks, so the control
  works on its smoothed average A, with a floor `low` = one frame (what the tick takes) + half
  a block (the swing below the average) + `headroom` (how late either side may wake up
  without a glitch), and a ceiling `high` = `low` + a block + half a frame (room for any
  phase between the clocks, so equal clocks never trigger a correction).
* It first fills to a quarter frame above `low` before giving anything out (priming), and
  again after running dry, so one late tick does not turn into a string of half-empty frames.
* A < low: the consumer repeats one sample per frame (the producer's clock is slow);
  A > high: it skips one (the producer's clock is fast). One sample per 20 ms follows up to
  3000 ppm, far beyond crystal tolerances, and is inaudible on speech.
* A step (the consumer stalled, then the producer delivered a burst) beyond `high` + two
  frames is cut back to the priming depth at once.

The cost is latency: with the defaults (20 ms frames and blocks, 20 ms headroom) A sits
between 55 and 85 ms.

Lock-free by construction, for one producer thread and one consumer thread: the producer only
ever appends (`buf += data`) and the consumer only ever deletes from the front
(`del buf[:n]`), each a single C-level operation under the GIL on the same bytearray object,
and the object is never replaced. Counters are each written by one side only. The GIL is held
for a few microseconds (a memcpy of a few kilobytes), never across a blocking call.
"""

from __future__ import annotations

from softphone.audio.pcm import FRAME_BYTES, RATE

SMOOTHING = 0.02  # exponential average of the depth: a time constant of 50 ticks (1 s)
CUT_FRAMES = 2  # depth beyond `high` + this many frames is cut back to `low` at once


class JitterBuffer:
    """Byte FIFO of s16 PCM steered between `low` and `high` bytes. See the module docstring."""

    def __init__(
        self,
        *,
        frame_bytes: int = FRAME_BYTES,
        producer_block: int = 0,
        headroom_ms: float = 20.0,
        step_samples: int = 1,
        max_ms: float = 400.0,
    ) -> None:
        block = max(producer_block, frame_bytes)
        headroom = int(headroom_ms * RATE / 1000) * 2
        self.frame = frame_bytes
        self.low = frame_bytes + block // 2 + headroom
        self.low -= self.low % 2
        self.high = self.low + block + frame_bytes * 3 // 4
        # Priming a quarter frame above the floor keeps late wake-ups at any clock phase from
        # dipping the average below it (the depth then swings in [prime, prime + block)).
        self.prime = self.low + (frame_bytes // 4 & ~1)
        self.cut_at = self.high + CUT_FRAMES * frame_bytes
        self.limit = max(int(max_ms * RATE / 1000) * 2, self.cut_at + 2 * block)
        self.step = 2 * step_samples
        self._buf = bytearray()
        self._avg = float(self.low)
        self.primed = False
        # Written by the producer only:
        self.overruns = 0  # blocks refused because the consumer was not taking anything
        self.pushed = 0
        # Written by the consumer only:
        self.underruns = 0  # dry spells: ticks that found the buffer empty after priming
        self.pulled = 0
        self.skipped = 0  # bytes dropped to follow a faster producer clock
        self.stretched = 0  # bytes repeated to follow a slower producer clock
        self.cut = 0  # bytes dropped at once after a burst

    # -- producer side --------------------------------------------------------------------

    def push(self, data: bytes) -> None:
        buf = self._buf
        if len(buf) + len(data) > self.limit:
            self.overruns += 1  # nobody is consuming: keep the old audio, refuse the new
            return
        buf += data
        self.pushed += 1

    # -- consumer side --------------------------------------------------------------------

    def pull(self) -> bytes | None:
        """One frame, or None when there is nothing to play yet (the caller sends silence)."""
        buf = self._buf
        depth = len(buf)
        frame = self.frame
        if not self.primed:
            if depth < self.prime:
                return None
            self.primed = True
            self._avg = float(depth)
        elif depth < frame:
            self.underruns += 1
            self.primed = False  # refill before resuming
            return None
        self.pulled += 1
        if depth > self.cut_at:
            excess = (depth - self.prime) & ~1
            del buf[:excess]
            self.cut += excess
            depth -= excess
            self._avg = float(depth)
        avg = self._avg = self._avg + (depth - self._avg) * SMOOTHING
        step = self.step
        if step and avg > self.high and depth >= frame + step:
            out = bytes(buf[:frame])
            del buf[: frame + step]  # skip a sample: the producer's clock runs fast
            self.skipped += step
            return out
        if step and avg < self.low:
            short = bytes(buf[: frame - step])
            del buf[: frame - step]  # repeat a sample: the producer's clock runs slow
            self.stretched += step
            return short + short[-step:]
        out = bytes(buf[:frame])
        del buf[:frame]
        return out

    def clear(self) -> None:
        """Forget buffered audio (consumer side, e.g. when streams restart)."""
        del self._buf[:]
        self.primed = False
        self._avg = float(self.low)

    @property
    def depth(self) -> int:
        """Bytes buffered now."""
        return len(self._buf)

    @property
    def average_depth(self) -> float:
        return self._avg
