"""The accounts panel: one row per account, and the details of the highlighted one.

A row says what a VoIP engineer checks first: is it registered (or why not, in words), how long
until the binding expires, over what transport (a lock for TLS), and how many devices the
registrar lists for the AOR (every Contact of the 200 OK, RFC 3261 §10.3 step 8). Twilio rings
at most 10 devices per user name (seed 000), so the count shows against that limit.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from softphone.ui.model import AccountView, PhoneModel
from softphone.ui.widgets.palette import styled

LOCK = "🔒"


def clock_text(seconds: float) -> str:
    """m:ss, or h:mm:ss from an hour on."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def state_of(view: AccountView, now: float) -> tuple[str, str]:
    """(short state, theme colour name) for the state column."""
    if view.setup == "invalid":
        return "✗ invalid config", "error"
    if view.setup in ("no password", "no keyring"):
        return view.setup, "warning"
    if view.setup == "refused":
        return "✗ not started", "error"
    if view.setup == "pending":
        return "starting…", "foreground-muted"
    reg = view.reg
    if not view.registers:
        q = view.qualify
        if q is None:
            return "trunk, no REGISTER", "accent"
        if q.reachable and q.rtt_ms is not None:
            return f"✓ trunk, {q.rtt_ms:.0f} ms", "success"
        return (f"✓ trunk, {q.code}", "success") if q.reachable else ("✗ trunk: no answer", "error")
    if reg is None or reg.state == "registering":
        return "registering…", "foreground-muted"
    if reg.state == "registered":
        return "✓ registered", "success"
    if reg.state == "retrying":
        left = view.retry_in(now)
        when = f" in {clock_text(left)}" if left is not None else ""
        return f"↻ retry{when}", "warning"
    if reg.state == "failed":
        return f"✗ failed {reg.code}", "error"
    return "unregistered", "foreground-muted"


def detail_of(view: AccountView, now: float, register_key: str) -> str:
    """Plain lines about one account: address, registrar, why it is not registered, devices."""
    lines: list[str] = []
    e = view.effective
    if e is not None:
        lab = "  (lab account, this run only)" if view.lab else ""
        lines.append(f"{e.id_uri}  via {e.registrar_uri or e.outbound_proxy or e.domain}{lab}")
    if view.setup in ("no password", "no keyring"):
        lines.append(f"{view.problem}: press {register_key} to give the password")
    elif view.setup != "ok":
        lines.append(view.problem)
    elif view.reg is not None and view.reg.state in ("failed", "retrying"):
        reg = view.reg
        lines.append(
            f"{reg.code} {reg.reason}: {reg.explanation}"
            if reg.explanation
            else f"{reg.code} {reg.reason}"
        )
    if view.bindings:
        # Where each device is (the Contact's host:port); the instance ids are in the SIP log.
        where = ", ".join(_contact_host(b.contact) for b in view.bindings)
        lines.append(f"devices on the AOR: {where}")
    return "\n".join(lines)


def _contact_host(contact: str) -> str:
    """'<sip:alice@192.0.2.10:5060;ob>' -> '192.0.2.10:5060'."""
    text = contact.strip().strip("<>")
    text = text.split(";", 1)[0].split(">", 1)[0]
    return text.rsplit("@", 1)[-1].removeprefix("sip:").removeprefix("sips:")


class AccountsPanel(Vertical):
    """Accounts table + details."""

    DEFAULT_CSS = """
    AccountsPanel { height: auto; max-height: 50%; border: round $primary; }
    AccountsPanel > DataTable { height: auto; max-height: 10; overflow-x: hidden; }
    AccountsPanel > #account-detail { color: $text-muted; height: auto; max-height: 4; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Accounts"
        self._model: PhoneModel | None = None
        self._now = 0.0
        self._keys = ("ctrl+r", "ctrl+n")

    def compose(self) -> ComposeResult:
        table: DataTable[Text | str] = DataTable(id="accounts-table", cursor_type="row")
        table.add_column("Account", key="name")
        table.add_column("State", key="state")
        table.add_column("Expires", key="expires")
        table.add_column("Via", key="transport")
        table.add_column("Devices", key="devices")
        yield table
        yield Static("No accounts: press ctrl+n to add one.", id="account-detail")

    @property
    def table(self) -> DataTable[Text | str]:
        return self.query_one("#accounts-table", DataTable)

    @property
    def selected(self) -> str | None:
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def show(self, model: PhoneModel, now: float, register_key: str, new_key: str) -> None:
        """Re-render every row (a handful of accounts: cheaper than diffing)."""
        self._model, self._now, self._keys = model, now, (register_key, new_key)
        table = self.table
        selected = self.selected
        table.clear()
        app = self.app
        for name, view in model.accounts.items():
            state, colour = state_of(view, now)
            left = view.expires_in(now)
            expires = clock_text(left) if left is not None else "—"
            e = view.effective
            transport = e.transport.upper() if e else "—"
            if view.tls:
                transport = f"{LOCK} {transport}"
            devices = self._devices(view)
            table.add_row(
                styled(app, name, None, bold=True),
                styled(app, state, colour),
                expires,
                transport,
                devices,
                key=name,
            )
        if selected in model.accounts:
            table.move_cursor(row=table.get_row_index(selected))
        self._show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def _show_detail(self) -> None:
        model = self._model
        current = model.accounts.get(self.selected or "") if model is not None else None
        detail = self.query_one("#account-detail", Static)
        if current is None:
            detail.update(f"No accounts: press {self._keys[1]} to add one.")
        else:
            detail.update(Text(detail_of(current, self._now, self._keys[0])))

    def _devices(self, view: AccountView) -> Text | str:
        if view.reg is None or view.reg.state != "registered":
            return "—"
        count = len(view.bindings)
        limit = view.effective.max_devices if view.effective else None
        if limit:
            colour = "warning" if count >= limit else None
            return styled(self.app, f"{count}/{limit}", colour)
        return str(count)
