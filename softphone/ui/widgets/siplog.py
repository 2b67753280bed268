"""The SIP log pane: every message live, coloured by kind, filterable, searchable.

The pane is a status line, the scrolling list (siplog_view, which does the heavy lifting) and
one input line that appears for a filter or a search. It owns no SIP logic: filtering is
`LogFilter`, the ladder is the app's LadderScreen, which the pane asks for with `OpenLadder`
(the app decides where screens go). Every key has an id (log.*) so users can remap it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

from textual.app import ComposeResult, RenderResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input

from softphone.sip.trace import SipTrace
from softphone.ui.dialogs.sip_message import SipMessageDialog
from softphone.ui.widgets.siplog_store import DEFAULT_MAX_ROWS, LogFilter, TraceStore
from softphone.ui.widgets.siplog_view import SipLogView

MERGED_LADDER_LIMIT = 5000  # the merged ladder re-parses messages: keep it to the recent ones

FILTER_HELP = "filter: method:INVITE,BYE account:alice call:<id> kind:4xx,5xx words…"
SEARCH_HELP = "search the full messages (n / N: next / previous)"


class _Status(Widget):
    """One line: counts, filter, pause/follow; repainted without a layout pass."""

    DEFAULT_CSS = "_Status { height: 1; background: $panel; color: $text-muted; }"

    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def render(self) -> RenderResult:
        return self.text

    def set(self, text: str) -> None:
        if text != self.text:
            self.text = text
            self.refresh()


class SipLogPane(Widget):
    """Live SIP messages; `add_traces` may be called thousands of times a second."""

    DEFAULT_CSS = """
    SipLogPane { height: 12; border: round $secondary; }
    SipLogPane:focus-within { border: round $accent; }
    SipLogPane > SipLogView { height: 1fr; }
    SipLogPane > Input { display: none; height: 3; }
    SipLogPane > Input.-shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "filter", "Filter", id="log.filter"),
        Binding("slash", "search", "Search", id="log.search"),
        Binding("n", "search_next", "Next match", show=False, id="log.search_next"),
        Binding("N", "search_previous", "Previous match", show=False, id="log.search_previous"),
        Binding("p", "pause", "Pause", id="log.pause"),
        Binding("enter", "open", "Open message", id="log.open"),
        Binding("l", "ladder", "Ladder", id="log.ladder"),
        Binding("L", "ladder_all", "Ladder (all calls)", show=False, id="log.ladder_all"),
        Binding("c", "filter_call", "Only this call", show=False, id="log.filter_call"),
        Binding("escape", "clear", "Clear filter", show=False, id="log.clear"),
    ]

    class OpenLadder(Message):
        """The user wants the ladder of `call_id` (None: all calls merged). `traces` are that
        call's messages (or the most recent ones of every call), re-parsed from the pane."""

        def __init__(self, call_id: str | None, traces: Sequence[SipTrace] = ()) -> None:
            super().__init__()
            self.call_id = call_id
            self.traces = tuple(traces)

    def __init__(
        self,
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = "SIP log"
        self.view = SipLogView(max_rows)
        self._input_mode: Literal["filter", "search"] = "filter"

    def compose(self) -> ComposeResult:
        yield _Status()
        yield self.view
        yield Input(id="siplog-input")

    def on_mount(self) -> None:
        self._update_status()

    # --- the contract ----------------------------------------------------------------

    def add_traces(self, traces: Sequence[SipTrace]) -> None:
        """Queue a batch; shown at the next flush (at most every 50 ms)."""
        self.view.add_traces(traces)

    def flush(self) -> None:
        """Apply every queued trace immediately (the view applies FLUSH_MAX per turn)."""
        while self.view.pending:
            self.view.flush()

    @property
    def store(self) -> TraceStore:
        return self.view.store

    def traces(self, call_id: str | None = None) -> list[SipTrace]:
        """The messages of one call, or the most recent ones of every call (None)."""
        return self.store.traces(call_id, MERGED_LADDER_LIMIT)

    # --- status ---------------------------------------------------------------------

    def on_sip_log_view_changed(self, event: SipLogView.Changed) -> None:
        event.stop()
        self._update_status()

    def _update_status(self) -> None:
        view, store = self.view, self.store
        parts = [f"{view.count:,} shown" if store.filter.active else f"{view.count:,} messages"]
        if store.filter.active:
            parts.append(f"filter: {store.filter.text}")
        if view.search_term:
            parts.append(f"search: {view.search_term}")
        if view.paused_at is not None:
            parts.append(f"PAUSED ({store.end - view.paused_at:,} new)")
        elif view.following:
            parts.append("following")
        if store.dropped:
            parts.append(f"{store.dropped:,} oldest dropped")
        self.query_one(_Status).set("  ·  ".join(parts))

    # --- the input line -------------------------------------------------------------

    def _ask(self, mode: Literal["filter", "search"]) -> None:
        self._input_mode = mode
        field = self.query_one(Input)
        field.placeholder = FILTER_HELP if mode == "filter" else SEARCH_HELP
        field.value = self.store.filter.text if mode == "filter" else self.view.search_term
        field.add_class("-shown")
        field.focus()

    def _close_input(self) -> None:
        self.query_one(Input).remove_class("-shown")
        self.view.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._close_input()
        if self._input_mode == "filter":
            self.apply_filter(event.value)
        else:
            self.search(event.value)

    def apply_filter(self, text: str) -> None:
        self.view.set_filter(LogFilter.parse(text))
        self._update_status()

    def search(self, term: str) -> bool:
        self.view.set_search(term)
        found = self.view.search()
        self._update_status()
        if term and not found:
            self.notify(f"{term!r} is in none of the messages shown", severity="warning")
        return found

    # --- actions --------------------------------------------------------------------

    def action_filter(self) -> None:
        self._ask("filter")

    def action_search(self) -> None:
        self._ask("search")

    def action_search_next(self) -> None:
        self.view.search()

    def action_search_previous(self) -> None:
        self.view.search(backwards=True)

    def action_pause(self) -> None:
        self.view.set_paused(self.view.paused_at is None)

    def action_clear(self) -> None:
        if self.query_one(Input).has_class("-shown"):
            self._close_input()
            return
        self.view.set_search("")
        self.apply_filter("")

    def action_filter_call(self) -> None:
        row = self.view.cursor_row
        if row is not None and row.call_id:
            self.apply_filter(f"call:{row.call_id}")

    def action_open(self) -> None:
        row = self.view.cursor_row
        if row is not None:
            self.app.push_screen(SipMessageDialog(row.trace()))

    def action_ladder(self) -> None:
        row = self.view.cursor_row
        call_id = row.call_id if row is not None and row.call_id else None
        self.post_message(self.OpenLadder(call_id, self.traces(call_id)))

    def action_ladder_all(self) -> None:
        self.post_message(self.OpenLadder(None, self.traces(None)))
