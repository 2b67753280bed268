"""`softphone account`: add, list, show, remove SIP accounts and set their passwords.

Why it looks like this: accounts are set up once, often from scripts, so every mistake is one
plain line on stderr and an exit code a script can test (0 done, 1 the machine refused, e.g. no
keyring or an unwritable file; 2 bad input, e.g. a wrong flag, a domain the provider rejects or a
broken config file), never a traceback. Passwords are read only from stdin (`--password-stdin`,
so they stay out of shell history and `ps`) or a no-echo prompt, go straight to the OS keyring,
and are never printed. `resolve_password` is the one place later commands (register, call,
listen) get a password from.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace
from typing import NoReturn, TextIO

from softphone import credentials
from softphone.config import (
    PROVIDERS,
    SRTP_MODES,
    TRANSPORTS,
    AccountConfig,
    ConfigError,
    Settings,
    load_settings,
    save_settings,
)
from softphone.numbers import NumberError, normalise
from softphone.providers import AccountInvalid, effective, get_preset, validate

PROG = "softphone account"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
NO_PASSWORD = "no password stored: commands will ask, or use --password-stdin"


class UsageError(Exception):
    """Bad input: exit 2."""


class PasswordError(credentials.CredentialError):
    """No password could be had for an account; the message says how to give one."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + message
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Manage SIP accounts; passwords live in the OS keyring.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser(
        "add",
        help="add an account",
        description=_providers_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("name", help="local name, e.g. work (letters, digits, - and _)")
    add.add_argument("--provider", required=True, choices=PROVIDERS)
    add.add_argument("--username", required=True, help="SIP / digest user name")
    add.add_argument("--domain", help="SIP domain host (lab and telnyx have a default)")
    add.add_argument("--registrar", help="registrar URI if not derived from the domain")
    add.add_argument("--transport", choices=TRANSPORTS)
    add.add_argument("--srtp", choices=SRTP_MODES)
    add.add_argument("--expires", type=int, metavar="S", help="registration lifetime, seconds")
    add.add_argument("--ca-file", metavar="F", help="PEM CA bundle to verify TLS servers")
    add.add_argument("--caller-id", metavar="E164", help="caller ID number, e.g. +14155550100")
    add.add_argument("--region", help="region for numbers typed without +country (default US)")
    add.add_argument("--outbound-proxy", metavar="URI")
    add.add_argument("--realm", help="digest realm if the provider's default is wrong")
    add.add_argument("--allow-cidr", action="append", default=[], metavar="NET",
                     help="trunk: network allowed to send INVITEs (repeatable)")  # fmt: skip
    add.add_argument("--options-interval", type=int, metavar="S", help="trunk: OPTIONS ping")
    add.add_argument("--no-register", action="store_true", help="never send REGISTER")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from one line of stdin into the keyring")  # fmt: skip
    add.add_argument("--replace", action="store_true", help="overwrite an existing account")
    add.add_argument("--default", action="store_true", help="make it the default account")
    sub.add_parser("list", help="list accounts")
    for action, text in (("show", "show an account's settings"), ("remove", "delete an account")):
        sub.add_parser(action, help=text).add_argument("name")
    pw = sub.add_parser("password", help="store or replace an account's password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run `softphone account ...`; returns the exit code."""
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
        action = {"add": _add, "list": _list, "show": _show, "remove": _remove}.get(
            args.action, _password
        )
        return action(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except (UsageError, ConfigError, NumberError) as exc:
        _say(f"error: {exc}")
        return EXIT_USAGE
    except credentials.CredentialError as exc:
        _say(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback; the type says where to look
        _say(f"internal error: {type(exc).__name__}: {exc}")
        return EXIT_FAILED


def resolve_password(account: AccountConfig, password_stdin: bool, prompt: bool) -> str:
    """The password to use for `account` in this run.

    `--password-stdin` comes first: what the user pipes in for this run wins over what is
    stored. Then the keyring; then a no-echo prompt when `prompt` and stdin is a terminal.
    Otherwise PasswordError says how to provide one (a missing keyring is part of the message).
    """
    if password_stdin:
        return read_password_stdin(sys.stdin)
    problem = "none is stored"
    try:
        stored = credentials.get_password(account.name)
    except credentials.CredentialError as exc:
        stored, problem = None, str(exc)
    if stored:
        return stored
    if prompt and sys.stdin.isatty():
        password = getpass.getpass(f"SIP password for {account.name} ({account.username}): ")
        if not password:
            raise PasswordError("empty password")
        return password
    raise PasswordError(
        f"no password for account {account.name!r}: {problem}; store one with "
        f"`softphone account password {account.name} --password-stdin`, pass --password-stdin, "
        "or run in a terminal to be asked"
    )


def read_password_stdin(stream: TextIO) -> str:
    """One line from `stream` without its line ending (a password may contain spaces)."""
    line = stream.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise PasswordError("--password-stdin: stdin gave an empty password")
    return password


def _add(args: argparse.Namespace) -> int:
    region = (args.region or "US").upper()
    caller_id = normalise(args.caller_id, region) if args.caller_id else None
    account = AccountConfig(
        name=args.name,
        provider=args.provider,
        username=args.username,
        domain=args.domain,
        registrar=args.registrar,
        transport=args.transport,
        srtp=args.srtp,
        expires=args.expires,
        ca_file=args.ca_file,
        caller_id=caller_id,
        region=region,
        outbound_proxy=args.outbound_proxy,
        allowed_cidrs=tuple(args.allow_cidr),
        options_interval=args.options_interval,
        register=False if args.no_register else None,
        realm=args.realm,
    )
    problems = validate(account)
    for problem in problems:
        _say(str(problem))
    if any(p.level == "error" for p in problems):
        return EXIT_USAGE
    settings = load_settings()
    if args.name in settings.accounts and not args.replace:
        raise UsageError(f"account {args.name!r} exists; remove it first or pass --replace")
    stored = existed = False
    if args.password_stdin:
        password = read_password_stdin(sys.stdin)
        existed = credentials.get_password(args.name) is not None
        credentials.set_password(args.name, password)
        stored = True
    first = not settings.accounts
    settings = settings.with_account(account)
    if args.default or first:
        settings = replace(settings, default_account=args.name)
    try:
        path = save_settings(settings)
    except ConfigError:
        if stored and not existed:
            credentials.delete_password(args.name)  # leave nothing behind
        raise
    print(f"added account {args.name!r} ({args.provider}) to {path}")
    if stored:
        print(f"password stored in the keyring ({credentials.backend_name()})")
        if credentials.is_plaintext():
            _say("warning: this keyring backend keeps passwords unencrypted in a file")
    else:
        print("keeping the stored password" if _has_password(args.name) else NO_PASSWORD)
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    settings = load_settings()
    for warning in settings.warnings:
        _say(f"warning: {warning}")
    if not settings.accounts:
        print("no accounts; add one with: softphone account add NAME --provider P --username U")
        return EXIT_OK
    width = max(len(name) for name in settings.accounts) + 2
    for name, account in settings.accounts.items():
        a = get_preset(account.provider).defaults(account)
        mark = "*" if name == settings.default_account else " "
        secure = "+srtp" if a.srtp != "off" else ""
        where = f"{a.username}@{a.domain or '?'}"
        print(f"{mark} {name:<{width}}{a.provider:<15}{where:<45}{a.transport}{secure}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    settings = load_settings()
    account = _find(settings, args.name)
    preset = get_preset(account.provider)
    rows: list[tuple[str, str]] = [
        ("account", account.name + (" (default)" if settings.default_account == args.name else "")),
        ("provider", f"{account.provider}: {preset.summary}"),
        ("username", account.username),
    ]
    status = EXIT_OK
    try:
        e = effective(account)
    except AccountInvalid:  # show what is stored; the problems follow
        rows.append(("domain", account.domain or "-"))
        status = EXIT_FAILED
    else:
        suites = f" ({', '.join(e.srtp_suites)})" if e.srtp_suites else ""
        rows += [
            ("address (AOR)", e.id_uri),
            ("registrar", e.registrar_uri or "none: this account does not register"),
            ("realm", "any the server names" if e.realm == "*" else e.realm),
            ("transport", e.transport + (f", port {e.port}" if e.port else "")),
            ("srtp", e.srtp + suites),
            ("expires", f"{e.expires} s" if e.expires else "-"),
            ("outbound proxy", e.outbound_proxy or "-"),
            ("CA file", e.ca_file or ("system" if e.transport == "tls" else "-")),
            ("caller ID", e.caller_id or "-"),
            ("region", e.region),
        ]
        if not e.registrar_uri:
            rows.append(("allowed inbound", ", ".join(e.allowed_cidrs) or "nobody"))
            rows.append(("OPTIONS every", f"{e.options_interval} s"))
        if e.max_devices:
            rows.append(("devices per user", f"up to {e.max_devices} ring together"))
    rows.append(("password", _password_status(account.name)))
    for label, value in rows:
        print(f"{label:<17}{value}")
    for problem in validate(account):
        print(problem)
    return status


def _remove(args: argparse.Namespace) -> int:
    settings = load_settings()
    _find(settings, args.name)
    note = ""
    try:  # keyring first: if it is locked, keep the account so the user can retry
        note = "; its password was deleted" if credentials.delete_password(args.name) else ""
    except credentials.NoKeyringError:
        note = "; no keyring reachable, so no password could be deleted"
    path = save_settings(settings.without_account(args.name))
    print(f"removed account {args.name!r} from {path}{note}")
    return EXIT_OK


def _password(args: argparse.Namespace) -> int:
    _find(load_settings(), args.name)
    if args.password_stdin:
        password = read_password_stdin(sys.stdin)
    elif sys.stdin.isatty():
        password = getpass.getpass(f"new SIP password for {args.name}: ")
        if password != getpass.getpass("again: "):
            raise UsageError("the two passwords differ; nothing stored")
        if not password:
            raise UsageError("empty password; nothing stored")
    else:
        raise UsageError("stdin is not a terminal: pass --password-stdin")
    credentials.set_password(args.name, password)
    print(f"password for {args.name!r} stored in the keyring ({credentials.backend_name()})")
    return EXIT_OK


def _find(settings: Settings, name: str) -> AccountConfig:
    account = settings.accounts.get(name)
    if account is None:
        known = ", ".join(settings.accounts) or "none yet"
        raise UsageError(f"no account {name!r} (accounts: {known})")
    return account


def _has_password(name: str) -> bool:
    try:
        return credentials.get_password(name) is not None
    except credentials.CredentialError:
        return False


def _password_status(name: str) -> str:
    try:
        if credentials.get_password(name) is not None:
            return f"stored in the keyring ({credentials.backend_name()})"
    except credentials.CredentialError as exc:
        return f"unknown: {exc}"
    return NO_PASSWORD


def _providers_help() -> str:
    lines = [f"  {name:<14} {get_preset(name).summary}" for name in PROVIDERS]
    return "Add a SIP account. Providers:\n" + "\n".join(lines)


def _say(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr)
