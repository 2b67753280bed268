"""The ladder drawn in the terminal: the sip.ladder Layout, coloured, with a selected arrow.

The geometry (columns, arrow rows, labels) comes from `softphone.sip.ladder.Layout`, the same
code the text export uses, so what is exported is what was on screen. This widget adds colour
(by message kind, retransmissions dimmed), a sticky header row with the addresses, and a
selection that the ladder screen follows to show the message. Line API: only visible rows are
rendered, and rendered rows are cached, so a merged ladder of thousands of messages scrolls
smoothly.
"""

from __future__ import annotations

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

from softphone.sip.ladder import UNICODE, Arrow, Flow, Layout
from softphone.ui.widgets.style_cache import StyleCache

HEADER_ROWS = 1
_KIND_CLASS = {
    "request": "ladder--request",
    "1xx": "ladder--provisional",
    "2xx": "ladder--success",
    "unparsed": "ladder--unparsed",
}


class LadderView(ScrollView, can_focus=True):
    """Columns per address, two rows per message (label, then the arrow with the delta)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "ladder--header",
        "ladder--life",
        "ladder--time",
        "ladder--request",
        "ladder--provisional",
        "ladder--success",
        "ladder--failure",
        "ladder--unparsed",
        "ladder--retrans",
        "ladder--selected",
    }
    DEFAULT_CSS = """
    LadderView { background: $surface; overflow: auto auto; }
    LadderView > .ladder--header { color: $text; text-style: bold; background: $panel; }
    LadderView > .ladder--life { color: $text-muted; }
    LadderView > .ladder--time { color: $text-muted; }
    LadderView > .ladder--request { color: $text-primary; text-style: bold; }
    LadderView > .ladder--provisional { color: $text-warning; }
    LadderView > .ladder--success { color: $text-success; }
    LadderView > .ladder--failure { color: $text-error; text-style: bold; }
    LadderView > .ladder--unparsed { color: $text-error; text-style: italic; }
    LadderView > .ladder--retrans { text-style: dim italic; }
    LadderView > .ladder--selected { background: $block-cursor-blurred-background; }
    LadderView:focus > .ladder--selected { background: $block-cursor-background;
        color: $block-cursor-foreground; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "select(-1)", "Previous", show=False, id="ladder.up"),
        Binding("down", "select(1)", "Next", show=False, id="ladder.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="ladder.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="ladder.page_down"),
        Binding("home", "first", "First", show=False, id="ladder.first"),
        Binding("end", "last", "Last", show=False, id="ladder.last"),
    ]

    class Selected(Message):
        """The selected arrow changed."""

        def __init__(self, arrow: Arrow | None) -> None:
            super().__init__()
            self.arrow = arrow

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.flow = Flow(None, (), ())
        self.layout_ = Layout(0)
        self.selected = 0
        self._rows: LRUCache[tuple[int, int], Strip] = LRUCache(1024)
        self._look = StyleCache(self)

    def show(self, flow: Flow, selected: int = 0) -> None:
        self.flow = flow
        self.layout_ = Layout.for_flow(flow)
        self._rows.clear()
        self.virtual_size = Size(self.layout_.width + 1, HEADER_ROWS + 2 * len(flow.arrows))
        self.scroll_to(0, 0, animate=False)
        self.select(selected)
        self.refresh()

    @property
    def arrow(self) -> Arrow | None:
        arrows = self.flow.arrows
        return arrows[self.selected] if 0 <= self.selected < len(arrows) else None

    def select(self, index: int) -> None:
        count = len(self.flow.arrows)
        self.selected = max(0, min(index, count - 1)) if count else 0
        if count:
            top = int(self.scroll_y)
            height = max(self.scrollable_content_region.height - HEADER_ROWS, 2)
            first = 2 * self.selected
            if first < top:
                self.scroll_to(y=first, animate=False)
            elif first + 2 > top + height:
                self.scroll_to(y=first + 2 - height, animate=False)
        self.refresh()
        self.post_message(self.Selected(self.arrow))

    def action_select(self, delta: int) -> None:
        self.select(self.selected + delta)

    def action_page(self, direction: int) -> None:
        self.select(
            self.selected + direction * max(self.scrollable_content_region.height // 2 - 1, 1)
        )

    def action_first(self) -> None:
        self.select(0)

    def action_last(self) -> None:
        self.select(len(self.flow.arrows) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= HEADER_ROWS:
            self.select((int(self.scroll_y) + event.y - HEADER_ROWS) // 2)

    # --- rendering -----------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._look.clear()
        self._rows.clear()

    def _render_arrow_row(self, arrow: Arrow, row: int) -> Strip:
        layout = self.layout_
        label_row, line_row, (start, end) = layout.arrow_rows(arrow, UNICODE)
        text = Text(label_row if row == 0 else line_row, style=self._look.base, no_wrap=True)
        life = self._look.component("ladder--life")
        for column in range(layout.columns):
            x = layout.center(column)
            text.stylize(life, x, x + 1)
        text.stylize(self._look.component("ladder--time"), 0, layout.gutter)
        kind = self._look.component(_KIND_CLASS.get(arrow.kind, "ladder--failure"))
        if arrow.retransmission:
            kind += self._look.component("ladder--retrans")
        if row == 0:
            text.stylize(kind, start, end)
        else:
            a, b = layout.center(arrow.source), layout.center(arrow.target)
            lo, hi = min(a, b), max(a, b)
            if lo == hi:
                hi = min(lo + layout.column_width // 2, layout.width - 1)
            text.stylize(kind, lo + 1, hi)
        return Strip(text.render(self.app.console), text.cell_len)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self._look.base
        if y < HEADER_ROWS:  # the addresses stay on top while the arrows scroll
            header = self._look.component("ladder--header")
            text = self.layout_.header(self.flow.columns)
            top = Strip([Segment(text, base + header)], len(text))
            return top.crop_extend(scroll_x, scroll_x + width, base + header)
        line = scroll_y + y - HEADER_ROWS
        index, row = divmod(line, 2)
        if index >= len(self.flow.arrows):
            return Strip.blank(width, base)
        strip = self._rows.get((index, row))
        if strip is None:
            strip = self._rows[(index, row)] = self._render_arrow_row(self.flow.arrows[index], row)
        style = base
        if index == self.selected:
            selected = self._look.component("ladder--selected")
            strip = Strip(Segment.apply_style(strip, post_style=selected), strip.cell_length)
            style = base + selected
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, line)
