"""Benchmark the sound bridge: CPU per active call and the conference clock's frame jitter.

Each run is a real call between two engine processes over loopback (PCMU): the far end plays
a tone, our engine runs with the SoundBridge on a fake sound card (softphone.audio.fake, the
same callback interface as PortAudio, so the fake's two device threads call our callbacks
the way PortAudio's thread would) or without any bridge (the engine's own null-device
wiring). CPU is our process's user+system time (os.times) over `--seconds` of talk, as a
percentage of one core; what the bridge costs per call is the difference between the two.

Runs, in order:
  1. no bridge, a call            → baseline CPU
  2. bridge, 16 kHz card, a call  → CPU, onFrameRequested intervals (idle process)
  3. bridge, 48 kHz stereo card   → CPU with rate and channel conversion
  4. bridge, a call + a CPU-bound Python thread → intervals and glitch counters under load
  5./6. no call, with and without the bridge → the idle cost of the port's heart-beat ticks

Targets: bridge CPU ≤ 3 % of a core per call; zero underruns/overruns with the busy thread.
Exit code 0 when both hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.audio.harness import BUILTIN, AudioEngineProc
from tests.engine.harness import EngineProc, account
from tests.peers import audio
from tests.peers.ports import free_port_block

TARGET_CPU = 3.0  # % of one core per active call, for the bridge
CARD_48K: dict[str, Any] = {
    "name": "Pro Card", "inputs": 2, "outputs": 2, "rates": [48000], "min_channels": 2,
}  # fmt: skip


@dataclass
class Run:
    name: str
    cpu: float  # % of one core
    stats: dict[str, Any] | None


def cpu_window(proc: EngineProc, seconds: float) -> float:
    """Our process's CPU over `seconds` of wall time, in % of one core."""
    start: dict[str, float] = proc.cmd("cpu_seconds")
    time.sleep(seconds)  # the measurement window itself
    end: dict[str, float] = proc.cmd("cpu_seconds")
    return 100.0 * (end["cpu"] - start["cpu"]) / (end["wall"] - start["wall"])


def run(
    work: Path, far: EngineProc, uri: str, tone: Path, name: str, config: dict[str, Any],
    seconds: float, *, call: bool = True, busy: bool = False,
) -> Run:  # fmt: skip
    near = AudioEngineProc(work, name.replace(" ", "-"), config, codecs=["PCMU"])
    near.start()
    try:
        near.cmd("add_account", **account("near", "near", "x", "127.0.0.1", None))
        handle = far_call = None
        if call:
            mark = far.mark()
            handle = near.cmd("make_call", "near", uri)
            ring = far.wait_event("IncomingCallEvent", since=mark)
            far_call = ring["call"]
            far.cmd("play", far_call, str(tone))
            far.cmd("answer", far_call)
            near.wait_event("CallEvent", call=handle, state="confirmed")
            if config.get("sd") != "off":
                near.wait_event("AudioStateEvent", state="active")
        if busy:
            near.cmd("busy", on=True)
        time.sleep(1.0)  # settle: priming, first RTCP, thread start-up
        cpu = cpu_window(near, seconds)
        stats = near.cmd("bridge_stats") if config.get("sd") != "off" else None
        if busy:
            near.cmd("busy", on=False)
        if handle is not None:
            near.cmd("hangup", handle)
            far.wait_event("CallEvent", call=far_call, state="disconnected")
    finally:
        code = near.stop()
    if code != 0:
        raise RuntimeError(f"{name}: the engine exited with {code}\n{near.report()}")
    return Run(name, cpu, stats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window")
    args = parser.parse_args(argv)
    seconds = args.seconds
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        work = Path(tmp)
        port = free_port_block([0])
        far = EngineProc(work, "far", sip_port=port, codecs=["PCMU"])
        far.start()
        try:
            far.cmd("add_account", **account("far", "far", "x", "127.0.0.1", None))
            tone = audio.write_tone(work / "tone.wav", 600.0, seconds + 30)
            uri = f"sip:far@127.0.0.1:{port}"
            fake = {"sd": "fake", "devices": [BUILTIN]}
            runs = [
                run(work, far, uri, tone, "call, no bridge", {"sd": "off"}, seconds),
                run(work, far, uri, tone, "call, bridge 16k", fake, seconds),
                run(
                    work,
                    far,
                    uri,
                    tone,
                    "call, bridge 48k stereo",
                    {"sd": "fake", "devices": [CARD_48K]},
                    seconds,
                ),
                run(work, far, uri, tone, "call, bridge, busy thread", fake, seconds, busy=True),
                run(work, far, uri, tone, "idle, no bridge", {"sd": "off"}, seconds, call=False),
                run(work, far, uri, tone, "idle, bridge", fake, seconds, call=False),
            ]
        finally:
            far.stop()
    return report(runs, seconds)


def report(runs: list[Run], seconds: float) -> int:
    by = {r.name: r for r in runs}
    print(f"\nsoftphone bridge benchmark: {seconds:.0f} s windows, PCMU call over loopback\n")
    print(f"{'run':28} {'CPU %core':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  glitches")
    for r in runs:
        s = r.stats or {}
        glitches = sum(
            s.get(k, 0)
            for k in ("capture_underruns", "capture_overruns", "playback_underruns",
                      "playback_overruns", "cut_frames", "errors")
        )  # fmt: skip
        jitter = (
            f"{s['interval_p50_ms']:7.1f} {s['interval_p99_ms']:7.1f} {s['interval_max_ms']:7.1f}"
            if s and s.get("frames_requested")
            else f"{'-':>7} {'-':>7} {'-':>7}"
        )
        print(f"{r.name:28} {r.cpu:9.2f} {jitter}  {glitches if r.stats else '-'}")
    base = by["call, no bridge"].cpu
    bridge = by["call, bridge 16k"].cpu - base
    bridge48 = by["call, bridge 48k stereo"].cpu - base
    idle = by["idle, bridge"].cpu - by["idle, no bridge"].cpu
    busy = by["call, bridge, busy thread"].stats or {}
    busy_glitches = sum(
        busy.get(k, 0)
        for k in ("capture_underruns", "capture_overruns", "playback_underruns",
                  "playback_overruns", "cut_frames", "errors")
    )  # fmt: skip
    ok_cpu = bridge <= TARGET_CPU
    ok_glitch = busy_glitches == 0
    print()
    print(f"bridge CPU per call (16 kHz card):        {bridge:5.2f} % of a core  "
          f"(target ≤ {TARGET_CPU:.0f} %: {'PASS' if ok_cpu else 'FAIL'})")  # fmt: skip
    print(f"bridge CPU per call (48 kHz stereo card): {bridge48:5.2f} % of a core")
    print(f"bridge CPU with no call (heart-beat):     {idle:5.2f} % of a core")
    print(f"glitches over {seconds:.0f} s with a busy thread:   {busy_glitches}  "
          f"(target 0: {'PASS' if ok_glitch else 'FAIL'})")  # fmt: skip
    return 0 if ok_cpu and ok_glitch else 1


if __name__ == "__main__":
    sys.exit(main())
