"""The reference client of `scripts/bench_client --pjsip`: our pjsip build on its own.

Why it exists: the client benchmark compares our phone with baresip, whose SIP stack (libre)
is not ours. This client runs the same pjsua2 build configured by the engine's own builders
(endpoint_config, transport_config, account_config, pin_codecs: the same messages, the same
level-4 message log to a file), but pjsip handles SIP in its own C worker thread
(threadCnt=1) and the account and call are plain `pj.Account` / `pj.Call`. Without a Python
subclass SWIG builds no director, so no callback ever enters Python. It shows how fast this
pjsip answers by itself, next to libre, so a gap to baresip can be told apart from our
engine's own cost. The product keeps threadCnt=0 with one engine thread (engine-notes §1);
this is a measuring stick only.

The main thread looks at the account or call state every POLL_S. A look can fall inside a
measured exchange only rarely, and it would only make this reference slower.

Same protocol and argv as scripts/benchlib/our_client.py.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from softphone.engine.pjconfig import (
    TRANSPORT_TYPES,
    account_config,
    endpoint_config,
    pin_codecs,
    transport_config,
)
from softphone.engine.types import Transport

from .our_client import WAIT, bench_account, serve

POLL_S = 0.05


def wait_until(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {WAIT} s")
        time.sleep(POLL_S)  # pjsip's worker does the SIP; nothing here to wake us


class ReferenceClient:
    def __init__(self, setup: dict[str, Any], log_path: str) -> None:
        self.spec, self.options = bench_account(setup)
        self.target = str(setup["target"])
        self.keep: list[Any] = []
        self.ep = pj.Endpoint()
        self.ep.libCreate()
        cfg = endpoint_config(self.options, None, log_path)
        cfg.uaConfig.threadCnt = 1  # pjsip's own C thread answers challenges
        cfg.uaConfig.mainThreadOnly = False
        self.ep.libInit(cfg)
        self.ep.audDevManager().setNullDev()
        pin_codecs(self.ep, self.options.codecs)
        kinds: tuple[Transport, ...] = ("udp", "tcp")  # the engine's two listeners
        ids = {
            kind: self.ep.transportCreate(
                TRANSPORT_TYPES[kind], transport_config(self.options, kind, self.keep)
            )
            for kind in kinds
        }
        self.ep.libStart()
        self.account_cfg = account_config(self.spec, self.options, ids["udp"], self.keep)
        self.account: Any = None
        self.calls: list[Any] = []  # kept: a Call is never deleted under the worker thread

    def unregister(self) -> None:
        if self.account is not None:
            self.account.shutdown()  # sends the un-REGISTER
            self.account = None

    def register(self) -> None:
        self.unregister()
        account = pj.Account()  # not subclassed: no director, no Python in callbacks
        account.create(self.account_cfg)
        self.account = account
        wait_until(lambda: account.getInfo().regStatus == 200)

    def call(self) -> None:
        call = pj.Call(self.account)
        self.calls.append(call)
        call.makeCall(self.target, pj.CallOpParam(True))
        wait_until(lambda: call.getInfo().state == pj.PJSIP_INV_STATE_CONFIRMED)
        call.hangup(pj.CallOpParam())
        wait_until(lambda: not call.isActive())


def main(argv: list[str]) -> int:
    setup = json.loads(argv[1])
    fd, log_path = tempfile.mkstemp(prefix="pjsip-reference-", suffix=".log")
    os.close(fd)
    real_stdout = os.dup(1)
    os.dup2(2, 1)  # pjsua's console output must not mix with the protocol on stdout
    sys.stdout = os.fdopen(real_stdout, "w")
    code = 0
    try:
        client = ReferenceClient(setup, log_path)
        serve({"register": client.register, "unregister": client.unregister, "call": client.call})
        client.unregister()
    except Exception as exc:  # pj.Error says nothing in str() (engine-notes §0); info() does
        print(f"pjsip reference client: {getattr(exc, 'info', exc.__repr__)()}", file=sys.stderr)
        code = 1
    finally:
        os.unlink(log_path)
        sys.stdout.flush()
    # No libDestroy: with a worker thread and Call objects held, teardown has its own traps
    # (engine-notes §2); the process is a measuring stick, so it just ends.
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
