"""What the pjsua2 subclasses (accounts, calls) need from the engine core.

A Protocol, so account.py and call.py do not import the core (no import cycle) and the
contract between them is written down in one place. Everything here runs on the engine thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from softphone.engine.dialogs import DialogWatcher
from softphone.engine.events import Event
from softphone.engine.media import AudioBridge


class Host(Protocol):
    endpoint: Any  # the pj.Endpoint
    watcher: DialogWatcher
    audio: AudioBridge | None

    def emit(self, event: Event) -> None:
        """Hand an event to the sink (never raises)."""

    def later(self, work: Callable[[], None]) -> None:
        """Run `work` (publishing a state event) once SIP has settled, right after the traces
        of the messages logged until now: keeps Python work out of pjsip's challenge/answer
        path, and the event still sees the dialog state of its own moment. Everything that
        publishes call or registration state goes through here, so those events keep their
        order."""

    def run_later(self) -> None:
        """Publish everything put off so far now, interleaved with the traces; then read the
        rest of the traces (the watcher is then up to date)."""

    def report(self, where: str, exc: BaseException) -> None:
        """Turn an exception caught in a callback into an EngineErrorEvent."""

    def adopt_call(self, call: Any) -> None:
        """Register a new call (gives it a handle) so commands can find it."""

    def call_ended(self, call: Any) -> None:
        """A call reached DISCONNECTED: drop it after the current callback returns."""

    def discard(self, obj: Any) -> None:
        """Drop a pjsua2 object on the next loop turn (never inside its own callback)."""

    def account_of(self, name: str) -> Any:
        """The EngineAcc named `name` (EngineCommandError if there is none)."""

    def tls_note(self) -> str | None:
        """The explanation of the last failed TLS certificate check, if any."""
