"""SoftphoneApp: bindings, screens, themes and start-up (the last layer; see base.py).

Start-up order keeps the first frame fast (issue target: ≤ 0.35 s from process start): the
main screen is drawn from config.toml alone; then, off the event loop, the passwords are read
from the keyring and the engine is created and started (pjsua2 is imported only then), and the
accounts are handed to it.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.screen import Screen

from softphone.config import ConfigError, save_settings
from softphone.ui import keymap, theming
from softphone.ui.accounts import account_view, save_password
from softphone.ui.actions import PhoneActions
from softphone.ui.lifeline import Lifeline, terminal_fd
from softphone.ui.screens.main import MainScreen
from softphone.ui.screens.parts import PROBLEMS, ladder_class

if TYPE_CHECKING:  # screens other than the main one load when first opened (start-up time)
    from softphone.audio.devices import AudioUnavailable, DeviceList
    from softphone.ui.screens.account_editor import EditorResult
    from softphone.ui.screens.settings import SettingsResult


AFTER_FIRST_FRAME = 0.03  # s between the first frame and loading the parts it does not show


class SoftphoneApp(PhoneActions):
    """The softphone TUI. Construct with Settings and an engine factory (see run.run_tui)."""

    BINDINGS = keymap.bindings()  # type: ignore[assignment]
    TITLE = "softphone"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        *args: Any,
        title: str | None = None,
        theme_dirs: Iterable[Path] | None = None,
        on_ready: Callable[[SoftphoneApp], None] | None = None,
        start_engine: bool = True,
        audio_devices: Callable[[], DeviceList | AudioUnavailable] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._audio_devices = audio_devices
        if title:
            self.title = title
        self._on_ready_hook = on_ready
        self._lifeline: Lifeline | None = None
        self._start_engine = start_engine
        self.themes = theming.load_themes(
            theming.theme_dirs() if theme_dirs is None else theme_dirs
        )
        for theme in self.themes.themes.values():
            self.register_theme(theme)
        # Here, not in on_mount: a theme set once widgets exist restyles all of them again
        # (a full CSS refresh, about a third of the time to the first frame).
        self.theme = self.themes.choose(self.settings.theme)

    async def on_mount(self) -> None:
        self.install_screen(MainScreen(), "main")
        await self.push_screen("main")
        self.main.dialer.set_accounts(
            {n: v.config for n, v in self.model.accounts.items()}, self.default_account()
        )
        self.render_state()

    async def _after_first_frame(self) -> None:
        """What the first frame does not need: the SIP log pane and the ladder (with their key
        ids), the key overrides (checked against every binding id), recent numbers, notices,
        then the keyring, the engine and the accounts."""
        await self.main.mount_log_pane()
        if self.early_traces:  # traces that came before the pane
            self.main.add_traces(self.early_traces)
            self.early_traces = []
        classes = {type(node) for node in self.main.walk_children()} | {ladder_class()}
        self.other_keys = keymap.other_keys(classes)
        self.keys, key_problems = keymap.check_overrides(
            self.settings.keys, {k.id for k in self.other_keys}
        )
        self.set_keymap(self.keys)
        self.main.dialer.set_recent(self.recent.recent())
        self.render_state()  # the hints name the keys, which may have changed
        for problem in (self.themes.notice(), *key_problems, *self.settings.warnings, *PROBLEMS):
            if problem:
                self.say(problem, "warning", timeout=15)
        self.set_interval(1.0, self._tick)
        if self._start_engine:
            self.run_worker(self._start_up(), name="start-up", exit_on_error=False)

    def on_ready(self) -> None:
        """After the first frame: keyring, engine, accounts."""
        # Start-up objects live as long as the app: keep the collector off them (fewer and
        # shorter pauses while SIP messages stream in), and on again if start-up turned it off.
        gc.freeze()
        gc.enable()
        # Textual writes the first frame as an update of the widgets it saw change, and the
        # calls panel's border was seen missing from it: repaint the whole screen once, then
        # leave the loop free for a moment to write it before the work below blocks it.
        # (The engine's start imports pjsua2 in a thread, which holds the interpreter lock long
        # enough to delay that repaint too, so it starts after as well.)
        self.refresh()
        self.set_timer(AFTER_FIRST_FRAME, self._after_first_frame)
        if not self.is_headless:  # tests run headless: their signals are pytest's
            self._lifeline = Lifeline(self._quit_on_request)
            self._lifeline.start(terminal_fd())
        if self._on_ready_hook is not None:
            self._on_ready_hook(self)

    async def _start_up(self) -> None:
        self.open_history()
        await self.load_passwords()
        if await self.bridge.start():
            for view in list(self.model.accounts.values()):
                await self.start_account(view)

    def _tick(self) -> None:
        self.model.expire_ended(self.clock())
        self.render_state()

    # -- quitting -------------------------------------------------------------------------

    def _quit_on_request(self) -> None:
        """A signal or a lost terminal: quit the way the quit key does."""
        self.run_worker(self.action_quit(), name="quit", exit_on_error=False)

    async def action_quit(self) -> None:
        """Hang up, unregister, stop the engine, then leave (the UI stays live meanwhile)."""
        if self._quitting:
            return
        self._quitting = True
        if self.bridge.running:
            self.say("Hanging up and unregistering…", timeout=30)
            await self.bridge.stop()
        if self._lifeline is not None:
            self._lifeline.stop()
        self.exit(0)

    # -- screens ---------------------------------------------------------------------------

    def action_help(self) -> None:
        from softphone.ui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen(self.keys, self.other_keys))

    def action_settings(self) -> None:
        from softphone.ui.screens.settings import SettingsScreen

        if isinstance(self.screen, SettingsScreen):
            return
        screen = SettingsScreen(
            self.settings, self.available_themes, self.theme, self.keys, self.list_audio_devices()
        )
        self.push_screen(screen, self._settings_saved)

    def list_audio_devices(self) -> DeviceList | AudioUnavailable:
        """The sound devices to choose from (PortAudio, through softphone.audio)."""
        from softphone.audio.devices import AudioUnavailable, list_devices

        try:
            return (self._audio_devices or list_devices)()
        except Exception as exc:  # a broken PortAudio must not keep the settings closed
            return AudioUnavailable(f"No audio devices: {exc}")

    async def _switch_audio(self, input: str | None, output: str | None, ring: str | None) -> None:
        """New devices apply at once, also mid-call (the sound bridge reopens its streams)."""
        await self.bridge.send("audio devices", lambda e: e.set_audio_devices(input, output, ring))

    def _settings_saved(self, result: SettingsResult | None) -> None:
        if result is None:
            return
        audio = result.audio
        if audio != self.settings.audio and self.bridge.running:
            self.run_worker(self._switch_audio(audio.input, audio.output, audio.ring))
        # The settings screen edits our bindings; overrides of other widgets' (log.*) stay.
        keys = {k: v for k, v in self.keys.items() if k not in keymap.BY_ID} | result.keys
        self.settings = replace(self.settings, theme=result.theme, audio=result.audio, keys=keys)
        self.theme = result.theme
        self.keys = keys
        self.set_keymap(keys)
        self.render_state()
        self._save_config("Settings")

    def action_new_account(self) -> None:
        from softphone.ui.screens.account_editor import AccountEditor

        self.push_screen(AccountEditor(), self._account_saved)

    def action_edit_account(self) -> None:
        from softphone.ui.screens.account_editor import AccountEditor

        view = self.model.accounts.get(self.main.accounts.selected or "")
        if view is None:
            self.action_new_account()
        elif view.lab:
            self.say(f"{view.name} belongs to this lab run and is not stored", "warning")
        else:
            stored = view.name in self._passwords or view.setup == "ok"
            self.push_screen(
                AccountEditor(view.config, password_stored=stored), self._account_saved
            )

    def _account_saved(self, result: EditorResult | None) -> None:
        if result is not None:
            self.run_worker(self._apply_account(result), exit_on_error=False)

    async def _apply_account(self, result: EditorResult) -> None:
        config = result.config
        self.settings = self.settings.with_account(config)
        if not self._save_config(f"Account {config.name}"):
            return
        if result.password:
            self._passwords[config.name] = result.password
            problem = await asyncio.get_running_loop().run_in_executor(
                None, save_password, config.name, result.password
            )
            if problem:
                self.say(f"{config.name}: password kept for this run only: {problem}", "warning")
        if config.name in self.model.accounts and self.bridge.running:
            await self.bridge.do(f"account {config.name}", lambda e: e.remove_account(config.name))
        view = account_view(config)
        if view.setup == "ok" and config.name not in self._passwords:
            view.setup, view.problem = "pending", "looking up the password"
        self.model.accounts.pop(config.name, None)
        self.model.set_account(view)
        self.main.dialer.set_accounts(
            {n: v.config for n, v in self.model.accounts.items()}, self.default_account()
        )
        if view.setup == "pending":
            await self.load_passwords()
        elif view.setup == "ok":
            await self.start_account(view)
        self.render_state()

    def _save_config(self, what: str) -> bool:
        try:
            path = save_settings(self.settings)
        except ConfigError as exc:
            self.say(f"{what} not saved: {exc}", "error", timeout=20)
            return False
        self.say(f"{what} saved to {path}")
        return True

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for spec in keymap.KEYS:
            if spec.palette:
                yield SystemCommand(
                    spec.label,
                    f"{spec.description} — {self.key_of(spec.id)}",
                    partial(self.run_action, spec.action),
                )
        yield from super().get_system_commands(screen)
