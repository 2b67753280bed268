"""Parse rate of our SIP parser on a pcap against tshark's on the same file.

The pcap holds realistic SIP (REGISTER with digest through the real lab registrar, calls through
a proxy with 407/100/180/200/ACK/BYE, a forked call with CANCEL, Twilio trunk calls; the flows
of tests/sip/sipflows.py) repeated with a fresh Call-ID each time, written by export.to_pcap.

Ours: read the file, pull the SIP messages out (softphone.sip.pcap_read) and run the strict
`parse_message` on each (every header the core understands is checked). tshark: dissect the
same file and print a few SIP fields per message (`-T fields`), which makes it run the whole SIP
dissector. tshark's start-up (loading every dissector, ~0.3-1 s) is measured on a one-packet
file and reported both included and subtracted; the target (ours ≥ 1× tshark) is judged on
the subtracted figure, the comparison least favourable to us. Best of --rounds for both.

Usage: python -m scripts.benchlib.bench_parse_pcap [--messages N] [--rounds R] [--keep DIR]
Exit code: 0 when the target is met, 1 when not, 2 when tshark is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from softphone.sip.errors import SipParseError
from softphone.sip.export import to_pcap
from softphone.sip.message import parse_message
from softphone.sip.pcap_read import sip_messages
from softphone.sip.trace import SipTrace, make_trace

TARGET = 1.0
TSHARK_FIELDS = ("sip.Call-ID", "sip.CSeq", "sip.Method", "sip.Status-Code")


def templates() -> list[SipTrace]:
    """One of each realistic flow (the test flows: real registrar, pjsua/Twilio shapes)."""
    from tests.sip.sipflows import RegisterFlow, trunk_call
    from tests.sip.sipflows_proxy import forked_cancelled_call, proxied_call

    reg = RegisterFlow()
    reg.register()
    return reg.traces + proxied_call() + forked_cancelled_call() + trunk_call()


def unique_traces(count: int) -> Iterator[SipTrace]:
    """`count` traces: the templates again and again, each round with new Call-IDs."""
    base = templates()
    call_ids = sorted({t.parsed.call_id for t in base if t.parsed is not None}, key=len)[::-1]
    made, round_ = 0, 0
    while True:
        for trace in base:
            if made == count:
                return
            raw = trace.raw
            for call_id in call_ids:  # longest first, so no Call-ID is a prefix of another
                raw = raw.replace(call_id.encode(), f"{call_id}-{round_:07d}".encode())
            yield make_trace(
                trace.time + round_ * 0.05, trace.direction, trace.transport, trace.local,
                trace.remote, raw, origin=trace.origin,
            )  # fmt: skip
            made += 1
        round_ += 1


def ours(pcap: Path) -> tuple[float, int, int]:
    """(seconds, messages parsed, parse errors) for reading and parsing the whole file."""
    started = time.perf_counter()
    parsed = errors = 0
    for packet in sip_messages(pcap.read_bytes()):
        try:
            parse_message(packet.payload, datagram=packet.transport == "UDP")
            parsed += 1
        except SipParseError:
            errors += 1
    return time.perf_counter() - started, parsed, errors


def tshark(pcap: Path) -> tuple[float, int]:
    """(seconds, SIP messages dissected) for tshark on the file."""
    args = ["tshark", "-r", str(pcap), "-n", "-Y", "sip", "-T", "fields"]
    for field in TSHARK_FIELDS:
        args += ["-e", field]
    started = time.perf_counter()
    result = subprocess.run(args, capture_output=True, timeout=600, check=True)
    elapsed = time.perf_counter() - started
    return elapsed, sum(1 for line in result.stdout.splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=20_000, help="SIP messages (20000)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, best kept (3)")
    parser.add_argument("--keep", type=Path, help="write the pcap into this directory")
    args = parser.parse_args(argv)
    if shutil.which("tshark") is None:
        print("bench_parse_pcap: tshark not installed (Debian package tshark)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        traces = list(unique_traces(args.messages))
        pcap = folder / f"sip-{args.messages}.pcap"
        pcap.write_bytes(to_pcap(traces))
        one = folder / "one.pcap"
        one.write_bytes(to_pcap(traces[:1]))
        size = pcap.stat().st_size
        print(f"pcap: {pcap} ({len(traces):,} SIP messages, {size / 1e6:.1f} MB)")

        our_runs = [ours(pcap) for _ in range(args.rounds)]
        best = min(our_runs)
        if best[1] != len(traces) or best[2]:
            print(f"ours: parsed {best[1]:,} of {len(traces):,}, {best[2]} errors", file=sys.stderr)
            return 1
        startup = min(tshark(one)[0] for _ in range(args.rounds))
        shark_runs = [tshark(pcap) for _ in range(args.rounds)]
        shark = min(shark_runs)
        if shark[1] != len(traces):
            print(
                f"tshark dissected {shark[1]:,} SIP messages, not {len(traces):,}", file=sys.stderr
            )
            return 1

    ours_rate = len(traces) / best[0]
    shark_rate = len(traces) / shark[0]
    shark_net = len(traces) / max(shark[0] - startup, 1e-9)
    print(f"ours:   {best[0]:.3f} s  {ours_rate:,.0f} msg/s  (read + strict parse, in process)")
    print(f"tshark: {shark[0]:.3f} s  {shark_rate:,.0f} msg/s  (whole run)")
    net = shark[0] - startup
    print(f"tshark: {net:.3f} s  {shark_net:,.0f} msg/s  (minus {startup:.3f} s start-up)")
    ratio = ours_rate / shark_net
    whole = ours_rate / shark_rate
    print(f"ratio ours/tshark: {whole:.2f}× (whole run), {ratio:.2f}× (start-up excluded)")
    met = ratio >= TARGET
    print(f"target ≥ {TARGET:.0f}× (start-up excluded): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
