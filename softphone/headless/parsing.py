"""Arguments of `softphone register|call|listen`, and the checks of what they name.

Everything a user can get wrong is checked here, before the engine starts, so a typo costs
nothing on the wire and ends with exit 2 and one line saying what to fix: numbers and durations
out of range, DTMF that is not DTMF, a WAV pjmedia cannot play (it takes 16-bit PCM mono), a
recording or trace file that cannot be written.
"""

from __future__ import annotations

import argparse
import os
import re
import wave
from pathlib import Path
from typing import NoReturn

from softphone.engine_account import parse_rtp_ports

_DTMF_RE = re.compile(r"[0-9*#A-Da-d]+")


class UsageError(Exception):
    """Bad input: exit 2; the message says what to fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise UsageError(f"{message} (see: {self.prog} --help)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r}: use 0 to 86400 seconds")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: use a whole number of at least 1")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def _rtp_ports(text: str) -> tuple[int, int]:
    try:
        return parse_rtp_ports(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="account name (see: softphone account list)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password for this run from one line of stdin (not stored)",
    )
    p.add_argument(
        "--trace",
        type=Path,
        metavar="FILE.jsonl",
        help="append every SIP message as JSON (credentials masked)",
    )
    p.add_argument(
        "--bind",
        metavar="ADDR",
        help="local address for SIP and RTP (default: "
        "127.0.0.1 for a server on loopback, else all interfaces)",
    )
    p.add_argument(
        "--sip-port",
        type=_port,
        default=0,
        metavar="PORT",
        help="local SIP port for UDP and TCP (default: any free port)",
    )
    p.add_argument("--rtp-ports", type=_rtp_ports, metavar="FIRST-LAST",
                   help="local RTP port range (default 40000-40999)")  # fmt: skip


def _media(p: argparse.ArgumentParser) -> None:
    p.add_argument("--play", type=Path, metavar="WAV", help="play this WAV into the call")
    p.add_argument("--record", type=Path, metavar="WAV", help="record what the far end sends")
    p.add_argument(
        "--no-audio",
        action="store_true",
        help="leave the sound devices alone (null audio; --play/--record still work)",
    )


def register_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="softphone register",
        description="Register once, print the bindings the registrar lists, then unregister "
        "and exit: 0 registered, 1 refused (the reason is printed), 2 bad input.",
    )
    _common(p)
    p.add_argument("--timeout", type=_seconds, default=10.0, metavar="S",
                   help="give up after S seconds without a final answer (default 10)")  # fmt: skip
    return p


def call_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="softphone call",
        description="Call TARGET (a number, a user name or a SIP URI), wait for the answer, "
        "stay --duration seconds (default: until the other side hangs up), hang up. Exit 0 "
        "answered, 1 not answered (busy, not found, timeout, ...), 2 bad input.",
    )
    _common(p)
    p.add_argument("target", metavar="TARGET", help="e.g. +14155550100, 4155550100, bob, "
                   "sip:bob@example.com")  # fmt: skip
    p.add_argument("--duration", type=_seconds, metavar="S", help="hang up S s after answer")
    p.add_argument("--dtmf", metavar="DIGITS", help="send these DTMF digits (RFC 4733) once "
                   "answered")  # fmt: skip
    _media(p)
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="S",
                   help="stop ringing after S seconds without an answer (default 60)")  # fmt: skip
    return p


def listen_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="softphone listen",
        description="Register and wait for calls; report each (answered, missed, answered "
        "elsewhere). With --calls N, exit 0 after N calls.",
    )
    _common(p)
    p.add_argument("--auto-answer", action="store_true", help="answer every call at once")
    p.add_argument(
        "--answer-after",
        type=_seconds,
        metavar="S",
        help="answer every call after S seconds of ringing (implies --auto-answer)",
    )
    p.add_argument("--calls", type=_count, metavar="N", help="exit after N calls")
    _media(p)
    p.add_argument(
        "--duration",
        type=_seconds,
        metavar="S",
        help="hang up answered calls after S seconds (default: the caller hangs up)",
    )
    p.add_argument("--timeout", type=_seconds, metavar="S",
                   help="exit 1 if the calls have not all come within S seconds")  # fmt: skip
    return p


# -- checks of what the arguments name ----------------------------------------------------


def check_dtmf(digits: str | None) -> None:
    if digits is not None and not _DTMF_RE.fullmatch(digits):
        raise UsageError(f"--dtmf {digits!r}: DTMF digits are 0-9, *, # and A-D")


def check_play(path: Path | None) -> None:
    """A WAV pjmedia's player takes: RIFF/WAVE, 16-bit PCM, mono."""
    if path is None:
        return
    try:
        with wave.open(str(path), "rb") as wav:
            width, channels = wav.getsampwidth(), wav.getnchannels()
    except FileNotFoundError:
        raise UsageError(f"--play {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"--play {path}: is a directory, not a WAV file") from None
    except OSError as exc:
        raise UsageError(f"--play {path}: cannot read it ({exc.strerror or exc})") from None
    except (wave.Error, EOFError) as exc:
        raise UsageError(
            f"--play {path}: not a PCM WAV file ({exc}); convert it, e.g. "
            "`sox IN -r 8000 -c 1 -b 16 OUT.wav`"
        ) from None
    if width != 2 or channels != 1:
        raise UsageError(
            f"--play {path}: {8 * width}-bit, {channels} channel(s); the phone plays 16-bit "
            "mono WAV: `sox IN -r 8000 -c 1 -b 16 OUT.wav`"
        )


def check_writable(option: str, path: Path | None, suffix: str | None = None) -> None:
    """`path` can be created or overwritten (its directory exists and is writable)."""
    if path is None:
        return
    if suffix and path.suffix.lower() != suffix:
        raise UsageError(f"{option} {path}: the file name must end in {suffix}")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable")


def numbered(path: Path, index: int) -> Path:
    """The recording of the index-th call (1-based): the path itself, then name-2.wav, ..."""
    return path if index == 1 else path.with_name(f"{path.stem}-{index}{path.suffix}")
