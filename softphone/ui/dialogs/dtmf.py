"""The DTMF keypad: each key press sends one digit on the call at once (RFC 4733 events).

Digits go one at a time, as pressed, because IVRs react to each one; the line above the pad
shows what was sent on this call so far.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

DIGITS = "123456789*0#"


class DtmfDialog(ModalScreen[None]):
    """Keypad for one call."""

    DEFAULT_CSS = """
    DtmfDialog { align: center middle; }
    DtmfDialog > Vertical {
        width: 34; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    DtmfDialog #dtmf-sent { height: 1; margin-bottom: 1; text-style: bold; }
    DtmfDialog Grid { grid-size: 3 4; grid-gutter: 0 1; height: auto; }
    DtmfDialog Button { width: 100%; min-width: 4; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Close")]

    class Digit(Message):
        """Send `digit` on `call`."""

        def __init__(self, call: int, digit: str) -> None:
            super().__init__()
            self.call = call
            self.digit = digit

    def __init__(self, call: int, remote: str) -> None:
        super().__init__()
        self.call = call
        self._remote = remote
        self.sent = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Keypad: {self._remote}", markup=False)
            yield Static("", id="dtmf-sent")
            with Grid():
                for digit in DIGITS:
                    button = Button(digit, id=f"dtmf-{DIGITS.index(digit)}", compact=True)
                    button.can_focus = False
                    yield button
            yield Label("type 0-9 * # A-D; Esc closes")

    def on_key(self, event: events.Key) -> None:
        character = event.character
        if character is not None and len(character) == 1 and character.upper() in DIGITS + "ABCD":
            event.stop()
            self.press(character.upper())

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        self.press(str(event.button.label))

    def press(self, digit: str) -> None:
        self.sent += digit
        self.query_one("#dtmf-sent", Static).update(self.sent)
        self.post_message(self.Digit(self.call, digit))
