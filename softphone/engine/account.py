"""One account: a pj.Account subclass for registration, inbound calls and OPTIONS qualify.

Registration is pjsua's own state machine (refresh at granted expiry − 5 s, digest on 401/407,
automatic 423 Min-Expires handling in pjsip_regc, retries after 408/5xx/transport failures;
engine-notes §7). This class only observes it and says in plain words what happened, with the
bindings of the 200 OK (RFC 3261 §10.3: the registrar lists every contact of the AOR).

Inbound INVITEs are checked against the account's IP ACL before anything else: a refused
source gets 403 at once and no CallEvent (pjsua has already sent 100 Trying; §6).

pjsua2 has no qualify feature, but `Account.sendRequest` sends an out-of-dialog request with
the account's route set and reports its final response in `onSendRequest` (pjsua_acc.c
pjsua_acc_send_request); OPTIONS through it is the qualify (RFC 3261 §11).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from softphone.engine.call import EngineCall
from softphone.engine.events import (
    Binding,
    IncomingCallEvent,
    LogEvent,
    QualifyEvent,
    RegistrationEvent,
)
from softphone.engine.explain import explain_registration, will_retry
from softphone.engine.host import Host
from softphone.engine.pjconfig import with_transport
from softphone.engine.types import EngineAccount
from softphone.sip.address import NameAddr
from softphone.sip.errors import SipParseError
from softphone.sip.message import SipMessage, SipResponse, parse_message
from softphone.sip.uri import SipUri, parse_uri

PJSIP_TLS_ECERTVERIF = 171173


def parse_bindings(message: SipMessage | None) -> tuple[Binding, ...]:
    """The Contact list of a REGISTER 200 OK, with each binding's expiry and instance id."""
    if message is None:
        return ()
    try:
        contacts = message.contacts
    except SipParseError:
        return ()
    if not isinstance(contacts, list):
        return ()
    default = message.expires
    return tuple(_binding(c, default) for c in contacts)


def _binding(contact: NameAddr, default: int | None) -> Binding:
    value = contact.params.get("expires")
    expires = int(value) if value and value.isdigit() else default
    return Binding(str(contact.uri), expires, contact.param_text("+sip.instance"))


def qualify_target(spec: EngineAccount) -> str:
    """Where OPTIONS go: the outbound proxy, else the registrar, else the id_uri's host."""
    if spec.proxy:
        return with_transport(spec.proxy, spec.transport)
    if spec.registrar_uri:
        return with_transport(spec.registrar_uri, spec.transport)
    uri = parse_uri(spec.id_uri)
    assert isinstance(uri, SipUri)
    return with_transport(f"{uri.scheme}:{uri.hostport}", spec.transport)


def _parse(text: str) -> SipMessage | None:
    if not text:
        return None
    try:
        return parse_message(text.encode("utf-8", "surrogateescape"))
    except SipParseError:
        return None


@dataclass(frozen=True)
class _RegOutcome:
    """What onRegState reported, copied out of pjsua's param (valid only in the callback)."""

    code: int
    reason: str
    expiration: int
    status: int
    whole_msg: str


class EngineAcc(pj.Account):  # type: ignore[misc]
    """The pjsua account for one EngineAccount."""

    def __init__(self, host: Host, spec: EngineAccount) -> None:
        super().__init__()
        self.host = host
        self.spec = spec
        self.registered = False
        self.failures = 0  # consecutive retried failures: pjsua's auto_rereg.attempt_cnt
        self.reg_in_progress = False
        self.qualify_due = time.monotonic() if spec.options_interval else float("inf")
        self.qualify_sent: float | None = None
        self.qualify_target = qualify_target(spec)

    # -- registration -------------------------------------------------------------------

    def onRegStarted(self, prm: Any) -> None:
        # pjsua reports this after the REGISTER went out, while the registrar answers: only
        # note it here; the event is built once SIP has settled.
        try:
            self.reg_in_progress = True
            if prm.renew:
                self.host.later(self._publish_registering)
        except Exception as exc:
            self.host.report("onRegStarted", exc)

    def _publish_registering(self) -> None:
        self.host.emit(
            RegistrationEvent(
                self.spec.name, "registering", 0, "", None,
                explanation=f"registering {self._aor()}",
            )
        )  # fmt: skip

    def publish(self, event: RegistrationEvent) -> None:
        """Registration events go out in order, once SIP has settled (host.later)."""
        self.host.later(lambda: self.host.emit(event))

    def onRegState(self, prm: Any) -> None:
        try:
            self.reg_in_progress = False
            # Only the copying happens here; parsing and explaining wait until SIP settles.
            outcome = _RegOutcome(
                int(prm.code), str(prm.reason), int(prm.expiration), int(prm.status),
                str(prm.rdata.wholeMsg),
            )  # fmt: skip
            state, expires, retry_in = self._track(outcome)
            self.host.later(
                lambda: self.host.emit(self._registration_event(outcome, state, expires, retry_in))
            )
        except Exception as exc:
            self.host.report("onRegState", exc)

    def _track(self, outcome: _RegOutcome) -> tuple[Any, int | None, int | None]:
        """Update the account's own state at once (commands and teardown read it): the
        event's state, expiry and retry delay."""
        code, expiration = outcome.code, outcome.expiration
        retry_in: int | None = None
        if 200 <= code <= 299:
            self.failures = 0
            self.registered = expiration > 0
            state: Any = "registered" if expiration > 0 else "unregistered"
            expires: int | None = expiration if expiration > 0 else 0
        else:
            self.registered = False
            expires = None
            state = "failed"
            if will_retry(code):
                state = "retrying"
                retry_in = self.spec.retry_first_sec if self.failures == 0 else (
                    self.spec.retry_interval_sec
                )  # fmt: skip
                self.failures += 1
        return state, expires, retry_in

    def _registration_event(
        self, outcome: _RegOutcome, state: Any, expires: int | None, retry_in: int | None
    ) -> RegistrationEvent:
        code, reason = outcome.code, outcome.reason
        message = _parse(outcome.whole_msg)
        response = message if isinstance(message, SipResponse) else None
        call_id = response.call_id if response else ""
        bindings = parse_bindings(response) if 200 <= code <= 299 else ()
        auth = self.host.watcher.auth_attempts(call_id) if call_id else 0
        note = None
        if response is None and not 200 <= code <= 299 and code != 408:
            # No response at all: pjsip made the code up from a local failure (connection
            # refused, TLS verification) and put the reason in the reason phrase; status is 0.
            if outcome.status == PJSIP_TLS_ECERTVERIF or "ECERTVERIF" in reason:
                note = self.host.tls_note()
            if not note and outcome.status:
                note = _status_text(self.host.endpoint, outcome.status)
            note = note or reason
        registrar_error = None
        if response is not None:
            registrar_error = response.headers.get("p-registrar-error") or response.headers.get(
                "warning"
            )
        explanation = explain_registration(
            user=self.spec.username,
            aor=self._aor(),
            code=code,
            reason=reason,
            expires=expires,
            devices=len(bindings),
            auth_attempts=auth,
            retry_in=retry_in,
            registrar_error=registrar_error,
            transport_note=note,
        )
        return RegistrationEvent(
            self.spec.name, state, code, reason, expires, bindings, explanation, retry_in, auth
        )

    def _aor(self) -> str:
        uri = parse_uri(self.spec.id_uri)
        return f"{uri.user}@{uri.hostport}" if isinstance(uri, SipUri) and uri.user else str(uri)

    # -- inbound calls ------------------------------------------------------------------

    def onIncomingCall(self, prm: Any) -> None:
        try:
            self._incoming(prm)
        except Exception as exc:
            self.host.report("onIncomingCall", exc)

    def _incoming(self, prm: Any) -> None:
        source = str(prm.rdata.srcAddress)
        request = _parse(prm.rdata.wholeMsg)
        request_uri = str(getattr(request, "uri", ""))
        call = EngineCall(self.host, self, prm.callId, direction="in", request_uri=request_uri)
        self.host.adopt_call(call)
        if not self.spec.source_allowed(source):
            call.silent = True
            op = pj.CallOpParam()
            op.statusCode = 403
            op.reason = "Forbidden by IP ACL"
            call.answer(op)
            self.host.emit(
                LogEvent(2, f"{self.spec.name}: refused INVITE from {source} (not in the IP ACL)")
            )
            return
        ci = call.getInfo()
        call.sip_call_id = ci.callIdString
        self.host.emit(
            IncomingCallEvent(
                call.handle, self.spec.name, ci.remoteUri, request_uri, source, ci.callIdString
            )
        )
        call.publish(ci)
        ring = pj.CallOpParam()
        ring.statusCode = 180
        call.answer(ring)

    # -- OPTIONS qualify ----------------------------------------------------------------

    def send_qualify(self, now: float) -> None:
        self.qualify_due = now + self.spec.options_interval
        if self.qualify_sent is not None:
            return  # the previous one is still running (its transaction times out at 32 s)
        prm = pj.SendRequestParam()
        prm.method = "OPTIONS"
        prm.txOption.targetUri = self.qualify_target
        self.qualify_sent = now
        try:
            self.sendRequest(prm)
        except pj.Error as exc:
            self.qualify_sent = None
            self.host.emit(
                QualifyEvent(self.spec.name, self.qualify_target, False, 0, exc.reason, None)
            )

    def onSendRequest(self, prm: Any) -> None:
        try:
            sent, self.qualify_sent = self.qualify_sent, None
            e = prm.e
            tsx_state = e.body.tsxState
            tsx = tsx_state.tsx
            reachable = tsx_state.type == pj.PJSIP_EVENT_RX_MSG
            rtt = (time.monotonic() - sent) * 1000.0 if sent is not None and reachable else None
            self.host.emit(
                QualifyEvent(
                    self.spec.name,
                    self.qualify_target,
                    reachable,
                    int(tsx.statusCode),
                    str(tsx.statusText),
                    rtt,
                )
            )
        except Exception as exc:
            self.host.report("onSendRequest", exc)


def _status_text(endpoint: Any, status: int) -> str:
    try:
        return str(endpoint.utilStrError(status))
    except pj.Error:
        return f"error {status}"
