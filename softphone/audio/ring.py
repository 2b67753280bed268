"""The ring tone: a looped cadence on the ring device while a call is coming in.

It has its own output stream, so it can sound on a loudspeaker while calls use a headset
([settings.audio] ring). The cadence is built once, at the device's rate, and the callback
only slices it (no conversion per block). If the device cannot be opened (e.g. a raw ALSA
device already held by the call's stream) the caller shows the incoming call silently.
"""

from __future__ import annotations

import contextlib
from typing import Any

from softphone.audio.devices import AudioDevice
from softphone.audio.pcm import RATE, RateConverter, ring_cadence
from softphone.audio.streams import DeviceError, stream_format, to_stereo


class Ringer:
    def __init__(self, sd: Any, *, latency: float | str = 0.1) -> None:
        self.sd = sd
        self.latency = latency
        self.stream: Any = None
        self.device: AudioDevice | None = None
        self._pcm = b""
        self._pos = 0
        self.blocks = 0  # callbacks served (tests: the ring really played)

    @property
    def ringing(self) -> bool:
        return self.stream is not None

    def start(self, device: AudioDevice) -> None:
        """Ring on `device` (idempotent); DeviceError if it cannot be opened."""
        if self.stream is not None:
            return
        rate, channels = stream_format(self.sd, device, "output")
        pcm = RateConverter(RATE, rate).convert(ring_cadence())
        self._pcm = to_stereo(pcm) if channels == 2 else pcm
        self._pos = 0
        try:
            stream = self.sd.RawOutputStream(
                samplerate=rate,
                blocksize=rate // 50,
                device=device.index,
                channels=channels,
                dtype="int16",
                latency=self.latency,
                callback=self._on_output,
            )
            stream.start()
        except Exception as exc:
            raise DeviceError(f"the ring tone could not start on {device.name!r} ({exc})") from None
        self.stream = stream
        self.device = device

    def stop(self) -> None:
        stream, self.stream, self.device = self.stream, None, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.stop()
                stream.close()

    def _on_output(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        try:
            need = len(outdata)
            pcm = self._pcm
            pos = self._pos
            chunk = pcm[pos : pos + need]
            if len(chunk) < need:  # wrap around to the start of the cadence
                chunk += pcm[: need - len(chunk)]
            self._pos = (pos + need) % len(pcm)
            outdata[:] = chunk
            self.blocks += 1
        except Exception:
            with contextlib.suppress(Exception):
                outdata[:] = bytes(len(outdata))
