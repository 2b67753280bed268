"""Media: a tone through TLS + SRTP, SRTP negotiation outcomes, mute, and baresip as far end.

Audio is proven, not assumed: the far side records what it receives and tests/peers/audio.py
must find the 1 kHz tone in it (±10 Hz, > 90 % of the energy in the band). The codec is pinned
to PCMU (speex, pjsua's default, distorted the tone in 2 of 8 runs: engine-notes §4).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine.harness import EngineProc, account
from tests.peers import audio
from tests.peers.baresip import Account, Baresip, available
from tests.peers.certs import PeerPki
from tests.peers.kamailio import Kamailio
from tests.peers.ports import free_port_block
from tests.peers.registrar import OurRegistrar

pytestmark = pytest.mark.interop

Engines = Callable[..., EngineProc]
TONE_HZ = 1000.0
SUITE = "AES_CM_128_HMAC_SHA1_80"


def _assert_tone(path: Path, hz: float = TONE_HZ, seconds: float = 1.0) -> audio.ToneAnalysis:
    audio.wait_for_wav(path, 10)
    heard = audio.analyse(path)
    print(f"\n{path.name}: {heard}")
    assert abs(heard.dominant_hz - hz) <= 10, heard
    assert heard.band_share > 0.9, heard
    assert heard.seconds >= seconds, heard
    return heard


def _talk(caller: EngineProc, handle: int, callee: EngineProc, inc: int, seconds: float) -> None:
    """Let audio flow for `seconds` of received RTP (counted by the callee's RTCP stats)."""
    packets = int(seconds / 0.02)
    callee.wait_event(
        "CallEvent",
        timeout=seconds + 10,
        where=lambda e: e["type"] == "CallEvent" and _rx(callee, inc) >= packets,
    )
    caller.cmd("hangup", handle)
    callee.wait_event("CallEvent", call=inc, state="disconnected")


def _rx(proc: EngineProc, call: int) -> int:
    try:
        info: dict[str, Any] = proc.cmd("call_info", call, timeout=2)
    except AssertionError:
        return 0
    return int((info.get("rtp") or {}).get("rx_packets", 0))


def test_tone_over_tls_and_srtp(
    engines: Engines, make_kamailio: Callable[..., Kamailio], pki: PeerPki, tmp_path: Path
) -> None:
    kam = make_kamailio(tls_cert=pki.leaf.cert, tls_key=pki.leaf.key)
    assert kam.tls_port is not None
    tone = audio.write_tone(tmp_path / "tone.wav", TONE_HZ, 5.0)
    phones = {}
    for user in ("alice", "bob"):
        proc = engines(user, codecs=["PCMU"])
        proc.cmd(
            "add_account",
            **account(user, user, f"{user}-pw", kam.domain, kam.tls_port, transport="tls",
                      ca_file=str(pki.ca_cert), srtp="mandatory", srtp_suites=[SUITE],
                      proxy=f"sip:127.0.0.1:{kam.tls_port};lr"),
        )  # fmt: skip
        proc.wait_event("RegistrationEvent", state="registered")
        phones[user] = proc
    alice, bob = phones["alice"], phones["bob"]
    handle = alice.cmd("make_call", "alice", f"sip:bob@127.0.0.1:{kam.tls_port}")
    alice.cmd("play", handle, str(tone))
    ring = bob.wait_event("IncomingCallEvent")
    recording = tmp_path / "bob-heard.wav"
    bob.cmd("record", ring["call"], str(recording))
    bob.cmd("answer", ring["call"])
    for proc, call in ((alice, handle), (bob, ring["call"])):
        live = proc.wait_event("CallEvent", call=call, where=lambda e: e["srtp_suite"] is not None)
        assert live["srtp_suite"] == SUITE and live["codec"] == "PCMU/8000"
    invite = next(t for t in alice.traces() if t["summary"] == "INVITE" and t["direction"] == "out")
    assert invite["transport"] == "TLS" and "RTP/SAVP" in invite["raw"]
    assert invite["raw"].count("a=crypto:") == 1 and SUITE in invite["raw"]
    _talk(alice, handle, bob, ring["call"], 2.0)
    _assert_tone(recording, seconds=1.5)


@pytest.mark.parametrize(
    ("caller", "callee", "expected"),
    [
        ({"srtp": "optional", "srtp_suites": ["AES_CM_128_HMAC_SHA1_32"]}, {"srtp": "optional"},
         "AES_CM_128_HMAC_SHA1_32"),
        ({"srtp": "optional"}, {"srtp": "off"}, None),
        ({"srtp": "mandatory"}, {"srtp": "mandatory"}, "AES_CM_128_HMAC_SHA1_80"),
        ({"srtp": "mandatory"}, {"srtp": "off"}, 488),
    ],
)  # fmt: skip
def test_srtp_negotiation_over_udp(
    caller: dict[str, Any], callee: dict[str, Any], expected: str | int | None, engines: Engines
) -> None:
    port = free_port_block([0])
    far = engines("far", sip_port=port)
    far.cmd("add_account", **account("far", "far", "x", "127.0.0.1", None, **callee))
    near = engines("near")
    near.cmd("add_account", **account("near", "near", "x", "127.0.0.1", None, **caller))
    handle = near.cmd("make_call", "near", f"sip:far@127.0.0.1:{port}")
    if isinstance(expected, int):
        ended = near.wait_event("CallEvent", call=handle, state="disconnected")
        assert ended["code"] == expected  # mandatory SRTP against a plain phone: refused
        return
    ring = far.wait_event("IncomingCallEvent")
    far.cmd("answer", ring["call"])
    live = near.wait_event("CallEvent", call=handle, where=lambda e: e["codec"] is not None)
    assert live["srtp_suite"] == expected
    far_live = far.wait_event("CallEvent", where=lambda e: e["codec"] is not None)
    assert far_live["srtp_suite"] == expected
    near.cmd("hangup", handle)
    far.wait_event("CallEvent", state="disconnected")


def test_mute_sends_silence(engines: Engines, tmp_path: Path) -> None:
    tone = audio.write_tone(tmp_path / "tone.wav", TONE_HZ, 5.0)
    port = free_port_block([0])
    far = engines("far", sip_port=port, codecs=["PCMU"])
    far.cmd("add_account", **account("far", "far", "x", "127.0.0.1", None))
    near = engines("near", codecs=["PCMU"])
    near.cmd("add_account", **account("near", "near", "x", "127.0.0.1", None))
    handle = near.cmd("make_call", "near", f"sip:far@127.0.0.1:{port}")
    near.cmd("play", handle, str(tone))
    near.cmd("mute", handle, True)
    ring = far.wait_event("IncomingCallEvent")
    recording = tmp_path / "muted.wav"
    far.cmd("record", ring["call"], str(recording))
    far.cmd("answer", ring["call"])
    _talk(near, handle, far, ring["call"], 1.0)
    audio.wait_for_wav(recording, 10)
    heard = audio.analyse(recording)
    assert heard.seconds >= 0.9 and heard.active_share < 0.05, heard  # RTP came, tone did not


@pytest.mark.skipif(not available(), reason="baresip (with its modules) is not installed")
@pytest.mark.parametrize("route", ["direct", "registrar"])
def test_baresip_hears_the_tone_and_the_digits(
    route: str, engines: Engines, tmp_path: Path, make_registrar: Callable[..., OurRegistrar]
) -> None:
    tone = audio.write_tone(tmp_path / "tone.wav", TONE_HZ, 5.0)
    phone = engines("alice", codecs=["PCMU"])
    if route == "registrar":
        reg = make_registrar()
        far = Account("bob", f"127.0.0.1:{reg.port}", password="bob-pw", register=True)
        phone.cmd(
            "add_account",
            **account("alice", "alice", "alice-pw", reg.domain, reg.port,
                      proxy=f"sip:127.0.0.1:{reg.port};lr"),
        )  # fmt: skip
        phone.wait_event("RegistrationEvent", state="registered")
    else:
        far = Account("bob", answermode="auto")
        phone.cmd("add_account", **account("alice", "alice", "x", "127.0.0.1", None))
    with Baresip(tmp_path, far, tone_hz=600.0) as bob:
        if route == "registrar":
            bob.wait_for_event("REGISTER_OK", 5)
            target = f"sip:bob@{reg.domain}"
        else:
            target = bob.uri("udp")
        handle = phone.cmd("make_call", "alice", target)
        phone.cmd("play", handle, str(tone))
        mine = tmp_path / "alice-heard.wav"
        phone.cmd("record", handle, str(mine))
        phone.wait_event("CallEvent", call=handle, state="confirmed")
        bob.wait_for_event("CALL_ESTABLISHED", 5)
        phone.cmd("send_dtmf", handle, "42")
        digits = [bob.wait_for_event("CALL_DTMF_START", 5).get("param") for _ in range(2)]
        assert digits == ["4", "2"]
        bob.wait_for_received_audio(1.5)
        phone.cmd("hangup", handle)
        bob.wait_for_event("CALL_CLOSED", 5)
        phone.wait_event("CallEvent", call=handle, state="disconnected")
        _assert_tone(bob.recording(), TONE_HZ, 1.0)  # baresip heard our 1 kHz
    _assert_tone(mine, 600.0, 1.0)  # and we heard baresip's 600 Hz
