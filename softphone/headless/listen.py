"""`softphone listen NAME`: register, wait for calls, report (and maybe answer) each one.

Each incoming call is reported when it rings and when it ends, as one of: answered (and how
long), missed (the caller gave up), or answered elsewhere: a forking proxy CANCELled it with
`Reason: SIP;cause=200` because another device of the same address took it (RFC 3326), which is
not a missed call. With `--auto-answer` every call is answered (after `--answer-after` seconds
of ringing, and after attaching `--play`/`--record`: the n-th call records to NAME-n.wav from
the second on). With `--calls N` the command exits 0 once N calls have ended. Several calls may
ring at once; each is followed. Timers (answer, hang up, give up) are deadlines on the event
queue, never sleeps.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

from softphone.engine.events import (
    CallEvent,
    DtmfEvent,
    Event,
    IncomingCallEvent,
    RegistrationEvent,
)
from softphone.headless.output import rtp_text, srtp_text
from softphone.headless.parsing import check_play, check_writable, numbered
from softphone.headless.register import local_address, wait_registered
from softphone.headless.session import EXIT_FAILED, EXIT_OK, Exit, Session

REGISTER_TIMEOUT = 15.0  # seconds for the first registration before giving up


@dataclass
class _Call:
    remote: str
    index: int  # 1 for the first call of this run
    answer_at: float | None = None  # auto-answer due (monotonic)
    answered_at: float | None = None
    hangup_at: float | None = None  # --duration due (monotonic)


@dataclass
class _Tally:
    ended: int = 0
    answered: int = 0
    elsewhere: int = 0
    missed: int = 0
    calls: dict[int, _Call] = field(default_factory=dict)
    seen: int = 0


def run(session: Session, args: argparse.Namespace) -> Exit:
    account = session.load_account()
    check_play(args.play)
    check_writable("--record", args.record, ".wav")
    session.prepare(args.trace)
    session.start(local_address(args), audio=not args.no_audio)
    if account.registrar_uri is not None:
        registered = wait_registered(session, REGISTER_TIMEOUT)
        session.out.say(registered.explanation)
    auto = args.auto_answer or args.answer_after is not None
    mode = "answering automatically" if auto else "not answering (ring only)"
    session.out.say(f"waiting for calls to {account.id_uri}, {mode}")
    tally = _Tally()
    give_up = time.monotonic() + args.timeout if args.timeout is not None else None
    while args.calls is None or tally.ended < args.calls:
        timers = [t for c in tally.calls.values() for t in (c.answer_at, c.hangup_at) if t]
        deadline = min([*timers, give_up] if give_up is not None else timers, default=None)
        event = session.next_event(deadline)
        if event is not None:
            _on_event(session, args, tally, event, auto)
        now = time.monotonic()
        if give_up is not None and now >= give_up:
            wanted = args.calls if args.calls is not None else "the"
            raise Exit(
                EXIT_FAILED, f"{tally.ended} of {wanted} calls within {args.timeout:g} s",
                calls=tally.ended,
            )  # fmt: skip
        _run_timers(session, args, tally, now)
    return Exit(
        EXIT_OK,
        f"{tally.ended} call(s): {tally.answered} answered, {tally.elsewhere} answered "
        f"elsewhere, {tally.missed} missed",
        calls=tally.ended,
        answered=tally.answered,
        answered_elsewhere=tally.elsewhere,
        missed=tally.missed,
    )


def _on_event(
    session: Session, args: argparse.Namespace, tally: _Tally, event: Event, auto: bool
) -> None:
    say = session.out.say
    if isinstance(event, IncomingCallEvent):
        tally.seen += 1
        call = tally.calls[event.call] = _Call(event.remote, tally.seen)
        say(f"incoming call from {event.remote} (to {event.request_uri})")
        if auto:
            call.answer_at = time.monotonic() + (args.answer_after or 0.0)
    elif isinstance(event, DtmfEvent) and event.call in tally.calls:
        say(f"DTMF {event.digit} from {tally.calls[event.call].remote}")
    elif isinstance(event, RegistrationEvent) and event.state in ("failed", "retrying"):
        session.out.warn(f"registration: {event.code} {event.reason}: {event.explanation}")
    elif isinstance(event, CallEvent) and event.call in tally.calls:
        call = tally.calls[event.call]
        if event.state in ("confirmed", "held") and call.answered_at is None:
            call.answered_at = time.monotonic()
            call.answer_at = None
            if args.duration is not None:
                call.hangup_at = call.answered_at + args.duration
            say(f"answered the call from {call.remote}: {event.codec or '-'}, {srtp_text(event)}")
        if event.state == "disconnected":
            del tally.calls[event.call]
            tally.ended += 1
            if call.answered_at is not None:
                tally.answered += 1
                say(f"call from {call.remote} ended after {event.duration:.1f} s; "
                    f"{rtp_text(event.rtp)}")  # fmt: skip
            elif event.answered_elsewhere:
                tally.elsewhere += 1
                say(f"call from {call.remote} was answered elsewhere (another device of this "
                    "address took it): not a missed call")  # fmt: skip
            else:
                tally.missed += 1
                say(f"missed call from {call.remote} ({event.code} {event.reason})")


def _run_timers(session: Session, args: argparse.Namespace, tally: _Tally, now: float) -> None:
    assert session.engine is not None
    engine = session.engine
    for handle, call in list(tally.calls.items()):
        if call.answer_at is not None and now >= call.answer_at:
            call.answer_at = None
            # The caller may have hung up meanwhile: then these fail, and that is no error.
            if args.play is not None:
                session.attempt(engine.play(handle, str(args.play)), "play the WAV file")
            if args.record is not None:
                path = numbered(args.record, call.index)
                session.attempt(engine.record(handle, str(path)), "record the call")
            session.attempt(engine.answer(handle, 200), "answer")
        if call.hangup_at is not None and now >= call.hangup_at:
            call.hangup_at = None
            session.out.say(f"hanging up the call from {call.remote}")
            session.attempt(engine.hangup(handle), "hang up")
