"""Per-transaction latency of a SIP server, measured from a loopback packet capture.

Why a capture: sipp's own response times move in ~4 ms steps on this kind of machine
(peers.md), while a registrar answers in a fraction of a millisecond.  The kernel's
capture timestamps on `lo` resolve microseconds, and both directions of every
transaction cross the same interface, so request→response time is read directly.

dumpcap writes the capture (it needs root or capture capabilities); tshark reads it
back as fields.  A transaction is keyed by (Call-ID, CSeq number, CSeq method)
(RFC 3261 §17.1.3 matches on the branch, but sipp's branches repeat across runs, and
the key above is unique per sipp call); its latency is first request → first final
response, so a retransmitted request does not shorten it.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.peers.ports import HOST, free_port, release

DUMPCAP = "dumpcap"
TSHARK = "tshark"


def capture_available() -> str | None:
    for tool, package in ((DUMPCAP, "wireshark-common"), (TSHARK, "tshark")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (Debian package `{package}`)"
    return None


class Capture:
    """dumpcap on loopback for one UDP port, as a context manager (always stopped)."""

    def __init__(self, port: int, pcap: Path, start_timeout: float = 10.0) -> None:
        self.port = port
        self.pcap = pcap
        self.start_timeout = start_timeout
        self._log = pcap.with_suffix(".dumpcap.log")
        self._proc: subprocess.Popen[bytes] | None = None
        self._probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._probe_port = 0
        self._probes = 0
        self._ready_probes = 0

    def __enter__(self) -> Capture:
        # A probe port of our own is captured too: dumpcap prints "Capturing on" before
        # the filter is live (the first calls went missing), so it is ready only once it
        # has counted a probe datagram ("Packets: N" on stderr).
        self._probe_port = free_port("udp")
        bpf = f"udp port {self.port} or udp port {self._probe_port}"
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [DUMPCAP, "-i", "lo", "-f", bpf, "-w", str(self.pcap)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not self._probe_until(lambda: self.counted() > 0, self.start_timeout):
            self.stop()
            raise RuntimeError(f"dumpcap did not start:\n{self._log.read_text()}")
        self._ready_probes = self._probes
        return self

    def _probe_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            if self._proc is None or self._proc.poll() is not None:
                return False
            if time.monotonic() > deadline:
                return False
            self._probe.sendto(b"capture-probe", (HOST, self._probe_port))
            self._probes += 1
            time.sleep(0.05)  # poll interval of a deadline-bounded check
        return True

    def counted(self) -> int:
        """Packets dumpcap has counted so far (its "Packets: N" progress on stderr)."""
        counts = re.findall(r"Packets: (\d+)", self._log.read_text(errors="replace"))
        return int(counts[-1]) if counts else 0

    def wait_for(self, packets: int, timeout: float = 10.0) -> bool:
        """Wait until dumpcap has counted `packets` packets of the server's traffic.

        libpcap hands packets over in blocks and dumpcap updates its count only when
        packets arrive, so right after the load ends the last calls may be unwritten
        (stopping then lost them).  Probes sent meanwhile flush the block; since the
        kernel keeps order, a count that includes them includes everything before.
        Returns False if the count was not reached in time (the capture is then short).
        """
        return self._probe_until(lambda: self.counted() >= packets + self._ready_probes, timeout)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # dumpcap finishes the file on SIGINT
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._probe.close()
        if self._probe_port:
            release([self._probe_port])
            self._probe_port = 0

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def dropped(self) -> int | None:
        """Packets the kernel or dumpcap dropped, from dumpcap's summary (after stop)."""
        match = re.search(r"received/dropped on interface .*?: (\d+)/(\d+)", self._log.read_text())
        return int(match.group(2)) if match else None


@dataclass(frozen=True)
class Latencies:
    """Request → final response times in milliseconds, by final status code."""

    by_status: dict[int, list[float]]
    unanswered: int

    @property
    def all(self) -> list[float]:
        return [ms for values in self.by_status.values() for ms in values]


def percentile(values: list[float], pct: int) -> float:
    """The pct-th percentile (1..99) of values; NaN when there are none."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def transaction_latencies(pcap: Path, server_port: int) -> Latencies:
    """Read the capture and time every transaction the server at `server_port` answered."""
    fields = [
        "frame.time_epoch",
        "udp.dstport",
        "sip.Call-ID",
        "sip.CSeq.seq",
        "sip.CSeq.method",
        "sip.Status-Code",
    ]
    cmd = [TSHARK, "-n", "-r", str(pcap), "-d", f"udp.port=={server_port},sip", "-Y", "sip"]
    cmd += ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]
    for name in fields:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    sent: dict[tuple[str, str, str], float] = {}
    answered: dict[tuple[str, str, str], tuple[float, int]] = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < len(fields):
            continue
        stamp, dport, call_id, seq, method, status = parts[: len(fields)]
        key = (call_id, seq, method)
        if dport == str(server_port) and not status:
            sent.setdefault(key, float(stamp))
        elif status and int(status) >= 200 and key not in answered:
            answered[key] = (float(stamp), int(status))
    by_status: dict[int, list[float]] = {}
    for key, start in sent.items():
        if key in answered:
            end, code = answered[key]
            by_status.setdefault(code, []).append((end - start) * 1000.0)
    return Latencies(by_status, unanswered=sum(1 for key in sent if key not in answered))
