"""Sound devices as plain data: what PortAudio offers, and which one a setting names.

The pjsua2 Linux wheel has no sound backend (engine-notes §0), so devices come from
sounddevice (PortAudio). Importing sounddevice fails with OSError when libportaudio is missing,
and on a machine without a sound card it lists nothing and raises PortAudioError for "the
default device" (§5): every one of those becomes an `AudioUnavailable` with one plain sentence,
never an exception, so the TUI and `softphone doctor` can show it and calls go on with null
audio.

`sd` parameters take the sounddevice module or anything shaped like it (softphone.audio.fake);
None means the real one. No pjsua2 here: the UI and the doctor import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["input", "output"]
NULL_AUDIO = "calls will be silent (null audio)"
NO_DEVICE_MESSAGE = f"No audio device: {NULL_AUDIO}"


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device. `name` is what [settings.audio] stores."""

    index: int
    name: str
    hostapi: str
    inputs: int  # max input channels
    outputs: int  # max output channels
    default_samplerate: float
    default_input: bool = False
    default_output: bool = False

    def can(self, kind: Kind) -> bool:
        return (self.inputs if kind == "input" else self.outputs) > 0


@dataclass(frozen=True)
class DeviceList:
    """Every device PortAudio found, in its order."""

    devices: tuple[AudioDevice, ...]

    @property
    def inputs(self) -> tuple[AudioDevice, ...]:
        return tuple(d for d in self.devices if d.inputs > 0)

    @property
    def outputs(self) -> tuple[AudioDevice, ...]:
        return tuple(d for d in self.devices if d.outputs > 0)

    def default(self, kind: Kind) -> AudioDevice | None:
        """The system default for `kind`, else the first device that can do it."""
        flag = "default_input" if kind == "input" else "default_output"
        usable = [d for d in self.devices if d.can(kind)]
        return next((d for d in usable if getattr(d, flag)), usable[0] if usable else None)

    def find(self, name: str, kind: Kind) -> AudioDevice | None:
        """The device a setting names: the exact name, else a case-insensitive match, else the
        only device whose name contains it (ALSA names end in "(hw:1,0)", which can change
        between boots, so "USB Headset" should still find "USB Headset: Audio (hw:2,0)")."""
        usable = [d for d in self.devices if d.can(kind)]
        exact = [d for d in usable if d.name == name]
        if exact:
            return exact[0]
        folded = name.casefold()
        same = [d for d in usable if d.name.casefold() == folded]
        if same:
            return same[0]
        partial = [d for d in usable if name.casefold() in d.name.casefold()]
        return partial[0] if len(partial) == 1 else None


@dataclass(frozen=True)
class AudioUnavailable:
    """No sound devices can be used; `reason` is one sentence for the user."""

    reason: str


def load_sounddevice() -> Any | AudioUnavailable:
    """The sounddevice module, or why it cannot be used."""
    try:
        import sounddevice
    except OSError:  # the module is there, libportaudio is not
        return AudioUnavailable(
            f"No audio: the PortAudio library is not installed (e.g. apt install libportaudio2); "
            f"{NULL_AUDIO}"
        )
    except ImportError:
        return AudioUnavailable(f"No audio: the sounddevice package is missing; {NULL_AUDIO}")
    return sounddevice


def list_devices(sd: Any = None) -> DeviceList | AudioUnavailable:
    """Every usable device, or AudioUnavailable when there are none (or PortAudio fails)."""
    if sd is None:
        sd = load_sounddevice()
        if isinstance(sd, AudioUnavailable):
            return sd
    try:
        raw = list(sd.query_devices())
        hostapis = [h.get("name", "?") for h in sd.query_hostapis()]
        default_in, default_out = _defaults(sd)
    except Exception as exc:  # PortAudioError, or a broken backend
        return AudioUnavailable(f"No audio: PortAudio could not list devices ({exc}); {NULL_AUDIO}")
    devices = tuple(
        AudioDevice(
            index=int(d.get("index", i)),
            name=str(d.get("name", f"device {i}")),
            hostapi=hostapis[d["hostapi"]] if 0 <= d.get("hostapi", -1) < len(hostapis) else "?",
            inputs=int(d.get("max_input_channels", 0)),
            outputs=int(d.get("max_output_channels", 0)),
            default_samplerate=float(d.get("default_samplerate", 0) or 0),
            default_input=int(d.get("index", i)) == default_in,
            default_output=int(d.get("index", i)) == default_out,
        )
        for i, d in enumerate(raw)
    )
    if not devices:
        return AudioUnavailable(NO_DEVICE_MESSAGE)
    return DeviceList(devices)


def _defaults(sd: Any) -> tuple[int, int]:
    device = sd.default.device
    try:
        default_in, default_out = int(device[0]), int(device[1])
    except (TypeError, ValueError, IndexError):
        return -1, -1
    return default_in, default_out
