"""Which devices the phone will use, in one plain sentence: for the TUI, `softphone doctor`
and the bridge itself (all three say the same thing because they call the same code).

No pjsua2 here and nothing is opened: the checks are PortAudio's device list and its
format query (`check_*_settings`), which cost milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from softphone.audio.devices import (
    NULL_AUDIO,
    AudioDevice,
    AudioUnavailable,
    DeviceList,
    list_devices,
)
from softphone.audio.streams import DeviceError, stream_format
from softphone.config import AudioSettings


@dataclass(frozen=True)
class Resolution:
    """The devices a setting resolves to. `state` "ready" when a microphone and a speaker are
    there, "null" when calls will be silent both ways; `notes` explain every fallback."""

    state: Literal["ready", "null"]
    message: str
    input: AudioDevice | None = None
    output: AudioDevice | None = None
    ring: AudioDevice | None = None
    notes: tuple[str, ...] = ()


def resolve(devices: DeviceList | AudioUnavailable, settings: AudioSettings) -> Resolution:
    """Pick input, output and ring devices for `settings` (None names = system default)."""
    if isinstance(devices, AudioUnavailable):
        return Resolution("null", devices.reason)
    notes: list[str] = []

    def pick(name: str | None, kind: Literal["input", "output"], label: str) -> AudioDevice | None:
        if name:
            found = devices.find(name, kind)
            if found is not None:
                return found
            fallback = devices.default(kind)
            notes.append(
                f"{label} {name!r} not found; using "
                + (f"{fallback.name!r}" if fallback else "nothing")
            )
            return fallback
        return devices.default(kind)

    mic = pick(settings.input, "input", "microphone")
    speaker = pick(settings.output, "output", "speaker")
    ring = pick(settings.ring, "output", "ring device") if settings.ring else speaker
    if mic is None and speaker is None:
        return Resolution("null", f"No audio device: {NULL_AUDIO}", notes=tuple(notes))
    parts = [
        f"microphone {mic.name!r}" if mic else "no microphone (the other side hears silence)",
        f"speaker {speaker.name!r}" if speaker else "no speaker (you hear nothing)",
    ]
    if ring is not None and ring is not speaker:
        parts.append(f"ring on {ring.name!r}")
    message = "Audio: " + ", ".join(parts)
    if notes:
        message += " (" + "; ".join(notes) + ")"
    return Resolution("ready", message, mic, speaker, ring, tuple(notes))


@dataclass(frozen=True)
class AudioStatus:
    """`ok` when calls will have sound both ways; `line` is the sentence to show."""

    ok: bool
    line: str
    devices: DeviceList | None = None


def audio_status(settings: AudioSettings | None = None, sd: Any = None) -> AudioStatus:
    """What `softphone doctor` and the TUI show about audio, without opening any stream."""
    settings = settings or AudioSettings()
    devices = list_devices(sd)
    res = resolve(devices, settings)
    listed = devices if isinstance(devices, DeviceList) else None
    if res.state == "null":
        return AudioStatus(False, res.message, listed)
    module = sd
    if module is None:
        import sounddevice

        module = sounddevice
    problems = []
    for device, kind in ((res.input, "input"), (res.output, "output")):
        if device is None:
            continue
        try:
            stream_format(module, device, kind)  # type: ignore[arg-type]
        except DeviceError as exc:
            problems.append(str(exc))
    if problems:
        return AudioStatus(False, f"{res.message}; but {'; '.join(problems)}: {NULL_AUDIO}", listed)
    ok = res.input is not None and res.output is not None
    return AudioStatus(ok, res.message, listed)
