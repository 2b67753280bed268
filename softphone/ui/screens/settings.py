"""Settings: theme, audio devices, key bindings; saved to config.toml.

Keys are edited by binding id, the same ids `[settings.keys]` uses, and checked with the same
rules as at start-up (keymap.check_overrides), so what is saved is what the next start uses.
Audio device names are free text because the sound layer resolves them (an unknown name falls
back to the system default there); empty means the system default.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from softphone.config import AudioSettings, Settings
from softphone.ui import keymap


@dataclass(frozen=True)
class SettingsResult:
    theme: str
    audio: AudioSettings
    keys: dict[str, str]  # overrides only (keys equal to the default are dropped)


class SettingsScreen(ModalScreen[SettingsResult | None]):
    """Theme, audio, keys."""

    DEFAULT_CSS = """
    SettingsScreen { align: center middle; }
    SettingsScreen > VerticalScroll {
        width: 84; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    SettingsScreen Grid { grid-size: 2; grid-columns: 22 1fr; grid-rows: 1; grid-gutter: 1 0; }
    SettingsScreen Grid { height: auto; }
    SettingsScreen Grid Label { padding: 0 0 0 1; }
    SettingsScreen #keys-grid { grid-size: 4; grid-columns: 14 1fr 14 1fr; }
    SettingsScreen .section { text-style: bold; color: $accent; padding: 1 0 0 1; }
    SettingsScreen #settings-problems { color: $error; padding: 0 1; height: auto; }
    SettingsScreen Horizontal { height: auto; align: right middle; }
    SettingsScreen Button { margin: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(
        self, settings: Settings, themes: Iterable[str], current_theme: str, keys: dict[str, str]
    ) -> None:
        super().__init__()
        self._settings = settings
        self._themes = sorted(themes)
        self._theme = current_theme
        self._keys = keys

    def compose(self) -> ComposeResult:
        audio = self._settings.audio
        with VerticalScroll():
            yield Label("Settings", classes="section")
            with Grid():
                yield Label("Theme")
                yield Select(
                    [(t, t) for t in self._themes],
                    value=self._theme,
                    allow_blank=False,
                    id="theme",
                    compact=True,
                )
                for key, label in (
                    ("input", "Microphone"),
                    ("output", "Speaker / headset"),
                    ("ring", "Ring device"),
                ):
                    yield Label(label)
                    yield Input(
                        getattr(audio, key) or "",
                        placeholder="system default",
                        id=f"audio-{key}",
                        compact=True,
                    )
            yield Label("Keys (binding id: key)", classes="section")
            with Grid(id="keys-grid"):
                for spec in keymap.KEYS:
                    yield Label(spec.id)
                    yield Input(
                        keymap.effective_key(spec, self._keys),
                        placeholder=spec.key,
                        id=f"key-{spec.id}",
                        tooltip=spec.description,
                        compact=True,
                    )
            yield Static("", id="settings-problems", markup=False)
            with Horizontal():
                yield Button("Cancel (Esc)", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#theme", Select).focus()

    @on(Select.Changed, "#theme")
    def _preview_theme(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in self.app.available_themes:
            self.app.theme = event.value  # live preview; Cancel puts the old one back

    def result(self) -> tuple[SettingsResult, list[str]]:
        theme = self.query_one("#theme", Select).value
        audio = AudioSettings(
            **{
                k: self.query_one(f"#audio-{k}", Input).value.strip() or None
                for k in ("input", "output", "ring")
            }
        )
        wanted = {}
        for spec in keymap.KEYS:
            key = self.query_one(f"#key-{spec.id}", Input).value.strip()
            if key and key != spec.key:
                wanted[spec.id] = key
        keys, problems = keymap.check_overrides(wanted)
        name = theme if isinstance(theme, str) else self._theme
        return SettingsResult(name, audio, keys), problems

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        result, problems = self.result()
        if problems:
            self.query_one("#settings-problems", Static).update("\n".join(problems))
            return
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.app.theme = self._theme
        self.dismiss(None)
