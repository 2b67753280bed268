"""Calls through the SoundBridge with a fake sound card: sound both ways, no glitches under a
busy thread, meters, mute, device switch mid-call and the ring tone.

Our engine (tests/audio/runner.py) gets a FakeSoundDevice whose microphones hum a tone; the
far end is a plain engine process that plays a WAV and records what it hears. Both tones are
found with tests/peers/audio.py (±10 Hz, > 90 % of the energy in the band). PCMU everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.audio.harness import BUILTIN, HEADSET, AudioEngineProc, tail_analysis
from tests.engine.harness import EngineProc, account
from tests.peers import audio
from tests.peers.ports import free_port_block

Procs = Callable[..., Any]
FAR_TONE = 600.0


def _far_end(procs: Procs, tmp_path: Path) -> tuple[EngineProc, str, Path]:
    port = free_port_block([0])
    far = procs("far", sip_port=port)
    far.cmd("add_account", **account("far", "far", "x", "127.0.0.1", None))
    tone = audio.write_tone(tmp_path / "far-tone.wav", FAR_TONE, 30.0)
    return far, f"sip:far@127.0.0.1:{port}", tone


def _near(procs: Procs, **audio_config: Any) -> AudioEngineProc:
    config = {"sd": "fake", "devices": [BUILTIN, HEADSET], **audio_config}
    near = procs("near", audio=config)
    near.cmd("add_account", **account("near", "near", "x", "127.0.0.1", None))
    assert isinstance(near, AudioEngineProc)
    return near


def _call(near: EngineProc, far: EngineProc, uri: str, tone: Path, record: Path) -> tuple[int, int]:
    handle = near.cmd("make_call", "near", uri)
    ring = far.wait_event("IncomingCallEvent")
    far.cmd("play", ring["call"], str(tone))
    far.cmd("record", ring["call"], str(record))
    far.cmd("answer", ring["call"])
    near.wait_event("CallEvent", call=handle, state="confirmed")
    return handle, ring["call"]


def _hangup(near: EngineProc, handle: int, far: EngineProc, far_call: int) -> None:
    near.cmd("hangup", handle)
    far.wait_event("CallEvent", call=far_call, state="disconnected")
    near.wait_event("CallEvent", call=handle, state="disconnected")


def _assert_tone(heard: audio.ToneAnalysis, hz: float) -> None:
    assert abs(heard.dominant_hz - hz) <= 10, heard
    assert heard.band_share > 0.9, heard


def test_tone_both_ways_without_glitches_while_a_thread_is_busy(
    procs: Procs, tmp_path: Path
) -> None:
    far, uri, tone = _far_end(procs, tmp_path)
    near = _near(procs)
    near.cmd("busy", on=True)  # a CPU-bound Python thread, like a UI busy rendering (§5)
    recording = tmp_path / "far-heard.wav"
    handle, far_call = _call(near, far, uri, tone, recording)
    near.wait_event("AudioStateEvent", state="active")
    assert near.cmd("switch_interval") == 0.001
    # 10 s of bridge ticks with the device streams live (50 frames a second).
    stats = near.wait_stats("10 s of frames", lambda s: s["frames_requested"] >= 500, 20)
    busy_loops = near.cmd("busy", on=False)
    assert busy_loops > 100, "the busy thread did not really run"
    print(f"\nbridge after 10 s with a busy thread: {stats}")
    glitches = {
        k: stats[k]
        for k in ("capture_underruns", "capture_overruns", "playback_underruns",
                  "playback_overruns", "cut_frames", "errors")
    }  # fmt: skip
    assert set(glitches.values()) == {0}, glitches
    assert stats["fast_path"] and stats["live"]
    assert stats["interval_max_ms"] < 80, stats
    # What our speaker played: the far end's 600 Hz.
    _assert_tone(near.played(BUILTIN["name"], tmp_path / "near-played.wav", 8.0), FAR_TONE)
    levels = near.find("AudioLevelEvent")
    assert len(levels) >= 50, len(levels)  # ~10 per second
    assert max(e["input"] for e in levels) > 0.8  # the -6 dBFS microphone tone
    assert max(e["output"] for e in levels) > 0.5
    mark = near.mark()
    _hangup(near, handle, far, far_call)
    near.wait_event("AudioStateEvent", state="ready", since=mark)
    assert near.cmd("switch_interval") == 0.005  # given back once the streams stop
    # What the far end heard: our microphone's 1 kHz.
    audio.wait_for_wav(recording, 10)
    heard = audio.analyse(recording)
    assert heard.seconds >= 9.5, heard
    _assert_tone(heard, BUILTIN["tone_hz"])


def test_mute_silences_what_we_send_but_not_the_meter(procs: Procs, tmp_path: Path) -> None:
    far, uri, tone = _far_end(procs, tmp_path)
    near = _near(procs)
    handle = near.cmd("make_call", "near", uri)
    near.cmd("mute", handle, True)  # before the media exists: applied when it comes up
    ring = far.wait_event("IncomingCallEvent")
    recording = tmp_path / "far-heard.wav"
    far.cmd("record", ring["call"], str(recording))
    far.cmd("play", ring["call"], str(tone))
    far.cmd("answer", ring["call"])
    near.wait_event("CallEvent", call=handle, state="confirmed", where=lambda e: e["muted"])
    near.wait_stats("2 s of frames", lambda s: s["frames_requested"] >= 100, 10)
    levels = near.find("AudioLevelEvent")
    assert max(e["input"] for e in levels) > 0.8  # the microphone still shows on the meter
    _hangup(near, handle, far, ring["call"])
    audio.wait_for_wav(recording, 10)
    heard = audio.analyse(recording)
    assert heard.seconds >= 1.5 and heard.active_share < 0.05, heard  # RTP came, no tone


def test_switching_devices_mid_call_keeps_the_call_and_moves_the_sound(
    procs: Procs, tmp_path: Path
) -> None:
    far, uri, tone = _far_end(procs, tmp_path)
    near = _near(procs)
    recording = tmp_path / "far-heard.wav"
    handle, far_call = _call(near, far, uri, tone, recording)
    active = near.wait_event("AudioStateEvent", state="active")
    assert (active["input"], active["output"]) == (BUILTIN["name"], BUILTIN["name"])
    before = near.wait_stats("1 s of frames", lambda s: s["frames_requested"] >= 50, 10)
    mark = near.mark()
    state = near.cmd("set_audio_devices", HEADSET["name"], HEADSET["name"], None)
    assert state["state"] == "active" and state["input"] == HEADSET["name"], state
    assert state["output"] == HEADSET["name"]
    near.wait_stats(
        "3 s on the headset",
        lambda s: s["frames_requested"] >= before["frames_requested"] + 150,
        10,
    )
    assert not near.find("CallEvent", since=mark, state="disconnected")
    assert near.cmd("call_info", handle)["state"] == "confirmed"
    _assert_tone(near.played(HEADSET["name"], tmp_path / "headset.wav", 2.0), FAR_TONE)
    _hangup(near, handle, far, far_call)
    _assert_tone(tail_analysis(recording, 2.0), HEADSET["tone_hz"])  # the headset's microphone


def test_an_incoming_call_rings_on_the_ring_device_until_answered(
    procs: Procs, tmp_path: Path
) -> None:
    port = free_port_block([0])
    near = procs(
        "near",
        audio={"sd": "fake", "devices": [BUILTIN, HEADSET],
               "settings": {"output": HEADSET["name"], "ring": BUILTIN["name"]}},
        sip_port=port,
    )  # fmt: skip
    near.cmd("add_account", **account("near", "near", "x", "127.0.0.1", None))
    far = procs("far")
    far.cmd("add_account", **account("far", "far", "x", "127.0.0.1", None))
    far_call = far.cmd("make_call", "far", f"sip:near@127.0.0.1:{port}")
    incoming = near.wait_event("IncomingCallEvent")
    assert isinstance(near, AudioEngineProc)
    deadline_blocks = 30  # 0.6 s of ring tone on the loudspeaker
    _wait_for(lambda: near.cmd("ring_blocks")["blocks"] >= deadline_blocks, 5, "ring tone")
    ring = near.played(BUILTIN["name"], tmp_path / "ring.wav", 0.5)
    assert min(abs(ring.dominant_hz - 440), abs(ring.dominant_hz - 480)) <= 10, ring
    assert ring.band_share > 0.9, ring  # 440 + 480 Hz, nothing else
    near.cmd("answer", incoming["call"])
    near.wait_event("AudioStateEvent", state="active")
    _wait_for(lambda: not near.cmd("ring_blocks")["ringing"], 5, "ring tone stopped")
    far.cmd("hangup", far_call)
    near.wait_event("CallEvent", call=incoming["call"], state="disconnected")


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)  # polling a real condition with a deadline


def test_stopping_the_engine_mid_call_tears_the_bridge_down_cleanly(
    procs: Procs, tmp_path: Path
) -> None:
    """Shutdown with live streams: hang up, stop the streams, disconnect and delete the port
    on the engine thread, then libDestroy; an unsafe port teardown aborts or segfaults (§5)."""
    far, uri, tone = _far_end(procs, tmp_path)
    near = _near(procs)
    handle, far_call = _call(near, far, uri, tone, tmp_path / "far-heard.wav")
    near.wait_event("AudioStateEvent", state="active")
    near.wait_stats("frames", lambda s: s["frames_received"] >= 25, 10)
    assert near.stop() == 0
    far.wait_event("CallEvent", call=far_call, state="disconnected")
    assert near.find("CallEvent", call=handle, state="disconnected")
