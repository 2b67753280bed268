"""`softphone register NAME`: register once, list the bindings, unregister, exit.

Registration is pjsua's state machine (one 401/407 answered per challenge, engine-notes §7);
this waits for its outcome and says it in the engine's words. A failure that pjsua retries by
itself (408, 5xx, transport errors) is waited out only if the retry comes before `--timeout`;
a final one (401 after answering the challenge, 403, 404) ends the command at once, so a wrong
password costs at most the three authenticated REGISTERs pjsip sends for fresh nonces.
"""

from __future__ import annotations

import argparse
import time

from softphone.engine.events import RegistrationEvent
from softphone.engine_account import LocalAddress
from softphone.headless.output import binding_text
from softphone.headless.session import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Exit, Session


def local_address(args: argparse.Namespace) -> LocalAddress:
    return LocalAddress(args.bind, args.sip_port, args.rtp_ports)


def wait_registered(session: Session, timeout: float) -> RegistrationEvent:
    """Wait for the account's registration; Exit(1) with the reason if it fails."""
    deadline = time.monotonic() + timeout
    last: RegistrationEvent | None = None
    while True:
        event = session.next_event(deadline)
        if event is None:
            detail = f"; last: {last.explanation}" if last is not None else ""
            raise Exit(
                EXIT_FAILED,
                f"registration failed: no final answer from the registrar within {timeout:g} s"
                + detail,
            )
        if not isinstance(event, RegistrationEvent) or event.account != session.name:
            continue
        if event.state == "registered":
            return event
        if event.state in ("failed", "retrying"):
            last = event
            left = deadline - time.monotonic()
            if event.state == "retrying" and event.retry_in is not None and event.retry_in < left:
                session.out.warn(f"{event.code} {event.reason}: {event.explanation}")
                continue
            raise Exit(
                EXIT_FAILED,
                f"registration failed: {event.code} {event.reason}: {event.explanation}",
                code=event.code,
                reason=event.reason,
            )


def run(session: Session, args: argparse.Namespace) -> Exit:
    account = session.load_account()
    if account.registrar_uri is None:
        raise Exit(
            EXIT_USAGE,
            f"account {session.name!r} does not register (a trunk, or register = false); "
            "`softphone call` and `listen` work without registering",
        )
    session.prepare(args.trace)
    session.out.say(f"registering {account.id_uri} at {account.registrar_uri}")
    session.start(local_address(args))
    event = wait_registered(session, args.timeout)
    session.out.say(event.explanation)
    session.out.say(f"bindings of {account.id_uri} ({len(event.bindings)}):")
    for binding in event.bindings:
        session.out.say(f"  {binding_text(binding)}")
    return Exit(
        EXIT_OK,
        event.explanation,
        shown=True,
        code=event.code,
        expires=event.expires,
        bindings=[b.contact for b in event.bindings],
    )
