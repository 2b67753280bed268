"""The help screen: every key binding with its id (for [settings.keys]) and what it does.

Generated from keymap.KEYS with the user's overrides applied, so it can never disagree with
what the keys really do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from softphone.ui import keymap

TIPS = (
    "Enter in the dialer dials; Tab moves between panels; arrows pick a call or an account.",
    'Remap a key by its id in config.toml, e.g. [settings.keys] hold = "f12" (or in Settings).',
    "The command palette (ctrl+p) runs every action by name.",
)


def key_table(overrides: Mapping[str, str], others: Sequence[keymap.OtherKey] = ()) -> Table:
    """Our keys, then the other widgets' (SIP log pane), each with its id for remapping."""
    table = Table(box=None, pad_edge=False, expand=True)
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Id", no_wrap=True)
    table.add_column("What it does")
    rows = [(s.id, keymap.effective_key(s, overrides), s.description) for s in keymap.KEYS]
    if others:
        rows.append(("", "", ""))
        rows += [(o.id, overrides.get(o.id, o.key), o.description) for o in others]
    for binding_id, key, description in rows:
        changed = Text(" (remapped)", style="italic") if binding_id in overrides else ""
        table.add_row(Text(key) + changed, binding_id, description)
    return table


class HelpScreen(ModalScreen[None]):
    """Keys and tips."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; height: auto; max-height: 90%; border: thick $primary;
        background: $surface; padding: 1 2;
    }
    HelpScreen #help-tips { color: $text-muted; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "app.pop_screen", "Close")]

    def __init__(
        self, overrides: Mapping[str, str], others: Sequence[keymap.OtherKey] = ()
    ) -> None:
        super().__init__()
        self._overrides = dict(overrides)
        self._others = list(others)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("softphone keys", style="bold"))
            yield Static(key_table(self._overrides, self._others), id="help-keys")
            yield Static("\n".join(TIPS), id="help-tips", markup=False)
