"""The far end's numbers, dialled by a real phone through the lab's registrar and proxy.

Audio is proven, not assumed: the phone records what it receives and tests/peers/audio.py must
find the expected tone in it. The tests wait on events (the phone's, the far end's reports) or
poll a real condition with a deadline, never on a bare sleep.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from softphone.labapp import demo
from softphone.labapp.session import LabSession
from tests.engine.harness import EngineProc
from tests.peers import audio

CALLER_HZ = 800.0  # the caller's own tone: distinct from the tone line's 1004 Hz


def _dial(phone: EngineProc, number: str) -> tuple[int, int]:
    mark = phone.mark()
    call: int = phone.cmd("make_call", "lab", f"sip:{number}@127.0.0.1")
    return call, mark


def _received(phone: EngineProc, call: int) -> int:
    info: dict[str, Any] = phone.cmd("call_info", call, timeout=2)
    return int((info.get("rtp") or {}).get("rx_packets", 0))


def _wait_rx(phone: EngineProc, call: int, packets: int, timeout: float) -> None:
    """Until the phone's RTCP counters show `packets` received (20 ms of audio each)."""
    deadline = time.monotonic() + timeout
    while _received(phone, call) < packets:
        assert time.monotonic() < deadline, f"call {call}: fewer than {packets} RTP packets"
        time.sleep(0.05)  # poll interval; the loop waits on the counter, not on time


def _far(lab: LabSession, account: str, what: str, timeout: float = 10) -> None:
    """Wait for the far end to report `what` for one of its devices."""
    lab.wait_report(
        lambda r: r.get("kind") == "call" and r.get("account") == account and r.get("what") == what,
        timeout,
    )


def _assert_tone(path: Path, hz: float) -> audio.ToneAnalysis:
    audio.wait_for_wav(path, 10)
    result = audio.analyse(path)
    assert abs(result.dominant_hz - hz) <= 10, result
    assert result.band_share > 0.9, result
    assert result.active_share > 0.5, result
    return result


def test_echo_returns_the_callers_tone(lab: LabSession, phone: EngineProc, tmp_path: Path) -> None:
    tone = audio.write_tone(tmp_path / "caller.wav", CALLER_HZ, 6.0)
    heard = tmp_path / "echo.wav"
    call, mark = _dial(phone, demo.ECHO)
    phone.cmd("play", call, str(tone))
    phone.cmd("record", call, str(heard))
    phone.wait_event("CallEvent", call=call, state="confirmed", since=mark)
    _wait_rx(phone, call, 100, timeout=10)  # two seconds of the echo
    phone.cmd("hangup", call)
    phone.wait_event("CallEvent", call=call, state="disconnected", since=mark)
    _assert_tone(heard, CALLER_HZ)


def test_tone_line_plays_its_tone_then_hangs_up(
    lab: LabSession, phone: EngineProc, tmp_path: Path
) -> None:
    heard = tmp_path / "tone.wav"
    call, mark = _dial(phone, demo.TONE)
    phone.cmd("record", call, str(heard))
    confirmed = phone.wait_event("CallEvent", call=call, state="confirmed", since=mark)
    # The far end hangs up by itself when the tone is over: a BYE comes to us.
    ended = phone.wait_event(
        "CallEvent", call=call, state="disconnected", since=mark, timeout=demo.TONE_SECONDS + 8
    )
    assert ended["_t"] - confirmed["_t"] >= demo.TONE_SECONDS - 1
    byes = [t for t in phone.traces(mark) if t["direction"] == "in" and t["raw"].startswith("BYE")]
    assert byes, "the tone line did not send BYE"
    result = _assert_tone(heard, demo.TONE_HZ)
    assert result.seconds >= demo.TONE_SECONDS - 1, result


def test_busy_line_answers_486(lab: LabSession, phone: EngineProc) -> None:
    call, mark = _dial(phone, demo.BUSY)
    ended = phone.wait_event("CallEvent", call=call, state="disconnected", since=mark)
    assert ended["code"] == 486, ended
    assert not phone.find("CallEvent", mark, call=call, state="confirmed")


def test_no_answer_line_rings_until_the_caller_gives_up(lab: LabSession, phone: EngineProc) -> None:
    call, mark = _dial(phone, demo.NO_ANSWER)
    phone.wait_event("CallEvent", call=call, state="early", code=180, since=mark)
    _far(lab, demo.NO_ANSWER, "incoming no-answer")
    phone.cmd("hangup", call)  # CANCEL (RFC 3261 §9.1)
    ended = phone.wait_event("CallEvent", call=call, state="disconnected", since=mark)
    assert ended["code"] == 487, ended  # Request Terminated
    _far(lab, demo.NO_ANSWER, "ended")
    assert not phone.find("CallEvent", mark, call=call, state="confirmed")


def test_multi_device_user_forks_and_one_phone_answers(
    lab: LabSession, phone: EngineProc, tmp_path: Path
) -> None:
    """700 rings the far end's desk and mobile and the phone's own lab-700 account; mobile
    answers after a delay, and the other two get CANCEL with "Call completed elsewhere"."""
    heard = tmp_path / "mobile.wav"
    tone = audio.write_tone(tmp_path / "caller.wav", CALLER_HZ, 8.0)
    start = time.monotonic()
    call, mark = _dial(phone, demo.MULTI)
    phone.cmd("play", call, str(tone))
    phone.cmd("record", call, str(heard))
    own = phone.wait_event("IncomingCallEvent", account="lab-700", since=mark)
    phone.wait_event("CallEvent", call=call, since=mark, where=lambda e: e["devices_ringing"] >= 3)
    phone.wait_event("CallEvent", call=call, state="confirmed", since=mark, timeout=15)
    assert time.monotonic() - start >= demo.MULTI_ANSWER_DELAY - 0.5
    mine = phone.wait_event("CallEvent", call=own["call"], state="disconnected", since=mark)
    assert mine["answered_elsewhere"], mine
    _far(lab, f"{demo.MULTI}-desk", "answered elsewhere")
    _wait_rx(phone, call, 75, timeout=10)
    phone.cmd("hangup", call)
    phone.wait_event("CallEvent", call=call, state="disconnected", since=mark)
    _assert_tone(heard, CALLER_HZ)  # mobile echoes


def test_far_end_numbers_take_calls_again(lab: LabSession, phone: EngineProc) -> None:
    """Every number still works after the others were used (the lab is dialled for hours)."""
    for number in (demo.ECHO, demo.ECHO, demo.BUSY):
        call, mark = _dial(phone, number)
        event = phone.wait_event(
            "CallEvent",
            call=call,
            since=mark,
            where=lambda e: e["state"] in ("confirmed", "disconnected"),
        )
        if number == demo.ECHO:
            assert event["state"] == "confirmed", event
            phone.cmd("hangup", call)
            phone.wait_event("CallEvent", call=call, state="disconnected", since=mark)
        else:
            assert event["code"] == 486, event
