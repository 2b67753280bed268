"""Device lists, the device a setting picks, and the one-line status (no pjsua2, no streams)."""

from __future__ import annotations

from typing import Any

import pytest

from softphone.audio import NO_DEVICE_MESSAGE, audio_status, list_devices
from softphone.audio.devices import AudioUnavailable, DeviceList, load_sounddevice
from softphone.audio.fake import BrokenSoundDevice, FakeDevice, FakeSoundDevice
from softphone.audio.status import resolve
from softphone.config import AudioSettings


def machine() -> FakeSoundDevice:
    return FakeSoundDevice(
        [
            FakeDevice("HDA Intel PCH: ALC3246 Analog (hw:0,0)", inputs=2, outputs=2),
            FakeDevice("USB Headset: Audio (hw:2,0)", inputs=1, outputs=2),
            FakeDevice("HDMI 0 (hw:0,3)", outputs=8, rates=(48000,)),
        ],
        default_output="HDMI 0 (hw:0,3)",
    )


def devices() -> DeviceList:
    found = list_devices(machine())
    assert isinstance(found, DeviceList)
    return found


def test_list_devices_as_plain_data() -> None:
    found = devices()
    assert [d.name for d in found.inputs] == [
        "HDA Intel PCH: ALC3246 Analog (hw:0,0)",
        "USB Headset: Audio (hw:2,0)",
    ]
    assert len(found.outputs) == 3
    assert found.default("input") is found.devices[0]  # the first input: no default set
    assert found.default("output") is found.devices[2]  # the system default
    assert found.devices[2].hostapi == "Fake" and found.devices[2].default_output


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("USB Headset: Audio (hw:2,0)", "input", 1),  # exact
        ("usb headset: audio (hw:2,0)", "input", 1),  # case
        ("USB Headset", "output", 1),  # the hw:N,M suffix changed between boots
        ("HDMI", "input", None),  # an output only
        ("(hw:0", "output", None),  # ambiguous: two devices match
        ("Bluetooth", "output", None),
    ],
)
def test_find_by_name(name: str, kind: Any, expected: int | None) -> None:
    found = devices()
    device = found.find(name, kind)
    assert (device.index if device else None) == expected


def test_no_devices_or_broken_portaudio_are_plain_sentences() -> None:
    assert list_devices(FakeSoundDevice([])) == AudioUnavailable(NO_DEVICE_MESSAGE)
    assert NO_DEVICE_MESSAGE == "No audio device: calls will be silent (null audio)"
    broken = list_devices(BrokenSoundDevice())
    assert isinstance(broken, AudioUnavailable)
    assert broken.reason == (
        "No audio: PortAudio could not list devices (Error querying device -1); "
        "calls will be silent (null audio)"
    )


def test_this_machine_really_has_no_sound_card() -> None:
    """engine-notes §5: PortAudio here lists nothing; what doctor and the TUI will say."""
    sd = load_sounddevice()
    if isinstance(sd, AudioUnavailable):
        assert "PortAudio" in sd.reason or "sounddevice" in sd.reason
        return
    found = list_devices()
    if isinstance(found, DeviceList):
        pytest.skip("this machine has sound devices")
    assert found.reason == NO_DEVICE_MESSAGE
    status = audio_status()
    assert not status.ok and status.line == NO_DEVICE_MESSAGE


def test_resolve_defaults_fallbacks_and_the_ring_device() -> None:
    found = devices()
    plain = resolve(found, AudioSettings())
    assert plain.state == "ready" and plain.ring is plain.output
    assert plain.message == (
        "Audio: microphone 'HDA Intel PCH: ALC3246 Analog (hw:0,0)', speaker 'HDMI 0 (hw:0,3)'"
    )
    chosen = resolve(found, AudioSettings(input="USB Headset", output="USB Headset", ring="HDMI"))
    assert chosen.input is found.devices[1] and chosen.output is found.devices[1]
    assert chosen.ring is found.devices[2]
    assert chosen.message.endswith(", ring on 'HDMI 0 (hw:0,3)'")
    missing = resolve(found, AudioSettings(input="Jabra"))
    assert missing.input is found.devices[0]
    assert missing.notes == (
        "microphone 'Jabra' not found; using 'HDA Intel PCH: ALC3246 Analog (hw:0,0)'",
    )
    assert missing.message.endswith("(microphone 'Jabra' not found; using "
                                    "'HDA Intel PCH: ALC3246 Analog (hw:0,0)')")  # fmt: skip


def test_resolve_half_a_machine() -> None:
    speaker_only = list_devices(FakeSoundDevice([FakeDevice("Speaker", outputs=2)]))
    res = resolve(speaker_only, AudioSettings())
    assert res.state == "ready" and res.input is None
    assert res.message == ("Audio: no microphone (the other side hears silence), speaker 'Speaker'")
    status = audio_status(sd=FakeSoundDevice([FakeDevice("Speaker", outputs=2)]))
    assert not status.ok and status.line == res.message


def test_status_checks_the_format_without_opening_anything() -> None:
    sd = FakeSoundDevice([FakeDevice("Odd", inputs=1, outputs=1, rates=(22050,),
                                     default_samplerate=44100.0)])  # fmt: skip
    status = audio_status(sd=sd)
    assert not status.ok
    assert "'Odd' refuses 16-bit audio at [16000, 44100] Hz" in status.line
    assert status.line.endswith("calls will be silent (null audio)")
    assert sd.streams == []
    good = audio_status(AudioSettings(output="USB Headset"), sd=machine())
    assert good.ok and "speaker 'USB Headset: Audio (hw:2,0)'" in good.line
