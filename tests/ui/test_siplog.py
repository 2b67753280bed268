"""The SIP log pane in a tiny host app: batching, filter, search, pause/follow, open, ladder,
bounded memory, colours, and a snapshot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from softphone.sip.trace import SipTrace
from softphone.ui.dialogs.sip_message import SipMessageDialog
from softphone.ui.widgets.siplog import SipLogPane
from softphone.ui.widgets.siplog_store import LogFilter, Row, TraceStore
from softphone.ui.widgets.siplog_view import SipLogView
from tests.sip.sipflows import RegisterFlow, trunk_call
from tests.sip.sipflows_proxy import proxied_call
from tests.ui.runasync import run_async

SIZE = (120, 24)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local time: pin the zone so snapshots do not depend on the host."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def sample() -> list[SipTrace]:
    reg = RegisterFlow()
    assert reg.register().status == 200
    return reg.traces + trunk_call(password="wrong", second_challenge=True) + proxied_call()


class Host(App[None]):
    def __init__(self, traces: list[SipTrace] = (), max_rows: int = 200_000) -> None:  # type: ignore[assignment]
        super().__init__()
        self.initial = list(traces)
        self.max_rows = max_rows
        self.ladders: list[SipLogPane.OpenLadder] = []

    def compose(self) -> ComposeResult:
        yield SipLogPane(id="log", max_rows=self.max_rows)

    def on_mount(self) -> None:
        pane = self.pane
        pane.styles.height = "1fr"
        if self.initial:
            pane.add_traces(self.initial)
            pane.flush()
        pane.view.focus()

    @property
    def pane(self) -> SipLogPane:
        return self.query_one(SipLogPane)

    def on_sip_log_pane_open_ladder(self, message: SipLogPane.OpenLadder) -> None:
        self.ladders.append(message)


async def until(pilot: Pilot[Any], condition: Any, timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.01)


def following(view: SipLogView) -> bool:
    return view.following  # read through a call: mypy would narrow the attribute for good


def last_call_id(app: Host) -> str | None:
    return app.ladders[-1].call_id


def status(app: Host) -> str:
    return app.pane.query_one("_Status").text  # type: ignore[attr-defined,no-any-return]


# --- the store (no UI) ------------------------------------------------------------------


def test_filter_text_parses_into_conditions() -> None:
    f = LogFilter.parse("method:invite,BYE account:Trunk call:tr- kind:4xx 407 proxy")
    assert f.methods == {"INVITE", "BYE"} and f.accounts == {"trunk"} and f.call == "tr-"
    assert f.kinds == {"4xx"} and f.words == ("407", "proxy") and f.active
    assert not LogFilter.parse("  ").active


def test_store_filter_index_grows_with_matching_rows_and_is_cut_with_them() -> None:
    store = TraceStore(max_rows=64)
    store.set_filter(LogFilter.parse("method:REGISTER"))
    traces = sample()
    for _ in range(10):
        store.add(traces)
    registers = sum(t.parsed is not None and t.parsed.cseq.method == "REGISTER" for t in traces)
    assert len(store) <= 64 and store.base + len(store) == 10 * len(traces)
    assert store.index is not None and all(store.row(s).method == "REGISTER" for s in store.index)  # type: ignore[union-attr]
    assert store.count() == sum(Row(data).method == "REGISTER" for data in store.rows)
    assert 0 < store.count() <= 10 * registers


def test_store_search_wraps_and_goes_backwards() -> None:
    store = TraceStore()
    store.add(sample())
    count = store.count()
    hits = [p for p in range(count) if b"Twilio Gateway" in Row(store.rows[p]).raw]
    assert len(hits) >= 2
    assert store.search("twilio gateway", -1, count) == hits[0]
    assert store.search("twilio gateway", hits[0], count) == hits[1]
    assert store.search("twilio gateway", hits[-1], count) == hits[0]  # wraps
    assert store.search("twilio gateway", hits[0], count, backwards=True) == hits[-1]
    assert store.search("no such text", 0, count) is None


def test_rows_give_back_the_full_trace() -> None:
    store = TraceStore()
    traces = sample()
    store.add(traces)
    again = store.row(5).trace()  # type: ignore[union-attr]
    assert again.raw == traces[5].raw and again.summary == traces[5].summary
    assert again.origin == traces[5].origin and again.direction == traces[5].direction
    assert [t.raw for t in store.traces("tr-1")] == [t.raw for t in traces if t.origin == "trunk"]


# --- the pane ---------------------------------------------------------------------------


@run_async
async def test_bursts_are_batched_and_shown_by_the_timer() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        view = app.pane.view
        traces = sample()
        for trace in traces:  # one call per message, as a naive producer would do
            app.pane.add_traces([trace])
        assert view.count == 0 and view.pending == len(traces)
        await until(pilot, lambda: view.count == len(traces))
        assert view.flushes == 1  # one flush for the whole burst
        assert f"{len(traces)} messages" in status(app)


@run_async
async def test_filter_typed_in_the_pane_and_cleared_with_escape() -> None:
    traces = sample()
    app = Host(traces)
    async with app.run_test(size=SIZE) as pilot:
        view = app.pane.view
        await pilot.press("f", *"method:REGISTER", "enter")
        assert view.count == 4
        assert all(view.store.row(view.store.seq_at(i)).method == "REGISTER" for i in range(4))  # type: ignore[union-attr]
        assert "filter: method:REGISTER" in status(app)
        await pilot.press("f", "ctrl+u", *"account:trunk kind:4xx", "enter")
        assert view.count == 2  # the two 407s of the trunk call
        # New messages that match are added to the filtered view as they arrive.
        more = trunk_call(password="wrong", second_challenge=True)
        app.pane.add_traces(more)
        app.pane.flush()
        assert view.count == 4
        await pilot.press("escape")
        assert view.count == len(traces) + len(more) and "filter" not in status(app)


@run_async
async def test_only_this_call() -> None:
    app = Host(sample())
    async with app.run_test(size=SIZE) as pilot:
        view = app.pane.view
        await pilot.press("home")
        assert view.cursor_row is not None and view.cursor_row.call_id == "reg-1@127.0.0.1"
        await pilot.press("c")
        assert view.count == 4 and "call:reg-1@127.0.0.1" in status(app)


@run_async
async def test_search_moves_the_cursor_and_n_goes_on() -> None:
    app = Host(sample())
    async with app.run_test(size=SIZE) as pilot:
        view = app.pane.view
        await pilot.press("slash", *"twilio gateway", "enter")
        first = view.cursor_row
        assert first is not None and b"Twilio Gateway" in first.raw
        assert not view.following and "search: twilio gateway" in status(app)
        await pilot.press("n")
        second = view.cursor_row
        assert second is not None and second.seq > first.seq and b"Twilio Gateway" in second.raw
        await pilot.press("N")
        assert view.cursor_row is not None and view.cursor_row.seq == first.seq
        # The term is highlighted in the lines drawn.
        line = view.render_line(view.cursor_position - int(view.scroll_y))  # type: ignore[operator]
        assert "200 OK" in line.text or "100 trying" in line.text or "407" in line.text
        await pilot.press("slash", "ctrl+u", *"nowhere-to-be-found", "enter")
        await pilot.pause()
        assert any("none of the messages" in n.message for n in app._notifications)


@run_async
async def test_follow_pause_and_scrolling_up() -> None:
    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        for _ in range(5):
            pane.add_traces(sample())
        pane.flush()
        await pilot.pause()
        assert view.following and view.count > view.size.height
        assert view.scroll_y == view.max_scroll_y  # stuck to the newest message
        await pilot.press("p")
        shown = view.count
        pane.add_traces(sample())
        pane.flush()
        await pilot.pause()
        assert view.count == shown and f"PAUSED ({len(sample())} new)" in status(app)
        await pilot.press("p")
        await pilot.pause()
        assert view.count == shown + len(sample())
        assert view.scroll_y == view.max_scroll_y
        await pilot.press("up", "up", "up")
        assert not following(view)
        top = view.scroll_y
        pane.add_traces(sample())
        pane.flush()
        await pilot.pause()
        assert view.scroll_y == top  # the user reads; nothing moves
        await pilot.press("end")
        await pilot.pause()
        assert following(view) and view.scroll_y == view.max_scroll_y and view.cursor_seq is None


@run_async
async def test_enter_opens_the_message_masked() -> None:
    traces = sample()
    app = Host(traces)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home", "down", "down")  # the authenticated REGISTER
        await pilot.press("enter")
        dialog = app.screen
        assert isinstance(dialog, SipMessageDialog)
        assert dialog.trace.raw == traces[2].raw
        body = str(dialog.query_one("#sip-message-body").render())
        assert "Authorization: Digest" in body and 'response="***"' in body
        secret = traces[2].raw.split(b'response="')[1].split(b'"')[0].decode()
        assert secret not in body
        await pilot.press("escape")
        assert not isinstance(app.screen, SipMessageDialog)


@run_async
async def test_ladder_keys_post_open_ladder_with_the_call() -> None:
    traces = sample()
    app = Host(traces)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home", "l")
        await pilot.pause()
        assert app.ladders[-1].call_id == "reg-1@127.0.0.1"
        assert [t.raw for t in app.ladders[-1].traces] == [t.raw for t in traces[:4]]
        await pilot.press("L")
        await pilot.pause()
        assert last_call_id(app) is None and len(app.ladders[-1].traces) == len(traces)


@run_async
async def test_oldest_rows_are_dropped_beyond_the_bound() -> None:
    app = Host(max_rows=100)
    async with app.run_test(size=SIZE) as pilot:
        pane, view = app.pane, app.pane.view
        for _ in range(10):
            pane.add_traces(sample())
            pane.flush()
        await pilot.pause()
        total = 10 * len(sample())
        assert len(view.store) <= 100 and view.store.end == total
        assert view.count == len(view.store) and "oldest dropped" in status(app)
        assert view.render_line(0).text.strip()  # the first visible line is a real row


@run_async
async def test_rows_are_coloured_by_kind() -> None:
    app = Host(sample())
    async with app.run_test(size=SIZE):
        view: SipLogView = app.pane.view
        colours: dict[str, set[object]] = {}
        for position in range(view.count):
            row = view.store.row(view.store.seq_at(position))
            assert row is not None
            label = list(view._render_row(row))[4]  # time, arrow, transport, peer, label, ...
            assert label.text.strip().startswith(row.label.split(" ")[0])
            assert label.style is not None
            colours.setdefault(row.kind, set()).add(label.style.color)
        assert {"request", "1xx", "2xx", "4xx"} <= set(colours)
        kinds = ("request", "1xx", "2xx", "4xx")
        assert all(len(colours[k]) == 1 for k in kinds)  # one colour per kind
        assert len({frozenset(colours[k]) for k in kinds}) == 4  # and four different ones


def test_log_pane_snapshot(snap_compare: Any) -> None:
    app = Host(sample())

    async def settle(pilot: Pilot[Any]) -> None:
        await pilot.press("home", "down", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 16), run_before=settle)
