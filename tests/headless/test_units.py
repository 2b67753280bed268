"""The pure parts of the headless phone: account mapping, local addresses, call outcome words,
the call history, file checks. No engine, no peers."""

from __future__ import annotations

import stat
import threading
import wave
from pathlib import Path

import pytest

from softphone.config import AccountConfig
from softphone.engine.events import CallEvent
from softphone.engine_account import (
    LocalAddress,
    headless_options,
    parse_rtp_ports,
    to_engine_account,
)
from softphone.headless.output import call_failure_text
from softphone.headless.parsing import UsageError, check_dtmf, check_play, check_writable, numbered
from softphone.history import History, uri_of
from softphone.providers import effective

SUITE = "AES_CM_128_HMAC_SHA1_80"


def _generic(**fields: object) -> AccountConfig:
    values: dict[str, object] = {"provider": "generic", "username": "alice", "domain": "127.0.0.1"}
    values.update(fields)
    return AccountConfig(name="work", **values)  # type: ignore[arg-type]


def test_engine_account_carries_every_resolved_value() -> None:
    eff = effective(
        _generic(registrar="sip:127.0.0.1:5070", outbound_proxy="sip:127.0.0.1:5070",
                 transport="tcp", srtp="optional", expires=120)
    )  # fmt: skip
    acc = to_engine_account(eff, "pw-123")
    assert acc.id_uri == "sip:alice@127.0.0.1"
    assert acc.registrar_uri == "sip:127.0.0.1:5070"
    assert acc.proxy == "sip:127.0.0.1:5070;lr"  # loose routing added by the preset layer
    assert (acc.transport, acc.srtp, acc.expires) == ("tcp", "optional", 120)
    assert acc.srtp_suites == ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
    assert acc.realm == "*" and acc.password == "pw-123"
    assert "pw-123" not in repr(acc)


def test_trunk_account_has_no_registrar_and_keeps_its_acl() -> None:
    eff = effective(
        _generic(register=False, allowed_cidrs=("10.0.0.0/8",), caller_id="+14155550100")
    )
    acc = to_engine_account(eff, "x")
    assert acc.trunk and acc.allowed_cidrs == ("10.0.0.0/8",)
    assert acc.id_uri == "sip:+14155550100@127.0.0.1"  # the caller ID is the From user
    assert acc.options_interval == 60


def test_local_address_binds_loopback_only_for_a_loopback_server() -> None:
    lab = effective(_generic(registrar="sip:127.0.0.1:5070"))
    public = effective(_generic(domain="sip.example.com"))
    assert headless_options(lab).bind_host == "127.0.0.1"
    assert headless_options(public).bind_host == "0.0.0.0"
    chosen = headless_options(public, LocalAddress("192.0.2.7", 5099, (41000, 41009)))
    assert (chosen.bind_host, chosen.sip_port) == ("192.0.2.7", 5099)
    assert (chosen.rtp_port_start, chosen.rtp_port_range) == (41000, 10)


@pytest.mark.parametrize(
    ("text", "expected"), [("40000-40999", (40000, 40999)), ("50000", (50000, 50999))]
)
def test_rtp_port_ranges(text: str, expected: tuple[int, int]) -> None:
    assert parse_rtp_ports(text) == expected


@pytest.mark.parametrize("text", ["", "80-90", "40000-40001", "70000", "a-b", "65001"])
def test_bad_rtp_port_ranges(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rtp_ports(text)


def test_call_failure_words() -> None:
    assert call_failure_text(486, "Busy Here") == "486 Busy Here: busy"
    assert "no such user" in call_failure_text(404, "Not Found")
    assert "codecs or SRTP" in call_failure_text(488, "Not Acceptable Here")
    assert "SRTP mismatch" in call_failure_text(488, "Not Acceptable Here", "mandatory")
    assert call_failure_text(599, "Odd") == "599 Odd: the server failed"
    assert call_failure_text(499, "Strange") == "499 Strange"


def _event(call: int, state: str, **fields: object) -> CallEvent:
    values: dict[str, object] = {
        "call": call, "account": "work", "direction": "out", "remote": "sip:bob@lab",
        "request_uri": "sip:bob@lab", "state": state, "code": 0, "reason": "",
        "call_id": f"cid-{call}",
    }  # fmt: skip
    values.update(fields)
    return CallEvent(**values)  # type: ignore[arg-type]


def test_history_rows_and_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with History(path) as history:
        # Out, forked to 2 devices, answered, ended by us.
        history.record(_event(1, "calling"), 100.0)
        history.record(_event(1, "early", code=180, devices_ringing=2), 100.5)
        history.record(_event(1, "confirmed", code=200, codec="PCMU/8000"), 101.0)
        end = {"code": 200, "reason": "OK", "devices_ringing": 2, "codec": "PCMU/8000"}
        history.record(_event(1, "disconnected", srtp_suite=SUITE, **end), 104.0)
        # In, taken by another device of the AOR.
        inc = {"direction": "in", "remote": '"Carol" <sip:carol@lab>;tag=9'}
        history.record(_event(2, "incoming", **inc), 110.0)
        history.record(_event(2, "disconnected", code=487, answered_elsewhere=True, **inc), 111.0)
        # In, the caller gave up; out, busy.
        history.record(_event(3, "incoming", **inc), 120.0)
        history.record(_event(3, "disconnected", code=487, **inc), 125.0)
        history.record(_event(4, "calling", request_uri="sip:dave@lab"), 130.0)
        history.record(_event(4, "disconnected", code=486, reason="Busy Here",
                              request_uri="sip:dave@lab"), 131.0)  # fmt: skip
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with History(path) as history:  # a new process reads what the first wrote
        calls = history.recent_calls()
        numbers = history.recent_numbers()
    assert [c.outcome for c in calls] == ["failed", "missed", "answered elsewhere", "answered"]
    busy, missed, elsewhere, answered = calls
    assert (busy.final_code, busy.final_reason) == (486, "Busy Here")
    assert elsewhere.answered_elsewhere and elsewhere.answered is None
    assert answered.answered == 101.0 and answered.talk_seconds == 3.0
    assert answered.devices_ringing == 2 and answered.codec == "PCMU/8000"
    assert answered.srtp_suite == SUITE and answered.call_id == "cid-1"
    assert missed.ended == 125.0 and missed.final_code == 487
    assert numbers == ["sip:dave@lab", "sip:carol@lab", "sip:bob@lab"]


def test_history_is_shared_by_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    History(path).close()

    def writer(account: str) -> None:
        with History(path) as history:
            for n in range(1, 26):
                history.record(_event(n, "calling", account=account), float(n))
                history.record(_event(n, "disconnected", account=account, code=486), n + 0.5)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with History(path) as history:
        assert len(history.recent_calls(100)) == 50
        assert len(history.recent_calls(100, account="a")) == 25


def test_uri_of() -> None:
    assert uri_of('"Bob" <sip:bob@host>;tag=1') == "sip:bob@host"
    assert uri_of("sip:bob@host;tag=1") == "sip:bob@host"


def _wav(path: Path, width: int, channels: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setsampwidth(width)
        w.setnchannels(channels)
        w.setframerate(8000)
        w.writeframes(b"\0" * width * channels * 80)
    return path


def test_play_file_checks(tmp_path: Path) -> None:
    check_play(_wav(tmp_path / "ok.wav", 2, 1))
    not_wav = tmp_path / "notes.wav"
    not_wav.write_text("hello")
    for bad, words in (
        (tmp_path / "missing.wav", "no such file"),
        (not_wav, "not a PCM WAV"),
        (_wav(tmp_path / "stereo.wav", 2, 2), "16-bit mono"),
        (_wav(tmp_path / "8bit.wav", 1, 1), "16-bit mono"),
        (tmp_path, "directory"),
    ):
        with pytest.raises(UsageError, match=words):
            check_play(bad)


def test_writable_and_dtmf_checks(tmp_path: Path) -> None:
    check_writable("--record", tmp_path / "out.wav", ".wav")
    with pytest.raises(UsageError, match="does not exist"):
        check_writable("--record", tmp_path / "nope" / "out.wav", ".wav")
    with pytest.raises(UsageError, match=r"must end in \.wav"):
        check_writable("--record", tmp_path / "out.mp3", ".wav")
    check_dtmf("0123456789*#ABCD")
    with pytest.raises(UsageError, match="DTMF"):
        check_dtmf("12x")
    assert numbered(Path("/r/call.wav"), 1) == Path("/r/call.wav")
    assert numbered(Path("/r/call.wav"), 3) == Path("/r/call-3.wav")
