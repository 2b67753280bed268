"""Benchmark our phone client against baresip through the same Kamailio: register round trip
and call setup time, from packet captures, interleaved A/B.

Both clients register at one Kamailio (digest, tests/peers/kamailio.py) and call one fixed far
end: a sipp UAS registered at that Kamailio that answers at once (uas_answer_at_once.xml).
Each metric is read from a loopback capture of Kamailio's port, the same way for both clients,
on the client's own SIP port:

* register round trip: the first REGISTER of a registration (new Call-ID) → its 200 OK,
  including the 401 challenge round (RFC 3261 §22.4). Every sample is a fresh registration:
  ours removes and re-adds the account (a new pjsip regc), baresip deletes and re-creates
  the user agent (`uadel`/`uanew`), so neither can answer the challenge pre-emptively.
  The un-REGISTER of the previous sample goes out `--gap-ms` before, so it never overlaps.
* call setup: the first INVITE → the 200 OK for it, including the 407 round Kamailio demands
  of local callers (RFC 3261 §22.3) and the far end's 180/200.

Our client is the phone engine as the headless commands run it, in its own process
(scripts/benchlib/our_client.py); baresip is driven over ctrl_tcp (tests/peers/baresip.py).
The clients take turns sample by sample (A B, B A, ...) under one capture per round, so
drift hits both alike. The result is the median
of all samples per client, and ours/baresip per metric; target ≤ 1.0 (ours no slower). Also
shown: each client's own share, from a received 401/407 to the authenticated request it sent.
With --pjsip a third client takes its turns: our pjsip build on its own, answering in its C
worker thread with no Python in its path (pjsip_reference_client.py). Its ratios show how
much of a gap to baresip is pjsip's (libre is another stack) and how much is our engine's.
Exit 0 when every sample completed and both ratios meet the target, 1 otherwise, 2 when a
tool is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from tests.peers import baresip as baresip_peer
from tests.peers.baresip import Account, Baresip
from tests.peers.kamailio import Kamailio, KamailioError, kamailio_available
from tests.peers.ports import HOST, free_port_block
from tests.peers.sipp import RegisteredUas, sipp_available

from .capture import TSHARK, Capture, capture_available, percentile

TARGET_RATIO = 1.0
RESTARTS = 2  # baresip crashes survived per run (see _restartable)
USERS = {
    "alice": "alice-bench-pw", "bob": "bob-bench-pw", "carol": "carol-bench-pw",
    "far": "far-bench-pw",
}  # fmt: skip
METRICS = ("register", "call")
FAR_END_SCENARIO = Path(__file__).with_name("uas_answer_at_once.xml")
# Datagrams per sample at least (REGISTER/401/REGISTER/200 and the un-REGISTER round;
# INVITE/407/ACK/INVITE/100/180/200/ACK/BYE/200) plus the far end's leg: a lower bound for
# "the capture has everything" (Capture.wait_for).
_MIN_PACKETS = {"register": 8, "call": 16}


class Client(Protocol):
    name: str
    port: int

    def unregister(self) -> None: ...

    def register_once(self) -> None: ...

    def call_once(self) -> None: ...


class OurClient:
    """Our engine in its own process (scripts/benchlib/our_client.py), on a fixed SIP port;
    with `module`, another client speaking the same protocol (the pjsip reference)."""

    def __init__(
        self,
        work: Path,
        kam: Kamailio,
        name: str = "ours",
        module: str = "our_client",
        user: str = "alice",
    ) -> None:
        self.name = name
        self.port = free_port_block([0])
        rtp = free_port_block(range(0, 40, 2), kinds=("udp",)) & ~1
        setup = {
            "port": kam.port, "user": user, "password": USERS[user],
            "sip_port": self.port, "rtp_ports": [rtp, rtp + 39],
            "target": f"sip:far@{HOST}:{kam.port}",
        }  # fmt: skip
        self._args = [sys.executable, "-m", f"scripts.benchlib.{module}", json.dumps(setup)]
        self._log = work / f"{module}.stderr"
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> OurClient:
        with self._log.open("wb") as err:
            self.proc = subprocess.Popen(
                self._args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                text=True, bufsize=1, start_new_session=True,
            )  # fmt: skip
        self._expect("ready")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            assert proc.stdin is not None
            proc.stdin.write("quit\n")
            proc.stdin.close()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def _expect(self, want: str) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()  # the driver bounds every wait itself
        if line != want:
            log = self._log.read_text(errors="replace")[-2000:]
            raise AssertionError(f"our client said {line!r}, not {want!r}\n{log}")

    def _do(self, command: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        self._expect("ok")

    def unregister(self) -> None:
        self._do("unregister")

    def register_once(self) -> None:
        self._do("register")

    def call_once(self) -> None:
        self._do("call")


class BaresipClient:
    """baresip 1.0.0 driven over ctrl_tcp."""

    name = "baresip"

    def __init__(self, work: Path, kam: Kamailio) -> None:
        self.account = Account(
            "bob", domain=f"{HOST}:{kam.port}", password=USERS["bob"], register=True
        )
        self.target = f"sip:far@{HOST}:{kam.port}"
        self.peer = Baresip(work, self.account, name="bench-baresip", lifetime=3600)
        self.port = self.peer.sip_port

    def __enter__(self) -> BaresipClient:
        self.peer.__enter__()
        self.peer.wait_for_event("REGISTER_OK", 5)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.peer.stop()

    def unregister(self) -> None:
        self.peer.command("uadel", self.account.aor)  # un-REGISTER; uanew makes a new UA

    def register_once(self) -> None:
        self.peer.command("uanew", self.account.line())
        # menu's "current UA" still points at the deleted one (dial then fails with ENOMEM).
        self.peer.command("uafind", self.account.aor)
        self.peer.wait_for_event("REGISTER_OK", 5, unless=("REGISTER_FAIL",))

    def call_once(self) -> None:
        self.peer.dial(self.target)
        self.peer.wait_for_event("CALL_ESTABLISHED", 5, unless=("CALL_CLOSED",))
        self.peer.hangup()
        self.peer.wait_for_event("CALL_CLOSED", 5)
        with self.peer._cond:
            self.peer._pending.clear()  # REGISTERING/CALL_* leftovers: not waited for
            self.peer.events.clear()


@dataclass
class Samples:
    """Milliseconds per metric, and the SIP requests the client needed per sample."""

    ms: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    requests: dict[str, int] = field(default_factory=lambda: {m: 0 for m in METRICS})
    # The client's own share: challenge (401/407) received → authenticated request sent.
    answer_ms: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})

    def extend(self, other: Samples) -> None:
        for m in METRICS:
            self.ms[m] += other.ms[m]
            self.requests[m] += other.requests[m]
            self.answer_ms[m] += other.answer_ms[m]


def read_capture(pcap: Path, server_port: int, client_port: int) -> Samples:
    """Register round trips and call setup times of the client at `client_port`."""
    fields = ["frame.time_epoch", "udp.srcport", "udp.dstport", "sip.Call-ID",
              "sip.Method", "sip.CSeq.method", "sip.Status-Code", "sip.Expires",
              "sip.Contact"]  # fmt: skip
    cmd = [TSHARK, "-n", "-r", str(pcap), "-d", f"udp.port=={server_port},sip", "-Y", "sip"]
    cmd += ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]
    for name in fields:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    first: dict[tuple[str, str], float] = {}  # (metric, Call-ID) → first request sent
    done: dict[tuple[str, str], float] = {}  # → first 200 received
    challenged: dict[tuple[str, str], float] = {}  # → first 401/407 received
    answered: dict[tuple[str, str], float] = {}  # → the request that answered it
    samples = Samples()
    method_of = {"REGISTER": "register", "INVITE": "call"}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < len(fields):
            continue
        stamp, sport, dport, call_id, method, cseq_method, status, expires, contact = parts[
            : len(fields)
        ]
        metric = method_of.get(cseq_method)
        if metric is None:
            continue
        if method == "REGISTER" and (expires == "0" or ";expires=0" in contact.lower()):
            continue  # an un-REGISTER (RFC 3261 §10.2.2): not a registration
        key = (metric, call_id)
        if sport == str(client_port) and method == cseq_method and not status:
            first.setdefault(key, float(stamp))
            if key in challenged:
                answered.setdefault(key, float(stamp))
            samples.requests[metric] += 1
        elif dport == str(client_port) and key in first:
            if status == "200":
                done.setdefault(key, float(stamp))
            elif status in ("401", "407"):
                challenged.setdefault(key, float(stamp))
    for key, start in first.items():
        if key in done:
            samples.ms[key[0]].append((done[key] - start) * 1000.0)
        if key in answered:
            samples.answer_ms[key[0]].append((answered[key] - challenged[key]) * 1000.0)
    return samples


def pace(gap: float) -> None:
    """Keep the wire quiet for `gap` seconds between samples, so the previous sample's trailing
    transactions (the un-REGISTER with its own 401 round, the BYE) never overlap the next
    measurement. This is the load generator's inter-sample interval (like sipp's call rate),
    the same for both clients; nothing waits on it for correctness."""
    time.sleep(gap)


def sample_register(client: Client, gap: float) -> None:
    client.unregister()
    pace(gap)
    client.register_once()


def _turns(clients: Sequence[Client], i: int) -> Sequence[Client]:
    """Who goes first rotates sample by sample (A B, B A, ... or A B C, B C A, C A B, ...)."""
    k = i % len(clients)
    return [*clients[k:], *clients[:k]]


def run_round(
    clients: Sequence[Client], kam: Kamailio, count: int, pcap: Path, gap: float
) -> tuple[dict[str, Samples], bool]:
    """`count` registrations then `count` calls per client under one capture, the clients
    taking turns sample by sample: a drift in the machine's state (where the scheduler puts
    Kamailio's workers, caches, a background job) then hits both alike, where blocks of one
    client's samples measured it as a difference between the clients."""
    with Capture(kam.port, pcap) as capture:
        for i in range(count):
            for client in _turns(clients, i):
                sample_register(client, gap)
        for i in range(count):
            for client in _turns(clients, i):
                pace(gap)
                client.call_once()
        complete = capture.wait_for(count * len(clients) * sum(_MIN_PACKETS.values()))
    return {c.name: read_capture(pcap, kam.port, c.port) for c in clients}, complete


def _restartable(client: Client, restarts: int) -> bool:
    """baresip 1.0.0 sometimes dies of SIGSEGV between samples (never ours: that would be a
    failure to report); it is started again and the round repeated, at most RESTARTS times."""
    return isinstance(client, BaresipClient) and not client.peer.alive and restarts < RESTARTS


def _fmt(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):6.2f} ms  p90 {percentile(values, 90):6.2f} ms"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench_client",
        description="Register round trip and call setup: our phone vs baresip via Kamailio.",
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds, one capture each (default 3)")
    p.add_argument("--samples", type=int, default=20, help="samples per metric per round (20)")
    p.add_argument("--warmup", type=int, default=3, help="uncounted samples first (3)")
    p.add_argument("--keep", type=Path, metavar="DIR", help="keep the captures in DIR")
    p.add_argument("--gap-ms", type=float, default=30.0, help="quiet time between samples (30)")
    p.add_argument(
        "--pjsip", action="store_true",
        help="also run the pjsip reference client (pjsip_reference_client.py: our pjsip build "
        "in its own C worker thread, no Python in its path)",
    )  # fmt: skip
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [kamailio_available(), sipp_available(), capture_available()]
    if not baresip_peer.available():
        missing.append("baresip (or its modules) not installed (Debian package `baresip`)")
    if any(missing):
        print("bench_client: " + "; ".join(m for m in missing if m), file=sys.stderr)
        return 2
    try:
        return bench(args)
    except KamailioError as exc:
        print(f"bench_client: Kamailio did not start: {exc}", file=sys.stderr)
        return 2
    except AssertionError as exc:  # a client did not do what a sample needs (with its log)
        print(f"bench_client: a sample failed: {exc}", file=sys.stderr)
        print("result: FAIL")
        return 1


def bench(args: argparse.Namespace) -> int:
    names = ["ours", "baresip"] + (["pjsip"] if args.pjsip else [])
    per_round = args.samples
    # Room for the rounds repeated after a baresip crash (RESTARTS at most).
    far_calls = (args.warmup + (args.rounds + RESTARTS) * per_round) * len(names)
    print(
        f"{args.rounds} rounds x {per_round} samples per metric and client (+{args.warmup} "
        "warm-up), clients interleaved sample by sample; times from a capture of Kamailio's port",
        flush=True,
    )
    totals = {name: Samples() for name in names}
    ok = True
    restarts = 0
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        kam = stack.enter_context(Kamailio(USERS))
        far = RegisteredUas(
            (HOST, kam.port), "far", USERS["far"], FAR_END_SCENARIO,
            calls=far_calls, timeout_s=3600, trace_messages=False,
        )  # fmt: skip
        stack.enter_context(far)
        clients: dict[str, Client] = {
            "ours": stack.enter_context(OurClient(work, kam)),
            "baresip": stack.enter_context(BaresipClient(work, kam)),
        }
        if args.pjsip:
            clients["pjsip"] = stack.enter_context(
                OurClient(work, kam, "pjsip", "pjsip_reference_client", "carol")
            )
        for client in clients.values():  # warm-up: caches, first connections, page faults
            for _ in range(args.warmup):
                sample_register(client, args.gap_ms / 1e3)
                client.call_once()
        for rnd in range(1, args.rounds + 1):
            order = [clients[n] for n in (names if rnd % 2 else list(reversed(names)))]
            pcap = (args.keep or work) / f"round-{rnd}.pcapng"
            while True:
                try:
                    got, complete = run_round(order, kam, per_round, pcap, args.gap_ms / 1e3)
                    break
                except AssertionError as exc:
                    crashed = clients["baresip"]
                    if not _restartable(crashed, restarts):
                        raise
                    restarts += 1
                    print(f"round {rnd}  baresip  crashed, restarted, round repeated: "
                          f"{str(exc).splitlines()[0]}", flush=True)  # fmt: skip
                    clients["baresip"] = stack.enter_context(BaresipClient(work, kam))
                    order = [clients[c.name] for c in order]
            for name in names:
                totals[name].extend(got[name])
                counts = [len(got[name].ms[m]) for m in METRICS]
                if not complete or counts != [per_round] * len(METRICS):
                    ok = False
                    print(f"round {rnd}  {name:<8} INCOMPLETE: samples {counts}")
                print(
                    f"round {rnd}  {name:<8} register {_fmt(got[name].ms['register'])}   "
                    f"call setup {_fmt(got[name].ms['call'])}   (n={counts[0]}/{counts[1]})",
                    flush=True,
                )
    return report(totals, ok)


def report(totals: dict[str, Samples], ok: bool) -> int:
    medians = {n: {m: statistics.median(s.ms[m]) for m in METRICS} for n, s in totals.items()}
    for name, samples in totals.items():
        per = {m: samples.requests[m] / max(1, len(samples.ms[m])) for m in METRICS}
        print(
            f"median    {name:<8} register {medians[name]['register']:6.2f} ms   call setup "
            f"{medians[name]['call']:6.2f} ms   (requests per sample: REGISTER "
            f"{per['register']:.1f}, INVITE {per['call']:.1f})"
        )
    for name, samples in totals.items():
        answer = {m: statistics.median(samples.answer_ms[m] or [float("nan")]) for m in METRICS}
        print(
            f"client's own share ({name}): 401 → authenticated REGISTER "
            f"{answer['register']:.3f} ms, 407 → authenticated INVITE {answer['call']:.3f} ms "
            "(medians; informative, not part of the target)"
        )
    for metric, label in (("register", "register round trip"), ("call", "call setup")):
        ratio = medians["ours"][metric] / medians["baresip"][metric]
        meets = ratio <= TARGET_RATIO
        ok = ok and meets
        print(
            f"ratio ours/baresip {label:<20} {ratio:5.2f} (target <= {TARGET_RATIO}) -> "
            f"{'met' if meets else 'NOT met'}"
        )
        if "pjsip" in medians:  # --pjsip: how much of the gap is pjsip's own, not the engine's
            pjsip = medians["pjsip"][metric]
            print(
                f"      pjsip/baresip {label:<20} {pjsip / medians['baresip'][metric]:5.2f}   "
                f"ours/pjsip {medians['ours'][metric] / pjsip:5.2f}   (informative)"
            )
    print("result: PASS" if ok else "result: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
