"""What the keys and palette commands do (the third layer of SoftphoneApp).

Call actions apply to the highlighted call, or, when none is highlighted, to the one call that
makes sense (the ringing one to answer, the only live one otherwise), so a one-call user never
has to move a cursor. Every engine command goes through the bridge: a failure is a notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from softphone.ui.handlers import EventHandlers, guarded
from softphone.ui.model import CallView
from softphone.ui.screens.parts import ladder_screen
from softphone.ui.widgets.dialer import Dialer

if TYPE_CHECKING:  # the dialogs load when first opened (start-up time)
    from softphone.sip.trace import SipTrace
    from softphone.ui.dialogs.dtmf import DtmfDialog
    from softphone.ui.dialogs.password import PasswordAnswer


class PhoneActions(EventHandlers):
    """Call and account actions."""

    def target_call(self) -> CallView | None:
        """The highlighted live call, else the most recent live one."""
        selected = self.main.calls.selected
        view = self.model.calls.get(selected) if selected is not None else None
        if view is not None and view.live:
            return view
        live = self.model.live_calls()
        return live[-1] if live else None

    def _need_call(self, what: str) -> CallView | None:
        view = self.target_call()
        if view is None:
            self.say(f"No call to {what}", "warning")
        return view

    # -- calls ------------------------------------------------------------------------------

    def action_dial(self) -> None:
        self.main.dialer.request_dial()

    async def on_dialer_dial_requested(self, message: Dialer.DialRequested) -> None:
        await self.dial(message.target, message.account)

    async def dial(self, target: str, account_name: str | None) -> int | None:
        """Check, dial, remember. Returns the call handle, or None (with a notice)."""
        view = self.model.accounts.get(account_name or "")
        if view is None:
            self.say(f"No account to dial from: add one ({self.key_of('new_account')})", "warning")
            return None
        from softphone.numbers import NumberError, dial_uri

        try:
            uri = dial_uri(target, view.config)
        except NumberError as exc:
            self.say(str(exc), "warning")
            return None
        handle = await self.bridge.send("dial", lambda e: e.make_call(view.name, uri))
        if handle is not None:
            self.recent.add(target.strip())
            dialer = self.main.dialer
            dialer.clear()
            dialer.set_recent(self.recent.recent())
        return handle

    def ringing_call(self) -> CallView | None:
        """The highlighted ringing call, else the oldest one not answered or rejected yet."""
        selected = self.target_call()
        if (
            selected is not None
            and selected.event.state == "incoming"
            and selected.handle not in self._handled
        ):
            return selected
        return self.model.ringing(skip=self._handled)

    async def action_answer(self) -> None:
        from softphone.ui.dialogs.incoming import IncomingCallDialog

        if isinstance(self.screen, IncomingCallDialog):
            self.screen.dismiss("answer")  # its callback answers
            return
        view = self.ringing_call()
        if view is None:
            self.say("No ringing call to answer", "warning")
            return
        await self.answer_call(view.handle)

    async def action_reject(self) -> None:
        from softphone.ui.dialogs.incoming import IncomingCallDialog

        if isinstance(self.screen, IncomingCallDialog):
            self.screen.dismiss("reject")
            return
        view = self.ringing_call()
        if view is None:
            self.say("No ringing call to reject", "warning")
            return
        await self.reject_call(view.handle)

    async def action_hangup(self) -> None:
        view = self._need_call("hang up")
        if view is not None:
            await self.bridge.do("hang up", lambda e: e.hangup(view.handle))

    async def action_hold(self) -> None:
        view = self._need_call("hold")
        if view is None:
            return
        if view.event.hold == "local" or view.event.state == "held":
            await self.bridge.do("resume", lambda e: e.unhold(view.handle))
        else:
            await self.bridge.do("hold", lambda e: e.hold(view.handle))

    async def action_mute(self) -> None:
        view = self._need_call("mute")
        if view is not None:
            on = not view.event.muted
            await self.bridge.do("mute", lambda e: e.mute(view.handle, on))

    def action_dtmf(self) -> None:
        view = self._need_call("send DTMF on")
        if view is not None:
            from softphone.ui.dialogs.dtmf import DtmfDialog

            self.push_screen(DtmfDialog(view.handle, view.event.remote))

    @guarded
    async def on_dtmf_dialog_digit(self, message: DtmfDialog.Digit) -> None:
        await self.bridge.do("DTMF", lambda e: e.send_dtmf(message.call, message.digit))

    def action_transfer(self) -> None:
        view = self._need_call("transfer")
        if view is None:
            return
        account = self.model.accounts.get(view.event.account)
        config = account.config if account is not None else None

        def chosen(uri: str | None) -> None:
            if uri:
                self.run_worker(self.bridge.do("transfer", lambda e: e.transfer(view.handle, uri)))

        from softphone.ui.dialogs.transfer import TransferDialog

        self.push_screen(TransferDialog(view.event.remote, config), chosen)

    def action_ladder(self) -> None:
        selected = self.main.calls.selected
        view = self.model.calls.get(selected) if selected is not None else None
        call_id = view.event.call_id or None if view is not None else None
        self.push_screen(ladder_screen(self.traces_for(call_id), call_id))

    def on_sip_log_pane_open_ladder(self, message: Any) -> None:
        """The log pane asks for a ladder (its `l`/`L` keys): the messages it gives, else
        every message this run has seen."""
        message.stop()
        traces = tuple(getattr(message, "traces", ()) or self.traces_for(message.call_id))
        self.push_screen(ladder_screen(traces, message.call_id))

    def traces_for(self, call_id: str | None) -> tuple[SipTrace, ...]:
        """One call's messages (or the recent ones of all calls) from the log pane's store.

        The pane applies traces in batches (at most every 50 ms, behind the bridge's own
        batch): what arrived just before the ladder opens is applied first, so the ladder
        shows every message seen so far, not those of the last repaint."""
        self.flush_traces()
        pane = self.main.siplog
        flush = getattr(pane, "flush", None)
        if flush is not None:
            flush()
        traces = getattr(pane, "traces", None)
        if traces is None:
            return tuple(self.early_traces)
        return tuple(traces(call_id))

    def action_focus_dialer(self) -> None:
        self.main.dialer.focus_input()

    # -- accounts ---------------------------------------------------------------------------

    async def action_register(self) -> None:
        name = self.main.accounts.selected
        view = self.model.accounts.get(name or "")
        if view is None:
            self.say("No account selected", "warning")
            return
        if view.setup in ("no password", "no keyring"):
            self.ask_password(view.name)
        elif view.setup == "ok" and view.registers:
            await self.bridge.do(f"register {view.name}", lambda e: e.register(view.name))
        else:
            self.say(f"{view.name}: {view.problem or 'does not register'}", "warning")

    def ask_password(self, name: str) -> None:
        view = self.model.accounts[name]
        keyring_ok = view.setup != "no keyring"

        def given(answer: PasswordAnswer | None) -> None:
            if answer is not None:
                self.run_worker(self.use_password(name, answer))

        from softphone.ui.dialogs.password import PasswordDialog

        dialog = PasswordDialog(name, view.config.username, view.problem, keyring_ok)
        self.push_screen(dialog, given)

    async def use_password(self, name: str, answer: PasswordAnswer) -> None:
        from softphone.ui.accounts import save_password

        view = self.model.accounts.get(name)
        if view is None:
            return
        self._passwords[name] = answer.password
        if answer.save:
            problem = save_password(name, answer.password)
            if problem:
                self.say(
                    f"{name}: not saved in the keyring ({problem}); using it for this run",
                    "warning",
                )
        view.setup, view.problem = "ok", ""
        await self.start_account(view)
