"""The main screen: accounts and dialer on the left, calls on the right, SIP log below.

It only lays out and renders; what the keys do lives in the app (actions.py), so the same
actions work from the command palette and from any screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header

from softphone.sip.trace import SipTrace
from softphone.ui.model import PhoneModel
from softphone.ui.screens.parts import sip_log_pane
from softphone.ui.widgets.accounts_panel import AccountsPanel
from softphone.ui.widgets.calls_panel import CallsPanel
from softphone.ui.widgets.dialer import Dialer


class MainScreen(Screen[None]):
    """Accounts, dialer, calls, SIP log."""

    AUTO_FOCUS = "#dial-input"
    DEFAULT_CSS = """
    MainScreen #top { height: 1fr; }
    MainScreen #left { width: 47%; min-width: 40; }
    MainScreen #siplog { height: 30%; min-height: 6; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            with Vertical(id="left"):
                yield AccountsPanel(id="accounts")
                yield Dialer(id="dialer")
            yield CallsPanel(id="calls")
        yield sip_log_pane("siplog")
        yield Footer()

    @property
    def accounts(self) -> AccountsPanel:
        return self.query_one(AccountsPanel)

    @property
    def calls(self) -> CallsPanel:
        return self.query_one(CallsPanel)

    @property
    def dialer(self) -> Dialer:
        return self.query_one(Dialer)

    @property
    def siplog(self) -> Widget:
        return self.query_one("#siplog")

    def render_state(self, model: PhoneModel, now: float, key_of: Callable[[str], str]) -> None:
        self.accounts.show(model, now, key_of("register"), key_of("new_account"))
        self.calls.show(model, now, key_of("dial"))

    def add_traces(self, traces: Sequence[SipTrace]) -> None:
        add = getattr(self.siplog, "add_traces", None)
        if add is not None:
            add(traces)
