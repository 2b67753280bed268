"""`softphone lab`: the registrar with demo users on this machine, and how to use it.

Until the TUI lands this starts the lab registrar + proxy with three demo users and prints the
settings to give a SIP phone (or sipp/baresip) so two phones can call each other through it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from softphone.lab.instance import LabStartError
from softphone.lab.registrar_cli import CliError, build_parser, serve, settings_from_args

DEMO_USERS = {"alice": "alice-lab-pw", "bob": "bob-lab-pw", "carol": "carol-lab-pw"}


def main(argv: list[str]) -> int:
    lab = argparse.ArgumentParser(prog="softphone lab", description=__doc__)
    lab.add_argument("--port", type=int, default=5060, help="UDP/TCP port (TLS uses port+1)")
    args = lab.parse_args(argv)
    from softphone import paths

    registrar_args = [
        f"--listen=udp:127.0.0.1:{args.port}",
        f"--listen=tcp:127.0.0.1:{args.port}",
        f"--listen=tls:127.0.0.1:{args.port + 1}",
        f"--db={paths.data_dir() / 'lab.sqlite3'}",
        "--quiet",
        *(f"--user={name}:{password}" for name, password in DEMO_USERS.items()),
    ]
    try:
        settings = settings_from_args(build_parser().parse_args(registrar_args))
        print(_instructions(args.port), file=sys.stderr, flush=True)
        asyncio.run(serve(settings, sys.stdout))
    except (CliError, LabStartError) as exc:
        print(f"softphone lab: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _instructions(port: int) -> str:
    users = "\n".join(f"    {name:6s} password {pw}" for name, pw in DEMO_USERS.items())
    return f"""softphone lab: registrar and forking proxy on 127.0.0.1
  point a SIP phone at:
    registrar / proxy   sip:127.0.0.1:{port}  (UDP or TCP), sips:127.0.0.1:{port + 1} (TLS)
    domain              127.0.0.1        realm softphone.lab
{users}
  then call another user, e.g. sip:bob@127.0.0.1. Ctrl-C stops the lab."""
