"""One running lab server: database, users, bindings, listeners, proxy and trace file.

`softphone registrar` runs one until a signal; `softphone lab` and the tests start one inside
their own event loop. Startup problems raise LabStartError with a message for the user.
"""

from __future__ import annotations

import secrets
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from softphone.lab.auth import Authenticator
from softphone.lab.bindings import BindingTable
from softphone.lab.limits import FailureThrottle, RateLimiter
from softphone.lab.proxy import ForkingProxy
from softphone.lab.registrar import Registrar, RegistrarPolicy
from softphone.lab.routing import DialogTokens, SelfMatcher
from softphone.lab.server import LabServer, TraceSink
from softphone.lab.store import LabStore, StoreError
from softphone.lab.transport import ListenSpec
from softphone.lab.users import UserDirectory
from softphone.sip.build import new_tag
from softphone.sip.digest import NonceManager
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
    notes: list[str] = field(default_factory=list)


class JsonlTraceWriter:
    """--trace: one JSON object per line; credentials masked by SipTrace.to_json."""

    def __init__(self, path: Path) -> None:
        try:
            self._file: IO[str] = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise LabStartError(f"cannot write trace file {path}: {exc.strerror or exc}") from exc

    def __call__(self, record: SipTrace) -> None:
        self._file.write(record.to_json() + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class LabInstance:
    """Start and stop one lab server in the running event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
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
            store.save_users(settings.users.records())
            users = UserDirectory(settings.realm, store.load_users())
            bindings = BindingTable()
            sinks: list[TraceSink] = [self._writer] if self._writer is not None else []
            self.server = server = LabServer(self._registrar(users, bindings), store, sinks)
            bindings.load(store.load_bindings(server.wall_clock()))
            self.user_count, self.kept_bindings = len(users), len(bindings)
            bound = []
            for spec in settings.listen:
                try:
                    bound.append(await server.hub.listen(spec, settings.tls))
                except OSError as exc:
                    raise LabStartError(f"cannot listen on {spec}: {exc.strerror or exc}") from exc
            server.router = self._proxy(server)
            await server.start()
            return bound
        except BaseException:
            await self.stop()
            raise

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
            NonceManager(secrets.token_bytes(32)),
            FailureThrottle(settings.fail_limit, float(settings.fail_window)),
            settings.algorithms,
        )
        return Registrar(
            domains=settings.domains,
            auth=auth,
            bindings=bindings,
            rate=RateLimiter(settings.register_rate),
            policy=settings.policy,
            to_tag=new_tag(),
        )

    def _proxy(self, server: LabServer) -> ForkingProxy:
        registrar = server.registrar
        return ForkingProxy(
            server,
            auth=registrar.auth,
            users=registrar.auth.users,
            bindings=registrar.bindings,
            matcher=SelfMatcher(server.hub.bound, self.settings.domains),
            tokens=DialogTokens(secrets.token_bytes(32)),
        )
