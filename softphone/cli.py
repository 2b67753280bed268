"""Entry point: `softphone <command>`. Each command's module is imported only when it runs, so
`softphone registrar` never loads the TUI and `softphone` alone starts fast."""

from __future__ import annotations

import sys

USAGE = """usage: softphone [<command> [options]]

Without a command, softphone opens the terminal phone on your configured accounts.

commands:
  registrar   run the lab registrar + forking proxy (softphone registrar --help)
  lab         start the whole lab on this machine
  account     add, list, show and remove SIP accounts (softphone account --help)
  register    register an account once and list its bindings (softphone register --help)
  call        call a number or SIP address and hang up after a while (softphone call --help)
  listen      wait for calls, answer them automatically if asked (softphone listen --help)
  doctor      check that this machine can run the phone (softphone doctor --help)
"""


def main(argv: list[str] | None = None) -> int:
    """Run the softphone command line; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        return _tui()
    if args[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0
    command, rest = args[0], args[1:]
    if command == "registrar":
        from softphone.lab.registrar_cli import main as registrar_main

        return registrar_main(rest)
    if command == "lab":
        from softphone.labapp.cli import main as lab_main

        return lab_main(rest)
    if command == "account":
        from softphone.account_cli import main as account_main

        return account_main(rest)
    if command in ("register", "call", "listen"):
        from softphone import phone_cli

        entry = {
            "register": phone_cli.register_main,
            "call": phone_cli.call_main,
            "listen": phone_cli.listen_main,
        }[command]
        return entry(rest)
    if command == "doctor":
        from softphone.doctor import main as doctor_main

        return doctor_main(rest)
    print(f"softphone: unknown command {command!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


def _tui() -> int:
    """`softphone` alone: the TUI on the accounts of config.toml."""
    import gc

    # No garbage collection until the first frame is on screen: start-up allocates a lot and
    # frees almost nothing, so the collector's passes there are pure delay (the app turns it
    # back on, with everything from start-up frozen, once it is ready).
    gc.disable()
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        print(f"softphone: the phone needs a terminal (stdin and stderr)\n\n{USAGE}", end="",
              file=sys.stderr)  # fmt: skip
        return 2
    from softphone.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"softphone: {exc}", file=sys.stderr)
        return 2
    from softphone.ui.run import run_tui

    return run_tui(settings)
