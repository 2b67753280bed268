"""Run one Engine with a SoundBridge in its own process, driven by JSON lines.

Same protocol as tests/engine/runner.py (one Endpoint per process, exit code 0 or the test
fails), plus the bridge: argv is {"options": EngineOptions fields, "audio": {...}} where audio
says which sounddevice the bridge gets:

    "sd": "fake" (FakeDevices from "devices"), "none" (a fake machine without devices),
          "broken" (a module whose every query raises PortAudioError), "real" (sounddevice),
          "off" (no bridge at all: the engine's own null-device wiring, for the benchmark)
    "devices": [{"name", "inputs", "outputs", "rates", "default_samplerate", "drift_ppm",
                 "tone_hz", "fail_open", "stop_after"}, ...]
    "settings": {"input", "output", "ring"}, "headroom_ms": ms, "switch_interval": s|null

Extra commands: bridge_stats, played_wav {device, path, seconds}, ring_blocks, busy {on},
cpu_seconds (this process's user+system time), switch_interval.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import wave
from typing import Any

from softphone.audio.bridge import SoundBridge
from softphone.audio.fake import BrokenSoundDevice, FakeDevice, FakeSoundDevice, ToneSource
from softphone.audio.streams import to_mono
from softphone.config import AudioSettings
from softphone.engine import Engine, EngineAccount
from tests.engine.runner import options_from, serve, sink, write

ENGINE_COMMANDS = {
    "add_account", "make_call", "answer", "reject", "hangup", "hold", "unhold", "mute",
    "send_dtmf", "play", "record", "call_info", "list_calls", "set_audio_devices",
    "audio_state",
}  # fmt: skip


def make_sd(audio: dict[str, Any]) -> Any:
    kind = audio.get("sd", "fake")
    if kind == "real":
        return None
    if kind == "broken":
        return BrokenSoundDevice()
    if kind == "none":
        return FakeSoundDevice([])
    devices = []
    for spec in audio.get("devices", []):
        spec = dict(spec)
        tone = spec.pop("tone_hz", 1000.0)
        if "rates" in spec:
            spec["rates"] = tuple(spec["rates"])
        devices.append(FakeDevice(source=ToneSource(tone), **spec))
    return FakeSoundDevice(devices)


class Busy:
    """A CPU-bound pure-Python thread: what a UI thread busy rendering does to the GIL."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.loops = 0

    def set(self, on: bool) -> None:
        if on and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._spin, name="busy", daemon=True)
            self._thread.start()
        elif not on and self._thread is not None:
            self._stop.set()
            self._thread.join(5)
            self._thread = None

    def _spin(self) -> None:
        while not self._stop.is_set():
            total = 0
            for i in range(2000):
                total += i * i
            self.loops += 1


def write_played(sd: FakeSoundDevice, device: str, path: str, seconds: float) -> dict[str, Any]:
    dev = sd.device(device)
    rate = dev.played_rate or 16000
    data = bytes(dev.played[-int(seconds * rate) * 2 * dev.played_channels :])
    if dev.played_channels == 2:
        data = to_mono(data)
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data)
    return {"rate": rate, "bytes": len(data)}


def main(argv: list[str]) -> int:
    raw = json.loads(argv[1]) if len(argv) > 1 else {}
    audio: dict[str, Any] = raw.get("audio", {})
    sd = make_sd(audio)
    bridge: SoundBridge | None = None
    if audio.get("sd") != "off":
        bridge = SoundBridge(
            AudioSettings(**audio.get("settings", {})),
            sd=sd,
            headroom_ms=float(audio.get("headroom_ms", 20.0)),
            switch_interval=audio.get("switch_interval", 0.001),
        )
    engine = Engine(sink, options_from(raw.get("options", {})), audio=bridge)
    busy = Busy()
    return serve(
        engine,
        lambda request: _handle(engine, bridge, sd, busy, request),
        cleanup=lambda: busy.set(False),
    )


def _handle(
    engine: Engine, bridge: SoundBridge | None, sd: Any, busy: Busy, request: dict[str, Any]
) -> None:
    rid = request.get("id")
    name = str(request.get("cmd"))
    args = list(request.get("args", []))
    kwargs = dict(request.get("kwargs", {}))
    try:
        result: Any
        if name == "add_account":
            spec: dict[str, Any] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()
            }
            result = engine.add_account(EngineAccount(**spec)).result(10)
        elif name in ENGINE_COMMANDS:
            result = getattr(engine, name)(*args, **kwargs).result(request.get("timeout", 10))
        elif name == "bridge_stats":
            assert bridge is not None
            result = bridge.stats()
        elif name == "played_wav":
            result = write_played(sd, **kwargs)
        elif name == "ring_blocks":
            assert bridge is not None and bridge.ringer is not None
            result = {"blocks": bridge.ringer.blocks, "ringing": bridge.ringer.ringing}
        elif name == "busy":
            busy.set(bool(kwargs["on"]))
            result = busy.loops
        elif name == "cpu_seconds":
            times = os.times()
            result = {"cpu": times.user + times.system, "wall": time.monotonic()}
        elif name == "switch_interval":
            result = sys.getswitchinterval()
        else:
            raise ValueError(f"unknown command {name!r}")
    except Exception as exc:
        write({"kind": "reply", "id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    write({"kind": "reply", "id": rid, "ok": True, "result": result})


if __name__ == "__main__":
    sys.exit(main(sys.argv))
