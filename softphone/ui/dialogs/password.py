"""Ask for an account's password.

The password goes to the engine for this run and, if the box is ticked, to the OS keyring;
never to a file. With no usable keyring the box is off and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static


@dataclass(frozen=True)
class PasswordAnswer:
    password: str
    save: bool

    def __repr__(self) -> str:  # never show the password, even in a debugger or a log
        return f"PasswordAnswer(save={self.save})"


class PasswordDialog(ModalScreen[PasswordAnswer | None]):
    """Password prompt for one account."""

    DEFAULT_CSS = """
    PasswordDialog { align: center middle; }
    PasswordDialog > Vertical {
        width: 64; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    PasswordDialog #password-why { color: $text-muted; margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, account: str, username: str, why: str, keyring_ok: bool) -> None:
        super().__init__()
        self._account = account
        self._username = username
        self._why = why
        self._keyring_ok = keyring_ok

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"SIP password for {self._account} ({self._username})", markup=False)
            yield Static(self._why, id="password-why", markup=False)
            yield Input(password=True, id="password-input", placeholder="password")
            label = (
                "Save it in the OS keyring"
                if self._keyring_ok
                else ("Save it in the OS keyring (no keyring here: for this run only)")
            )
            box = Checkbox(label, value=self._keyring_ok, id="password-save")
            box.disabled = not self._keyring_ok
            yield box

    def on_mount(self) -> None:
        self.query_one("#password-input", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value:
            save = self.query_one("#password-save", Checkbox).value
            self.dismiss(PasswordAnswer(event.value, save))

    def action_cancel(self) -> None:
        self.dismiss(None)
