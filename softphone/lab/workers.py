"""`--workers N`: N lab server processes sharing the listening sockets, one shard each.

One Python process saturates one core long before a real registrar does, so the lab can run
several. The master binds every listener (so the ports are known and identical for all), saves
the users, makes one socketpair per pair of workers and forks. Each worker serves the shared UDP
sockets and forwards messages it does not own to their owner (see sharding.py); worker 0 also
holds every TCP/TLS connection. The master prints the ready lines once all workers are up,
passes SIGINT/SIGTERM on, and ends the whole lab if one worker dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import select
import signal
import socket
import sys
import time
from typing import IO

from softphone.lab.instance import LabInstance, LabStartError, Settings, Shard
from softphone.lab.ipc import PeerLink
from softphone.lab.reuseport import bind_udp_group
from softphone.lab.store import LabStore, StoreError
from softphone.lab.transport import ListenSpec, bind_socket

READY_TIMEOUT = 30.0


def run_workers(settings: Settings, out: IO[str]) -> int:
    """Run the lab as `settings.workers` processes until SIGINT/SIGTERM; the exit code."""
    count = settings.workers
    sockets = _bind_all(settings.listen, count)
    _save_users(settings)
    pairs = {pair: socket.socketpair() for pair in itertools.combinations(range(count), 2)}
    ready_read, ready_write = os.pipe()
    children: list[int] = []
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(ready_read)
            mine = [(spec, socks[index % len(socks)]) for spec, socks in sockets]
            code = _worker(settings, Shard(index, count, {}, mine), pairs, ready_write)
            os._exit(code)
        children.append(pid)
    os.close(ready_write)
    for _, socks in sockets:
        for sock in socks:
            sock.close()
    for left, right in pairs.values():
        left.close()
        right.close()
    return _supervise(children, ready_read, sockets, out, settings)


def _bind_all(specs: list[ListenSpec], count: int) -> list[tuple[ListenSpec, list[socket.socket]]]:
    """Every listener: UDP as one socket per worker (SO_REUSEPORT group), streams as one."""
    bound: list[tuple[ListenSpec, list[socket.socket]]] = []
    for spec in specs:
        try:
            socks = bind_udp_group(spec, count) if spec.transport == "UDP" else [bind_socket(spec)]
        except OSError as exc:
            for _, done in bound:
                for sock in done:
                    sock.close()
            raise LabStartError(f"cannot listen on {spec}: {exc.strerror or exc}") from exc
        host, port = socks[0].getsockname()[:2]
        bound.append((ListenSpec(spec.transport, host, port), socks))
    return bound


def _save_users(settings: Settings) -> None:
    try:
        store = LabStore(settings.db)
    except StoreError as exc:
        raise LabStartError(str(exc)) from exc
    try:
        store.save_users(settings.users.records())
    finally:
        store.close()


def _worker(
    settings: Settings,
    shard: Shard,
    pairs: dict[tuple[int, int], tuple[socket.socket, socket.socket]],
    ready: int,
) -> int:
    """The body of one forked worker; returns its exit code."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the master decides when to stop
    ends: dict[int, socket.socket] = {}
    for (left, right), (left_sock, right_sock) in pairs.items():
        if shard.index == left:
            ends[right] = left_sock
            right_sock.close()
        elif shard.index == right:
            ends[left] = right_sock
            left_sock.close()
        else:
            left_sock.close()
            right_sock.close()
    try:
        asyncio.run(_serve_worker(settings, shard, ends, ready))
    except LabStartError as exc:
        print(f"softphone registrar: worker {shard.index}: {exc}", file=sys.stderr, flush=True)
        return 2
    except Exception as exc:  # the master reports the dead worker; say why here
        print(f"softphone registrar: worker {shard.index} failed: {exc!r}", file=sys.stderr)
        return 1
    return 0


async def _serve_worker(
    settings: Settings, shard: Shard, ends: dict[int, socket.socket], ready: int
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    for peer, sock in ends.items():
        _, link = await loop.connect_accepted_socket(lambda: PeerLink(lambda envelope: None), sock)
        shard.links[peer] = link
    lab = LabInstance(settings, shard)
    try:
        await lab.start()
        os.write(ready, b"R")
        os.close(ready)
        await stop.wait()
    finally:
        await lab.stop()


def _supervise(
    children: list[int],
    ready_read: int,
    sockets: list[tuple[ListenSpec, list[socket.socket]]],
    out: IO[str],
    settings: Settings,
) -> int:
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    if not _wait_ready(ready_read, len(children)):
        stop(signal.SIGTERM, None)
        _reap(children, deadline=time.monotonic() + 10)
        print("softphone registrar: error: the workers did not start", file=sys.stderr)
        return 2
    for spec, _ in sockets:
        print(f"listening {spec}", file=out, flush=True)
    if not settings.quiet:
        print(
            f"softphone registrar: {len(children)} workers, realm {settings.realm!r}, "
            f"database {settings.db}",
            file=sys.stderr,
            flush=True,
        )
    failed = False
    alive = set(children)
    while alive:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        alive.discard(pid)
        if os.waitstatus_to_exitcode(status) != 0 and not stopping:
            failed = True
            print("softphone registrar: a worker died; stopping the lab", file=sys.stderr)
            stop(signal.SIGTERM, None)
    return 1 if failed else 0


def _wait_ready(ready_read: int, count: int) -> bool:
    """True once every worker reported ready; False if one died first or time ran out."""
    got = 0
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        while got < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([ready_read], [], [], remaining)[0]:
                return False
            chunk = os.read(ready_read, count)
            if not chunk:
                return False  # every write end closed before all said ready: a worker failed
            got += len(chunk)
        return True
    finally:
        os.close(ready_read)


def _reap(children: list[int], deadline: float) -> None:
    """Wait for the children until the deadline, then kill what is left."""
    for pid in children:
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            time.sleep(0.05)  # polling a dying child with a deadline: no event to wait on
        else:
            _kill(pid, signal.SIGKILL)


def _kill(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
