"""The scrolling body of the SIP log pane: only visible lines are rendered (toolong's model).

At thousands of messages per second the pane must not do work per message on screen: rows are
stored compactly (siplog_store), bursts are applied at most every FLUSH_INTERVAL seconds, only
the lines in the viewport are rendered (Line API), and each rendered line is cached by sequence
number, so scrolling or following re-renders only lines never drawn before.

Follow mode sticks to the bottom until the user scrolls up or moves the cursor; scrolling back
to the bottom (or the follow key) resumes it. Pause freezes what is shown (new rows are still
stored, and counted in the status line).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from softphone.sip.ladder import clock
from softphone.sip.trace import SipTrace
from softphone.ui.widgets.siplog_store import DEFAULT_MAX_ROWS, LogFilter, Row, TraceStore
from softphone.ui.widgets.style_cache import StyleCache

FLUSH_INTERVAL = 0.05  # at most 20 updates a second under bursts
FLUSH_MAX = 5000  # rows stored per flush (~20 ms); more wait for the next one (100,000/s max)
# time, arrow, transport, peer, label, account, Call-ID
WIDTHS = (13, 2, 4, 22, 46, 12, 40)
LINE_WIDTH = sum(WIDTHS)
_KIND_CLASS = {
    "request": "siplog--request",
    "1xx": "siplog--provisional",
    "2xx": "siplog--success",
    "unparsed": "siplog--unparsed",
}


def _fit(text: str, width: int) -> str:
    if len(text) < width:
        return text.ljust(width)
    return text[: width - 2] + "… "


class SipLogView(ScrollView, can_focus=True):
    """Line-API list of SIP messages with a cursor."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "siplog--time",
        "siplog--meta",
        "siplog--request",
        "siplog--provisional",
        "siplog--success",
        "siplog--failure",
        "siplog--unparsed",
        "siplog--cursor",
        "siplog--match",
    }
    DEFAULT_CSS = """
    SipLogView { background: $surface; overflow-x: auto; overflow-y: scroll; }
    SipLogView > .siplog--time { color: $text-muted; }
    SipLogView > .siplog--meta { color: $text-muted; }
    SipLogView > .siplog--request { color: $text-primary; text-style: bold; }
    SipLogView > .siplog--provisional { color: $text-warning; }
    SipLogView > .siplog--success { color: $text-success; }
    SipLogView > .siplog--failure { color: $text-error; text-style: bold; }
    SipLogView > .siplog--unparsed { color: $text-error; text-style: italic; }
    SipLogView > .siplog--cursor { background: $block-cursor-blurred-background; }
    SipLogView:focus > .siplog--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; }
    SipLogView > .siplog--match { background: $warning 40%; }
    """

    # The list's own keys replace ScrollView's scrolling ones (the focused widget's bindings
    # are looked up first), so up/down move the cursor instead of only scrolling.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False, id="log.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="log.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="log.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="log.page_down"),
        Binding("home", "top", "First", show=False, id="log.top"),
        Binding("end", "follow", "Follow", show=False, id="log.follow"),
    ]

    class Changed(Message):
        """Counts, pause or follow changed: the pane updates its status line."""

    def __init__(self, max_rows: int = DEFAULT_MAX_ROWS, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = TraceStore(max_rows)
        self.following = True
        self.paused_at: int | None = None  # sequence number where the view froze
        self.cursor_seq: int | None = None
        self.search_term = ""
        self._pending: list[SipTrace] = []
        self._flush_armed = False
        self._last_flush = 0.0
        self._auto_scroll = False
        self._strips: LRUCache[int, Strip] = LRUCache(256)
        self._look = StyleCache(self)
        self.flushes = 0
        self.flush_time_max = 0.0  # seconds, for the benchmark

    # --- ingest ------------------------------------------------------------------------

    def add_traces(self, traces: Sequence[SipTrace]) -> None:
        """Queue traces; they are applied together at most every FLUSH_INTERVAL."""
        self._pending.extend(traces)
        excess = len(self._pending) - self.store.max_rows
        if excess > 0:  # a producer faster than the pane: these would be dropped anyway
            del self._pending[:excess]
            self.store.dropped += excess
        self._arm()

    def _arm(self) -> None:
        if self._flush_armed:
            return
        self._flush_armed = True
        delay = self._last_flush + FLUSH_INTERVAL - time.monotonic()
        if delay > 0:
            self.set_timer(delay, self.flush)
        else:
            self.call_later(self.flush)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> None:
        """Apply queued traces now (the timer calls this; tests may too)."""
        started = time.perf_counter()
        self._flush_armed = False
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        batch = self._pending[:FLUSH_MAX]
        del self._pending[:FLUSH_MAX]
        if self._pending:
            self._arm()
        store = self.store
        top_seq = store.seq_at(int(self.scroll_y)) if self.count else store.end
        dropped = store.add(batch)
        self._update_size()
        if self.following and self.paused_at is None:
            self._scroll_to_end()
            # Again after the layout pass: a scrollbar appearing changes the last page.
            self.call_after_refresh(self._keep_following)
        elif dropped:
            self._scroll_quietly(store.position_at_or_after(top_seq))
        self.refresh()
        self.post_message(self.Changed())
        self.flushes += 1
        self.flush_time_max = max(self.flush_time_max, time.perf_counter() - started)

    # --- view geometry -------------------------------------------------------------------

    @property
    def count(self) -> int:
        return self.store.count(self.paused_at)

    def _update_size(self) -> None:
        self.virtual_size = Size(LINE_WIDTH, self.count)

    def _scroll_quietly(self, y: float) -> None:
        self._auto_scroll = True
        try:
            self.scroll_to(y=y, animate=False, force=True)
        finally:
            self._auto_scroll = False

    def _reveal(self, position: int) -> None:
        """Scroll just enough to show `position` (without touching follow mode)."""
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_y)
        if position < top:
            self._scroll_quietly(position)
        elif position >= top + height:
            self._scroll_quietly(position - height + 1)

    def _scroll_to_end(self) -> None:
        self._scroll_quietly(self.count)  # clamped to the last page by scroll_to

    def _keep_following(self) -> None:
        if self.following and self.paused_at is None and self.scroll_y < self.max_scroll_y:
            self._scroll_to_end()

    def on_resize(self) -> None:
        self._keep_following()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._auto_scroll:
            return
        # The user scrolled (wheel, scrollbar) or a resize clamped the offset: scrolling down
        # to the end resumes following, scrolling up away from it stops; a clamp moves up to
        # the end and changes nothing.
        at_end = new_value >= self.max_scroll_y
        follow = self.following
        if new_value > old_value and at_end:
            follow = True
        elif new_value < old_value and not at_end:
            follow = False
        if follow != self.following:
            self.following = follow
            self.post_message(self.Changed())

    # --- state changes from the pane ----------------------------------------------------

    def set_paused(self, paused: bool) -> None:
        self.paused_at = self.store.end if paused else None
        self._update_size()
        if not paused and self.following:
            self._scroll_to_end()
        self.refresh()
        self.post_message(self.Changed())

    def follow(self) -> None:
        """Jump to the newest message and stick there."""
        self.following = True
        self.cursor_seq = None
        self._scroll_to_end()
        self.refresh()
        self.post_message(self.Changed())

    def set_filter(self, log_filter: LogFilter) -> None:
        self.store.set_filter(log_filter)
        self._update_size()
        position = self.cursor_position
        if position is None or self.following:
            self.cursor_seq = None if self.following else self.cursor_seq
            self._scroll_to_end()
        else:
            self._reveal(position)
        self.refresh()
        self.post_message(self.Changed())

    def set_search(self, term: str) -> None:
        self.search_term = term
        self._strips.clear()
        self.refresh()

    # --- cursor --------------------------------------------------------------------------

    @property
    def cursor_position(self) -> int | None:
        if self.cursor_seq is None:
            return None
        position = self.store.position_of(self.cursor_seq)
        return position if position is not None and position < self.count else None

    @property
    def cursor_row(self) -> Row | None:
        """The row under the cursor, or the newest row in view when there is no cursor."""
        position = self.cursor_position
        if position is None:
            position = self.count - 1
        return self.store.row(self.store.seq_at(position)) if position >= 0 else None

    def move_cursor(self, position: int) -> None:
        count = self.count
        if count == 0:
            return
        position = max(0, min(position, count - 1))
        self.cursor_seq = self.store.seq_at(position)
        self.following = False
        self._reveal(position)
        self.refresh()
        self.post_message(self.Changed())

    def move_by(self, delta: int) -> None:
        position = self.cursor_position
        if position is None:
            position = min(int(self.scroll_y) + self.scrollable_content_region.height, self.count)
        self.move_cursor(position + delta)

    def action_cursor(self, delta: int) -> None:
        self.move_by(delta)

    def action_page(self, direction: int) -> None:
        self.move_by(direction * max(self.scrollable_content_region.height - 1, 1))

    def action_top(self) -> None:
        self.move_cursor(0)

    def action_follow(self) -> None:
        self.follow()

    def search(self, backwards: bool = False) -> bool:
        """Move the cursor to the next message containing the search term."""
        position = self.cursor_position
        start = position if position is not None else (0 if backwards else -1)
        found = self.store.search(self.search_term, start, self.count, backwards=backwards)
        if found is None:
            return False
        self.move_cursor(found)
        return True

    def on_click(self, event: events.Click) -> None:
        self.move_cursor(int(self.scroll_y) + event.y)

    # --- rendering -----------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._look.clear()
        self._strips.clear()

    def _render_row(self, row: Row) -> Strip:
        kind_class = _KIND_CLASS.get(row.kind, "siplog--failure")
        if row.kind == "request":
            label = row.first_line.removesuffix(" SIP/2.0")
        elif row.kind == "unparsed":
            label = f"{row.label}: {row.error or ''}"
        else:
            label = f"{row.label} ({row.method})"
        w = WIDTHS
        meta = self._look.component("siplog--meta")
        parts = [
            (clock(row.time) + " ", self._look.component("siplog--time")),
            ("→ " if row.out else "← ", meta),
            (_fit(row.transport, w[2]), meta),
            (_fit(row.remote, w[3]), meta),
            (_fit(label, w[4]), self._look.component(kind_class)),
            (_fit(row.origin, w[5]), meta),
            (row.call_id[: w[6]], meta),
        ]
        base = self._look.base
        if self.search_term:
            text = Text.assemble(*parts, style=base, no_wrap=True)
            text.highlight_words(
                [self.search_term], self._look.component("siplog--match"), case_sensitive=False
            )
            return Strip(text.render(self.app.console), text.cell_len)
        return Strip([Segment(t, base + s) for t, s in parts])

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        position = scroll_y + y
        width = self.size.width
        base = self._look.base
        if position >= self.count:
            return Strip.blank(width, base)
        seq = self.store.seq_at(position)
        strip = self._strips.get(seq)
        if strip is None:
            row = self.store.row(seq)
            if row is None:
                return Strip.blank(width, base)
            strip = self._strips[seq] = self._render_row(row)
        style = base
        if seq == self.cursor_seq:
            cursor = self._look.component("siplog--cursor")
            strip = Strip(Segment.apply_style(strip, post_style=cursor), strip.cell_length)
            style += cursor
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, y)
