"""Real audio for calls: sound devices through sounddevice (PortAudio), bridged into pjsua2.

The pjsua2 Linux wheel has no sound backend (engine-notes §0), so without this package every
call is silent. Pieces:

* `devices` / `status`: what devices there are and which ones a setting picks, as plain data
  and one plain sentence (no pjsua2: the TUI and `softphone doctor` use them);
* `SoundBridge` (bridge.py, loaded lazily because it imports pjsua2): the engine's
  AudioBridge, `Engine(sink, options, audio=SoundBridge(settings.audio))`;
* `fake`: a sounddevice stand-in, so the bridge runs without a sound card (tests, benchmarks).

pjsua2 is imported only by bridge.py and port.py (design.md: engine and audio only).

For the UI and the doctor:

* `audio_status(settings.audio) -> AudioStatus(ok, line)`: the sentence for `softphone doctor`
  and the TUI before any call (e.g. "No audio device: calls will be silent (null audio)");
* `list_devices() -> DeviceList | AudioUnavailable`: choices for the settings screen
  (`.inputs` / `.outputs`, each AudioDevice has `.name`, which is what [settings.audio] stores);
* with an engine built as `Engine(sink, options, audio=SoundBridge(settings.audio))`, the sink
  gets AudioStateEvent (state + one sentence, on changes) and AudioLevelEvent (meters 0..1,
  ~10 Hz during a call); `engine.set_audio_devices(input, output, ring)` switches devices,
  also mid-call; mute stays `engine.mute(call, on)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from softphone.audio.devices import (
    NO_DEVICE_MESSAGE,
    AudioDevice,
    AudioUnavailable,
    DeviceList,
    list_devices,
)
from softphone.audio.status import AudioStatus, audio_status

if TYPE_CHECKING:
    from softphone.audio.bridge import BridgeStats, SoundBridge

__all__ = [
    "NO_DEVICE_MESSAGE",
    "AudioDevice",
    "AudioStatus",
    "AudioUnavailable",
    "BridgeStats",
    "DeviceList",
    "SoundBridge",
    "audio_status",
    "list_devices",
]


def __getattr__(name: str) -> Any:
    if name in ("SoundBridge", "BridgeStats"):
        from softphone.audio import bridge

        return getattr(bridge, name)
    raise AttributeError(f"module 'softphone.audio' has no attribute {name!r}")
