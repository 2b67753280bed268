"""Add or edit an account, starting from a provider preset.

The form shows the preset's own defaults as placeholders (Twilio's realm and 600 s expiry,
Telnyx's host and 180 s, the lab's 127.0.0.1), so an empty field means "the provider's value",
exactly as in config.toml. The provider's rules (softphone.providers) run on every change and
their findings are listed under the form, so a trunk URI typed into a SIP Domain account is
caught before saving. The password goes to the keyring, never to config.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from softphone.config import PROVIDERS, SRTP_MODES, TRANSPORTS, AccountConfig, ConfigError
from softphone.providers import get_preset, validate

EXAMPLES = {  # domain placeholders: what a valid host looks like for each provider
    "twilio-domain": "example.sip.us1.twilio.com",
    "twilio-trunk": "example.pstn.ashburn.twilio.com",
    "telnyx": "sip.telnyx.com",
    "generic": "pbx.example.com",
    "lab": "127.0.0.1",
}
_TEXT = (
    "name",
    "username",
    "domain",
    "expires",
    "caller_id",
    "region",
    "registrar",
    "outbound_proxy",
    "allowed_cidrs",
    "password",
)


@dataclass(frozen=True)
class EditorResult:
    config: AccountConfig
    password: str | None  # None: keep the stored one

    def __repr__(self) -> str:
        return f"EditorResult({self.config!r}, password={'set' if self.password else 'kept'})"


class AccountEditor(ModalScreen[EditorResult | None]):
    """The account form."""

    DEFAULT_CSS = """
    AccountEditor { align: center middle; }
    AccountEditor > VerticalScroll {
        width: 90; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    AccountEditor Grid { grid-size: 2; grid-columns: 18 1fr; grid-rows: 1; grid-gutter: 1 0; }
    AccountEditor Grid { height: auto; }
    AccountEditor Grid Label { padding: 0 0 0 1; }
    AccountEditor #preset-summary { color: $text-muted; padding: 0 1; margin-top: 1; }
    AccountEditor #problems { padding: 1 1 0 1; height: auto; }
    AccountEditor Horizontal { height: auto; align: right middle; }
    AccountEditor Button { margin: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(
        self,
        account: AccountConfig | None = None,
        provider: str = "twilio-domain",
        password_stored: bool = False,
    ) -> None:
        super().__init__()
        self._original = account
        self._provider = account.provider if account is not None else provider
        self._stored = password_stored

    def compose(self) -> ComposeResult:
        a = self._original
        with VerticalScroll():
            yield Label("Edit account" if a else "New account", id="editor-title")
            with Grid():
                yield Label("Provider")
                yield Select(
                    [(f"{p}: {get_preset(p).summary}", p) for p in PROVIDERS],
                    value=self._provider,
                    allow_blank=False,
                    id="provider",
                    compact=True,
                )
                for key, label in (
                    ("name", "Name"),
                    ("username", "User name"),
                    ("domain", "Domain"),
                ):
                    yield Label(label)
                    yield Input(
                        getattr(a, key, None) or "",
                        id=key,
                        disabled=key == "name" and a is not None,
                        compact=True,
                    )
                yield Label("Transport")
                yield Select(
                    [(t, t) for t in TRANSPORTS],
                    value=getattr(a, "transport", None) or Select.NULL,
                    prompt="default",
                    id="transport",
                    compact=True,
                )
                yield Label("SRTP")
                yield Select(
                    [(s, s) for s in SRTP_MODES],
                    value=getattr(a, "srtp", None) or Select.NULL,
                    prompt="default",
                    id="srtp",
                    compact=True,
                )
                for key, label in (
                    ("expires", "Expires (s)"),
                    ("caller_id", "Caller ID"),
                    ("region", "Region"),
                    ("registrar", "Registrar URI"),
                    ("outbound_proxy", "Outbound proxy"),
                    ("allowed_cidrs", "Allowed CIDRs"),
                ):
                    value = getattr(a, key, None) if a is not None else None
                    if key == "allowed_cidrs":
                        value = ", ".join(value or ())
                    yield Label(label)
                    yield Input("" if value is None else str(value), id=key, compact=True)
                yield Label("Password")
                yield Input(password=True, id="password", compact=True)
            yield Static("", id="preset-summary", markup=False)
            yield Static("", id="problems", markup=False)
            with Horizontal():
                yield Button("Cancel (Esc)", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        self._apply_preset()
        self._check()
        focus = "username" if self._original is not None else "name"
        self.query_one(f"#{focus}", Input).focus()

    def _value(self, key: str) -> str:
        return self.query_one(f"#{key}", Input).value.strip()

    def _apply_preset(self) -> None:
        """Placeholders show what an empty field means for this provider."""
        preset = get_preset(self._provider)
        d = preset.defaults(AccountConfig(name="x", provider=self._provider, username="x"))
        holders = {
            "name": "work (letters, digits, - and _)",
            "username": "+14155550100" if self._provider.startswith("twilio") else "alice",
            "domain": d.domain or EXAMPLES[self._provider],
            "expires": f"{d.expires} (provider default)" if d.expires else "no REGISTER",
            "caller_id": "+14155550100 (your number, E.164)",
            "region": "US",
            "registrar": "derived from the domain",
            "outbound_proxy": "none",
            "allowed_cidrs": "trunk only: 54.172.60.0/30, ...",
            "password": "leave empty to keep the stored one" if self._stored else "password",
        }
        for key, text in holders.items():
            self.query_one(f"#{key}", Input).placeholder = text
        self.query_one("#preset-summary", Static).update(
            f"{preset.summary}. Realm {d.realm or 'any'}; "
            + ("registers" if d.register else "no REGISTER (trunk)")
            + (f"; up to {preset.max_devices} devices per user" if preset.max_devices else "")
        )

    def build(self) -> AccountConfig:
        """The account the form describes (ConfigError says which field is wrong)."""
        transport = self.query_one("#transport", Select).value
        srtp = self.query_one("#srtp", Select).value
        expires = self._value("expires")
        if expires and not expires.isdigit():
            raise ConfigError(f"expires: {expires!r}: use a number of seconds", field="expires")
        cidrs = tuple(c.strip() for c in self._value("allowed_cidrs").split(",") if c.strip())
        return AccountConfig(
            name=self._value("name"),
            provider=self._provider,
            username=self._value("username"),
            domain=self._value("domain") or None,
            registrar=self._value("registrar") or None,
            transport=transport if isinstance(transport, str) else None,  # type: ignore[arg-type]
            srtp=srtp if isinstance(srtp, str) else None,  # type: ignore[arg-type]
            expires=int(expires) if expires else None,
            caller_id=self._value("caller_id") or None,
            region=(self._value("region") or "US").upper(),
            outbound_proxy=self._value("outbound_proxy") or None,
            allowed_cidrs=cidrs,
            register=self._original.register if self._original is not None else None,
            realm=self._original.realm if self._original is not None else None,
        )

    def _check(self) -> bool:
        """Show the provider's findings; True when there is no error."""
        try:
            problems = [str(p) for p in validate(self.build())]
            ok = not any(p.startswith("error") for p in problems)
        except ConfigError as exc:
            problems, ok = [f"error: {exc}"], False
        text = "\n".join(problems) if problems else "No problems found."
        self.query_one("#problems", Static).update(text)
        return ok

    @on(Select.Changed, "#provider")
    def _provider_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._provider = event.value
            self._apply_preset()
            self._check()

    @on(Input.Changed)
    @on(Select.Changed, "#transport, #srtp")
    def _changed(self) -> None:
        self._check()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if not self._check():
            self.notify("Fix the errors first", severity="error")
            return
        password = self.query_one("#password", Input).value
        if not password and not self._stored:
            self.notify("Give the password (it goes to the OS keyring)", severity="warning")
            return
        self.dismiss(EditorResult(self.build(), password or None))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
