"""A minimal SIP log, used only until the real pane (widgets/siplog.py) is installed.

The main screen imports `SipLogPane` from widgets/siplog.py, which is written separately; this
stand-in has the same contract (add_traces, OpenLadder) so the app runs and its tests pass
before that file exists. One line per message; no filtering, search or colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import RichLog

from softphone.sip.trace import SipTrace


class SipLogPane(Widget):
    """Stand-in SIP log pane."""

    DEFAULT_CSS = """
    SipLogPane { border: round $secondary; height: 12; }
    SipLogPane > RichLog { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open_ladder", "Ladder", show=False)]

    class OpenLadder(Message):
        """The user wants the ladder of `call_id` (None: all calls)."""

        def __init__(self, call_id: str | None) -> None:
            super().__init__()
            self.call_id = call_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "SIP log"
        self.can_focus = True

    def compose(self) -> ComposeResult:
        yield RichLog(max_lines=2000, markup=False, wrap=False)

    def add_traces(self, traces: Sequence[SipTrace]) -> None:
        log = self.query_one(RichLog)
        for trace in traces:
            when = datetime.fromtimestamp(trace.time, UTC).strftime("%H:%M:%S.%f")[:-3]
            arrow = "→" if trace.direction == "out" else "←"
            log.write(f"{when} {arrow} {trace.remote:<21} {trace.transport} {trace.summary}")

    def action_open_ladder(self) -> None:
        self.post_message(self.OpenLadder(None))
