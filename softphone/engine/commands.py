"""The engine's commands, as functions run on the engine thread by `Engine.submit`.

Each takes the Core first. pjsua2 errors become EngineCommandError with the library's reason
text (pj.Error's str() is empty, engine-notes §0); wrong arguments become plain messages before
any pjsua2 call, because some pjsua2 misuses abort the process instead of raising (§10.1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pjsua2 as pj

from softphone.engine.account import EngineAcc
from softphone.engine.call import EngineCall
from softphone.engine.core import Core
from softphone.engine.errors import EngineCommandError
from softphone.engine.events import AudioStateEvent, CallEvent, RegistrationEvent
from softphone.engine.pjconfig import account_config, with_transport
from softphone.engine.types import EngineAccount
from softphone.sip.uri import SipUri, parse_uri

T = TypeVar("T")
_DTMF_RE = re.compile(r"[0-9*#A-Da-d]+")


@contextmanager
def pj_errors(where: str) -> Iterator[None]:
    """Translate pj.Error into EngineCommandError (no traceback kept, §2)."""
    try:
        yield
    except pj.Error as exc:
        raise command_error(where, exc) from None


def command_error(where: str, exc: Any) -> EngineCommandError:
    """The EngineCommandError for a pj.Error. makeCall and Account.create, which the client
    benchmark times, catch pj.Error themselves and use this: leaving a generator-based `with`
    costs a few microseconds more, while the far end is already answering."""
    return EngineCommandError(where, str(exc.reason), int(exc.status))


# -- accounts ---------------------------------------------------------------------------


def add_account(core: Core, spec: EngineAccount) -> None:
    if spec.name in core.accounts:
        raise EngineCommandError("add_account", f"an account named {spec.name!r} exists")
    with pj_errors("add_account"):
        try:
            transport = core.transport_for(spec)
        except FileNotFoundError as exc:
            raise EngineCommandError("add_account", str(exc)) from None
        cfg = account_config(spec, core.options, transport, core.keep)
        account = EngineAcc(core, spec)
        core.accounts[spec.name] = account
        core.track(account)
        core.register_aor(spec)
    try:
        account.create(cfg, not any(a is not account for a in core.accounts.values()))
    except pj.Error as exc:
        del core.accounts[spec.name]
        core.register_aor(spec, add=False)
        raise command_error("add_account", exc) from None


def remove_account(core: Core, name: str) -> None:
    account = core.account_of(name)
    for call in [c for c in core.calls.values() if c.account_name == name]:
        with pj_errors("remove_account"):
            call.hangup(pj.CallOpParam())
    was_registered = account.registered
    with pj_errors("remove_account"):
        account.shutdown()  # sends the un-REGISTER if registered (not awaited)
    del core.accounts[name]
    core.register_aor(account.spec, add=False)
    core.discard(account)
    if was_registered:
        account.publish(
            RegistrationEvent(
                name, "unregistered", 0, "account removed", 0,
                explanation="account removed; un-REGISTER sent",
            )
        )  # fmt: skip


def register(core: Core, name: str) -> None:
    account = core.account_of(name)
    if account.spec.trunk:
        raise EngineCommandError("register", f"{name} is a trunk account: it does not register")
    with pj_errors("register"):
        account.setRegistration(True)


def unregister(core: Core, name: str) -> None:
    account = core.account_of(name)
    if account.spec.trunk:
        raise EngineCommandError("unregister", f"{name} is a trunk account: it does not register")
    with pj_errors("unregister"):
        account.setRegistration(False)


# -- calls ------------------------------------------------------------------------------


def _from_uri(spec: EngineAccount) -> str | None:
    """From for outgoing calls when a caller ID is set (a trunk's E.164 number)."""
    if not spec.caller_id:
        return None
    if spec.caller_id.startswith(("sip:", "sips:")):
        return spec.caller_id
    uri = parse_uri(spec.id_uri)
    assert isinstance(uri, SipUri)
    return f"{uri.scheme}:{spec.caller_id}@{uri.hostport}"


def make_call(core: Core, account_name: str, uri: str) -> int:
    account = core.account_of(account_name)
    try:
        target = with_transport(uri, account.spec.transport)
    except ValueError as exc:
        raise EngineCommandError("make_call", f"{uri!r} is not a valid URI: {exc}") from None
    call = EngineCall(core, account, direction="out", request_uri=target)
    core.adopt_call(call)
    prm = pj.CallOpParam(True)
    local = _from_uri(account.spec)
    if local:
        prm.txOption.localUri = local
    try:
        call.makeCall(target, prm)
    except pj.Error as exc:
        core.calls.pop(call.handle, None)
        core.discard(call)
        raise command_error("make_call", exc) from None
    return call.handle


def _call_op(code: int = 0, reason: str = "") -> Any:
    prm = pj.CallOpParam(True)
    if code:
        prm.statusCode = code
    if reason:
        prm.reason = reason
    return prm


def answer(core: Core, handle: int, code: int = 200) -> None:
    if not 100 < code < 700:
        raise EngineCommandError("answer", f"{code} is not a SIP response code")
    call = core.call_of(handle)
    if call.direction != "in":
        raise EngineCommandError("answer", f"call {handle} is outgoing")
    with pj_errors("answer"):
        call.answer(_call_op(code))


def reject(core: Core, handle: int, code: int = 486) -> None:
    if not 300 <= code < 700:
        raise EngineCommandError("reject", f"{code} is not a final failure code (300-699)")
    call = core.call_of(handle)
    with pj_errors("reject"):
        if call.direction == "in":
            call.answer(_call_op(code))
        else:
            call.hangup(_call_op())


def hangup(core: Core, handle: int) -> None:
    call = core.call_of(handle)
    call.refresh_stats()  # the last RTP counters, before the stream goes away
    with pj_errors("hangup"):
        call.hangup(_call_op())


def hold(core: Core, handle: int) -> None:
    call = core.call_of(handle)
    with pj_errors("hold"):
        call.setHold(_call_op())  # re-INVITE with a=sendonly (RFC 3264 §8.4)


def unhold(core: Core, handle: int) -> None:
    call = core.call_of(handle)
    prm = _call_op()
    prm.opt.flag = pj.PJSUA_CALL_UNHOLD
    with pj_errors("unhold"):
        call.reinvite(prm)


def mute(core: Core, handle: int, on: bool) -> None:
    call = core.call_of(handle)
    with pj_errors("mute"):
        call.set_mute(on)


def send_dtmf(core: Core, handle: int, digits: str) -> None:
    if not _DTMF_RE.fullmatch(digits):
        raise EngineCommandError("send_dtmf", f"{digits!r}: DTMF digits are 0-9 * # A-D")
    call = core.call_of(handle)
    prm = pj.CallSendDtmfParam()
    prm.digits = digits.upper()
    prm.method = pj.PJSUA_DTMF_METHOD_RFC2833  # RFC 4733 telephone-event in the RTP stream
    with pj_errors("send_dtmf"):
        call.sendDtmf(prm)


def transfer(core: Core, handle: int, target: str) -> None:
    call = core.call_of(handle)
    account = core.account_of(call.account_name)
    with pj_errors("transfer"):
        call.xfer(with_transport(target, account.spec.transport), _call_op())  # REFER


def play(core: Core, handle: int, path: str) -> None:
    call = core.call_of(handle)
    call.files.want_play(path)
    with pj_errors("play"):
        call.refresh_files()


def record(core: Core, handle: int, path: str) -> None:
    call = core.call_of(handle)
    call.files.want_record(path)
    with pj_errors("record"):
        call.refresh_files()


def call_info(core: Core, handle: int) -> CallEvent:
    call = core.call_of(handle)
    core.run_later()  # what is queued goes out first, and the traces are all read
    with pj_errors("call_info"):
        return call.snapshot()


def list_calls(core: Core) -> tuple[CallEvent, ...]:
    core.run_later()
    with pj_errors("list_calls"):
        return tuple(call.snapshot() for call in core.calls.values() if not call.ended)


def recent_log(core: Core) -> tuple[str, ...]:
    """The last pjsua log lines that were not SIP messages (newest last), for diagnostics."""
    return tuple(core.writer.recent) if core.writer is not None else ()


# -- sound devices (the AudioBridge's optional commands, media.py) ------------------------


def set_audio_devices(
    core: Core, input: str | None, output: str | None, ring: str | None
) -> AudioStateEvent:
    setter = getattr(core.audio, "set_devices", None)
    if setter is None:
        raise EngineCommandError("audio", "this engine has no sound-device bridge (null audio)")
    result: AudioStateEvent = setter(input, output, ring)
    return result


def audio_state(core: Core) -> AudioStateEvent | None:
    info = getattr(core.audio, "info", None)
    return info() if info is not None else None
