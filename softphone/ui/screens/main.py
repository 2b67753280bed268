"""The main screen: accounts and dialer on the left, calls on the right, SIP log below.

It only lays out and renders; what the keys do lives in the app (actions.py), so the same
actions work from the command palette and from any screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Static

from softphone.ui.model import PhoneModel

if TYPE_CHECKING:
    from softphone.sip.trace import SipTrace
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
    MainScreen #log-area { height: 30%; min-height: 6; }
    MainScreen #log-area > * { height: 1fr; }
    MainScreen #siplog-slot { border: round $secondary; }
    MainScreen CallsPanel { border: round $primary; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            with Vertical(id="left"):
                yield AccountsPanel(id="accounts")
                yield Dialer(id="dialer")
            yield CallsPanel(id="calls")
        with Vertical(id="log-area"):
            # The real pane (and the SIP parser and ladder modules it needs) is mounted just
            # after the first frame: it is empty until the engine runs anyway, and loading it
            # first would cost a tenth of the start-up budget.
            slot = Static("", id="siplog-slot")
            slot.border_title = "SIP log"
            yield slot
        yield Footer()

    async def mount_log_pane(self) -> Widget:
        """Put the SIP log pane in place of its placeholder (once)."""
        found = self.query("#siplog")
        if found:
            return found.first()
        pane = sip_log_pane("siplog")
        await self.query_one("#log-area").mount(pane)
        await self.query_one("#siplog-slot").remove()
        return pane

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
    def siplog(self) -> Widget | None:
        found = self.query("#siplog")
        return found.first() if found else None

    def render_state(self, model: PhoneModel, now: float, key_of: Callable[[str], str]) -> None:
        self.accounts.show(model, now, key_of("register"), key_of("new_account"))
        self.calls.show(model, now, key_of("dial"))
        self.calls.show_audio(model.audio, model.level)

    def add_traces(self, traces: Sequence[SipTrace]) -> bool:
        """Hand traces to the log pane; False while it is not mounted yet."""
        add = getattr(self.siplog, "add_traces", None)
        if add is None:
            return False
        add(traces)
        return True
