"""The ladder screen (sngrep's call flow): call list, ladder, message, diagnosis, exports.

Opened for one Call-ID, or for every call merged with a call list to pick from. The header
says what the call is and, when it failed, why, in one line (sip.diagnosis). The selected
arrow's message is shown beside the ladder; Enter opens it full screen. Exports (pcap, text,
Mermaid) go to the data directory at once, or anywhere through the export dialog; a
notification says where. Every key has an id (ladder.*) for the user's keymap.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from softphone import paths
from softphone.sip.diagnosis import diagnose
from softphone.sip.export import to_mermaid, to_pcap, to_text
from softphone.sip.ladder import CallInfo, Flow, build_flow, calls, clock
from softphone.sip.trace import SipTrace
from softphone.ui.dialogs.export_flow import ExportFlowDialog
from softphone.ui.dialogs.sip_message import SipMessageDialog, describe, highlighted
from softphone.ui.widgets.ladder import LadderView

ALL = "\x00all"  # the call list's "every call" entry (no Call-ID can contain NUL)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_name(call_id: str | None, ext: str, now: float) -> str:
    stem = "all-calls" if call_id is None else "call-" + _UNSAFE.sub("_", call_id)[:48]
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}.{ext}"


class LadderScreen(Screen[None]):
    """Ladder of one call (`call_id`) or of all calls (None, with a call list)."""

    DEFAULT_CSS = """
    LadderScreen #ladder-title { height: 1; background: $panel; padding: 0 1; }
    LadderScreen #ladder-diagnosis { height: auto; color: $text-error; text-style: bold;
        padding: 0 1; display: none; }
    LadderScreen #ladder-diagnosis.-shown { display: block; }
    LadderScreen #ladder-body { height: 1fr; }
    LadderScreen #ladder-calls { width: 54; display: none; }
    LadderScreen #ladder-calls.-shown { display: block; }
    LadderScreen LadderView { width: 1fr; }
    LadderScreen #ladder-preview { width: 38%; border-left: solid $secondary; padding: 0 1; }
    LadderScreen #ladder-preview.-hidden { display: none; }
    LadderScreen #ladder-preview-meta { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="ladder.close"),
        Binding("enter", "open", "Open message", id="ladder.open"),
        Binding("p", "export('pcap')", "Save pcap", id="ladder.export_pcap"),
        Binding("t", "export('txt')", "Save text", id="ladder.export_text"),
        Binding("m", "export('mmd')", "Save Mermaid", id="ladder.export_mermaid"),
        Binding("e", "export_as", "Export as…", id="ladder.export_as"),
        Binding("c", "toggle_calls", "Calls", id="ladder.calls"),
        Binding("a", "all_calls", "All calls", show=False, id="ladder.all"),
        Binding("r", "toggle_preview", "Message", show=False, id="ladder.preview"),
    ]

    def __init__(
        self,
        traces: Sequence[SipTrace],
        call_id: str | None,
        *,
        export_dir: Path | None = None,
        clock_now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.traces = list(traces)
        self.call_id = call_id
        self.export_dir = export_dir
        self._now = clock_now
        self.calls: list[CallInfo] = calls(self.traces)
        self._by_call: dict[str, list[SipTrace]] = {}
        for trace in self.traces:
            if trace.parsed is not None:
                self._by_call.setdefault(trace.parsed.call_id, []).append(trace)
        self._diagnoses: dict[str, str | None] = {}
        self.flow = Flow(call_id, (), ())
        self.diagnosis: str | None = None
        self.last_export: Path | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="ladder-title")
        yield Static(id="ladder-diagnosis")
        with Horizontal(id="ladder-body"):
            yield OptionList(id="ladder-calls")
            yield LadderView(id="ladder")
            with VerticalScroll(id="ladder-preview"):
                yield Static(id="ladder-preview-meta")
                yield Static(id="ladder-preview-body")
        yield Footer()

    def on_mount(self) -> None:
        options = [Option(f"All calls merged ({len(self.traces)} messages)", id=ALL)]
        for info in self.calls:
            mark = "✗" if self._diagnosis_of(info.call_id) is not None else " "
            to_user = info.to_user.split("@")[0]
            text = (
                f"{mark} {clock(info.start)[:8]} {info.method:<8.8} {to_user:<14.14} {info.state}"
            )
            options.append(Option(text, id=info.call_id))
        call_list = self.query_one("#ladder-calls", OptionList)
        call_list.add_options(options)
        if self.call_id is None:  # the call list takes the message's room (r shows it)
            call_list.add_class("-shown")
            self.query_one("#ladder-preview").add_class("-hidden")
        self.show_call(self.call_id)
        ids = [ALL, *(c.call_id for c in self.calls)]
        call_list.highlighted = ids.index(self.call_id) if self.call_id in ids else 0
        self.query_one(LadderView).focus()

    def _diagnosis_of(self, call_id: str) -> str | None:
        if call_id not in self._diagnoses:
            self._diagnoses[call_id] = diagnose(self._by_call.get(call_id, ()), self._now())
        return self._diagnoses[call_id]

    # --- what is shown -------------------------------------------------------------------

    def show_call(self, call_id: str | None) -> None:
        """Show one call's flow, or every call merged (None)."""
        self.call_id = call_id
        self.flow = build_flow(self.traces, call_id)
        self.diagnosis = self._diagnosis_of(call_id) if call_id else None
        info = next((c for c in self.calls if c.call_id == call_id), None)
        if info is not None:
            title = (
                f"{info.method} {info.from_user} → {info.to_user} · {info.messages} messages · "
                f"{info.state} · Call-ID {info.call_id}"
            )
        else:
            failed = sum(self._diagnosis_of(c.call_id) is not None for c in self.calls)
            title = f"All calls merged · {len(self.calls)} calls · {len(self.flow.arrows)} messages"
            title += f" · {failed} failed (pick one in the list for the reason)" if failed else ""
        self.query_one("#ladder-title", Static).update(title)
        box = self.query_one("#ladder-diagnosis", Static)
        box.update(f"⚠ {self.diagnosis}" if self.diagnosis else "")
        box.set_class(self.diagnosis is not None, "-shown")
        self.query_one(LadderView).show(self.flow)

    def on_ladder_view_selected(self, event: LadderView.Selected) -> None:
        meta = self.query_one("#ladder-preview-meta", Static)
        body = self.query_one("#ladder-preview-body", Static)
        if event.arrow is None:
            meta.update("no messages")
            body.update("")
            return
        trace = event.arrow.trace
        retrans = " · retransmission" if event.arrow.retransmission else ""
        meta.update(describe(trace) + retrans)
        body.update(highlighted(trace))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        wanted = None if event.option.id in (None, ALL) else event.option.id
        if wanted != self.call_id or not self.flow.arrows:
            self.show_call(wanted)

    # --- actions -------------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss(None)

    def action_open(self) -> None:
        arrow = self.query_one(LadderView).arrow
        if arrow is not None:
            self.app.push_screen(SipMessageDialog(arrow.trace))

    def action_toggle_calls(self) -> None:
        self.query_one("#ladder-calls").toggle_class("-shown")

    def action_toggle_preview(self) -> None:
        self.query_one("#ladder-preview").toggle_class("-hidden")

    def action_all_calls(self) -> None:
        self.show_call(None)

    def default_paths(self) -> dict[str, Path]:
        folder = self.export_dir if self.export_dir is not None else paths.data_dir() / "exports"
        now = self._now()
        return {ext: folder / export_name(self.call_id, ext, now) for ext in ("pcap", "txt", "mmd")}

    def action_export(self, fmt: str) -> None:
        self.export(fmt, self.default_paths()[fmt])

    def action_export_as(self) -> None:
        def chosen(answer: tuple[str, Path] | None) -> None:
            if answer is not None:
                self.export(*answer)

        self.app.push_screen(ExportFlowDialog(self.default_paths()), chosen)

    def export(self, fmt: str, path: Path) -> Path | None:
        """Write the shown flow as pcap/txt/mmd to `path`; notify where (or why not)."""
        if fmt == "pcap":
            data = to_pcap(self.flow.traces)
        elif fmt == "txt":
            data = to_text(self.flow, self.diagnosis).encode("utf-8")
        else:
            data = to_mermaid(self.flow, self.diagnosis).encode("utf-8")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            self.notify(f"could not save {path}: {exc.strerror or exc}", severity="error")
            return None
        self.last_export = path
        what = {"pcap": "pcap", "txt": "text", "mmd": "Mermaid"}[fmt]
        self.notify(f"saved {what} of {len(self.flow.arrows)} messages to {path}")
        return path
