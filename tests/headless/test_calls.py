"""`softphone call` and `softphone listen` against real far ends, through our lab registrar.

The far end is baresip (an independent SIP stack) or another `softphone` process; what is
asserted is what the other side got: the tone it heard (tests/peers/audio.py), the DTMF digits
it decoded, the CANCEL reason at the losing device, plus the exit codes, the JSON lines and the
rows in the call history.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.headless.conftest import USERS, PhoneHome, Result
from tests.peers import audio
from tests.peers.baresip import Account, Baresip, available
from tests.peers.certs import session_pki
from tests.peers.kamailio import Kamailio, kamailio_available
from tests.peers.registrar import OurRegistrar

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]
OUR_HZ, BARESIP_HZ = 1000.0, 600.0


@pytest.fixture
def tone(tmp_path: Path) -> Path:
    return audio.write_tone(tmp_path / "tone.wav", OUR_HZ, 5.0)


@pytest.fixture
def carol(tmp_path: Path, registrar: OurRegistrar) -> Iterator[Baresip]:
    """baresip registered as carol at the lab registrar, answering automatically."""
    if not available():
        pytest.skip("baresip or one of its modules is not installed")
    account = Account(
        "carol", domain=f"127.0.0.1:{registrar.port}", password=USERS["carol"], register=True
    )
    with Baresip(tmp_path, account, tone_hz=BARESIP_HZ) as peer:
        peer.wait_for_event("REGISTER_OK", 5)
        yield peer


def _assert_tone(path: Path, hz: float, seconds: float) -> None:
    audio.wait_for_wav(path, 10)
    heard = audio.analyse(path)
    print(f"\n{path.name}: {heard}")
    assert abs(heard.dominant_hz - hz) <= 10, heard
    assert heard.band_share > 0.9, heard
    assert heard.seconds >= seconds, heard


def _events(result: Result, type_: str) -> list[dict[str, Any]]:
    return [e for e in result.json_lines() if e["type"] == type_]


def test_call_baresip_with_dtmf_tone_and_recording(
    home: PhoneHome, registrar: OurRegistrar, carol: Baresip, tone: Path, tmp_path: Path
) -> None:
    home.add_account("alice", registrar)
    heard = tmp_path / "alice-heard.wav"
    trace = tmp_path / "call.jsonl"
    result = home.run(
        "call", "alice", "carol", "--duration", "2", "--dtmf", "159#", "--play", str(tone),
        "--record", str(heard), "--trace", str(trace),
    )  # fmt: skip
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "dialling sip:carol@127.0.0.1 from sip:alice@127.0.0.1"
    assert "media: PCMU/8000, not encrypted (plain RTP)" in lines
    assert "sent DTMF 159#" in lines and "hanging up after 2 s" in lines
    assert lines[-1].startswith("call ended (we hung up) after 2.0 s; RTP received")
    carol.wait_for_event("CALL_CLOSED", 5)
    digits = "".join(e["param"] for e in carol.events if e["type"] == "CALL_DTMF_START")
    assert digits == "159#"  # RFC 4733 events, decoded by baresip
    _assert_tone(heard, BARESIP_HZ, 1.8)  # what alice recorded: baresip's tone
    _assert_tone(carol.recording(), OUR_HZ, 1.0)  # what baresip heard: our --play tone
    (row,) = home.history()
    assert (row["direction"], row["outcome"], row["account"]) == ("out", "answered", "alice")
    assert row["request_uri"] == "sip:carol@127.0.0.1" and row["codec"] == "PCMU/8000"
    assert row["final_code"] == 200 and 1.8 <= row["ended"] - row["answered"] <= 3.0
    home.assert_no_secrets(result.stdout, result.stderr, extra=(trace,))


def test_listen_auto_answers_a_call_from_baresip(
    home: PhoneHome, registrar: OurRegistrar, carol: Baresip, tone: Path, tmp_path: Path
) -> None:
    home.add_account("alice", registrar)
    heard = tmp_path / "heard.wav"
    listener = home.spawn(
        "listen", "alice", "--auto-answer", "--calls", "1", "--record", str(heard),
        "--play", str(tone), "--json",
    )  # fmt: skip
    listener.wait_for('"state": "registered"')
    carol.dial(f"sip:alice@127.0.0.1:{registrar.port}")
    carol.wait_for_event("CALL_ESTABLISHED", 5)
    carol.wait_for_received_audio(1.5)
    carol.hangup()
    result = listener.finish(20)
    assert result.returncode == 0, result
    summary = result.summary()
    assert summary["answered"] == 1 and summary["calls"] == 1
    (incoming,) = _events(result, "IncomingCallEvent")
    assert "carol" in incoming["remote"]
    confirmed = [e for e in _events(result, "CallEvent") if e["state"] == "confirmed"]
    assert confirmed and confirmed[-1]["codec"] == "PCMU/8000"
    _assert_tone(heard, BARESIP_HZ, 1.0)
    _assert_tone(carol.recording(), OUR_HZ, 1.0)
    (row,) = home.history()
    assert (row["direction"], row["outcome"]) == ("in", "answered")
    assert "sip:carol@127.0.0.1" in row["remote"]


def test_answered_elsewhere_and_devices_ringing(
    home: PhoneHome, registrar: OurRegistrar, tmp_path: Path
) -> None:
    home.add_account("alice", registrar)
    home.add_account("desk", registrar, user="bob")
    home.add_account("mobile", registrar, user="bob")
    desk = home.spawn("listen", "desk", "--answer-after", "0.3", "--calls", "1")
    mobile = home.spawn("listen", "mobile", "--calls", "1", "--json")
    desk.wait_for("waiting for calls")
    mobile.wait_for('"state": "registered"')
    result = home.run("call", "alice", "bob", "--duration", "0.5", "--json")
    assert result.returncode == 0, result
    ringing = [e for e in _events(result, "CallEvent") if e["state"] == "early"]
    assert max(e["devices_ringing"] for e in ringing) == 2  # two early dialogs (forked)
    assert result.summary()["devices_ringing"] == 2
    lost = mobile.finish(20)
    assert lost.returncode == 0, lost
    ended = [e for e in _events(lost, "CallEvent") if e["state"] == "disconnected"]
    assert ended and ended[-1]["answered_elsewhere"] is True and ended[-1]["code"] == 487
    assert lost.summary()["answered_elsewhere"] == 1 and lost.summary()["missed"] == 0
    won = desk.finish(20)
    assert won.returncode == 0, won
    assert "1 call(s): 1 answered, 0 answered elsewhere, 0 missed" in won.stdout
    rows = {r["account"]: r for r in home.history()}
    assert rows["alice"]["devices_ringing"] == 2 and rows["alice"]["outcome"] == "answered"
    assert rows["desk"]["outcome"] == "answered"
    assert rows["mobile"]["outcome"] == "answered elsewhere"  # not a missed call


def test_unanswered_calls_exit_1_with_the_reason(home: PhoneHome, registrar: OurRegistrar) -> None:
    home.add_account("alice", registrar)
    unknown = home.run("call", "alice", "nobody")
    assert unknown.returncode == 1
    assert "not answered: 404 Not Found: no such user or number there" in unknown.stderr
    absent = home.run("call", "alice", "bob", "--json")  # bob exists but is not registered
    assert absent.returncode == 1
    summary = absent.summary()
    assert (summary["code"], summary["exit"]) == (480, 1)
    # A national number is dialled as E.164 in the account's region (numbers.dial_uri).
    home.add_account("london", registrar, user="alice", region="GB")
    for name, typed, e164 in (("alice", "(415) 555-0100", "+14155550100"),
                              ("london", "020 7946 0018", "+442079460018")):  # fmt: skip
        number = home.run("call", name, typed, "--json")
        assert number.json_lines()[0]["request_uri"] == f"sip:{e164}@127.0.0.1"
        assert number.returncode == 1 and number.summary()["code"] == 404
    rows = home.history()
    assert [(r["final_code"], r["outcome"]) for r in rows[:2]] == [
        (404, "failed"), (480, "failed")
    ]  # fmt: skip
    assert rows[2]["request_uri"] == "sip:+14155550100@127.0.0.1"


def test_mandatory_srtp_against_a_plain_phone_is_488(
    home: PhoneHome, registrar: OurRegistrar
) -> None:
    home.add_account("secure", registrar, user="alice", srtp="mandatory")
    home.add_account("plain", registrar, user="bob")
    listener = home.spawn("listen", "plain", "--auto-answer", "--timeout", "20")
    listener.wait_for("waiting for calls")
    result = home.run("call", "secure", "bob")
    assert result.returncode == 1, result
    assert "488" in result.stderr and "SRTP mismatch" in result.stderr
    listener.proc.send_signal(signal.SIGINT)
    stopped = listener.finish(20)
    assert stopped.returncode == 130 and "incoming call" not in stopped.stdout


def test_listen_takes_several_calls_at_once(
    home: PhoneHome, registrar: OurRegistrar, tone: Path, tmp_path: Path
) -> None:
    home.add_account("alice", registrar)
    home.add_account("carol", registrar)
    home.add_account("bob", registrar)
    record = tmp_path / "bob.wav"
    listener = home.spawn(
        "listen", "bob", "--auto-answer", "--calls", "2", "--duration", "1.5",
        "--record", str(record),
    )  # fmt: skip
    listener.wait_for("waiting for calls")
    callers = [home.spawn("call", name, "bob", "--play", str(tone)) for name in ("alice", "carol")]
    for caller in callers:
        done = caller.finish(20)
        assert done.returncode == 0, done
        assert "call ended (the other side hung up)" in done.stdout
    result = listener.finish(20)
    assert result.returncode == 0, result
    assert "2 call(s): 2 answered" in result.stdout
    assert result.stdout.count("hanging up the call from") == 2
    for path in (record, tmp_path / "bob-2.wav"):  # one recording per call
        _assert_tone(path, OUR_HZ, 1.0)
    assert sorted(r["account"] for r in home.history()) == ["alice", "bob", "bob", "carol"]


def test_tls_and_srtp_through_kamailio(home: PhoneHome, tmp_path_factory: Any) -> None:
    reason = kamailio_available(tls=True)
    if reason:
        pytest.skip(reason)
    pki = session_pki(tmp_path_factory)
    with Kamailio(USERS, tls_cert=pki.leaf.cert, tls_key=pki.leaf.key) as kam:
        uri = f"sip:127.0.0.1:{kam.tls_port}"
        for name in ("alice", "bob"):
            home.add_account(
                name, None, register=True, registrar=uri, outbound_proxy=uri + ";lr",
                transport="tls", srtp="mandatory", ca_file=str(pki.ca_cert),
            )  # fmt: skip
        listener = home.spawn("listen", "bob", "--auto-answer", "--calls", "1")
        listener.wait_for("waiting for calls")
        result = home.run("call", "alice", f"sip:bob@127.0.0.1:{kam.tls_port}", "--duration",
                          "1", "--json")  # fmt: skip
        heard = listener.finish(20)
    assert result.returncode == 0, result
    dialling = result.json_lines()[0]
    assert dialling["request_uri"] == f"sip:bob@127.0.0.1:{kam.tls_port};transport=tls"
    summary = result.summary()
    assert summary["srtp_suite"] == "AES_CM_128_HMAC_SHA1_80" and summary["codec"] == "PCMU/8000"
    assert heard.returncode == 0, heard
    assert "SRTP AES_CM_128_HMAC_SHA1_80" in heard.stdout
    rows = home.history()
    assert {r["srtp_suite"] for r in rows} == {"AES_CM_128_HMAC_SHA1_80"}
