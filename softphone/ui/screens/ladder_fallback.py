"""A plain list of the messages of one call, used only until screens/ladder.py exists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.trace import SipTrace


def _call_id(trace: SipTrace) -> str | None:
    msg = trace.parsed
    if isinstance(msg, SipRequest | SipResponse):
        return msg.headers.get("call-id")
    return None


class LadderScreen(Screen[None]):
    """Stand-in ladder: one line per message."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, traces: Sequence[SipTrace], call_id: str | None) -> None:
        super().__init__()
        self._traces = [t for t in traces if call_id is None or _call_id(t) == call_id]
        self._call_id = call_id

    def compose(self) -> ComposeResult:
        yield Static(f"Messages of {self._call_id or 'all calls'}")
        yield RichLog(markup=False, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        log = self.query_one(RichLog)
        for t in self._traces:
            arrow = "→" if t.direction == "out" else "←"
            log.write(f"{t.local} {arrow} {t.remote}  {t.summary}")
