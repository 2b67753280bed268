"""The incoming-call dialog.

It closes by itself when the call stops ringing. When another device on the same AOR answered
first, the proxy CANCELs our leg with `Reason: SIP;cause=200` (RFC 3326; Twilio and our lab
send "Call completed elsewhere"): the dialog then says "Answered elsewhere" for a moment
instead of vanishing, so the user knows it was not a dropped or missed call.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from softphone.engine.events import CallEvent

Choice = str  # "answer", "reject" or "" (closed without a choice)


class IncomingCallDialog(ModalScreen[Choice]):
    """Answer or reject one ringing call."""

    DEFAULT_CSS = """
    IncomingCallDialog { align: center middle; }
    IncomingCallDialog > Vertical {
        width: 60; height: auto; border: thick $accent; background: $surface; padding: 1 2;
    }
    IncomingCallDialog #incoming-title { text-style: bold; color: $accent; }
    IncomingCallDialog #incoming-remote { text-style: bold; margin: 1 0 0 0; }
    IncomingCallDialog #incoming-status { color: $text-muted; margin: 1 0; }
    IncomingCallDialog Horizontal { height: auto; align: center middle; }
    IncomingCallDialog Button { margin: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_quietly", "Leave ringing")]

    def __init__(
        self,
        call: int,
        remote: str,
        account: str,
        close_delay: float = 2.0,
        answer_key: str = "",
        reject_key: str = "",
    ) -> None:
        super().__init__()
        self.call = call
        self._remote = remote
        self._account = account
        self._close_delay = close_delay
        self._keys = (answer_key, reject_key)
        self.closing = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Incoming call", id="incoming-title")
            yield Static(self._remote, id="incoming-remote", markup=False)
            yield Static(f"to {self._account}", id="incoming-status", markup=False)
            with Horizontal():
                answer, reject = self._keys
                yield Button(f"Answer {answer}".strip(), id="answer", variant="success")
                yield Button(f"Reject {reject}".strip(), id="reject", variant="error")

    def on_mount(self) -> None:
        self.query_one("#answer", Button).focus()

    @on(Button.Pressed, "#answer")
    def _answer(self) -> None:
        self.dismiss("answer")

    @on(Button.Pressed, "#reject")
    def _reject(self) -> None:
        self.dismiss("reject")

    def action_dismiss_quietly(self) -> None:
        self.dismiss("")

    def call_changed(self, event: CallEvent) -> None:
        """Follow the call: close when it is answered here, ended, or answered elsewhere."""
        if self.closing or event.state in ("incoming", "early"):
            return
        if event.state != "disconnected":  # answered here (maybe by a key on another screen)
            self.closing = True
            self.dismiss("")
            return
        self.closing = True
        title = self.query_one("#incoming-title", Label)
        status = self.query_one("#incoming-status", Static)
        if event.answered_elsewhere:
            title.update("Answered elsewhere")
            status.update("another device on this account took the call")
        else:
            title.update("Missed call")
            status.update(f"the caller hung up ({event.code} {event.reason})".strip())
        for button in self.query(Button):
            button.disabled = True
        self.set_timer(self._close_delay, self._close)

    def _close(self) -> None:
        # Not a lambda: a timer awaits what its callback returns, and awaiting dismiss()
        # from the screen's own handler is an error.
        if self.is_current:
            self.dismiss("")
        else:  # another screen is on top (help, settings): close when it is gone
            self.set_timer(0.5, self._close)
