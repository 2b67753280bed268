"""The ladder model on realistic flows: columns, arrows, labels, deltas, retransmissions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from softphone.sip.ladder import (
    ASCII,
    Layout,
    build_flow,
    calls,
    clock,
    endpoints,
    kind_of,
    ladder_text,
)
from softphone.sip.trace import make_trace
from tests.sip.sipflows import ALICE, BOB, BOB2, PHONE, PROXY, REGISTRAR, T0, RegisterFlow, wire
from tests.sip.sipflows_proxy import forked_cancelled_call, proxied_call, retransmitted_call


def labels(flow_arrows: object) -> list[str]:
    return [a.label for a in flow_arrows]  # type: ignore[attr-defined]


def test_register_401_then_200_is_two_columns_and_four_arrows() -> None:
    reg = RegisterFlow()
    assert reg.register().status == 200
    flow = build_flow(reg.traces)
    assert flow.columns == (PHONE, REGISTRAR)
    assert labels(flow.arrows) == ["REGISTER", "401 Unauthorized", "REGISTER", "200 OK"]
    assert [(a.source, a.target) for a in flow.arrows] == [(0, 1), (1, 0), (0, 1), (1, 0)]
    assert [a.kind for a in flow.arrows] == ["request", "4xx", "request", "2xx"]
    assert not any(a.retransmission for a in flow.arrows)
    assert flow.arrows[0].delta == 0.0 and flow.arrows[1].delta == pytest.approx(0.004, abs=1e-6)
    assert flow.arrows[3].offset == pytest.approx(0.018, abs=1e-6)
    [call] = calls(reg.traces)
    assert (call.method, call.from_user, call.messages, call.state) == (
        "REGISTER",
        "alice@127.0.0.1",
        4,
        "200 OK",
    )


def test_call_through_a_proxy_has_three_columns_in_order_of_appearance() -> None:
    flow = build_flow(proxied_call(), "px-1")
    assert flow.columns == (ALICE, PROXY, BOB)
    assert labels(flow.arrows) == [
        "INVITE",
        "407 Proxy Authentication Required",
        "ACK",
        "INVITE",
        "100 Trying",
        "INVITE",
        "100 Trying",
        "180 Ringing",
        "180 Ringing",
        "200 OK",
        "200 OK",
        "ACK",
        "ACK",
        "BYE",
        "BYE",
        "200 OK",
        "200 OK",
    ]
    # The proxied INVITE goes from the proxy's column to bob's, its answers come back.
    assert (flow.arrows[5].source, flow.arrows[5].target) == (1, 2)
    assert (flow.arrows[7].source, flow.arrows[7].target) == (2, 1)
    assert not any(a.retransmission for a in flow.arrows)
    assert flow.arrows[13].delta == pytest.approx(6.989, abs=1e-6)
    assert calls(proxied_call())[0].state == "completed"


def test_forked_invite_two_180s_are_forks_not_retransmissions() -> None:
    traces = forked_cancelled_call()
    flow = build_flow(traces)
    assert flow.columns == (ALICE, PROXY, BOB, BOB2)
    to_alice_180 = [a for a in flow.arrows if a.label == "180 Ringing" and a.target == 0]
    assert len(to_alice_180) == 2 and not any(a.retransmission for a in to_alice_180)
    cancels = [(a.source, a.target) for a in flow.arrows if a.label == "CANCEL"]
    assert cancels == [(0, 1), (1, 2), (1, 3)]
    assert sum(a.label == "487 Request Terminated" for a in flow.arrows) == 3
    assert calls(traces)[0].state == "cancelled"


def test_udp_retransmissions_are_marked_and_the_original_is_not() -> None:
    flow = build_flow(retransmitted_call())
    marks = [(a.label, a.retransmission) for a in flow.arrows]
    assert marks == [
        ("INVITE", False),
        ("INVITE", True),
        ("INVITE", True),
        ("100 Trying", False),
        ("180 Ringing", False),
        ("200 OK", False),
        ("200 OK", True),
        ("ACK", False),
    ]
    assert [round(a.delta, 3) for a in flow.arrows[:3]] == [0.0, 0.5, 1.0]


def test_one_call_is_picked_by_call_id_and_merged_view_has_every_column() -> None:
    everything = proxied_call() + forked_cancelled_call() + retransmitted_call()
    assert [c.call_id for c in calls(everything)] == ["px-1", "fk-1", "rt-1"]
    assert len(build_flow(everything, "fk-1").arrows) == len(forked_cancelled_call())
    merged = build_flow(everything)
    assert merged.call_id is None and set(merged.columns) == {ALICE, PROXY, BOB, BOB2}
    assert len(merged.arrows) == len(everything)
    assert merged.call_ids == ["px-1", "fk-1", "rt-1"]
    times = [a.time for a in merged.arrows]
    assert times == sorted(times)


def test_a_message_captured_at_both_ends_is_drawn_once() -> None:
    reg = RegisterFlow()
    reg.register()
    phone_side = reg.traces
    registrar_side = [
        replace(
            t,
            direction="in" if t.direction == "out" else "out",
            local=REGISTRAR,
            remote=PHONE,
            time=t.time + 0.0001,
            origin="registrar",
        )
        for t in phone_side
    ]
    flow = build_flow(phone_side + registrar_side)
    assert len(flow.arrows) == 4 and flow.columns == (PHONE, REGISTRAR)


def test_identical_raw_resent_without_a_branch_is_a_retransmission() -> None:
    raw = (
        b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:x@y>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    traces = [wire(T0 + i, ALICE, PROXY, raw, ALICE) for i in range(2)]
    assert [a.retransmission for a in build_flow(traces).arrows] == [False, True]


def test_unparsable_messages_stay_in_the_merged_view_with_their_kind() -> None:
    bad = make_trace(T0, "in", "UDP", ALICE, PROXY, b"NOT SIP\r\n\r\n")
    assert kind_of(bad) == "unparsed" and endpoints(bad) == (PROXY, ALICE)
    flow = build_flow([bad])
    assert labels(flow.arrows) == ["(unparsable)"]
    assert build_flow([bad], "anything").arrows == ()


def test_text_ladder_draws_lifelines_arrows_and_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    try:
        flow = build_flow(retransmitted_call())
        lines = ladder_text(flow)
        assert lines[0].split() == [ALICE, PROXY]
        layout = Layout.for_flow(flow)
        a, b = layout.center(0), layout.center(1)
        assert lines[1].startswith(clock(T0)) and clock(T0) == "22:13:20.000"
        assert lines[1][a] == ASCII.life and "INVITE" in lines[1][a:b]
        assert lines[2][a + 1 : b] == "-" * (b - a - 2) + ">"
        assert "(retrans)" in lines[3] and set(lines[4][a + 1 : b - 1]) == {"."}
        assert "+0.500s" in lines[4]
        assert lines[8][a + 1] == "<"  # 100 Trying comes back
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_long_labels_widen_the_columns_up_to_a_limit() -> None:
    flow = build_flow(proxied_call())
    layout = Layout.for_flow(flow)
    assert layout.column_width >= len("407 Proxy Authentication Required") + 4
    label_row, _, (start, end) = layout.arrow_rows(flow.arrows[1])
    assert label_row[start:end] == "407 Proxy Authentication Required"
    narrow = Layout(3, 16)
    label_row, _, (start, end) = narrow.arrow_rows(flow.arrows[1])
    assert label_row[start:end].endswith("…") and end - start <= 14
