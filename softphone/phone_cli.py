"""`softphone register`, `softphone call`, `softphone listen`: the phone without a screen.

This module is the frame every headless command runs in (the commands themselves live in
softphone.headless): parse the arguments, run the command, and always end the same way:
the engine stopped (calls hung up, account unregistered), the trace and the history closed,
a last line (or JSON `Summary`) with the outcome, and an exit code: 0 done, 1 the network or
the other party refused, 2 bad input, 130 Ctrl-C (143 SIGTERM). Never a traceback: an
unexpected error is one line naming its type, exit 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from types import FrameType

from softphone.headless import call, listen, register
from softphone.headless.output import Output
from softphone.headless.parsing import (
    UsageError,
    call_parser,
    check_writable,
    listen_parser,
    register_parser,
)
from softphone.headless.session import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Exit,
    Session,
)

Command = Callable[[Session, argparse.Namespace], Exit]
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop like Ctrl-C (hang up, unregister), exit 143."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def register_main(argv: list[str] | None = None) -> int:
    return _main("register", register_parser(), register.run, argv)


def call_main(argv: list[str] | None = None) -> int:
    return _main("call", call_parser(), call.run, argv)


def listen_main(argv: list[str] | None = None) -> int:
    return _main("listen", listen_parser(), listen.run, argv)


def _main(
    command: str, parser: argparse.ArgumentParser, run: Command, argv: list[str] | None
) -> int:
    prog = f"softphone {command}"
    wants_json = "--json" in (sys.argv[1:] if argv is None else argv)
    out = Output(prog, json_mode=wants_json)
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
        check_writable("--trace", args.trace)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        out.summary(command, EXIT_USAGE, f"error: {exc}")
        return EXIT_USAGE
    session = Session(out, args.name, args.password_stdin)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = _run(command, run, session, args)
    finally:
        # No second Ctrl-C may cut the hang-up / un-REGISTER short (it takes < 5 s).
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            session.close()
        except Exception as exc:  # closing must not turn into a traceback either
            out.warn(f"while stopping: {type(exc).__name__}: {exc}")
        finally:
            signal.signal(signal.SIGINT, interrupt)
            signal.signal(signal.SIGTERM, previous)
    if result.exit_code == 0 and result.shown and not out.json_mode:
        return 0
    out.summary(command, result.exit_code, result.message, **result.extra)
    return result.exit_code


def _run(command: str, run: Command, session: Session, args: argparse.Namespace) -> Exit:
    try:
        return run(session, args)
    except Exit as exc:
        return exc
    except UsageError as exc:
        return Exit(EXIT_USAGE, f"error: {exc}")
    except Terminated:
        return Exit(EXIT_TERMINATED, "terminated: hung up and unregistered")
    except KeyboardInterrupt:
        return Exit(EXIT_INTERRUPTED, "interrupted: hung up and unregistered")
    except Exception as exc:  # never a traceback; the type says where to look
        return Exit(EXIT_FAILED, f"internal error: {type(exc).__name__}: {exc}")
