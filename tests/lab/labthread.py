"""Run a LabInstance on its own event loop in a thread, for tests that talk to it over sockets."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from softphone.lab.instance import LabInstance
from softphone.lab.registrar_cli import build_parser, settings_from_args
from softphone.lab.transport import ListenSpec

USERS = ["alice:alice-pw", "bob:bob-pw"]


@contextlib.contextmanager
def running_lab(db: Path, *extra: str) -> Iterator[tuple[LabInstance, dict[str, ListenSpec]]]:
    args = ["--listen=udp:127.0.0.1:0", "--listen=tcp:127.0.0.1:0", f"--db={db}", "--quiet"]
    args += [f"--user={u}" for u in USERS] + list(extra)
    instance = LabInstance(settings_from_args(build_parser().parse_args(args)))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="lab", daemon=True)
    thread.start()
    try:
        bound = asyncio.run_coroutine_threadsafe(instance.start(), loop).result(10)
        yield instance, {spec.transport: spec for spec in bound}
    finally:
        asyncio.run_coroutine_threadsafe(instance.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def udp_exchange(spec: ListenSpec, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        sock.sendto(data, (spec.host, spec.port))
        reply, _ = sock.recvfrom(65535)
        return reply
