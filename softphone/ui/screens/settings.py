"""Settings: theme, audio devices, key bindings; saved to config.toml.

Keys are edited by binding id, the same ids `[settings.keys]` uses, and checked with the same
rules as at start-up (keymap.check_overrides), so what is saved is what the next start uses.
Audio devices are picked from the ones PortAudio lists (softphone.audio.list_devices), as the
names [settings.audio] stores; a saved name that is not plugged in now stays a choice, because
the sound layer matches names loosely and the device may come back. Without any usable device
the fields are free text and the reason is shown. Empty means the system default.
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

from softphone.audio.devices import AudioUnavailable, DeviceList
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
    SettingsScreen #audio-reason { color: $text-muted; padding: 0 1; }
    SettingsScreen #settings-problems { color: $error; padding: 0 1; height: auto; }
    SettingsScreen Horizontal { height: auto; align: right middle; }
    SettingsScreen Button { margin: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        themes: Iterable[str],
        current_theme: str,
        keys: dict[str, str],
        devices: DeviceList | AudioUnavailable | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._themes = sorted(themes)
        self._theme = current_theme
        self._keys = keys
        self._devices = devices

    def _device_field(self, key: str) -> Input | Select[str]:
        current = getattr(self._settings.audio, key) or None
        devices = self._devices
        if not isinstance(devices, DeviceList):
            return Input(
                current or "", placeholder="system default", id=f"audio-{key}", compact=True
            )
        usable = devices.inputs if key == "input" else devices.outputs
        names = [d.name for d in usable]
        if current and current not in names:
            names.append(current)  # unplugged now; the sound layer may find it again
        return Select(
            [(n, n) for n in names],
            value=current or Select.NULL,
            prompt="system default",
            id=f"audio-{key}",
            compact=True,
        )

    def compose(self) -> ComposeResult:
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
                    yield self._device_field(key)
            reason = getattr(self._devices, "reason", None)
            if reason:
                yield Static(reason, id="audio-reason", markup=False)
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
        chosen: dict[str, str | None] = {}
        for k in ("input", "output", "ring"):
            field = self.query_one(f"#audio-{k}")
            value = field.value if isinstance(field, Input | Select) else None
            chosen[k] = value.strip() or None if isinstance(value, str) else None
        audio = AudioSettings(**chosen)
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
