"""The app's state and the helpers every part of it uses (the first layer of SoftphoneApp).

The app is split by concern, each layer a subclass of the one before: base.py (state,
accounts, rendering), handlers.py (engine events), actions.py (what the keys do), app.py
(bindings, screens, start-up). Each file stays small and readable on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from textual.app import App

from softphone.config import AccountConfig, Settings
from softphone.ui import keymap
from softphone.ui.accounts import account_view, stored_password
from softphone.ui.bridge import EngineBridge, EngineFactory
from softphone.ui.model import AccountView, PhoneModel, Setup
from softphone.ui.recent import HistoryRecent, MemoryRecent, RecentNumbers
from softphone.ui.screens.main import MainScreen

if TYPE_CHECKING:
    from softphone.engine.events import CallEvent, LogEvent
    from softphone.history import History
    from softphone.sip.trace import SipTrace

# Traces are kept by the SIP log pane (compact rows the GC does not scan); the app only holds
# the few that arrive before the pane is mounted after the first frame.
Severity = Literal["information", "warning", "error"]


class PhoneAppBase(App[int]):
    """State: settings, the model, the engine bridge, passwords in memory, traces."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: EngineFactory,
        extra_accounts: Sequence[tuple[AccountConfig, str]] = (),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        recent: RecentNumbers | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.clock = clock  # for countdowns and durations (tests fix it)
        self.wall = wall  # for the call history's timestamps
        self.model = PhoneModel()
        self.bridge = EngineBridge(self, engine_factory)
        self.recent: RecentNumbers = recent if recent is not None else MemoryRecent()
        self.history: History | None = None  # opened after the first frame (open_history)
        self._use_history = recent is None
        self.early_traces: list[SipTrace] = []
        self.engine_log: deque[LogEvent] = deque(maxlen=500)  # pjsip warnings, for diagnosis
        # Key overrides are checked once the main screen exists (its widgets define log.* ids).
        self.keys: dict[str, str] = {}
        self.other_keys: list[keymap.OtherKey] = []
        # Passwords live here for this run only (never written anywhere by the UI except the
        # keyring, on request).
        self._passwords: dict[str, str] = {}
        self._dialog_shown: set[int] = set()  # calls whose incoming dialog was opened
        self._handled: set[int] = set()  # incoming calls we answered or rejected
        self._quitting = False
        for config in settings.accounts.values():
            self.model.set_account(account_view(config))
        for config, password in extra_accounts:
            self.model.set_account(account_view(config, lab=True))
            self._passwords[config.name] = password
        for view in self.model.accounts.values():
            if view.setup == "ok":
                view.setup, view.problem = "pending", "looking up the password"

    # -- helpers --------------------------------------------------------------------------

    @property
    def main(self) -> MainScreen:
        screen = self.get_screen("main")
        assert isinstance(screen, MainScreen)
        return screen

    def key_of(self, binding_id: str) -> str:
        """The key a binding answers to now (after overrides), as shown to the user."""
        return keymap.effective_key(keymap.BY_ID[binding_id], self.keys)

    def say(self, text: str, severity: Severity = "information", timeout: float = 6) -> None:
        """A notification; engine text is never parsed as markup (it may contain brackets)."""
        self.notify(text, severity=severity, timeout=timeout, markup=False)

    def render_state(self) -> None:
        """Redraw the panels from the model at the injected clock's time."""
        if not self.is_running:
            return
        main = self.main
        if not main.is_attached:
            return
        main.render_state(self.model, self.clock(), self.key_of)

    def default_account(self) -> str | None:
        wanted = self.settings.default_account
        if wanted in self.model.accounts:
            return wanted
        return next(iter(self.model.accounts), None)

    # -- call history -----------------------------------------------------------------------

    def open_history(self) -> None:
        """The SQLite call history feeds the recent numbers; without it, memory does."""
        if not self._use_history:
            return
        from softphone.history import History, HistoryError

        try:
            self.history = History()
        except HistoryError as exc:
            self.say(f"No call history this time: {exc}", "warning", timeout=15)
            return
        self.recent = HistoryRecent(self.history)
        self.main.dialer.set_recent(self.recent.recent())

    def record_call(self, event: CallEvent) -> None:
        if self.history is None:
            return
        from softphone.history import HistoryError

        try:
            self.history.record(event, self.wall())
        except HistoryError as exc:
            self.history = None  # one notice, not one per event
            self.say(f"Call history stopped: {exc}", "warning", timeout=15)

    # -- accounts ---------------------------------------------------------------------------

    def _lookup_passwords(self) -> dict[str, tuple[str | None, Setup, str]]:
        """Keyring lookups, run in an executor (a D-Bus keyring can take a while)."""
        found: dict[str, tuple[str | None, Setup, str]] = {}
        for name, view in list(self.model.accounts.items()):
            if view.setup != "pending":
                continue
            if name in self._passwords:
                found[name] = (self._passwords[name], "ok", "")
            else:
                found[name] = stored_password(name)
        return found

    async def load_passwords(self) -> None:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self._lookup_passwords)
        for name, (password, setup, problem) in found.items():
            view = self.model.accounts.get(name)
            if view is None:
                continue
            if password is not None:
                self._passwords[name] = password
            view.setup, view.problem = setup, problem
        self.render_state()

    async def start_account(self, view: AccountView) -> None:
        """Hand one ready account to the engine (which registers it if it registers)."""
        password = self._passwords.get(view.name)
        if view.effective is None or password is None or view.setup != "ok":
            return
        from softphone.engine_account import to_engine_account

        try:
            spec = to_engine_account(view.effective, password)
        except ValueError as exc:
            view.setup, view.problem = "refused", str(exc)
            self.render_state()
            return
        if not await self.bridge.do(f"account {view.name}", lambda e: e.add_account(spec)):
            view.setup, view.problem = "refused", "the engine refused it (see the notice)"
        self.render_state()
