"""`softphone call NAME TARGET`: dial, wait for the answer, talk, hang up.

The Request-URI is worked out before anything is sent (numbers.dial_uri: E.164 in the
account's region, or a SIP address) and printed as the engine will send it (with the
account's `;transport=`), so the user sees exactly what is dialled. Then: ringing, with the
number of devices when a forking proxy rings several (distinct early dialogs, RFC 3261
§12.1.2); the answer with codec and SRTP; DTMF as RFC 4733 events once media flows; the hang-up
after `--duration`. A call that ends unanswered exits 1 with its SIP code and what it means.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from softphone.engine.events import CallEvent, RegistrationEvent
from softphone.headless.output import call_failure_text, rtp_text, srtp_text
from softphone.headless.parsing import UsageError, check_dtmf, check_play, check_writable
from softphone.headless.register import local_address
from softphone.headless.session import EXIT_FAILED, EXIT_OK, Exit, Session
from softphone.numbers import NumberError, dial_uri

HANGUP_WAIT = 5.0  # seconds to wait for the end of the call after our BYE/CANCEL


def request_uri(session: Session, target: str) -> str:
    """The Request-URI for `target`, exactly as it will be sent."""
    assert session.config is not None and session.account is not None
    try:
        uri = dial_uri(target, session.config)
    except NumberError as exc:
        raise UsageError(f"cannot dial {target!r}: {exc}") from None
    from softphone.engine.pjconfig import with_transport

    return with_transport(uri, session.account.transport)


def run(session: Session, args: argparse.Namespace) -> Exit:
    account = session.load_account()
    check_dtmf(args.dtmf)
    check_play(args.play)
    check_writable("--record", args.record, ".wav")
    uri = request_uri(session, args.target)
    session.prepare(args.trace)
    session.out.say(f"dialling {uri} from {account.id_uri}")
    session.out.record(
        {"type": "Dialling", "account": session.name, "target": args.target, "request_uri": uri}
    )
    session.start(local_address(args), audio=not args.no_audio)
    assert session.engine is not None
    engine = session.engine
    handle = session.wait(engine.make_call(session.name, uri), "place the call")
    if args.play is not None:
        session.wait(engine.play(handle, str(args.play)), "play the WAV file")
    if args.record is not None:
        session.wait(engine.record(handle, str(args.record)), "record the call")
    return _follow(session, args, handle, account.srtp)


def _follow(session: Session, args: argparse.Namespace, handle: int, srtp: str) -> Exit:
    """Follow the call until it ends; the outcome as an Exit."""
    assert session.engine is not None
    engine = session.engine
    answer_by = time.monotonic() + args.timeout
    answered_at: float | None = None
    hangup_by: float | None = None  # set once we hung up: wait for the end until then
    ringing = 0
    media_shown = dtmf_sent = False
    while True:
        if hangup_by is not None:
            deadline: float | None = hangup_by
        elif answered_at is None:
            deadline = answer_by
        else:
            deadline = answered_at + args.duration if args.duration is not None else None
        event = session.next_event(deadline)
        if event is None:
            if hangup_by is not None:
                raise Exit(EXIT_FAILED, "the call did not end after hanging up")
            if answered_at is None:
                session.out.say(f"no answer within {args.timeout:g} s; cancelling")
            else:
                session.out.say(f"hanging up after {args.duration:g} s")
            session.wait(engine.hangup(handle), "hang up")
            hangup_by = time.monotonic() + HANGUP_WAIT
            continue
        if isinstance(event, RegistrationEvent) and event.state in ("failed", "retrying"):
            # The call does not need the registration, but the reason often explains its fate.
            session.out.warn(f"registration: {event.code} {event.reason}: {event.explanation}")
        if not isinstance(event, CallEvent) or event.call != handle:
            continue
        if event.state == "early" and event.devices_ringing != ringing:
            ringing = event.devices_ringing
            where = f" on {ringing} devices" if ringing > 1 else ""
            session.out.say(f"ringing{where} ({event.code} {event.reason})")
        if event.state in ("confirmed", "held") and answered_at is None:
            answered_at = time.monotonic()
            session.out.say(f"answered ({event.code} {event.reason}) by {event.remote}")
        if event.codec is not None and not media_shown and event.state != "disconnected":
            media_shown = True
            session.out.say(f"media: {event.codec}, {srtp_text(event)}")
        if answered_at is not None and media_shown and args.dtmf and not dtmf_sent:
            dtmf_sent = True
            session.wait(engine.send_dtmf(handle, args.dtmf), "send DTMF")
            session.out.say(f"sent DTMF {args.dtmf}")
        if event.state == "disconnected":
            return _ended(event, answered_at is not None, hangup_by is not None, srtp)


def _ended(event: CallEvent, answered: bool, we_hung_up: bool, srtp: str) -> Exit:
    facts: dict[str, Any] = {
        "code": event.code,
        "reason": event.reason,
        "codec": event.codec,
        "srtp_suite": event.srtp_suite,
        "devices_ringing": event.devices_ringing,
        "duration": round(event.duration, 3),
    }
    if not answered:
        why = (
            "nobody picked up in time"
            if we_hung_up
            else call_failure_text(event.code, event.reason, srtp)
        )
        return Exit(EXIT_FAILED, f"not answered: {why}", **facts)
    who = "we hung up" if we_hung_up else "the other side hung up"
    return Exit(
        EXIT_OK,
        f"call ended ({who}) after {event.duration:.1f} s; {rtp_text(event.rtp)}",
        **facts,
    )
