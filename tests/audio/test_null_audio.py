"""No sound device, no PortAudio, a device that will not open or dies mid-call: one plain
AudioStateEvent, and the call still connects, carries RTP and DTMF (null audio)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from softphone.audio import NO_DEVICE_MESSAGE, list_devices
from softphone.audio.devices import DeviceList
from tests.audio.harness import BUILTIN
from tests.engine.harness import EngineProc, account
from tests.peers.ports import free_port_block

Procs = Callable[..., Any]


def _pair(procs: Procs, audio_config: dict[str, Any]) -> tuple[EngineProc, EngineProc, str]:
    port = free_port_block([0])
    far = procs("far", sip_port=port)
    far.cmd("add_account", **account("far", "far", "x", "127.0.0.1", None))
    near = procs("near", audio=audio_config)
    near.cmd("add_account", **account("near", "near", "x", "127.0.0.1", None))
    return near, far, f"sip:far@127.0.0.1:{port}"


def _connect(near: EngineProc, far: EngineProc, uri: str) -> tuple[int, int]:
    handle = near.cmd("make_call", "near", uri)
    ring = far.wait_event("IncomingCallEvent")
    far.cmd("answer", ring["call"])
    near.wait_event("CallEvent", call=handle, state="confirmed")
    return handle, ring["call"]


def _rtp_flows(far: EngineProc, call: int, packets: int = 25) -> None:
    """Poll the far end's RTP counters until `packets` arrived (RTCP stats, 1 s cadence)."""
    deadline = time.monotonic() + 10
    while (far.cmd("call_info", call).get("rtp") or {}).get("rx_packets", 0) < packets:
        assert time.monotonic() < deadline, f"far end got fewer than {packets} RTP packets"
        time.sleep(0.1)  # polling a real condition with a deadline


def _end(near: EngineProc, handle: int, far: EngineProc, far_call: int) -> None:
    near.cmd("hangup", handle)
    far.wait_event("CallEvent", call=far_call, state="disconnected")


def test_no_device_gives_the_plain_message_and_calls_still_work(procs: Procs) -> None:
    near, far, uri = _pair(procs, {"sd": "none"})
    state = near.wait_event("AudioStateEvent")
    assert state["state"] == "null" and state["message"] == NO_DEVICE_MESSAGE
    assert near.cmd("audio_state")["message"] == NO_DEVICE_MESSAGE
    handle, far_call = _connect(near, far, uri)
    near.cmd("send_dtmf", handle, "1234")  # the port's silence keeps the stream clocked
    digits = [e["digit"] for e in far.wait_count("DtmfEvent", 4)]
    assert digits == ["1", "2", "3", "4"]
    _rtp_flows(far, far_call)
    assert len(near.find("AudioStateEvent")) == 1  # one message, not one per call
    _end(near, handle, far, far_call)


@pytest.mark.parametrize(
    ("sd", "says"),
    [("broken", "PortAudio could not list devices"), ("real", "")],
)
def test_portaudio_failure_or_this_machine_means_null_audio(
    procs: Procs, sd: str, says: str
) -> None:
    if sd == "real" and isinstance(list_devices(), DeviceList):
        pytest.skip("this machine has a sound device")
    near, far, uri = _pair(procs, {"sd": sd})
    state = near.wait_event("AudioStateEvent")
    assert state["state"] == "null", state
    assert says in state["message"] and "calls will be silent (null audio)" in state["message"]
    handle, far_call = _connect(near, far, uri)
    _rtp_flows(far, far_call)
    _end(near, handle, far, far_call)


def test_a_device_that_will_not_open_fails_over_to_null_audio(procs: Procs) -> None:
    near, far, uri = _pair(procs, {"sd": "fake", "devices": [{**BUILTIN, "fail_open": True}]})
    assert near.wait_event("AudioStateEvent")["state"] == "ready"  # listed fine...
    handle, far_call = _connect(near, far, uri)
    failed = near.wait_event("AudioStateEvent", state="failed")  # ...but busy elsewhere
    assert "could not be opened" in failed["message"], failed
    assert failed["message"].endswith("calls continue without sound (null audio)")
    _rtp_flows(far, far_call)
    assert near.cmd("call_info", handle)["state"] == "confirmed"
    mark = near.mark()
    _end(near, handle, far, far_call)
    near.wait_event("AudioStateEvent", state="ready", since=mark)  # the next call tries again


def test_a_device_unplugged_mid_call_fails_over_and_the_call_goes_on(procs: Procs) -> None:
    unplugged = {**BUILTIN, "stop_after": 1.0}
    near, far, uri = _pair(procs, {"sd": "fake", "devices": [unplugged]})
    handle, far_call = _connect(near, far, uri)
    near.wait_event("AudioStateEvent", state="active")
    failed = near.wait_event("AudioStateEvent", state="failed", timeout=5)
    assert failed["message"] == (
        "Audio: 'Built-in Audio' stopped working; calls continue without sound (null audio)"
    )
    mark = far.mark()
    _rtp_flows(far, far_call, packets=100)  # well past the failure
    assert not far.find("CallEvent", since=mark, state="disconnected")
    _end(near, handle, far, far_call)
