"""Ask where to export a ladder: format and file path (prefilled with the default path)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

FORMATS = (("pcap (Wireshark, sngrep, tshark)", "pcap"), ("text", "txt"), ("Mermaid", "mmd"))


class ExportFlowDialog(ModalScreen[tuple[str, Path] | None]):
    """Returns (format extension, path) or None."""

    DEFAULT_CSS = """
    ExportFlowDialog { align: center middle; }
    ExportFlowDialog > Vertical {
        width: 80; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    ExportFlowDialog Input, ExportFlowDialog Select { margin-bottom: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(self, default_for: dict[str, Path], fmt: str = "pcap") -> None:
        super().__init__()
        self.default_for = default_for
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Export the ladder (credentials masked)"
            yield Label("Format")
            yield Select(FORMATS, value=self.fmt, allow_blank=False, id="export-format")
            yield Label("File")
            yield Input(str(self.default_for[self.fmt]), id="export-path")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        path_input = self.query_one("#export-path", Input)
        new = str(event.value)
        # Follow the format in the suggested path unless the user typed their own.
        if path_input.value == str(self.default_for.get(self.fmt, "")):
            path_input.value = str(self.default_for[new])
        self.fmt = new

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.notify("give a file name", severity="warning")
            return
        self.dismiss((self.fmt, Path(text).expanduser()))

    def action_cancel(self) -> None:
        self.dismiss(None)
