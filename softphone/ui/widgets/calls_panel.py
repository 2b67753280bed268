"""The calls list: every call with its state, duration, codec and whether media is encrypted.

States are worded the way a user thinks of them ("ringing on 3 devices", "on hold", "answered
elsewhere") rather than pjsua's INVITE-session states. A forked outgoing call counts its early
dialogs (distinct To tags, RFC 3261 §12.1.2) as devices ringing; an incoming call CANCELled with
Reason: SIP;cause=200 (RFC 3326) was answered on another device, which is not a missed call.
Ended calls stay a few seconds so their final status can be read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from softphone.ui.model import CallView, PhoneModel
from softphone.ui.widgets.accounts_panel import LOCK, clock_text
from softphone.ui.widgets.palette import styled

if TYPE_CHECKING:
    from softphone.engine.events import AudioLevelEvent, AudioStateEvent, CallEvent


def call_state(e: CallEvent) -> tuple[str, str | None]:
    """(state in words, theme colour name)."""
    flags = " · muted" if e.muted else ""
    if e.state == "incoming":
        return "ringing (incoming)", "accent"
    if e.state == "calling":
        return "calling…", None
    if e.state == "early":
        devices = f": {e.devices_ringing} devices" if e.devices_ringing > 1 else ""
        return f"ringing{devices}", "accent"
    if e.state == "connecting":
        return "connecting…", None
    if e.state == "held" or e.hold is not None:
        who = "held by remote" if e.hold == "remote" else "on hold"
        return who + flags, "warning"
    if e.state == "confirmed":
        return "connected" + flags, "success"
    if e.answered_elsewhere:
        return "answered elsewhere", "foreground-muted"
    status = f" {e.code} {e.reason}".rstrip() if e.code else ""
    return f"ended{status}", "foreground-muted"


def short_remote(remote: str) -> str:
    """What to show of a remote party: the display name if any, else user@host without the
    scheme and parameters ('"Bob" <sip:bob@h;transport=tls>' -> 'Bob')."""
    text = remote.strip()
    if text.startswith('"') and '"' in text[1:]:
        return text[1 : text.index('"', 1)]
    if "<" in text and not text.startswith("<"):
        return text[: text.index("<")].strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1 : text.index(">")]
    for scheme in ("sips:", "sip:", "tel:"):
        if text.lower().startswith(scheme):
            text = text[len(scheme) :]
            break
    text = text.split(";", 1)[0]
    user, at, _host = text.partition("@")
    # A phone number says who it is without the host (it is the account's domain anyway).
    if at and user.lstrip("+").isdigit():
        return user
    return text


def media_of(e: CallEvent) -> str:
    if e.state not in ("confirmed", "held"):
        return "—"
    return f"{LOCK} SRTP" if e.srtp_suite else "RTP"


def detail_of(e: CallEvent) -> str:
    """The selected call's SIP and media facts: URI, Call-ID, RTP counters (RFC 3550 §6.4)."""
    parts = [e.account, e.remote if e.direction == "in" else e.request_uri]
    if e.call_id:
        parts.append(f"Call-ID {e.call_id}")
    if e.srtp_suite:
        parts.append(e.srtp_suite)
    stats = e.rtp
    if stats is not None:
        rtt = f", RTT {stats.rtt_ms:.0f} ms" if stats.rtt_ms is not None else ""
        parts.append(
            f"RTP rx {stats.rx_packets} ({stats.rx_lost} lost, jitter "
            f"{stats.rx_jitter_ms:.1f} ms), tx {stats.tx_packets}{rtt}"
        )
    return " · ".join(parts)


def meter(value: float, width: int = 5) -> str:
    """A level 0..1 as a bar of `width` cells."""
    filled = round(max(0.0, min(1.0, value)) * width)
    return "▮" * filled + "▯" * (width - filled)


def audio_line(state: AudioStateEvent | None, level: AudioLevelEvent | None) -> str:
    """'🔊 USB Headset · mic ▮▮▮▯▯ spk ▮▮▯▯▯', or the sound layer's sentence when it has no
    device; empty without a sound bridge."""
    if state is None:
        return ""
    if state.state in ("null", "failed"):
        return state.message
    line = f"🔊 {state.output or 'default device'}"
    if level is not None and state.state == "active":
        line += f" · mic {meter(level.input)} spk {meter(level.output)}"
    return line


class CallsPanel(Vertical):
    """Calls table; actions apply to the highlighted call."""

    DEFAULT_CSS = """
    CallsPanel { border: round $primary; height: 1fr; }
    CallsPanel > DataTable { height: 1fr; overflow-x: hidden; }
    CallsPanel > #calls-hint { color: $text-muted; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Calls"
        self._model: PhoneModel | None = None
        self._now = 0.0
        self._dial_key = "ctrl+g"

    def compose(self) -> ComposeResult:
        table: DataTable[Text | str] = DataTable(id="calls-table", cursor_type="row")
        # Fixed widths for the long texts: the table must fit without a horizontal scrollbar.
        columns: tuple[tuple[str, str, int | None], ...] = (
            ("", "dir", 1),
            ("Remote", "remote", 15),
            ("State", "state", 18),
            ("Time", "time", None),
            ("Media", "media", None),
            ("Codec", "codec", None),
        )
        for label, key, width in columns:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static("", id="calls-hint")

    @property
    def table(self) -> DataTable[Text | str]:
        return self.query_one("#calls-table", DataTable)

    @property
    def selected(self) -> int | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(str(key.value)) if key.value is not None else None

    def show(self, model: PhoneModel, now: float, dial_key: str) -> None:
        self._model, self._now, self._dial_key = model, now, dial_key
        table = self.table
        selected = self.selected
        table.clear()
        app = self.app
        for handle, view in model.calls.items():
            e = view.event
            state, colour = call_state(e)
            table.add_row(
                "→" if e.direction == "out" else "←",
                styled(app, short_remote(e.remote), None, bold=view.live),
                styled(app, state, colour),
                clock_text(view.duration(now)) if self._timed(view) else "—",
                media_of(e),
                e.codec or "—",
                key=str(handle),
            )
        if selected is not None and selected in model.calls:
            table.move_cursor(row=table.get_row_index(str(selected)))
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        hint = self.query_one("#calls-hint", Static)
        model = self._model
        view = model.calls.get(self.selected or -1) if model is not None else None
        if view is None:
            hint.update(f"No calls. Type a number in the dialer, Enter or {self._dial_key} dials.")
            return
        hint.update(Text(detail_of(view.event)))

    def show_audio(self, state: AudioStateEvent | None, level: AudioLevelEvent | None) -> None:
        """The sound devices in the panel's bottom border, with meters during a call."""
        self.border_subtitle = audio_line(state, level)

    @staticmethod
    def _timed(view: CallView) -> bool:
        return view.event.state in ("confirmed", "held") or view.event.duration > 0
