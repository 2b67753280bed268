"""The sound-card side without pjsua2: fake PortAudio streams into and out of the buffers."""

from __future__ import annotations

import array
import time
from collections.abc import Callable

import pytest

from softphone.audio import pcm
from softphone.audio.devices import DeviceList, list_devices
from softphone.audio.fake import FakeDevice, FakeSoundDevice, ToneSource
from softphone.audio.jitter import JitterBuffer
from softphone.audio.ring import Ringer
from softphone.audio.streams import DeviceError, SoundIO, stream_format, to_mono, to_stereo
from tests.peers import audio


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)  # polling a real condition with a deadline


def listed(sd: FakeSoundDevice) -> DeviceList:
    found = list_devices(sd)
    assert isinstance(found, DeviceList)
    return found


def analyse(data: bytes, rate: int) -> audio.ToneAnalysis:
    values = array.array("h")
    values.frombytes(data)
    return audio.analyse_samples([v / 32768 for v in values], rate)


def test_stereo_helpers_round_trip() -> None:
    mono = pcm.sine(440, 0.02)
    assert to_mono(to_stereo(mono)) == mono


@pytest.mark.parametrize(
    ("rates", "inputs", "expected"),
    [((16000, 48000), 1, (16000, 1)), ((48000,), 1, (48000, 1)), ((48000,), 2, (48000, 1))],
)
def test_stream_format_prefers_16k_mono(
    rates: tuple[int, ...], inputs: int, expected: tuple[int, int]
) -> None:
    sd = FakeSoundDevice([FakeDevice("Card", inputs=inputs, outputs=2, rates=rates)])
    assert stream_format(sd, listed(sd).devices[0], "input") == expected
    stereo = FakeSoundDevice([FakeDevice("Raw", inputs=2, outputs=2, min_channels=2)])
    assert stream_format(stereo, listed(stereo).devices[0], "output") == (16000, 2)


def test_a_48k_stereo_only_card_still_carries_the_tone() -> None:
    """Capture at 48 kHz → 16 kHz into the capture buffer; playback 16 kHz → 48 kHz stereo."""
    card = FakeDevice(
        "Pro Card", inputs=2, outputs=2, rates=(48000,), min_channels=2, source=ToneSource(1000)
    )
    sd = FakeSoundDevice([card])
    capture, playback = JitterBuffer(), JitterBuffer()
    io = SoundIO(sd, capture, playback)
    device = listed(sd).devices[0]
    tone = pcm.sine(700, 2.0)
    got: list[bytes] = []
    io.start(device, device)
    try:
        deadline = time.monotonic() + 5
        for tick in range(40):  # be the bridge clock: a frame each way every 20 ms
            assert time.monotonic() < deadline
            playback.push(tone[tick * pcm.FRAME_BYTES : (tick + 1) * pcm.FRAME_BYTES])
            frame = capture.pull()
            if frame is not None:
                got.append(frame)
            time.sleep(0.02)
    finally:
        io.stop()
    heard = analyse(b"".join(got), pcm.RATE)
    assert abs(heard.dominant_hz - 1000) <= 10 and heard.band_share > 0.9, heard
    played = to_mono(bytes(card.played))[-48000:]  # the last 0.5 s: after priming
    heard = analyse(played, 48000)
    assert abs(heard.dominant_hz - 700) <= 10 and heard.band_share > 0.9, heard
    assert sd.streams[0].samplerate == 48000 and not io.running


def test_health_notices_a_dead_device_and_a_refusing_one_is_a_device_error() -> None:
    card = FakeDevice("Headset", inputs=1, outputs=1, stop_after=0.2)
    sd = FakeSoundDevice([card])
    io = SoundIO(sd, JitterBuffer(), JitterBuffer())
    device = listed(sd).devices[0]
    io.start(device, device)
    try:
        wait_for(lambda: not sd.streams[0].active)
        deadline = time.monotonic() + 3
        problem = io.health()
        while problem is None and time.monotonic() < deadline:
            time.sleep(0.1)  # health() judges only after a second without callbacks
            problem = io.health()
        assert problem == "'Headset' stopped working"
    finally:
        io.stop()
    busy = FakeSoundDevice([FakeDevice("Busy", inputs=1, outputs=1, fail_open=True)])
    io = SoundIO(busy, JitterBuffer(), JitterBuffer())
    with pytest.raises(DeviceError, match="'Busy' could not be opened"):
        io.start(listed(busy).devices[0], None)
    assert not io.running


def test_ringer_loops_the_cadence_on_its_device() -> None:
    bell = FakeDevice("Loudspeaker", outputs=2, rates=(48000,))
    sd = FakeSoundDevice([bell])
    ringer = Ringer(sd)
    ringer.start(listed(sd).devices[0])
    try:
        wait_for(lambda: ringer.blocks >= 20)
        assert ringer.ringing
    finally:
        ringer.stop()
    assert ringer.stream is None and sd.streams[0].closed
    heard = analyse(bytes(bell.played), 48000)
    assert min(abs(heard.dominant_hz - 440), abs(heard.dominant_hz - 480)) <= 10, heard
