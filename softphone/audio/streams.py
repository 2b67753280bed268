"""The sound-card side of the bridge: PortAudio streams in and out of the jitter buffers.

The input stream's callback (PortAudio's thread) appends what the microphone recorded to the
capture buffer; the output stream's callback takes frames from the playback buffer for the
speaker. Both convert at this edge only: the device rate to and from the bridge's 16 kHz
(PortAudio is asked for 16 kHz first, which most devices accept, so usually there is nothing
to convert) and mono to and from stereo for devices that only open with two channels.

Callbacks are kept short because they hold the GIL against the conference clock's callbacks
(engine-notes §5): a copy, maybe a conversion, a buffer append. Nothing here calls pjsua2.
A device that fails to open, or dies later (stream inactive, callbacks stop), is reported as
one sentence; the caller falls back to null audio and calls go on.
"""

from __future__ import annotations

import array
import contextlib
import time
from typing import Any

from softphone.audio.devices import AudioDevice, Kind
from softphone.audio.jitter import JitterBuffer
from softphone.audio.pcm import RATE, SILENCE, RateConverter, peak

STALL_SECONDS = 1.0  # a running stream whose callback has not run for this long is dead
DEFAULT_LATENCY = 0.06  # PortAudio buffer: three 20 ms periods (unverified on real hardware)


class DeviceError(Exception):
    """A device could not be opened; the message is one plain sentence."""


def to_mono(pcm: bytes) -> bytes:
    """Left channel of interleaved s16 stereo."""
    samples = array.array("h")
    samples.frombytes(pcm[: len(pcm) & ~3])
    return samples[0::2].tobytes()  # byte order untouched: the samples are only moved


def to_stereo(pcm: bytes) -> bytes:
    mono = array.array("h")
    mono.frombytes(pcm)
    out = array.array("h", bytes(len(pcm) * 2))
    out[0::2] = mono
    out[1::2] = mono
    return out.tobytes()


def stream_format(sd: Any, device: AudioDevice, kind: Kind) -> tuple[int, int]:
    """(sample rate, channels) the device accepts: 16 kHz mono when it can, else its own rate
    and/or two channels. DeviceError when nothing fits."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    rates = [RATE]
    if device.default_samplerate and int(device.default_samplerate) != RATE:
        rates.append(int(device.default_samplerate))
    last: Exception | None = None
    for channels in (1, 2):
        for rate in rates:
            try:
                check(device=device.index, channels=channels, dtype="int16", samplerate=rate)
            except Exception as exc:  # PortAudioError / ValueError
                last = exc
                continue
            return rate, channels
    raise DeviceError(f"{device.name!r} refuses 16-bit audio at {rates} Hz ({last})")


class SoundIO:
    """One input stream feeding `capture`, one output stream draining `playback`."""

    def __init__(
        self,
        sd: Any,
        capture: JitterBuffer,
        playback: JitterBuffer,
        *,
        latency: float | str = DEFAULT_LATENCY,
    ) -> None:
        self.sd = sd
        self.capture = capture
        self.playback = playback
        self.latency = latency
        self.input: Any = None
        self.output: Any = None
        self.input_device: AudioDevice | None = None
        self.output_device: AudioDevice | None = None
        self._in_conv = RateConverter(RATE, RATE)
        self._out_conv = RateConverter(RATE, RATE)
        self._in_stereo = False
        self._out_stereo = False
        self._out_acc = bytearray()
        self.in_peak = 0  # the loudest sample each way since take_peaks() (level meters)
        self.out_peak = 0
        self.in_calls = 0
        self.out_calls = 0
        self.xruns = 0  # PortAudio reported an input overflow / output underflow
        self.callback_errors = 0
        self._started_at = 0.0
        self._seen = (0, 0, 0.0)  # callback counts at the last health check, and its time

    # -- lifecycle (engine thread) ---------------------------------------------------------

    def start(self, input_device: AudioDevice | None, output_device: AudioDevice | None) -> None:
        """Open and start the streams; DeviceError (with the other stream closed) on failure."""
        self.stop()
        self.capture.clear()
        self.playback.clear()
        del self._out_acc[:]
        try:
            if input_device is not None:
                rate, channels = stream_format(self.sd, input_device, "input")
                self._in_conv = RateConverter(rate, RATE)
                self._in_stereo = channels == 2
                self.input = self._open("input", input_device, rate, channels)
                self.input_device = input_device
            if output_device is not None:
                rate, channels = stream_format(self.sd, output_device, "output")
                self._out_conv = RateConverter(RATE, rate)
                self._out_stereo = channels == 2
                self.output = self._open("output", output_device, rate, channels)
                self.output_device = output_device
            for stream in (self.input, self.output):
                if stream is not None:
                    stream.start()
        except DeviceError:
            self.stop()
            raise
        except Exception as exc:  # PortAudioError on open/start
            self.stop()
            raise DeviceError(f"the sound device failed to start ({exc})") from None
        self._started_at = time.monotonic()
        self._seen = (self.in_calls, self.out_calls, self._started_at)

    def _open(self, kind: Kind, device: AudioDevice, rate: int, channels: int) -> Any:
        factory = self.sd.RawInputStream if kind == "input" else self.sd.RawOutputStream
        try:
            return factory(
                samplerate=rate,
                blocksize=rate // 50,  # 20 ms, like the bridge: one frame per callback
                device=device.index,
                channels=channels,
                dtype="int16",
                latency=self.latency,
                callback=self._on_input if kind == "input" else self._on_output,
            )
        except Exception as exc:
            raise DeviceError(f"{device.name!r} could not be opened ({exc})") from None

    def stop(self) -> None:
        for stream in (self.input, self.output):
            if stream is None:
                continue
            with contextlib.suppress(Exception):  # a dead device may refuse to stop
                stream.stop()
                stream.close()
        self.input = self.output = None
        self.input_device = self.output_device = None

    def take_peaks(self) -> tuple[int, int]:
        """The loudest microphone and speaker samples since the last call (then reset)."""
        peaks = self.in_peak, self.out_peak
        self.in_peak = self.out_peak = 0
        return peaks

    @property
    def running(self) -> bool:
        return self.input is not None or self.output is not None

    def health(self) -> str | None:
        """None while every stream runs; else which device stopped (call once a second)."""
        if not self.running:
            return None
        now = time.monotonic()
        in_calls, out_calls, then = self._seen
        self._seen = (self.in_calls, self.out_calls, now)
        if now - then < STALL_SECONDS:
            self._seen = (in_calls, out_calls, then)  # too soon to judge
            return None
        for stream, device, before, after in (
            (self.input, self.input_device, in_calls, self.in_calls),
            (self.output, self.output_device, out_calls, self.out_calls),
        ):
            if stream is None or device is None:
                continue
            if not getattr(stream, "active", True) or after == before:
                return f"{device.name!r} stopped working"
        return None

    # -- PortAudio callbacks (PortAudio's thread) ------------------------------------------

    def _on_input(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        try:
            if status:
                self.xruns += 1
            data = bytes(indata)
            if self._in_stereo:
                data = to_mono(data)
            data = self._in_conv.convert(data)
            level = peak(data)
            if level > self.in_peak:
                self.in_peak = level
            self.capture.push(data)
            self.in_calls += 1
        except Exception:
            self.callback_errors += 1  # never raise into PortAudio: it would stop the stream

    def _on_output(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        try:
            if status:
                self.xruns += 1
            need = frames * 2
            acc = self._out_acc
            while len(acc) < need:
                frame = self.playback.pull()
                if frame is None:
                    frame = SILENCE
                else:
                    level = peak(frame)
                    if level > self.out_peak:
                        self.out_peak = level
                acc += self._out_conv.convert(frame)
            chunk = bytes(acc[:need])
            del acc[:need]
            outdata[:] = to_stereo(chunk) if self._out_stereo else chunk
            self.out_calls += 1
        except Exception:
            self.callback_errors += 1
            with contextlib.suppress(Exception):
                outdata[:] = bytes(len(outdata))
