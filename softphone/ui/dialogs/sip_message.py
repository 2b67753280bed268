"""One SIP message in full: where it went, when, and every header and body line.

Opened from the log pane and the ladder. The text shown is masked like every export (digest
responses never appear on screen either: screenshots get shared), with the start line, header
names and the SDP body coloured so a long INVITE can be read at a glance.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from softphone.sip.ladder import clock, endpoints
from softphone.sip.trace import SipTrace, mask_credentials


def message_text(trace: SipTrace) -> str:
    """The masked message as text (CRLF → LF), as copied to the clipboard."""
    raw = mask_credentials(trace.raw).decode("utf-8", "replace")
    return raw.replace("\r\n", "\n").rstrip("\n")


def describe(trace: SipTrace) -> str:
    src, dst = endpoints(trace)
    way = "sent" if trace.direction == "out" else "received"
    who = f" · {trace.origin}" if trace.origin else ""
    size = f"{len(trace.raw)} bytes"
    return f"{clock(trace.time)} · {way} · {trace.transport} {src} → {dst} · {size}{who}"


def highlighted(trace: SipTrace) -> Text:
    """Start line bold, header names coloured, body dimmed; lines kept as they are."""
    text = Text(no_wrap=False)
    lines = message_text(trace).split("\n")
    in_body = False
    for i, line in enumerate(lines):
        if i == 0:
            text.append(line, style="bold")
        elif in_body:
            text.append(line, style="dim" if not line.startswith("m=") else "")
        elif line == "":
            in_body = True
        else:
            name, colon, value = line.partition(":")
            if colon and not line[0].isspace():
                text.append(name, style="bold cyan")
                text.append(colon + value)
            else:
                text.append(line)
        if i < len(lines) - 1:
            text.append("\n")
    return text


class SipMessageDialog(ModalScreen[None]):
    """The full text of one message."""

    DEFAULT_CSS = """
    SipMessageDialog { align: center middle; }
    SipMessageDialog > Vertical {
        width: 90%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    SipMessageDialog #sip-message-meta { color: $text-muted; height: auto; }
    SipMessageDialog #sip-message-error { color: $error; height: auto; }
    SipMessageDialog VerticalScroll { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="message.close"),
        Binding("q", "close", "Close", show=False, id="message.close_q"),
        Binding("y", "copy", "Copy", id="message.copy"),
    ]

    def __init__(self, trace: SipTrace) -> None:
        super().__init__()
        self.trace = trace

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.trace.summary
            box.border_subtitle = "esc close · y copy"
            yield Static(describe(self.trace), id="sip-message-meta")
            if self.trace.error:
                yield Static(f"not parsed: {self.trace.error}", id="sip-message-error")
            with VerticalScroll():
                yield Static(highlighted(self.trace), id="sip-message-body")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(message_text(self.trace))
        self.notify("message copied (credentials masked)")
