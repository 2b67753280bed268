"""`softphone registrar`: run the lab registrar + forking proxy from the command line.

Contract (tests and the lab rely on it): one line `listening TRANSPORT:HOST:PORT` per listener on
stdout once it is ready (the real port when 0 was asked for); SIGINT/SIGTERM stop it cleanly with
exit 0; a bad flag or an unusable file prints one error line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import ssl
import sys
from pathlib import Path
from typing import IO

from softphone.lab.instance import LabInstance, LabStartError, Settings
from softphone.lab.registrar import RegistrarPolicy
from softphone.lab.transport import ListenSpec
from softphone.lab.users import UserDirectory, UserError, parse_user_spec, read_users_file
from softphone.sip.digest import ALGORITHMS

DEFAULT_REALM = "softphone.lab"
DEFAULT_LISTEN = ("udp:127.0.0.1:5060", "tcp:127.0.0.1:5060", "tls:127.0.0.1:5061")


class CliError(Exception):
    """A startup problem the user can fix; printed as one line, exit code 2."""


def parse_listen(text: str) -> ListenSpec:
    """`udp:HOST:PORT` (IPv6 hosts in brackets)."""
    kind, sep, rest = text.partition(":")
    transport = kind.upper()
    if not sep or transport not in ("UDP", "TCP", "TLS"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected udp:HOST:PORT, tcp:… or tls:…")
    host, sep, port_text = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected {kind}:HOST:PORT")
    return ListenSpec(transport, host, int(port_text))


def _positive(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0")
    return int(text)


def build_parser(prog: str = "softphone registrar") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Lab SIP registrar and forking proxy: digest auth, bindings in SQLite, "
        "parallel forking with CANCEL to the losers.",
    )
    p.add_argument(
        "--listen",
        action="append",
        type=parse_listen,
        metavar="udp|tcp|tls:HOST:PORT",
        help="listener (repeatable); default udp+tcp 127.0.0.1:5060 and tls :5061",
    )
    p.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="a user (repeatable); stored as HA1 only",
    )
    p.add_argument("--users-file", type=Path, help="file of name:password lines")
    p.add_argument("--realm", default=DEFAULT_REALM, help=f"digest realm (default {DEFAULT_REALM})")
    p.add_argument(
        "--domain",
        action="append",
        default=[],
        help="extra local domain (the realm and listen hosts are local already)",
    )
    p.add_argument("--db", type=Path, help="SQLite file (default: in the data dir)")
    p.add_argument("--max-contacts", type=_positive, default=10, help="contacts per AOR (10)")
    p.add_argument(
        "--register-rate",
        type=_positive,
        default=0,
        help="REGISTERs per second per AOR, 0 = no cap (Twilio: 5)",
    )
    p.add_argument("--min-expires", type=_positive, default=60)
    p.add_argument("--max-expires", type=_positive, default=3600)
    p.add_argument(
        "--auth-fail-limit",
        type=_positive,
        default=10,
        help="failed authentications per source before 403 (10)",
    )
    p.add_argument("--auth-fail-window", type=_positive, default=60, help="seconds (60)")
    p.add_argument(
        "--algorithms",
        default="MD5",
        help="digest algorithms to offer, most preferred first (MD5,SHA-256)",
    )
    p.add_argument("--tls-cert", type=Path, help="PEM certificate (default: self-signed)")
    p.add_argument("--tls-key", type=Path, help="PEM private key")
    p.add_argument("--trace", type=Path, metavar="FILE.jsonl", help="write every message as JSON")
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="processes sharing the ports, each owning a shard of the AORs (1)",
    )
    p.add_argument("--quiet", action="store_true", help="no informational lines on stderr")
    return p


def settings_from_args(args: argparse.Namespace) -> Settings:
    from softphone import paths

    listen: list[ListenSpec] = args.listen or [parse_listen(t) for t in DEFAULT_LISTEN]
    realm: str = args.realm
    records = []
    try:
        if args.users_file is not None:
            records.extend(read_users_file(args.users_file, realm))
        records.extend(parse_user_spec(spec, realm) for spec in args.user)
    except UserError as exc:
        raise CliError(str(exc)) from exc
    algorithms = tuple(a.strip().upper() for a in args.algorithms.split(",") if a.strip())
    known = {a.upper() for a in ALGORITHMS}
    if not algorithms or any(a not in known for a in algorithms):
        raise CliError(f"--algorithms: choose from {', '.join(ALGORITHMS)}")
    if args.min_expires > args.max_expires:
        raise CliError("--min-expires is larger than --max-expires")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise CliError("--tls-cert and --tls-key go together")
    tls = None
    if any(spec.transport == "TLS" for spec in listen):
        tls = _server_tls(args.tls_cert, args.tls_key, paths.data_dir())
    domains = {realm.lower(), "localhost", *(d.lower() for d in args.domain)}
    for spec in listen:
        domains.add(spec.host.lower())
        if spec.host in ("0.0.0.0", "::"):
            domains.update(_local_addresses())
    directory = UserDirectory(realm, records)
    return Settings(
        listen=listen,
        users=directory,
        realm=realm,
        domains=frozenset(domains),
        db=args.db or paths.data_dir() / "registrar.sqlite3",
        policy=RegistrarPolicy(
            min_expires=args.min_expires,
            max_expires=args.max_expires,
            default_expires=args.max_expires,
            max_contacts=args.max_contacts,
        ),
        register_rate=args.register_rate,
        fail_limit=args.auth_fail_limit,
        fail_window=args.auth_fail_window,
        algorithms=algorithms,
        tls=tls,
        trace=args.trace,
        quiet=args.quiet,
        workers=max(1, args.workers),
    )


def _server_tls(cert: Path | None, key: Path | None, data_dir: Path) -> ssl.SSLContext:
    if cert is None or key is None:
        from softphone.lab.certs import ensure_self_signed

        cert, key = data_dir / "registrar-cert.pem", data_dir / "registrar-key.pem"
        ensure_self_signed(cert, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f"cannot load TLS certificate {cert} / key {key}: {exc}") from exc
    return context


def _local_addresses() -> set[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return set()
    return {str(info[4][0]).lower() for info in infos}


async def serve(settings: Settings, out: IO[str]) -> None:
    """Run until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    lab = LabInstance(settings)
    try:
        for bound in await lab.start():
            print(f"listening {bound}", file=out, flush=True)
        if not settings.quiet:
            print(
                f"softphone registrar: realm {settings.realm!r}, {lab.user_count} users, "
                f"{lab.kept_bindings} bindings kept, database {settings.db}",
                file=sys.stderr,
                flush=True,
            )
        await stop.wait()
    finally:
        await lab.stop()


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="softphone registrar: %(message)s")
    try:
        settings = settings_from_args(args)
        _install_fast_loop()
        if settings.workers > 1:
            from softphone.lab.workers import run_workers

            return run_workers(settings, sys.stdout)
        asyncio.run(serve(settings, sys.stdout))
    except (CliError, LabStartError) as exc:
        print(f"softphone registrar: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _install_fast_loop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
