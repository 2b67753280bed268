"""Pure parts of the engine: input validation, explanations, the trace watcher, serialisation."""

from __future__ import annotations

import dataclasses
import json

import pytest

from softphone.engine.dialogs import DialogWatcher, reason_cause
from softphone.engine.events import Binding, CallEvent, RegistrationEvent, TraceEvent
from softphone.engine.explain import (
    CERT_IDENTITY_NOT_MATCH,
    CERT_UNTRUSTED,
    CERT_VALIDITY,
    explain_certificate,
    explain_registration,
    will_retry,
)
from softphone.engine.serialize import event_to_dict
from softphone.engine.types import EngineAccount, EngineOptions
from softphone.sip.trace import Direction, SipTrace, make_trace


def _account(**changes: object) -> EngineAccount:
    fields: dict[str, object] = {
        "name": "alice",
        "id_uri": "sip:alice@example.com",
        "registrar_uri": "sip:example.com",
        "username": "alice",
        "password": "s3cret-pw",
    }
    fields.update(changes)
    return EngineAccount(**fields)  # type: ignore[arg-type]


# -- types --------------------------------------------------------------------------------


def test_repr_never_shows_the_password() -> None:
    acc = _account()
    assert "s3cret-pw" not in repr(acc) and "s3cret-pw" not in str(acc)
    assert acc.password == "s3cret-pw"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"id_uri": "alice@example.com"}, "id_uri"),
        ({"registrar_uri": "sip:exa mple.com"}, "registrar_uri"),
        ({"transport": "sctp"}, "transport"),
        ({"srtp": "always"}, "srtp"),
        ({"srtp": "mandatory", "srtp_suites": ()}, "no crypto suite"),
        ({"options_interval": 5}, "at least 15"),
        ({"allowed_cidrs": ("10.0.0.0/33",)}, "not an IP network"),
        ({"expires": 0}, "expires"),
        ({"name": " "}, "name"),
        ({"retry_interval_sec": 0}, "retry"),
    ],
)
def test_bad_accounts_fail_with_a_plain_message(changes: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        _account(**changes)


def test_ip_acl() -> None:
    open_acc = _account()
    assert open_acc.source_allowed("203.0.113.9:5060")
    acc = _account(registrar_uri=None, allowed_cidrs=("54.172.60.0/30", "2001:db8::/32"))
    assert acc.trunk
    assert acc.source_allowed("54.172.60.2:5060")
    assert not acc.source_allowed("54.172.60.4:5060")
    assert acc.source_allowed("[2001:db8::1]:5061")
    assert not acc.source_allowed("not-an-ip:5060")


def test_options_validation() -> None:
    with pytest.raises(ValueError, match=r"TLS 1\.3"):
        EngineOptions(tls_min="1.3")
    with pytest.raises(ValueError, match="go together"):
        EngineOptions(tls_cert_file="/x.crt")
    with pytest.raises(ValueError, match="RTP"):
        EngineOptions(rtp_port_start=80)
    assert EngineOptions().codecs == ("PCMU", "PCMA", "G722")


# -- explanations -------------------------------------------------------------------------


def test_wrong_password_sentence() -> None:
    text = explain_registration(
        user="alice", aor="alice@x", code=401, reason="Unauthorized", expires=None, auth_attempts=1
    )
    assert text.startswith(
        "the registrar rejected the credentials for user alice (401 after answering the challenge)"
    )
    assert "no more attempts" in text
    three = explain_registration(
        user="a", aor="a@x", code=407, reason="", expires=None, auth_attempts=3
    )
    assert "(407 after answering the challenge 3 times)" in three
    none = explain_registration(user="a", aor="a@x", code=401, reason="", expires=None)
    assert "none of this account's credentials matched" in none


def test_registration_sentences() -> None:
    ok = explain_registration(user="a", aor="a@x", code=200, reason="OK", expires=600, devices=3)
    assert ok == "registered as a@x for 600 s; 3 devices are registered on this address"
    full = explain_registration(
        user="a",
        aor="a@x",
        code=503,
        reason="Service Unavailable",
        expires=None,
        registrar_error="Too many registered contacts",
        retry_in=30,
    )
    assert "refused one more device" in full and full.endswith("retrying in 30 s")
    down = explain_registration(
        user="a", aor="a@x", code=503, reason="x", expires=None, transport_note="Connection refused"
    )
    assert down == "could not reach the registrar: Connection refused"
    assert "408 timeout" in explain_registration(
        user="a", aor="a@x", code=408, reason="Request Timeout", expires=None
    )
    assert will_retry(503) and will_retry(408) and will_retry(603)
    assert not will_retry(401) and not will_retry(403) and not will_retry(423)


def test_certificate_sentences() -> None:
    assert "is trusted" in explain_certificate(0, host="h", subject="h")
    untrusted = explain_certificate(CERT_UNTRUSTED, host="127.0.0.1", subject="127.0.0.1")
    assert "not signed by a certificate authority this phone trusts" in untrusted
    assert untrusted.endswith("the connection was refused")
    mismatch = explain_certificate(
        CERT_IDENTITY_NOT_MATCH, host="sip.example.com", subject="other", names=("other.net",)
    )
    assert "is for other.net, not for sip.example.com (name mismatch)" in mismatch
    wildcard = explain_certificate(
        CERT_IDENTITY_NOT_MATCH, host="sip.example.com", subject="*.example.com"
    )
    assert "wildcard" in wildcard and "RFC 5922 §7.2" in wildcard
    both = explain_certificate(
        CERT_VALIDITY | CERT_UNTRUSTED, host="h", subject=None, verify_enabled=False
    )
    assert "expired" in both and "verification is off" in both


# -- trace watcher ------------------------------------------------------------------------

_INVITE_180 = (
    "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag={tag}\r\nCall-ID: c1\r\n"
    "CSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"
)
_CANCEL = (
    "CANCEL sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c2\r\nCSeq: 2 CANCEL\r\n"
    "{reason}Content-Length: 0\r\n\r\n"
)
_REGISTER = (
    "REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK{n}\r\n"
    "From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: r1\r\nCSeq: {n} REGISTER\r\n"
    "{auth}Content-Length: 0\r\n\r\n"
)


def _trace(text: str, direction: Direction = "in") -> SipTrace:
    return make_trace(0.0, direction, "UDP", "l:1", "r:2", text.encode())


def test_devices_ringing_counts_distinct_early_dialogs() -> None:
    w = DialogWatcher()
    assert w.feed(_trace(_INVITE_180.format(tag="dev1")))
    assert not w.feed(_trace(_INVITE_180.format(tag="dev1")))  # a retransmission
    assert w.feed(_trace(_INVITE_180.format(tag="dev2")))
    assert not w.feed(_trace(_INVITE_180.format(tag="dev3"), "out"))  # ours, not theirs
    assert w.devices_ringing("c1") == 2
    w.forget("c1")
    assert w.devices_ringing("c1") == 0


def test_answered_elsewhere_needs_cause_200() -> None:
    w = DialogWatcher()
    w.feed(_trace(_CANCEL.format(reason="")))
    assert not w.answered_elsewhere("c2")
    w.feed(
        _trace(_CANCEL.format(reason='Reason: SIP;cause=200;text="Call completed elsewhere"\r\n'))
    )
    assert w.answered_elsewhere("c2")
    assert reason_cause('SIP ;cause=200 ;text="x"') == 200
    assert reason_cause("Q.850;cause=16") is None
    assert reason_cause('Q.850;cause=16, SIP;cause=600;text="Busy"') == 600


def test_auth_attempts_count_answered_challenges() -> None:
    w = DialogWatcher()
    auth = 'Authorization: Digest username="a", response="x"\r\n'
    w.feed(_trace(_REGISTER.format(n=1, auth=""), "out"))
    for n in (2, 3, 4):
        w.feed(_trace(_REGISTER.format(n=n, auth=auth), "out"))
    assert w.auth_attempts("r1") == 3
    w.feed(_trace(_REGISTER.format(n=5, auth=""), "out"))
    assert w.auth_attempts("r1") == 0


# -- serialisation ------------------------------------------------------------------------


def test_events_serialise_to_json() -> None:
    reg = RegistrationEvent("a", "registered", 200, "OK", 600, (Binding("sip:a@h", 600, None),))
    data = event_to_dict(reg)
    assert data["type"] == "RegistrationEvent" and data["bindings"][0]["contact"] == "sip:a@h"
    call = CallEvent(1, "a", "out", "sip:b@h", "sip:b@h", "confirmed", 200, "OK")
    assert json.loads(json.dumps(event_to_dict(call)))["state"] == "confirmed"
    auth = 'Authorization: Digest username="a", response="0123abcd"\r\n'
    trace = _trace(_REGISTER.format(n=2, auth=auth), "out")
    raw = event_to_dict(TraceEvent(trace))["trace"]["raw"]
    assert "0123abcd" not in raw  # digest responses are masked in every export


def test_events_are_frozen() -> None:
    call = CallEvent(1, "a", "out", "r", "u", "calling", 0, "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.state = "confirmed"  # type: ignore[misc]
