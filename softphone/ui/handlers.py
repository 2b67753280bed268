"""Engine events → model, screen and notifications (the second layer of SoftphoneApp).

Every handler runs on the UI thread (the bridge posted the event) and is wrapped so that a bug
or an unexpected event becomes a notification instead of ending the app.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on

from softphone.ui.base import PhoneAppBase
from softphone.ui.bridge import BridgeNotice, EngineEvent, EngineReady, TracesPending

if TYPE_CHECKING:
    from softphone.engine.events import CallEvent, Event, RegistrationEvent

TRACE_FLUSH = 0.05  # s: log pane updates at most 20 times a second, whatever the SIP rate
A = TypeVar("A", bound=PhoneAppBase)


def guarded(
    handler: Callable[[A, Any], Awaitable[None]],
) -> Callable[[A, Any], Awaitable[None]]:
    """Turn any exception of a handler into an error notification."""

    @functools.wraps(handler)
    async def run(self: A, message: Any) -> None:
        try:
            await handler(self, message)
        except Exception as exc:
            self.say(f"internal error in {handler.__name__}: {type(exc).__name__}: {exc}", "error")

    return run


class EventHandlers(PhoneAppBase):
    """Engine events."""

    close_delay = 2.0  # s the incoming dialog shows "answered elsewhere" before closing
    _flush_armed = False

    @on(TracesPending)
    @guarded
    async def _traces_pending(self, message: TracesPending) -> None:
        if not self._flush_armed:
            self._flush_armed = True
            self.set_timer(TRACE_FLUSH, self._flush_traces)

    def _flush_traces(self) -> None:
        self._flush_armed = False
        self.flush_traces()

    def flush_traces(self) -> None:
        """Hand what the bridge buffered to the log pane now."""
        batch = self.bridge.take_traces()
        if batch and not self.main.add_traces(batch):
            self.early_traces.extend(batch)  # the pane gets them once it is mounted

    @on(BridgeNotice)
    @guarded
    async def _notice(self, message: BridgeNotice) -> None:
        self.say(message.text, message.severity, timeout=10)

    @on(EngineReady)
    @guarded
    async def _engine_ready(self, message: EngineReady) -> None:
        # libCreate points fd 1/2 at /dev/null for a moment (engine-notes §8) and a frame
        # written then is lost: repaint everything.
        self.refresh(repaint=True, layout=True)
        if message.error is None:
            return
        self.model.engine_state = "failed"
        self.say(f"The phone engine did not start: {message.error}", "error", timeout=30)
        for view in self.model.accounts.values():
            if view.setup in ("ok", "pending"):
                view.setup, view.problem = "refused", f"no engine: {message.error}"
        self.render_state()

    @on(EngineEvent)
    @guarded
    async def _engine_event(self, message: EngineEvent) -> None:
        self.handle_event(message.event)
        name = type(message.event).__name__
        if name == "AudioLevelEvent":  # ~10 a second: only the meters change
            self.main.calls.show_audio(self.model.audio, self.model.level)
        elif name not in ("LogEvent", "DtmfEvent"):
            self.render_state()

    def handle_event(self, event: Event) -> None:
        # Imported here, not at the top: the engine's event classes are not needed for the
        # first frame, and the first event comes after it (start-up time).
        from softphone.engine.events import (
            AudioLevelEvent,
            AudioStateEvent,
            CallEvent,
            DtmfEvent,
            EngineErrorEvent,
            EngineStateEvent,
            IncomingCallEvent,
            LogEvent,
            QualifyEvent,
            RegistrationEvent,
            TransferEvent,
            TransportEvent,
        )

        now = self.clock()
        match event:
            case RegistrationEvent():
                self._registration(event, now)
            case CallEvent():
                self._call(event, now)
            case IncomingCallEvent():
                self.model.on_incoming(event, now)
                self.show_incoming()
            case TransportEvent() if event.error or not event.verify_ok:
                text = event.explanation or event.error or "certificate check failed"
                self.say(f"{event.transport} {event.remote}: {text}", "error", timeout=15)
            case QualifyEvent():
                view = self.model.accounts.get(event.account)
                if view is not None:
                    view.qualify = event
            case DtmfEvent():
                self.say(f"DTMF received: {event.digit}")
            case TransferEvent() if event.final:
                ok = 200 <= event.code < 300
                self.say(f"Transfer: {event.code} {event.reason}", "information" if ok else "error")
            case LogEvent():
                # pjsip's own warnings (a retried RTP port, a stats read on a closing call)
                # are not the user's business: kept for diagnosis, not notified. Failures
                # that matter arrive as their own events (registration, call, transport).
                self.engine_log.append(event)
            case EngineErrorEvent():
                self.say(f"Engine error in {event.where}: {event.message}", "error", timeout=15)
            case EngineStateEvent():
                self.model.engine_state = event.state
                if event.state == "stopped" and not self._quitting:
                    why = f": {event.detail}" if event.detail else ""
                    self.say(f"The phone engine stopped{why}", "error", timeout=30)
            case AudioStateEvent():
                before = self.model.audio
                self.model.audio = event
                if event.state != "active":
                    self.model.level = None
                changed = before is None or before.state != event.state
                if changed and event.state in ("null", "failed"):
                    self.say(
                        event.message, "error" if event.state == "failed" else "warning", timeout=12
                    )
            case AudioLevelEvent():
                self.model.level = event
            case _:
                pass

    def _registration(self, event: RegistrationEvent, now: float) -> None:
        view = self.model.accounts.get(event.account)
        before = view.reg.state if view is not None and view.reg is not None else None
        self.model.on_registration(event, now)
        if event.state == "failed" and before != "failed":
            why = event.explanation or f"{event.code} {event.reason}"
            self.say(f"{event.account}: registration failed: {why}", "error", timeout=15)

    def _call(self, event: CallEvent, now: float) -> None:
        from softphone.ui.dialogs.incoming import IncomingCallDialog

        new = event.call not in self.model.calls
        self.model.on_call(event, now)
        self.record_call(event)
        if new or event.state == "disconnected":
            self.main.dialer.set_recent(self.recent.recent())
        for screen in self.screen_stack:
            if isinstance(screen, IncomingCallDialog) and screen.call == event.call:
                screen.call_changed(event)
        if event.state != "disconnected":
            return
        if event.answered_elsewhere:
            self.say(f"Call from {event.remote} was answered on another device")
        elif event.direction == "out" and event.code >= 300:
            self.say(f"Call to {event.remote} ended: {event.code} {event.reason}", "warning")

    def show_incoming(self) -> None:
        """Open the dialog for the oldest ringing call, unless one is open already."""
        from softphone.ui.dialogs.incoming import IncomingCallDialog

        if any(isinstance(s, IncomingCallDialog) for s in self.screen_stack):
            return
        view = self.model.ringing(skip=self._dialog_shown | self._handled)
        if view is None:
            return
        self._dialog_shown.add(view.handle)  # once per call, whatever the user chose
        self.bell()
        dialog = IncomingCallDialog(
            view.handle,
            view.event.remote,
            view.event.account,
            self.close_delay,
            self.key_of("answer"),
            self.key_of("reject"),
        )

        def chosen(choice: str | None) -> None:
            if choice == "answer":
                self.run_worker(self.answer_call(view.handle))
            elif choice == "reject":
                self.run_worker(self.reject_call(view.handle))
            self.call_later(self.show_incoming)  # the next ringing call, if any

        self.push_screen(dialog, chosen)

    async def answer_call(self, handle: int) -> None:
        self._handled.add(handle)
        await self.bridge.do("answer", lambda e: e.answer(handle))

    async def reject_call(self, handle: int) -> None:
        self._handled.add(handle)
        await self.bridge.do("reject", lambda e: e.reject(handle))
