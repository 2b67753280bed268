"""A stand-in for the sounddevice module: devices and streams without a sound card.

The bridge takes its sounddevice module as a parameter, so tests, benchmarks and demos run it
against this instead: same functions (query_devices, query_hostapis, check_*_settings,
RawInputStream, RawOutputStream, PortAudioError, default.device) and the same callback
interface (`callback(indata, frames, time, status)` for input, `callback(outdata, frames,
time, status)` for output, called on a thread of the stream's own at the stream's own pace).

Each device is a little sound card: an input plays a signal into its streams (a 1 kHz tone by
default), an output records what its streams were given. A device can run its clock fast or
slow (`drift_ppm`, to exercise the adaptive jitter buffer), refuse to open (`fail_open`, like a
device held by another program) or vanish mid-stream (`stop_after`, like an unplugged headset).
Device threads tick with `Event.wait(timeout)` against an absolute schedule: that is the
simulated hardware clock, not a synchronisation.
"""

from __future__ import annotations

import array
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from softphone.audio.pcm import sine

Source = Callable[[int, int], bytes]  # (frames, samplerate) -> that many s16 mono samples


class PortAudioError(Exception):
    """Raised like sounddevice.PortAudioError."""


class CallbackFlags:
    """The `status` argument: falsy unless the device clock had to catch up (an xrun)."""

    def __init__(self, late: bool = False, output: bool = False) -> None:
        self.input_overflow = late and not output
        self.output_underflow = late and output

    def __bool__(self) -> bool:
        return self.input_overflow or self.output_underflow


class ToneSource:
    """A continuous sine tone at whatever rate the stream runs (phase kept across blocks)."""

    def __init__(self, freq_hz: float = 1000.0, amplitude: float = 0.5) -> None:
        self.freq_hz = freq_hz
        self.amplitude = amplitude
        self._cycle: dict[int, bytes] = {}
        self._pos = 0

    def __call__(self, frames: int, rate: int) -> bytes:
        one_second = self._cycle.get(rate)
        if one_second is None:  # a whole second holds whole cycles of an integer-Hz tone
            one_second = sine(self.freq_hz, 1.0, rate=rate, amplitude=self.amplitude) * 2
            self._cycle[rate] = one_second
        start = (self._pos % rate) * 2
        self._pos += frames
        return one_second[start : start + frames * 2]


@dataclass
class FakeDevice:
    """One simulated sound device."""

    name: str
    inputs: int = 0
    outputs: int = 0
    rates: tuple[int, ...] = (16000, 48000)
    min_channels: int = 1  # 2 for a raw ALSA device that only opens in stereo
    default_samplerate: float = 48000.0
    drift_ppm: float = 0.0
    source: Source = field(default_factory=ToneSource)
    fail_open: bool = False
    stop_after: float | None = None
    keep_seconds: float = 30.0  # how much played audio an output keeps (the newest)
    played: bytearray = field(default_factory=bytearray, repr=False)  # interleaved
    played_rate: int = 0
    played_channels: int = 1
    opened: int = 0


class _Default:
    def __init__(self, device: list[int]) -> None:
        self.device = device


class FakeStream:
    """RawInputStream / RawOutputStream lookalike driven by its own clock thread."""

    def __init__(
        self,
        owner: FakeSoundDevice,
        output: bool,
        *,
        samplerate: float | None = None,
        blocksize: int | None = None,
        device: int | str | None = None,
        channels: int | None = None,
        dtype: str | None = None,
        latency: float | str | None = None,
        callback: Callable[..., None] | None = None,
        finished_callback: Callable[[], None] | None = None,
        **_: Any,
    ) -> None:
        kind = "output" if output else "input"
        dev = owner.device_for(device, kind)
        rate = int(samplerate or dev.default_samplerate)
        owner.check(dev, kind, channels or 1, dtype or "int16", rate)
        if dev.fail_open:
            raise PortAudioError(f"Error opening Raw{kind.title()}Stream: Device unavailable")
        if callback is None:
            raise PortAudioError("the fake supports callback streams only")
        dev.opened += 1
        self.owner = owner
        self.dev = dev
        self.output = output
        self.samplerate = float(rate)
        self.blocksize = int(blocksize or rate // 50)
        self.device = dev.name
        self.latency = latency
        self.channels = channels or 1
        self._callback = callback
        self._finished = finished_callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.active = False
        self.closed = False
        self.callbacks = 0
        self.late = 0  # ticks that came more than two blocks behind the device clock
        if output:
            dev.played_rate = rate
            dev.played_channels = self.channels

    def start(self) -> None:
        if self.closed:
            raise PortAudioError("the stream is closed")
        if self._thread is not None:
            return
        self.active = True
        self._thread = threading.Thread(
            target=self._run, name=f"fake-{'out' if self.output else 'in'}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)
        self._thread = None
        self.active = False

    def abort(self) -> None:
        self.stop()

    def close(self) -> None:
        self.stop()
        self.closed = True

    def _run(self) -> None:
        frames = self.blocksize
        rate = int(self.samplerate)
        # A fast device clock (positive ppm) delivers its blocks a little more often.
        period = frames / rate / (1 + self.dev.drift_ppm * 1e-6)
        channels = self.channels
        out = bytearray(frames * channels * 2)
        view = memoryview(out)
        began = time.monotonic()
        due = began
        keep = int(self.dev.keep_seconds * rate * 2 * channels)
        try:
            while True:
                due += period
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    break
                now = time.monotonic()
                if self.dev.stop_after is not None and now - began >= self.dev.stop_after:
                    break  # the device went away: no more callbacks, the stream is inactive
                late = now - due > 2 * period
                self.late += late
                status = CallbackFlags(late, self.output)
                self.callbacks += 1
                if self.output:
                    self._callback(view, frames, None, status)
                    played = self.dev.played
                    played += out
                    if len(played) > keep:
                        del played[: len(played) - keep]
                else:
                    mono = self.dev.source(frames, rate)
                    data = mono if channels == 1 else _interleave(mono, channels)
                    self._callback(data, frames, None, status)
        finally:
            self.active = False
            if self._finished is not None:
                self._finished()


def _interleave(mono: bytes, channels: int) -> bytes:
    samples = array.array("h")
    samples.frombytes(mono)
    out = array.array("h", bytes(len(mono) * channels))
    for channel in range(channels):
        out[channel::channels] = samples
    return out.tobytes()


class FakeSoundDevice:
    """A sounddevice-shaped module over FakeDevices. `devices` empty = a machine with no
    sound card (what this development machine really is, engine-notes §5)."""

    PortAudioError = PortAudioError

    def __init__(
        self,
        devices: list[FakeDevice] | None = None,
        default_input: str | None = None,
        default_output: str | None = None,
    ) -> None:
        self.devices = list(devices or [])
        names = [d.name for d in self.devices]

        def index(name: str | None, kind: str) -> int:
            if name is not None:
                return names.index(name)
            usable = [i for i, d in enumerate(self.devices) if getattr(d, f"{kind}s") > 0]
            return usable[0] if usable else -1

        self.default = _Default([index(default_input, "input"), index(default_output, "output")])
        self.streams: list[FakeStream] = []

    # -- the sounddevice functions the bridge uses -----------------------------------------

    def query_devices(self) -> list[dict[str, Any]]:
        return [
            {
                "index": i,
                "name": d.name,
                "hostapi": 0,
                "max_input_channels": d.inputs,
                "max_output_channels": d.outputs,
                "default_samplerate": d.default_samplerate,
            }
            for i, d in enumerate(self.devices)
        ]

    def query_hostapis(self) -> tuple[dict[str, Any], ...]:
        return ({"name": "Fake", "devices": list(range(len(self.devices)))},)

    def check_input_settings(self, device: int | str | None = None, **kw: Any) -> None:
        self.check(self.device_for(device, "input"), "input", kw.get("channels", 1),
                   kw.get("dtype", "int16"), kw.get("samplerate"))  # fmt: skip

    def check_output_settings(self, device: int | str | None = None, **kw: Any) -> None:
        self.check(self.device_for(device, "output"), "output", kw.get("channels", 1),
                   kw.get("dtype", "int16"), kw.get("samplerate"))  # fmt: skip

    def RawInputStream(self, **kw: Any) -> FakeStream:  # sounddevice's name
        stream = FakeStream(self, False, **kw)
        self.streams.append(stream)
        return stream

    def RawOutputStream(self, **kw: Any) -> FakeStream:
        stream = FakeStream(self, True, **kw)
        self.streams.append(stream)
        return stream

    # -- helpers ---------------------------------------------------------------------------

    def device_for(self, device: int | str | None, kind: str) -> FakeDevice:
        if device is None:
            device = self.default.device[0 if kind == "input" else 1]
        if isinstance(device, str):
            found = [d for d in self.devices if d.name == device]
            if not found:
                raise ValueError(f"No {kind} device matching {device!r}")
            return found[0]
        if not 0 <= device < len(self.devices):
            raise PortAudioError(f"Error querying device {device}")
        return self.devices[device]

    def check(
        self, dev: FakeDevice, kind: str, channels: int, dtype: str, rate: float | None
    ) -> None:
        if (dev.inputs if kind == "input" else dev.outputs) < channels or (
            channels < dev.min_channels
        ):
            raise PortAudioError(f"Invalid number of channels [PaErrorCode -9998] ({dev.name})")
        if dtype != "int16":
            raise PortAudioError("Invalid sample format")
        if rate is not None and int(rate) not in dev.rates:
            raise PortAudioError(f"Invalid sample rate [PaErrorCode -9997] ({dev.name})")

    def device(self, name: str) -> FakeDevice:
        return next(d for d in self.devices if d.name == name)


class BrokenSoundDevice:
    """A sounddevice whose PortAudio fails at every query (a broken ALSA configuration)."""

    PortAudioError = PortAudioError

    def query_devices(self) -> Any:
        raise PortAudioError("Error querying device -1")

    def query_hostapis(self) -> Any:
        raise PortAudioError("Error querying device -1")


def headset_machine(tone_hz: float = 1000.0, **overrides: Any) -> FakeSoundDevice:
    """A typical laptop: built-in duplex card plus a USB headset (16 kHz capable)."""
    return FakeSoundDevice(
        [
            FakeDevice(
                "Built-in Audio", inputs=2, outputs=2, source=ToneSource(tone_hz), **overrides
            ),
            FakeDevice("USB Headset", inputs=1, outputs=2, source=ToneSource(tone_hz), **overrides),
        ]
    )
