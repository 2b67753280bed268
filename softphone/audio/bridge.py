"""SoundBridge: real microphone and speaker audio for the engine's calls.

The Linux pjsua2 wheel has no sound backend, so the engine runs the conference bridge on the
null device (engine-notes §0, §4) and hands us each call's audio (the engine's AudioBridge
seam, softphone/engine/media.py). The path of a call's sound:

    microphone ─PortAudio thread─▶ capture JitterBuffer ─clock thread─▶ BridgePort ─▶ calls
    calls ─▶ BridgePort ─clock thread─▶ playback JitterBuffer ─PortAudio thread─▶ speaker

One conference port lives as long as the engine (created in `open`, destroyed the safe way in
`close`, §5, §9.5); sound-card streams run only while some call has audio, so an idle phone
holds no device and costs no CPU. While they run, the interpreter's switch interval is lowered
to 1 ms, so a busy UI thread cannot keep the audio callbacks waiting for the GIL (§5:
p99 22 ms instead of 37 ms). Incoming calls ring on the ring device through a stream of their
own.

Every method runs on the engine thread (open/connect/close/observe/poll and the commands);
`stats()` may be read from anywhere. Nothing here raises for a device problem: a missing,
refusing or dying device turns into an AudioStateEvent ("null"/"failed") with one plain
sentence, and calls go on with silence. `sd` is the sounddevice module or a stand-in
(softphone.audio.fake), which is how the bridge runs without a sound card.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from softphone.audio.devices import AudioUnavailable, DeviceList, list_devices, load_sounddevice
from softphone.audio.jitter import JitterBuffer
from softphone.audio.pcm import dbfs, meter
from softphone.audio.port import BridgePort, destroy
from softphone.audio.ring import Ringer
from softphone.audio.status import Resolution, resolve
from softphone.audio.streams import DEFAULT_LATENCY, DeviceError, SoundIO
from softphone.config import AudioSettings
from softphone.engine.events import (
    AudioLevelEvent,
    AudioStateEvent,
    CallEvent,
    Event,
    IncomingCallEvent,
)

HEALTH_INTERVAL = 1.0  # seconds between checks that the streams still run


@dataclass(frozen=True)
class BridgeStats:
    """Counters of the bridge since its streams last started (tests, benchmarks, doctor)."""

    frames_requested: int
    frames_received: int
    capture_underruns: int
    capture_overruns: int
    playback_underruns: int
    playback_overruns: int
    drift_samples: int  # samples skipped or repeated to follow the sound card's clock
    cut_frames: int  # frames dropped at once after a burst
    device_xruns: int  # PortAudio's own overflow/underflow flags
    errors: int  # exceptions caught inside real-time callbacks
    interval_p50_ms: float
    interval_p99_ms: float
    interval_max_ms: float
    fast_path: bool
    live: bool


class SoundBridge:
    """The engine's AudioBridge over sounddevice. See the module docstring."""

    def __init__(
        self,
        settings: AudioSettings | None = None,
        *,
        sd: Any = None,
        headroom_ms: float = 20.0,
        switch_interval: float | None = 0.001,
        level_hz: float = 10.0,
        latency: float | str = DEFAULT_LATENCY,
    ) -> None:
        self.settings = settings if settings is not None else AudioSettings()
        self._sd_given = sd
        self.sd: Any = None
        # Both directions: one clock against the other (jitter.py; ~50-80 ms each way).
        self.capture = JitterBuffer(headroom_ms=headroom_ms)
        self.playback = JitterBuffer(headroom_ms=headroom_ms)
        self.latency = latency
        self.switch_interval = switch_interval
        self.level_period = 1.0 / level_hz
        self.port: BridgePort | None = None
        self.endpoint: Any = None
        self.io: SoundIO | None = None
        self.ringer: Ringer | None = None
        self.devices: DeviceList | AudioUnavailable = AudioUnavailable("not opened yet")
        self.resolution = Resolution("null", "not opened yet")
        self.state = AudioStateEvent("null", "not opened yet")
        self._failed: str | None = None
        self._pending: list[Event] = []
        self._media_pending = False
        self._media_calls: set[int] = set()
        self._ringing: set[int] = set()
        self._dirty = False
        self._next_level = 0.0
        self._next_health = 0.0
        self._saved_switch: float | None = None

    # -- AudioBridge (engine thread) --------------------------------------------------------

    def open(self, endpoint: Any) -> None:
        self.endpoint = endpoint
        sd = self._sd_given if self._sd_given is not None else load_sounddevice()
        if isinstance(sd, AudioUnavailable):
            self.devices = sd
        else:
            self.sd = sd
            self.io = SoundIO(sd, self.capture, self.playback, latency=self.latency)
            self.ringer = Ringer(sd)
            self.devices = list_devices(sd)
        port = BridgePort(self.capture, self.playback)
        port.create()
        self.port = port
        self._resolve()
        self._set_state(self._idle_state())

    def connect(self, call_audio: Any) -> None:
        """A call's audio went live: microphone → call, call → speaker. The CallEvent the engine
        publishes next belongs to this call (EngineCall._media_changed), which is how `observe`
        learns its handle."""
        port = self.port
        if port is None:
            return
        port.startTransmit(call_audio)
        call_audio.startTransmit(port)
        self._media_pending = True
        self._dirty = True

    def close(self) -> None:
        self._stop_streams()
        if self.ringer is not None:
            self.ringer.stop()
        port, self.port = self.port, None
        if port is not None and self.endpoint is not None:
            destroy(port, self.endpoint)
        self._restore_switch()

    # -- optional engine hooks (engine thread) --------------------------------------------

    def observe(self, event: Event) -> None:
        """Every event the engine emits passes here first: call starts, ends and rings."""
        if isinstance(event, CallEvent):
            if self._media_pending:
                self._media_pending = False
                self._media_calls.add(event.call)
                self._dirty = True
            if event.state == "disconnected":
                self._media_calls.discard(event.call)
                self._ringing.discard(event.call)
                self._dirty = True
            elif event.state != "incoming" and event.call in self._ringing:
                self._ringing.discard(event.call)
                self._dirty = True
        elif isinstance(event, IncomingCallEvent):
            self._ringing.add(event.call)
            self._dirty = True

    def poll(self) -> list[Event]:
        """Called by the engine loop every turn (outside pjsua2 callbacks): start and stop
        streams and the ringer, watch the devices, produce level events."""
        if self._dirty:
            self._dirty = False
            self._reconcile()
        io = self.io
        if io is not None and io.running:
            now = time.monotonic()
            if now >= self._next_health:
                self._next_health = now + HEALTH_INTERVAL
                problem = io.health()
                if problem is not None:
                    self._fail(problem)
            if now >= self._next_level and io.running:
                self._next_level = now + self.level_period
                self._pending.append(self._levels(io))
        if not self._pending:
            return []
        out, self._pending = self._pending, []
        return out

    # -- commands (engine thread) ---------------------------------------------------------

    def set_devices(
        self, input: str | None, output: str | None, ring: str | None = None
    ) -> AudioStateEvent:
        """Use other devices (names as in [settings.audio]; None = system default), also in the
        middle of a call: the streams restart on the new devices, the call is not touched."""
        self.settings = AudioSettings(input=input, output=output, ring=ring)
        self._failed = None
        self._stop_streams()
        if self.ringer is not None:
            self.ringer.stop()
        self._refresh_portaudio()
        self._resolve()
        self._set_state(self._idle_state())
        self._reconcile()
        return self.state

    def info(self) -> AudioStateEvent:
        return self.state

    # -- figures (any thread) -------------------------------------------------------------

    def stats(self) -> BridgeStats:
        port, io = self.port, self.io
        intervals = sorted(port.intervals_ms()) if port is not None else []

        def pct(q: float) -> float:
            if not intervals:
                return 0.0
            return intervals[min(len(intervals) - 1, round(q * (len(intervals) - 1)))]

        cap, play = self.capture, self.playback
        return BridgeStats(
            frames_requested=port.requested if port else 0,
            frames_received=port.received if port else 0,
            capture_underruns=cap.underruns,
            capture_overruns=cap.overruns,
            playback_underruns=play.underruns,
            playback_overruns=play.overruns,
            drift_samples=(cap.skipped + cap.stretched + play.skipped + play.stretched) // 2,
            cut_frames=(cap.cut + play.cut) // cap.frame,
            device_xruns=io.xruns if io else 0,
            errors=(port.errors if port else 0) + (io.callback_errors if io else 0),
            interval_p50_ms=statistics.median(intervals) if intervals else 0.0,
            interval_p99_ms=pct(0.99),
            interval_max_ms=intervals[-1] if intervals else 0.0,
            fast_path=bool(port and port.fast),
            live=bool(port and port.live),
        )

    # -- internals ------------------------------------------------------------------------

    def _resolve(self) -> None:
        self.resolution = resolve(self.devices, self.settings)

    def _idle_state(self) -> AudioStateEvent:
        res = self.resolution
        if self._failed is not None:
            return AudioStateEvent("failed", self._failed)
        return AudioStateEvent(
            res.state,
            res.message,
            res.input.name if res.input else None,
            res.output.name if res.output else None,
            res.ring.name if res.ring else None,
        )

    def _set_state(self, state: AudioStateEvent) -> None:
        if state != self.state:
            self.state = state
            self._pending.append(state)

    def _reconcile(self) -> None:
        """Make streams and ringer match the calls: streams while any call has audio, the ring
        tone while any call rings."""
        io = self.io
        if io is not None:
            wanted = bool(self._media_calls) and self._failed is None
            if wanted and not io.running and self.resolution.state == "ready":
                self._start_streams(io)
            elif not self._media_calls and io.running:
                self._stop_streams()
                self._set_state(self._idle_state())
            if not self._media_calls and self._failed is not None:
                self._failed = None  # the next call tries the device again
                self._set_state(self._idle_state())
        ringer, ring = self.ringer, self.resolution.ring
        if ringer is not None:
            if self._ringing and not ringer.ringing and ring is not None:
                # If it cannot open, the TUI still shows the incoming call; the state is unchanged.
                with contextlib.suppress(DeviceError):
                    ringer.start(ring)
            elif not self._ringing and ringer.ringing:
                ringer.stop()

    def _start_streams(self, io: SoundIO) -> None:
        res = self.resolution
        try:
            io.start(res.input, res.output)
        except DeviceError as exc:
            self._fail(str(exc))
            return
        if self.port is not None:
            self.port.reset_intervals()
            self.port.live = True
        self._fast_switch()
        self._next_level = self._next_health = time.monotonic() + HEALTH_INTERVAL / 2
        idle = self._idle_state()
        self._set_state(AudioStateEvent("active", res.message, idle.input, idle.output, idle.ring))

    def _stop_streams(self) -> None:
        if self.port is not None:
            self.port.live = False
        io = self.io
        if io is not None and io.running:
            io.stop()
            self._pending.append(AudioLevelEvent(0.0, 0.0, dbfs(0), dbfs(0)))
        self._restore_switch()

    def _fail(self, problem: str) -> None:
        self._stop_streams()
        self._failed = f"Audio: {problem}; calls continue without sound (null audio)"
        self._set_state(AudioStateEvent("failed", self._failed))

    def _levels(self, io: SoundIO) -> AudioLevelEvent:
        mic_peak, speaker_peak = io.take_peaks()
        mic, speaker = dbfs(mic_peak), dbfs(speaker_peak)
        return AudioLevelEvent(
            meter(mic),
            meter(speaker),
            round(mic, 1),
            round(speaker, 1),
            self.capture.underruns + self.playback.underruns,
            self.capture.overruns + self.playback.overruns,
        )

    def _refresh_portaudio(self) -> None:
        """Re-read the device list; PortAudio only sees hot-plugged devices after a restart,
        which is allowed only while none of our streams is open (they are all stopped here)."""
        sd = self.sd
        if sd is None:
            return
        terminate, initialize = getattr(sd, "_terminate", None), getattr(sd, "_initialize", None)
        if terminate is not None and initialize is not None:
            try:
                terminate()
                initialize()
            except Exception as exc:
                self.devices = AudioUnavailable(f"No audio: PortAudio failed to restart ({exc})")
                return
        self.devices = list_devices(sd)

    def _fast_switch(self) -> None:
        if self.switch_interval is None or self._saved_switch is not None:
            return
        current = sys.getswitchinterval()
        if current > self.switch_interval:
            self._saved_switch = current
            sys.setswitchinterval(self.switch_interval)

    def _restore_switch(self) -> None:
        saved, self._saved_switch = self._saved_switch, None
        ours = self.switch_interval
        if saved is not None and ours is not None and abs(sys.getswitchinterval() - ours) < 1e-7:
            sys.setswitchinterval(saved)
