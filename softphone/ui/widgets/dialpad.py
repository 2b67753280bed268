"""Two small widgets of the dialer, each drawn as one widget instead of a dozen.

Why: the first frame has to be on screen within 0.35 s of the process starting, and every
Textual widget costs style resolution and layout at start-up; twelve Buttons and a Select
cost about 35 ms there, these two a fraction of that. Both are mouse-friendly and keyboard
users do not need them (they type the digits; ←/→ pick the account).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import RenderResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from softphone.ui.widgets.palette import colour

PAD = "123456789*0#"
KEY_WIDTH, GAP = 7, 1


class DialPad(Widget):
    """3×4 keys; a click posts Pressed(key)."""

    DEFAULT_CSS = "DialPad { width: 23; height: 4; margin: 0 1; }"

    class Pressed(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def render(self) -> RenderResult:
        face = f"bold {colour(self.app, 'foreground')} on {colour(self.app, 'panel')}"
        out = Text(end="")
        for row in range(4):
            for col in range(3):
                if col:
                    out.append(" " * GAP)
                out.append(PAD[row * 3 + col].center(KEY_WIDTH), style=face)
            if row < 3:
                out.append("\n")
        return out

    def key_at(self, x: int, y: int) -> str | None:
        col, within = divmod(x, KEY_WIDTH + GAP)
        if not (0 <= y < 4 and 0 <= col < 3 and within < KEY_WIDTH):
            return None
        return PAD[y * 3 + col]

    def on_click(self, event: events.Click) -> None:
        key = self.key_at(event.x, event.y)
        if key is not None:
            event.stop()
            self.post_message(self.Pressed(key))


class AccountChooser(Widget, can_focus=True):
    """One line, "From ‹ work ›": ←/→ (or a click) step through the accounts."""

    DEFAULT_CSS = """
    AccountChooser { height: 1; width: 1fr; padding: 0 1; }
    AccountChooser:focus { background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "step(-1)", "Previous account", show=False),
        Binding("right", "step(1)", "Next account", show=False),
    ]

    class Changed(Message):
        def __init__(self, value: str | None) -> None:
            super().__init__()
            self.value = value

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.names: list[str] = []
        self.value: str | None = None

    def set_names(self, names: Sequence[str], wanted: Sequence[str | None]) -> None:
        """The accounts to choose from; the first of `wanted` that exists is chosen."""
        self.names = list(names)
        self.value = next((w for w in wanted if w in self.names), None)
        if self.value is None and self.names:
            self.value = self.names[0]
        self.refresh()

    def render(self) -> RenderResult:
        if self.value is None:
            return Text("From  no account", end="")
        more = "  (←/→)" if len(self.names) > 1 else ""
        return Text.assemble("From  ‹ ", (self.value, "bold"), " ›", more, end="")

    def action_step(self, delta: int) -> None:
        if len(self.names) < 2 or self.value is None:
            return
        index = (self.names.index(self.value) + delta) % len(self.names)
        self.value = self.names[index]
        self.refresh()
        self.post_message(self.Changed(self.value))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_step(1)
