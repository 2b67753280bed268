"""Our phone client for scripts/bench_client, in its own process (one pjsua2 Endpoint each).

It runs the engine exactly as `softphone register` / `softphone call` do: the account goes
through the same account layer (AccountConfig → providers.effective → to_engine_account) and
the engine's sink is the headless commands' own (EventInbox), so what the
benchmark times is the product's own path, not a test harness's (tests/engine/runner.py writes
every SIP message as JSON to stdout from the engine thread, which the phone never does).

Protocol: argv[1] is JSON {"port": KAMAILIO_PORT, "user": U, "password": P, "sip_port": N,
"rtp_ports": [FIRST, LAST], "target": URI}. stdin, one command per line: `register` (a fresh
registration: remove the account if present, add it, wait for 200), `unregister` (remove
it: the un-REGISTER goes out), `call` (dial the target,
wait for CONFIRMED, hang up, wait for DISCONNECTED), `quit`. stdout: `ready`, then `ok` or
`error: TEXT` per command.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from softphone.config import AccountConfig
from softphone.engine import (
    CallEvent,
    Engine,
    EngineAccount,
    EngineOptions,
    Event,
    RegistrationEvent,
)
from softphone.engine_account import LocalAddress, headless_options, to_engine_account
from softphone.headless.session import EventInbox
from softphone.providers import effective

WAIT = 10.0


def bench_account(setup: dict[str, Any]) -> tuple[EngineAccount, EngineOptions]:
    """The benchmark's account and engine options, built by the product's own account layer."""
    config = AccountConfig(
        name="bench",
        provider="generic",
        username=str(setup["user"]),
        domain="127.0.0.1",
        registrar=f"sip:127.0.0.1:{int(setup['port'])}",
        # No outbound proxy: baresip's account has none either, and a Route header makes
        # Kamailio run loose_route on every request (~0.15 ms a transaction here).
    )
    account = effective(config)
    first, last = setup["rtp_ports"]
    local = LocalAddress("127.0.0.1", int(setup["sip_port"]), (int(first), int(last)))
    return to_engine_account(account, str(setup["password"])), headless_options(account, local)


class Driver:
    def __init__(self, setup: dict[str, Any]) -> None:
        self.spec, options = bench_account(setup)
        self.target = str(setup["target"])
        self.inbox = EventInbox()  # the headless commands' own sink
        self.engine = Engine(self.inbox.sink, options)
        self.added = False

    def wait_for(self, done: Any) -> Event:
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            got = self.inbox.get(left) if left > 0 else None
            self.inbox.traces()  # the CLI writes them to --trace here; the bench drops them
            if got is None:
                raise TimeoutError(f"no such event within {WAIT} s")
            if done(got[1]):
                return got[1]

    def unregister(self) -> None:
        if self.added:
            self.engine.remove_account(self.spec.name).result(WAIT)  # sends the un-REGISTER
            self.added = False

    def register(self) -> None:
        self.unregister()
        self.engine.add_account(self.spec).result(WAIT)  # as Session.start does
        self.added = True
        self.wait_for(lambda e: isinstance(e, RegistrationEvent) and e.state == "registered")

    def call(self) -> None:
        handle = self.engine.make_call(self.spec.name, self.target).result(WAIT)

        def state(name: str) -> Any:
            return lambda e: isinstance(e, CallEvent) and e.call == handle and e.state == name

        self.wait_for(state("confirmed"))
        self.engine.hangup(handle).result(WAIT)
        self.wait_for(state("disconnected"))


def serve(commands: dict[str, Callable[[], None]]) -> None:
    """The stdin/stdout protocol: `ready`, then `ok` or `error: TEXT` per command until `quit`
    (shared with scripts/benchlib/pjsip_reference_client.py)."""
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        try:
            commands[command]()
        except Exception as exc:
            info = getattr(exc, "info", None)  # pj.Error: str() is empty, info() is not
            detail = info() if callable(info) else exc
            print(f"error: {type(exc).__name__}: {detail}", flush=True)
        else:
            print("ok", flush=True)


def main(argv: list[str]) -> int:
    driver = Driver(json.loads(argv[1]))
    driver.engine.start()
    try:
        serve({"register": driver.register, "unregister": driver.unregister, "call": driver.call})
    finally:
        stopped = driver.engine.stop()
    return 0 if stopped else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
