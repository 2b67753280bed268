"""`softphone listen NAME`: register, wait for calls, report (and maybe answer) each one.

Each incoming call is reported when it rings and when it ends, as one of: answered (and how
long), missed (the caller gave up), or answered elsewhere: a forking proxy CANCELled it with
`Reason: SIP;cause=200` because another device of the same address took it (RFC 3326), which is
not a missed call. With `--auto-answer` every call is answered at once (after attaching
`--play`/`--record`: the n-th call records to NAME-n.wav from the second on). With `--calls N`
the command exits 0 once N calls have ended. Several calls may ring at once; each is followed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from softphone.engine.events import CallEvent, DtmfEvent, IncomingCallEvent, RegistrationEvent
from softphone.headless.output import rtp_text, srtp_text
from softphone.headless.parsing import check_play, check_writable, numbered
from softphone.headless.register import local_address, wait_registered
from softphone.headless.session import EXIT_FAILED, EXIT_OK, Exit, Session

REGISTER_TIMEOUT = 15.0  # seconds for the first registration before giving up


@dataclass
class _Call:
    remote: str
    answered_at: float | None = None
    hanging_up: bool = False


def run(session: Session, args: argparse.Namespace) -> Exit:
    account = session.load_account()
    check_play(args.play)
    check_writable("--record", args.record, ".wav")
    session.open_trace(args.trace)
    session.start(local_address(args))
    if account.registrar_uri is not None:
        registered = wait_registered(session, REGISTER_TIMEOUT)
        session.out.say(registered.explanation)
    mode = "answering automatically" if args.auto_answer else "not answering (ring only)"
    session.out.say(f"waiting for calls to {account.id_uri}, {mode}")
    return _serve(session, args)


def _serve(session: Session, args: argparse.Namespace) -> Exit:
    assert session.engine is not None
    engine = session.engine
    give_up = time.monotonic() + args.timeout if args.timeout is not None else None
    calls: dict[int, _Call] = {}
    ended = answered_count = elsewhere = missed = 0
    seen = 0
    while args.calls is None or ended < args.calls:
        deadline = give_up
        if args.duration is not None:
            due = [c.answered_at + args.duration for c in calls.values()
                   if c.answered_at is not None and not c.hanging_up]  # fmt: skip
            deadline = min([*due, *([give_up] if give_up is not None else [])], default=None)
        event = session.next_event(deadline)
        now = time.monotonic()
        if event is None:
            if give_up is not None and now >= give_up:
                wanted = args.calls if args.calls is not None else "the"
                raise Exit(
                    EXIT_FAILED,
                    f"{ended} of {wanted} calls within {args.timeout:g} s",
                    calls=ended,
                )
            for handle, call in calls.items():
                talked = now - call.answered_at if call.answered_at is not None else -1.0
                if args.duration is not None and talked >= args.duration and not call.hanging_up:
                    call.hanging_up = True
                    session.out.say(f"hanging up the call from {call.remote}")
                    session.wait(engine.hangup(handle), "hang up")
            continue
        if isinstance(event, IncomingCallEvent):
            seen += 1
            calls[event.call] = _Call(event.remote)
            session.out.say(f"incoming call from {event.remote} (to {event.request_uri})")
            if args.auto_answer:
                _answer(session, args, event.call, seen)
        elif isinstance(event, DtmfEvent) and event.call in calls:
            session.out.say(f"DTMF {event.digit} from {calls[event.call].remote}")
        elif isinstance(event, RegistrationEvent) and event.state in ("failed", "retrying"):
            session.out.warn(f"registration: {event.code} {event.reason}: {event.explanation}")
        elif isinstance(event, CallEvent) and event.call in calls:
            call = calls[event.call]
            if event.state in ("confirmed", "held") and call.answered_at is None:
                call.answered_at = now
                session.out.say(f"answered the call from {call.remote}: {event.codec or '-'}, "
                                f"{srtp_text(event)}")  # fmt: skip
            if event.state == "disconnected":
                del calls[event.call]
                ended += 1
                if call.answered_at is not None:
                    answered_count += 1
                    session.out.say(f"call from {call.remote} ended after "
                                    f"{event.duration:.1f} s; {rtp_text(event.rtp)}")  # fmt: skip
                elif event.answered_elsewhere:
                    elsewhere += 1
                    session.out.say(f"call from {call.remote} was answered elsewhere (another "
                                    "device of this address took it)")  # fmt: skip
                else:
                    missed += 1
                    session.out.say(f"missed call from {call.remote} ({event.code} "
                                    f"{event.reason})")  # fmt: skip
    return Exit(
        EXIT_OK,
        f"{ended} call(s): {answered_count} answered, {elsewhere} answered elsewhere, "
        f"{missed} missed",
        calls=ended,
        answered=answered_count,
        answered_elsewhere=elsewhere,
        missed=missed,
    )


def _answer(session: Session, args: argparse.Namespace, handle: int, index: int) -> None:
    assert session.engine is not None
    engine = session.engine
    if args.play is not None:
        session.wait(engine.play(handle, str(args.play)), "play the WAV file")
    if args.record is not None:
        path = numbered(args.record, index)
        session.wait(engine.record(handle, str(path)), "record the call")
    session.wait(engine.answer(handle, 200), "answer")
