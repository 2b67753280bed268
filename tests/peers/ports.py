"""Free loopback ports for real peers that cannot bind port 0 themselves.

sipp and Kamailio take their ports on the command line / in the config, and sipp
binds a block of them (SIP on B, RTP echo on B+2, control on B+6 — peers.md), so
the tests must find ports that are free *before* starting the process.

Ports come from 20000-32767, below Linux's ephemeral range (32768-60999), so a
port we hand out is not taken a moment later by some outgoing connection's
automatic source port.  Every candidate is checked by binding it (without
SO_REUSEADDR, so a port in use anywhere on 127.0.0.1 is refused) and the ports
handed out by this process are held back for HOLD_S seconds, so two peers started by one
test run never get the same port even before either has bound it. Held for a while, not
for the whole run: by then a peer has bound its ports (the bind check sees them) or is
gone, and a whole run's worth of scattered held ports left no 400-port window free for
the lab's RTP range late in the suite (seen in CI: "no free port block").
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Literal

Kind = Literal["udp", "tcp"]

HOST = "127.0.0.1"
_LOW, _HIGH = 20000, 32767
_ATTEMPTS = 2000
HOLD_S = 60.0  # how long a handed-out port is kept from being handed out again

_lock = threading.Lock()
_handed_out: dict[int, float] = {}  # port → when it was handed out (time.monotonic)


def _is_free(port: int, kind: Kind) -> bool:
    sock_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, sock_type) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port_block(offsets: Sequence[int], kinds: Iterable[Kind] = ("udp", "tcp")) -> int:
    """Return a base B such that B+offset is free for every offset and every kind.

    `kinds` defaults to both UDP and TCP: a peer may listen on the same number over
    both transports (like 5060), and checking both costs nothing.
    """
    if not offsets or min(offsets) < 0:
        raise ValueError("offsets must be non-empty and non-negative")
    kind_list = list(kinds)
    span = max(offsets)
    rng = random.Random()
    with _lock:
        now = time.monotonic()
        for port in [p for p, at in _handed_out.items() if now - at >= HOLD_S]:
            del _handed_out[port]
        for _ in range(_ATTEMPTS):
            base = rng.randrange(_LOW, _HIGH - span)
            ports = [base + off for off in offsets]
            if any(p in _handed_out for p in ports):
                continue
            if all(_is_free(p, k) for p in ports for k in kind_list):
                _handed_out.update(dict.fromkeys(ports, now))
                return base
    raise RuntimeError(f"no free port block for offsets {list(offsets)} on {HOST}")


def free_port(kind: Kind) -> int:
    """Return one free `kind` port on 127.0.0.1."""
    return free_port_block([0], kinds=(kind,))


def release(ports: Iterable[int]) -> None:
    """Forget ports handed out earlier (once their peer has exited), so they can be reused."""
    with _lock:
        for port in ports:
            _handed_out.pop(port, None)


def udp_bound(port: int, host: str = HOST) -> bool:
    """True when some process has a UDP socket bound to host:port (read from /proc/net/udp).

    Read-only on purpose: probing by binding the port ourselves could steal it from the
    process we are waiting for.
    """
    want = f"{_hex_ip(host)}:{port:04X}"
    with open("/proc/net/udp") as table:
        next(table)
        return any(line.split()[1] == want for line in table)


def _hex_ip(host: str) -> str:
    # /proc/net/udp shows IPv4 addresses as the little-endian hex of the 32-bit value.
    return "".join(f"{int(part):02X}" for part in reversed(host.split(".")))
