"""softphone.sip.pjlog against real pjsua 2.15.1 log entries.

The entries in data/pjlog_entries.json were copied byte for byte (CRLFs included) from pjsua's
own log file during real runs: a UDP register/call through our lab registrar (caller and
callee) and a TLS registration to Kamailio.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.pjlog import TRUNCATED, is_message_entry, parse_log_entry
from tests.sip.pjlog_data import RECORDS as ENTRIES

MESSAGES = [e for e in ENTRIES if e["head"] != "non-message"]
OTHERS = [e for e in ENTRIES if e["head"] == "non-message"]
_LEN_RE = re.compile(r"(TX|RX) (\d+) bytes")


def test_the_fixture_has_both_kinds() -> None:
    assert len(MESSAGES) >= 8 and len(OTHERS) >= 2


@pytest.mark.parametrize("entry", MESSAGES, ids=lambda e: e["head"][40:100])
def test_every_real_message_entry_parses_whole(entry: dict[str, Any]) -> None:
    text = entry["entry"]
    assert is_message_entry(text)
    trace = parse_log_entry(text, time=12.5, origin="alice")
    assert trace is not None
    assert trace.error is None, trace.error
    assert trace.parsed is not None
    m = _LEN_RE.search(text)
    assert m is not None
    # The byte count pjsua logged is exactly the message we rebuilt, CRLFs and body included.
    assert len(trace.raw) == int(m.group(2))
    assert trace.direction == ("out" if m.group(1) == "TX" else "in")
    assert trace.time == 12.5 and trace.origin == "alice"
    assert trace.raw.endswith(b"\r\n")  # the "\n--end msg--" marker is not part of it


def test_register_over_udp_fields() -> None:
    text = next(e["entry"] for e in MESSAGES if "TX" in e["head"] and "REGISTER" in e["head"])
    trace = parse_log_entry(text, time=0.0, local="ignored:1")
    assert trace is not None and isinstance(trace.parsed, SipRequest)
    assert trace.parsed.method == "REGISTER"
    assert trace.transport == "UDP"
    assert trace.remote == "127.0.0.1:48120"
    # Our side of a request we send is its top Via, not the default we passed.
    assert trace.local == "127.0.0.1:46195"
    assert trace.summary == "REGISTER"


def test_response_received_over_tls() -> None:
    text = next(e["entry"] for e in MESSAGES if "200/REGISTER" in e["head"])
    trace = parse_log_entry(text, time=0.0)
    assert trace is not None and isinstance(trace.parsed, SipResponse)
    assert (trace.transport, trace.direction, trace.parsed.status) == ("TLS", "in", 200)
    assert trace.local.startswith("127.0.0.1:")  # from the Via of our own request
    assert trace.parsed.contacts  # the bindings the registrar lists


def test_invite_with_sdp_body() -> None:
    text = next(e["entry"] for e in MESSAGES if "Request msg INVITE" in e["head"])
    trace = parse_log_entry(text, time=0.0)
    assert trace is not None and trace.parsed is not None
    assert trace.parsed.body.startswith(b"v=0\r\n")
    assert b"m=audio" in trace.parsed.body


def test_received_request_keeps_the_given_local_address() -> None:
    text = next(e["entry"] for e in MESSAGES if "RX" in e["head"] and "Request msg" in e["head"])
    trace = parse_log_entry(text, time=0.0, local="127.0.0.1:5060")
    assert trace is not None and trace.direction == "in"
    assert trace.local == "127.0.0.1:5060"


@pytest.mark.parametrize("entry", OTHERS, ids=lambda e: e["source"])
def test_other_log_lines_are_not_messages(entry: dict[str, Any]) -> None:
    assert not is_message_entry(entry["entry"])
    assert parse_log_entry(entry["entry"], time=0.0) is None


def test_truncated_entry_is_kept_with_an_error() -> None:
    text = next(e["entry"] for e in MESSAGES if "Request msg INVITE" in e["head"])
    cut = text[: len(text) // 2]  # pjlib stops at 4000 characters and drops the end marker
    trace = parse_log_entry(cut, time=0.0)
    assert trace is not None
    assert trace.error is not None and trace.error.startswith(TRUNCATED)
    assert trace.raw and len(trace.raw) < len(text)


def test_garbage_after_a_valid_head_is_recorded_unparsed() -> None:
    head = next(e["entry"] for e in MESSAGES).split("\n", 1)[0]
    trace = parse_log_entry(head + "\nnot a sip message\n--end msg--\n", time=0.0)
    assert trace is not None
    assert trace.parsed is None and trace.error
    assert trace.raw == b"not a sip message"


def test_non_utf8_bytes_survive() -> None:
    # SWIG hands pjsua's bytes over with surrogateescape; they must come back unchanged.
    text = next(e["entry"] for e in MESSAGES if "Request msg INVITE" in e["head"])
    bad = text.replace("s=pjmedia", "s=pj\udcffmedia")
    trace = parse_log_entry(bad, time=0.0)
    assert trace is not None
    assert b"s=pj\xffmedia" in trace.raw


def test_trace_writer_drains_up_to_a_mark_in_log_order(tmp_path: Path) -> None:
    """The engine puts state events off until SIP settles and replays them between the traces
    (core.later / run_later): drain(upto=mark) must stop at the entries logged before the mark,
    so an event sees the dialog state of its own moment, and a later drain continues in order."""
    from softphone.engine.dialogs import DialogWatcher
    from softphone.engine.events import Event, TraceEvent
    from softphone.engine.logtap import LogTap
    from softphone.engine.logwriter import TraceWriter

    log = tmp_path / "pjsua.log"
    log.write_bytes(b"")
    tap = LogTap(str(log))
    tap.attach()
    out: list[Event] = []
    writer = TraceWriter(
        out.append, DialogWatcher(), lambda t: "me", lambda t: "", lambda c: None, tap
    )
    texts = [e["entry"] for e in MESSAGES[:5]]
    with log.open("ab", buffering=0) as pjsua:  # pjsua's side: entries appended as written

        def logs(text: str) -> None:
            pjsua.write(text.encode("utf-8", "surrogateescape"))

        for text in texts[:3]:
            logs(text)
        mark = tap.mark()
        logs("12:00:00.000 pjsua_core.c  a line that is not a message\n")
        for text in texts[3:]:
            logs(text)
    assert not out  # nothing is read until the loop drains
    writer.drain(upto=mark)
    assert len(out) == 3
    writer.drain(upto=mark)  # nothing new before the mark
    assert len(out) == 3
    writer.drain()
    raws = [e.trace.raw for e in out if isinstance(e, TraceEvent)]
    expected = [parse_log_entry(t, time=0.0) for t in texts]
    assert raws == [t.raw for t in expected if t is not None]
    assert "a line that is not a message" in writer.recent[-1]
    tap.close()
