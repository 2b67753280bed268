"""One running lab server: database, users, bindings, listeners, proxy and trace file.

`softphone registrar` runs one until a signal; `softphone lab` and the tests start one inside
their own event loop. Startup problems raise LabStartError with a message for the user.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from softphone.lab.auth import Authenticator
from softphone.lab.bindings import BindingTable
from softphone.lab.ipc import PeerLink
from softphone.lab.limits import FailureThrottle, RateLimiter
from softphone.lab.proxy import ForkingProxy
from softphone.lab.registrar import Registrar, RegistrarPolicy
from softphone.lab.routing import DialogTokens, SelfMatcher
from softphone.lab.server import LabServer, TraceSink
from softphone.lab.sharding import owner_of_aor
from softphone.lab.store import LabStore, StoreError
from softphone.lab.transport import ListenSpec
from softphone.lab.users import UserDirectory
from softphone.sip.nonce import NonceManager
from softphone.sip.trace import SipTrace


class LabStartError(Exception):
    """A startup problem the user can fix (port in use, unreadable file, bad database)."""


@dataclass
class Settings:
    """Validated command line."""

    listen: list[ListenSpec]
    users: UserDirectory
    realm: str
    domains: frozenset[str]
    db: Path
    policy: RegistrarPolicy
    register_rate: int
    fail_limit: int
    fail_window: int
    algorithms: tuple[str, ...]
    tls: ssl.SSLContext | None
    trace: Path | None
    quiet: bool
    workers: int = 1
    # One secret per run, shared by every worker process: nonces and dialog tokens made by one
    # worker must verify in another, and the To tag of our responses stays the same.
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def key(self, purpose: str) -> bytes:
        """A key for one purpose, derived from the run's secret."""
        return hashlib.sha256(self.secret + purpose.encode()).digest()


@dataclass
class Shard:
    """This process's place among the lab workers and its links to the others."""

    index: int
    count: int
    links: dict[int, PeerLink]
    sockets: list[tuple[ListenSpec, socket.socket]]  # bound by the master, shared


class JsonlTraceWriter:
    """--trace: one JSON object per line; credentials masked by SipTrace.to_json.

    Lines are written in whole batches with one O_APPEND write, so several worker processes
    can share the file without interleaving parts of lines."""

    def __init__(self, path: Path) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LabStartError(f"cannot write trace file {path}: {exc.strerror or exc}") from exc
        self._lines: list[str] = []

    def __call__(self, record: SipTrace) -> None:
        self._lines.append(record.to_json() + "\n")

    def flush(self) -> None:
        if self._lines:
            os.write(self._fd, "".join(self._lines).encode("utf-8", "surrogateescape"))
            self._lines = []

    def close(self) -> None:
        self.flush()
        os.close(self._fd)


class LabInstance:
    """Start and stop one lab server in the running event loop (one worker, or the whole lab)."""

    def __init__(self, settings: Settings, shard: Shard | None = None) -> None:
        self.settings = settings
        self.shard = shard
        self.server: LabServer | None = None
        self.user_count = 0
        self.kept_bindings = 0
        self._store: LabStore | None = None
        self._writer: JsonlTraceWriter | None = None

    async def start(self) -> list[ListenSpec]:
        """Open everything and listen; returns the bound listeners (real ports)."""
        settings = self.settings
        try:
            self._store = store = LabStore(settings.db)
        except StoreError as exc:
            raise LabStartError(str(exc)) from exc
        try:
            if settings.trace is not None:
                self._writer = JsonlTraceWriter(settings.trace)
            if self.shard is None:  # with workers, the master saved the users before forking
                store.save_users(settings.users.records())
            users = UserDirectory(settings.realm, store.load_users())
            bindings = BindingTable()
            sinks: list[TraceSink] = [self._writer] if self._writer is not None else []
            self.server = server = LabServer(self._registrar(users, bindings), store, sinks)
            bindings.load(
                [b for b in store.load_bindings(server.wall_clock()) if self._owns(b.aor)]
            )
            self.user_count, self.kept_bindings = len(users), len(bindings)
            bound = await self._listen(server)
            server.router = self._proxy(server)
            if self.shard is not None:
                server.join_shard(self.shard.index, self.shard.count, self.shard.links)
            await server.start()
            return bound
        except BaseException:
            await self.stop()
            raise

    def _owns(self, aor: str) -> bool:
        shard = self.shard
        return shard is None or owner_of_aor(aor, shard.count) == shard.index

    async def _listen(self, server: LabServer) -> list[ListenSpec]:
        settings = self.settings
        if self.shard is None:
            bound = []
            for spec in settings.listen:
                try:
                    bound.append(await server.hub.listen(spec, settings.tls))
                except OSError as exc:
                    raise LabStartError(f"cannot listen on {spec}: {exc.strerror or exc}") from exc
            return bound
        # Every worker reads the shared UDP sockets; streams live in worker 0 only, the others
        # send through it, so a connection is always found where the proxy expects it.
        for spec, sock in self.shard.sockets:
            if spec.transport == "UDP" or self.shard.index == 0:
                await server.hub.adopt(sock, spec.transport, settings.tls)
            else:
                server.hub.bound.append(spec)
                sock.close()
        return list(server.hub.bound)

    async def stop(self) -> None:
        """Stop listening, write pending bindings and traces, close files. Idempotent."""
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _registrar(self, users: UserDirectory, bindings: BindingTable) -> Registrar:
        settings = self.settings
        auth = Authenticator(
            settings.realm,
            users,
            NonceManager(settings.key("nonce")),
            FailureThrottle(settings.fail_limit, float(settings.fail_window)),
            settings.algorithms,
        )
        return Registrar(
            domains=settings.domains,
            auth=auth,
            bindings=bindings,
            rate=RateLimiter(settings.register_rate),
            policy=settings.policy,
            to_tag=settings.key("to-tag").hex()[:12],
        )

    def _proxy(self, server: LabServer) -> ForkingProxy:
        registrar = server.registrar
        return ForkingProxy(
            server,
            auth=registrar.auth,
            users=registrar.auth.users,
            bindings=registrar.bindings,
            matcher=SelfMatcher(server.hub.bound, self.settings.domains),
            tokens=DialogTokens(self.settings.key("dialog")),
            worker=self.shard.index if self.shard is not None else 0,
        )
