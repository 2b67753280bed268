"""Benchmark our registrar against Kamailio with sipp: REGISTER + digest.

Each sipp call is one registration: REGISTER → 401 → REGISTER with credentials → 200
(two transactions), for 200 users from an injection file.

Throughput: a closed loop (`sipp -users N`: N calls in flight, a new one starts the
moment one ends), `--seconds` per run, A/B interleaved for `--rounds` rounds (the
order flips every round so drift hits both sides alike); calls/s per round, the median,
and ours/Kamailio.  A closed loop, not `-r R -l N`: sipp's rate scheduler only opens
calls on its millisecond timer tick, which caps 20 calls in flight at ~5,000 calls/s
whatever the server does.

Latency: p50/p90/p99 per REGISTER transaction at a fixed 500 calls/s, from a packet
capture on lo (sipp's own timings are too coarse, peers.md).

Target for the product: ours/Kamailio ≥ 0.5 with zero failed calls.  Exit code 0 when
every run had zero failures (and, with both sides, the ratio target is met), else 1;
2 when a tool is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tests.peers.kamailio import Kamailio, KamailioError, kamailio_available
from tests.peers.registrar import OurRegistrar, RegistrarError
from tests.peers.sipp import Sipp, SippResult, scenario, sipp_available, write_injection

from .capture import Capture, capture_available, percentile, transaction_latencies

TARGET_RATIO = 0.5
USERS = {f"user{i:03d}": f"bench-{i:03d}-pw" for i in range(200)}


class Target(Protocol):
    """What the benchmark needs of a registrar (Kamailio and OurRegistrar both fit)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


@dataclass
class Run:
    name: str
    result: SippResult

    @property
    def rate(self) -> float:
        return self.result.successful / self.result.elapsed_s if self.result.elapsed_s else 0.0

    @property
    def clean(self) -> bool:
        return self.result.returncode == 0 and self.result.failed == 0


def throughput_run(target: Target, users_csv: Path, seconds: float, in_flight: int) -> SippResult:
    return Sipp(
        scenario("register_digest"),
        (target.host, target.port),
        injection=users_csv,
        timeout_s=seconds + 60,
        extra_args=["-users", str(in_flight)],
    ).run_for(seconds)


def latency_run(
    target: Target, users_csv: Path, rate: int, seconds: float, work: Path, name: str
) -> tuple[SippResult, list[str]]:
    pcap = work / f"{name}.pcapng"
    calls = int(rate * seconds)
    with Capture(target.port, pcap) as capture:
        result = Sipp(
            scenario("register_digest"),
            (target.host, target.port),
            injection=users_csv,
            calls=calls,
            rate=rate,
            timeout_s=seconds + 60,
        ).run()
        # Four datagrams per call (2 requests, 2 responses) when nothing was retransmitted.
        complete = capture.wait_for(4 * result.successful)
    lat = transaction_latencies(pcap, target.port)
    lines = []
    if not complete or capture.dropped:
        lines.append(f"  {name:<9} capture incomplete (dropped: {capture.dropped})")
    everything = lat.all

    def fmt(values: list[float]) -> str:
        return " ".join(f"p{p} {percentile(values, p):.3f} ms" for p in (50, 90, 99))

    lines.append(f"  {name:<9} {fmt(everything)}  (n={len(everything)} transactions)")
    for status in sorted(lat.by_status):
        values = lat.by_status[status]
        lines.append(f"  {'':<9}   {status}: {fmt(values)}  (n={len(values)})")
    if lat.unanswered:
        lines.append(f"  {'':<9}   unanswered requests: {lat.unanswered}")
    return result, lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_registrar",
        description="REGISTER+digest throughput and latency: our registrar vs Kamailio.",
    )
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds (default 3)")
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per run (15)")
    parser.add_argument("--only", choices=("kamailio", "ours"), help="benchmark one side only")
    parser.add_argument("--in-flight", type=int, default=20, help="calls in flight (20)")
    parser.add_argument("--latency-rate", type=int, default=500, help="calls/s (500)")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="seconds (10)")
    parser.add_argument("--kamailio-children", type=int, default=4, help="UDP workers (4)")
    parser.add_argument(
        "--workers", type=int, default=1, help="our registrar's worker processes (1)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return bench(parse_args(argv))
    except (KamailioError, RegistrarError) as exc:
        print(f"bench_registrar: a registrar did not start: {exc}", file=sys.stderr)
        return 2


def bench(args: argparse.Namespace) -> int:
    names = [args.only] if args.only else ["ours", "kamailio"]
    missing = [sipp_available(), capture_available()]
    if "kamailio" in names:
        missing.append(kamailio_available())
    if any(missing):
        print("bench_registrar: " + "; ".join(m for m in missing if m), file=sys.stderr)
        return 2

    print(
        f"REGISTER+digest (2 transactions per call), {len(USERS)} users, "
        f"{args.in_flight} calls in flight (sipp -users), {args.seconds:g} s per run, "
        f"{args.rounds} rounds; ours with --workers {args.workers}, "
        f"Kamailio with {args.kamailio_children} UDP children",
        flush=True,
    )
    runs: list[Run] = []
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        users_csv = write_injection(work / "users.csv", [(u, p, u) for u, p in USERS.items()])
        targets: dict[str, Target] = {}
        for name in names:
            if name == "kamailio":
                targets[name] = stack.enter_context(
                    Kamailio(USERS, children=args.kamailio_children)
                )
            else:
                workers = ["--workers", str(args.workers)]
                targets[name] = stack.enter_context(OurRegistrar(USERS, extra_args=workers))
        # Warm-up, not counted: first bindings, caches, page faults.
        for target in targets.values():
            throughput_run(target, users_csv, min(2.0, args.seconds), args.in_flight)
        for rnd in range(1, args.rounds + 1):
            order = names if rnd % 2 else list(reversed(names))
            for name in order:
                run = Run(
                    name, throughput_run(targets[name], users_csv, args.seconds, args.in_flight)
                )
                runs.append(run)
                r = run.result
                print(
                    f"round {rnd}  {name:<9} {run.rate:>10,.0f} calls/s  "
                    f"({r.successful:,} calls, {r.failed} failed, "
                    f"{r.retransmissions} retransmissions, rc {r.returncode})",
                    flush=True,
                )
        print(f"latency per REGISTER transaction at {args.latency_rate} calls/s (capture on lo):")
        for name in names:
            result, lines = latency_run(
                targets[name], users_csv, args.latency_rate, args.latency_seconds, work, name
            )
            runs.append(Run(f"{name} (latency)", result))
            print("\n".join(lines), flush=True)

    medians = {
        name: statistics.median(run.rate for run in runs if run.name == name) for name in names
    }
    for name in names:
        print(f"median    {name:<9} {medians[name]:>10,.0f} calls/s")
    failed = [run for run in runs if not run.clean]
    ok = not failed
    if failed:
        for run in failed:
            print(f"FAILURES in {run.name}:\n{run.result.explain()}")
    else:
        print("failures: none (every run: sipp exit 0, 0 failed calls)")
    if len(names) == 2:
        ratio = medians["ours"] / medians["kamailio"] if medians["kamailio"] else 0.0
        meets = ratio >= TARGET_RATIO
        ok = ok and meets
        print(
            f"ratio ours/kamailio {ratio:.2f} (target >= {TARGET_RATIO}) -> "
            f"{'met' if meets else 'NOT met'}"
        )
    print("result: PASS" if ok else "result: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
