"""The transfer dialog: where to send the call (blind transfer, REFER, RFC 3515).

The target is read like the dialer reads a number (numbers.dial_uri with the call's account),
so "+1 415 555 0100", "bob" and "sip:bob@host" all work, and the final Refer-To URI is shown
before anything is sent.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from softphone.config import AccountConfig
from softphone.ui.widgets.dialer import preview


class TransferDialog(ModalScreen[str]):
    """Returns the Refer-To URI, or "" when cancelled."""

    DEFAULT_CSS = """
    TransferDialog { align: center middle; }
    TransferDialog > Vertical {
        width: 64; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    TransferDialog #transfer-preview { height: auto; min-height: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, remote: str, account: AccountConfig | None) -> None:
        super().__init__()
        self._remote = remote
        self._account = account
        self._uri: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Transfer {self._remote} to:", markup=False)
            yield Input(placeholder="number or sip:user@host", id="transfer-target")
            yield Static("", id="transfer-preview", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        _, self._uri, problem = preview(event.value, self._account)
        text = f"→ {self._uri}" if self._uri else (problem or "")
        self.query_one("#transfer-preview", Static).update(text)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        if self._uri:
            self.dismiss(self._uri)

    def action_cancel(self) -> None:
        self.dismiss("")
