"""Every diagnosis rule fires on a flow of real messages, and healthy flows stay silent."""

from __future__ import annotations

import pytest

from softphone.lab.registrar import RegistrarPolicy
from softphone.sip.diagnosis import diagnose
from softphone.sip.trace import SipTrace, make_trace, trace_from_json_dict
from tests.sip.sipflows import (
    ALICE,
    SDP_SAVP,
    T0,
    TWILIO,
    RegisterFlow,
    invite,
    respond,
    trunk_call,
    wire,
)
from tests.sip.sipflows_proxy import forked_cancelled_call, proxied_call, retransmitted_call

# --- healthy flows -----------------------------------------------------------------------


def test_healthy_flows_get_no_diagnosis() -> None:
    reg = RegisterFlow()
    assert reg.register().status == 200
    assert diagnose(reg.traces) is None
    assert diagnose(proxied_call()) is None
    assert diagnose(forked_cancelled_call()) is None  # the caller cancelled: not a failure
    assert diagnose(retransmitted_call()) is None
    assert diagnose(trunk_call()) is None  # 407 answered, then 200
    assert diagnose([]) is None


def test_a_fixed_password_after_a_failure_is_healthy() -> None:
    reg = RegisterFlow()
    assert reg.register(password="wrong").status == 401
    assert diagnose(reg.traces) is not None
    assert reg.register().status == 200
    assert diagnose(reg.traces) is None


def test_a_ringing_call_and_a_fresh_request_are_not_failures() -> None:
    ringing = [t for t in proxied_call() if t.time < T0 + 1.0]
    assert diagnose(ringing) is None
    unanswered = invite(ruri="sip:bob@x", from_uri="sip:alice@x", call_id="u1", cseq=1, via=ALICE)
    sent = [wire(T0, ALICE, TWILIO, unanswered.to_bytes(), ALICE)]
    assert diagnose(sent) is None
    assert diagnose(sent, now=T0 + 5) is None


# --- authentication -------------------------------------------------------------------


def test_wrong_password_after_answering_the_challenge() -> None:
    reg = RegisterFlow()
    assert reg.register(password="not-the-password").status == 401
    text = diagnose(reg.traces)
    assert text is not None
    assert text.startswith(
        "401 after answering the challenge: the registrar rejected the password for user alice"
    )


def test_wrong_password_is_still_found_in_masked_traces() -> None:
    reg = RegisterFlow()
    reg.register(password="not-the-password")
    masked = [trace_from_json_dict(t.to_json_dict()) for t in reg.traces]
    assert b'response="***"' in masked[2].raw
    assert "rejected the password for user alice" in (diagnose(masked) or "")


def test_realm_mismatch() -> None:
    reg = RegisterFlow()
    assert reg.register(realm="other.example").status == 401
    assert diagnose(reg.traces) == (
        "realm mismatch: the challenge is for realm softphone.lab but the credentials are for "
        "other.example"
    )


def test_unanswered_401_says_there_are_no_credentials_for_the_realm() -> None:
    reg = RegisterFlow()
    reg.send(reg.client.request(["<sip:alice@127.0.0.1:5070>"], expires=600))
    text = diagnose(reg.traces) or ""
    assert text.startswith("401 on REGISTER and no answer to the challenge")
    assert "realm softphone.lab" in text


def test_407_on_invite_without_credentials_asks_for_a_password() -> None:
    text = diagnose(trunk_call(password=None)) or ""
    assert text.startswith("407 on INVITE: the proxy wants credentials for calls")
    assert "realm sip.twilio.com" in text and "set a password" in text


def test_407_after_answering_is_wrong_credentials_for_the_trunk_user() -> None:
    text = diagnose(trunk_call(password="wrong", second_challenge=True)) or ""
    assert text.startswith("407 after answering the challenge: the proxy rejected")
    assert "user grable" in text


def test_407_answered_in_the_wrong_header() -> None:
    text = diagnose(trunk_call(auth_header="Authorization", second_challenge=True)) or ""
    assert text.startswith("407 vs 401:")
    assert "must be answered in Proxy-Authorization" in text


# --- registration policy -------------------------------------------------------------------


def test_423_names_the_minimum_interval() -> None:
    reg = RegisterFlow()
    assert reg.register(expires=30).status == 423
    assert diagnose(reg.traces) == (
        "423 Interval Too Brief: the registrar wants at least 60 s (Min-Expires); "
        "the phone asked for 30 s"
    )


def test_too_many_devices_on_the_aor() -> None:
    reg = RegisterFlow(policy=RegistrarPolicy(max_contacts=1))
    assert reg.register(contact="<sip:alice@127.0.0.1:5070>").status == 200
    assert reg.register(contact="<sip:alice@127.0.0.1:5072>").status == 403
    text = diagnose(reg.traces) or ""
    assert text.startswith("403 Too Many Registered Contacts on REGISTER: too many devices")


def test_405_on_register_explains_registration_is_not_served_there() -> None:
    reg = RegisterFlow()
    request = reg.client.request(["<sip:alice@127.0.0.1:5070>"], expires=180)
    traces = [
        wire(T0, ALICE, "192.76.120.10:5060", request.to_bytes(), ALICE),
        wire(T0 + 0.05, "192.76.120.10:5060", ALICE, respond(request, 405), ALICE),
    ]
    text = diagnose(traces) or ""
    assert text.startswith("405 Method Not Allowed on REGISTER")
    assert "siphv.telnyx.com" in text


# --- calls ---------------------------------------------------------------------------


def test_non_e164_number_rejected_by_twilio() -> None:
    text = diagnose(trunk_call(number="01711234567", final=(400, "Bad Request", [])))
    assert text == (
        "400 Bad Request: the number 01711234567 is not E.164; Twilio requires +<country><number>"
    )
    # An E.164 number rejected the same way is not blamed on its format.
    other = diagnose(trunk_call(number="+4917112345678", final=(400, "Bad Request", [])))
    assert other is not None and "E.164" not in other


def test_403_from_twilio_is_the_caller_id() -> None:
    text = diagnose(trunk_call(final=(403, "Forbidden", [])))
    assert text == (
        "403 from Twilio on INVITE: the caller ID +15005550006 is not a verified number or a "
        "Twilio number on this account"
    )
    short = diagnose(trunk_call(caller="5005550006", final=(403, "Forbidden", []))) or ""
    assert "caller ID 5005550006 is not E.164" in short


def test_488_srtp_offered_as_mandatory() -> None:
    text = diagnose(trunk_call(sdp=SDP_SAVP, final=(488, "Not Acceptable Here", []))) or ""
    assert text.startswith("488 Not Acceptable Here: the far end refused the media")
    assert "SRTP mandatory (RTP/SAVP)" in text


def test_488_plain_rtp_offered_to_a_side_that_requires_srtp() -> None:
    text = diagnose(trunk_call(final=(488, "Not Acceptable Here", []))) or ""
    assert "SRTP mandatory on one side, not offered on the other" in text


@pytest.mark.parametrize(
    ("status", "reason", "words"),
    [
        (486, "Busy Here", "bob is busy"),
        (404, "Not Found", "does not know bob"),
        (603, "Decline", "declined"),
    ],
)
def test_plain_call_failures(status: int, reason: str, words: str) -> None:
    request = invite(
        ruri="sip:bob@127.0.0.1", from_uri="sip:alice@x", call_id="c", cseq=1, via=ALICE
    )
    traces = [
        wire(T0, ALICE, TWILIO, request.to_bytes(), ALICE),
        wire(T0 + 1, TWILIO, ALICE, respond(request, status, reason), ALICE),
    ]
    assert words in (diagnose(traces) or "")


# --- timeouts ----------------------------------------------------------------------------


def _register_retransmissions(times: tuple[float, ...], transport: str = "UDP") -> list[SipTrace]:
    reg = RegisterFlow()
    raw = reg.client.request(["<sip:alice@127.0.0.1:5070>"], expires=600).to_bytes()
    return [make_trace(T0 + dt, "out", transport, ALICE, "127.0.0.1:5099", raw) for dt in times]


def test_register_timeout_after_timer_f() -> None:
    # Timer E doubling from 0.5 s, capped at T2 = 4 s (RFC 3261 §17.1.2.2), until 64*T1.
    times = (0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5)
    text = diagnose(_register_retransmissions(times))
    assert text == (
        "timeout: no response to REGISTER after 32 s, sent 11 times — registrar "
        "127.0.0.1:5099 unreachable (firewall, wrong port, TLS)"
    )
    assert diagnose(_register_retransmissions(times[:5])) is None  # still trying


def test_tls_timeout_uses_now_and_mentions_tls() -> None:
    traces = _register_retransmissions((0.0,), "TLS")
    assert diagnose(traces, now=T0 + 10) is None
    text = diagnose(traces, now=T0 + 40) or ""
    assert text.startswith("timeout: no response to REGISTER after 32 s — registrar")
    assert "TLS handshake" in text
