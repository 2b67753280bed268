"""What the screen shows, as plain state updated from engine events (no Textual here).

Why a model: the widgets only render it, so what a user sees for a given sequence of events is
testable without a terminal, and time is an argument (`now`, from the app's injected clock):
countdowns and call durations are computed at render time from the moment an event arrived,
which keeps snapshot tests deterministic.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from softphone.config import AccountConfig

if TYPE_CHECKING:
    from softphone.engine.events import (
        AudioLevelEvent,
        AudioStateEvent,
        Binding,
        CallEvent,
        IncomingCallEvent,
        QualifyEvent,
        RegistrationEvent,
    )
    from softphone.providers import EffectiveAccount

# What the accounts panel can say about an account before the engine has anything to say.
Setup = Literal["pending", "ok", "no password", "no keyring", "invalid", "refused"]
ENDED_LINGER = 8.0  # seconds an ended call stays in the list, so its last state can be read


@dataclass
class AccountView:
    """One account row."""

    config: AccountConfig
    effective: EffectiveAccount | None
    setup: Setup = "ok"
    problem: str = ""  # why setup is not "ok", in words
    reg: RegistrationEvent | None = None
    reg_at: float = 0.0  # clock time the RegistrationEvent arrived
    lab: bool = False  # given by the caller (lab), not from config.toml
    qualify: QualifyEvent | None = None  # last OPTIONS ping (trunks)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def registers(self) -> bool:
        return self.effective is not None and self.effective.registrar_uri is not None

    @property
    def tls(self) -> bool:
        return self.effective is not None and self.effective.transport == "tls"

    @property
    def bindings(self) -> tuple[Binding, ...]:
        return self.reg.bindings if self.reg is not None else ()

    def expires_in(self, now: float) -> int | None:
        """Seconds left on the registration, counting down from when the 200 OK came."""
        reg = self.reg
        if reg is None or reg.state != "registered" or not reg.expires:
            return None
        return max(0, int(reg.expires - (now - self.reg_at)))

    def retry_in(self, now: float) -> int | None:
        reg = self.reg
        if reg is None or reg.retry_in is None:
            return None
        return max(0, int(reg.retry_in - (now - self.reg_at)))


@dataclass
class CallView:
    """One call row: the last CallEvent and when it came."""

    event: CallEvent
    at: float
    ended_at: float | None = None

    @property
    def handle(self) -> int:
        return self.event.call

    @property
    def live(self) -> bool:
        return self.event.state != "disconnected"

    def duration(self, now: float) -> float:
        e = self.event
        if e.state in ("confirmed", "held"):
            return e.duration + max(0.0, now - self.at)
        return e.duration


@dataclass
class PhoneModel:
    """All accounts and calls the UI knows about."""

    accounts: dict[str, AccountView] = field(default_factory=dict)
    calls: dict[int, CallView] = field(default_factory=dict)
    engine_state: str = "starting"
    audio: AudioStateEvent | None = None  # the sound devices (None: no sound bridge)
    level: AudioLevelEvent | None = None  # meters while a call's audio runs

    def set_account(self, view: AccountView) -> None:
        old = self.accounts.get(view.name)
        if old is not None and view.reg is None:
            view = replace(view, reg=old.reg, reg_at=old.reg_at)
        self.accounts[view.name] = view

    def on_registration(self, event: RegistrationEvent, now: float) -> AccountView | None:
        view = self.accounts.get(event.account)
        if view is None:
            return None
        view.reg, view.reg_at = event, now
        return view

    def on_call(self, event: CallEvent, now: float) -> CallView:
        view = self.calls.get(event.call)
        if view is None:
            view = self.calls[event.call] = CallView(event, now)
        else:
            view.event, view.at = event, now
        if event.state == "disconnected" and view.ended_at is None:
            view.ended_at = now
        return view

    def on_incoming(self, event: IncomingCallEvent, now: float) -> CallView:
        """An incoming call appears in the list at once, before its first CallEvent."""
        from softphone.engine.events import CallEvent

        call = CallEvent(
            call=event.call,
            account=event.account,
            direction="in",
            remote=event.remote,
            request_uri=event.request_uri,
            state="incoming",
            code=180,
            reason="Ringing",
            call_id=event.call_id,
        )
        return self.calls.get(event.call) or self.on_call(call, now)

    def expire_ended(self, now: float) -> bool:
        """Drop calls that ended more than ENDED_LINGER ago; True if any went."""
        gone = [h for h, c in self.calls.items() if c.ended_at and now - c.ended_at > ENDED_LINGER]
        for handle in gone:
            del self.calls[handle]
        return bool(gone)

    def ringing(self, skip: Collection[int] = ()) -> CallView | None:
        """The oldest incoming call still ringing (not counting the calls in `skip`)."""
        for view in self.calls.values():
            if view.handle in skip:
                continue
            if view.event.direction == "in" and view.event.state == "incoming":
                return view
        return None

    def live_calls(self) -> list[CallView]:
        return [c for c in self.calls.values() if c.live]
