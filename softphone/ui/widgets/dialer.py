"""The dialer: type a number or SIP address, see what will be dialled, dial.

The typed text is never rewritten while typing (rewriting moves the cursor and makes deleting
a bracket impossible); instead a preview shows the number formatted the way it is written in
the account's region, and the exact Request-URI the INVITE will carry (numbers.dial_uri, the
same function the call path uses), or in words why it cannot be dialled: a Twilio trunk
refusing a national number says so before a 400 comes back.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static

from softphone.config import AccountConfig
from softphone.ui.widgets.dialpad import AccountChooser, DialPad
from softphone.ui.widgets.palette import styled


def preview(text: str, account: AccountConfig | None) -> tuple[str, str | None, str | None]:
    """(formatted number, final URI or None, why not or None) for the typed `text`."""
    if not text.strip():
        return "", None, None
    if account is None:
        return text, None, "no account to dial from"
    from softphone.numbers import NumberError, as_you_type, dial_uri  # phonenumbers: on first use

    formatted = as_you_type(text, account.region)
    try:
        return formatted, dial_uri(text, account), None
    except NumberError as exc:
        return formatted, None, str(exc)


class Dialer(Vertical):
    """Account choice, number input, preview, dial pad, recent numbers."""

    DEFAULT_CSS = """
    Dialer { border: round $primary; height: 1fr; }
    Dialer #dial-preview { height: auto; min-height: 2; max-height: 4; padding: 0 1; }
    Dialer #dial-bottom { height: 1fr; min-height: 4; }
    Dialer #recent-box { width: 1fr; }
    Dialer #recent { height: 1fr; border: none; }
    Dialer #recent-label { color: $text-muted; }
    """

    class DialRequested(Message):
        """The user asked to dial `target` from `account`."""

        def __init__(self, target: str, account: str | None) -> None:
            super().__init__()
            self.target = target
            self.account = account

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Dial"
        self._accounts: dict[str, AccountConfig] = {}

    def compose(self) -> ComposeResult:
        yield AccountChooser(id="dial-account")
        yield Input(placeholder="number or sip:user@host", id="dial-input")
        yield Static("", id="dial-preview")
        with Horizontal(id="dial-bottom"):
            yield DialPad(id="pad")
            with Vertical(id="recent-box"):
                yield Label("Recent", id="recent-label")
                # The list itself is mounted with the first recent numbers, after the first
                # frame (they come from the history, which is opened then).

    # -- what the app feeds in ------------------------------------------------------------

    def set_accounts(self, accounts: Mapping[str, AccountConfig], default: str | None) -> None:
        """The accounts one can dial from; keeps the current choice when it still exists."""
        self._accounts = dict(accounts)
        chooser = self.query_one(AccountChooser)
        chooser.set_names(list(accounts), (chooser.value, default))
        self._update_preview()

    def set_recent(self, targets: list[str]) -> None:
        found = self.query("#recent")
        if found:
            recent = found.first(OptionList)
        else:
            box = self.query_one("#recent-box")
            if not box.is_attached:  # the app is closing
                return
            recent = OptionList(id="recent")
            box.mount(recent)
        recent.clear_options()
        recent.add_options(targets)

    @property
    def account(self) -> str | None:
        return self.query_one(AccountChooser).value

    @property
    def text(self) -> str:
        return self.query_one("#dial-input", Input).value

    def clear(self) -> None:
        self.query_one("#dial-input", Input).value = ""

    def focus_input(self) -> None:
        self.query_one("#dial-input", Input).focus()

    def request_dial(self) -> None:
        """Post DialRequested for what is typed (the app checks and dials)."""
        self.post_message(self.DialRequested(self.text, self.account))

    # -- events ---------------------------------------------------------------------------

    @on(Input.Changed, "#dial-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._update_preview()

    @on(AccountChooser.Changed)
    def _account_changed(self, event: AccountChooser.Changed) -> None:
        event.stop()
        self._update_preview()

    @on(Input.Submitted, "#dial-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.request_dial()

    @on(DialPad.Pressed)
    def _pad(self, event: DialPad.Pressed) -> None:
        event.stop()
        field = self.query_one("#dial-input", Input)
        field.insert_text_at_cursor(event.key)

    @on(OptionList.OptionSelected, "#recent")
    def _recent(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        field = self.query_one("#dial-input", Input)
        field.value = str(event.option.prompt)
        field.cursor_position = len(field.value)
        field.focus()

    def _update_preview(self) -> None:
        account = self._accounts.get(self.account or "")
        formatted, uri, problem = preview(self.text, account)
        out = Text(end="")
        if formatted:
            out.append(formatted, style="bold")
        out.append("\n")
        if uri is not None:
            out.append_text(styled(self.app, f"→ {uri}", "success"))
        elif problem is not None:
            out.append_text(styled(self.app, problem, "warning"))
        self.query_one("#dial-preview", Static).update(out)
