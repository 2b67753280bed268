"""What the pjsua2 subclasses (accounts, calls) need from the engine core.

A Protocol, so account.py and call.py do not import the core (no import cycle) and the
contract between them is written down in one place. Everything here runs on the engine thread.
"""

from __future__ import annotations

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

    def drain_traces(self) -> None:
        """Parse the SIP messages pjsua logged so far (feeds the dialog watcher, emits traces).
        Call it before reading the watcher."""

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
