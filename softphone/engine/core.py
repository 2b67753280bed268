"""The engine core: everything that lives on the engine thread, from libCreate to libDestroy.

Order of life (engine-notes §9): Endpoint + quiet libCreate on this thread → libInit with
threadCnt=0 / mainThreadOnly → null audio device → codecs pinned → UDP and TCP listeners →
libStart. Then the engine loop calls `poll()`: libHandleEvents (which runs the callbacks) until
SIP settles, then the work put off or not allowed inside a callback (parsing the logged SIP
messages, publishing call and registration state, dropping dead calls, re-publishing calls whose
fork count changed, OPTIONS qualify timers). Callbacks only record what they saw and queue the
publishing (`later`), so no Python work delays pjsip's answer to a challenge.

Teardown (§2, §9.6), all on this thread: hang up every call and wait for DISCONNECTED,
unregister every registered account and wait for the answers (so the un-REGISTER outcome is an
event, not a guess), destroy media objects, shut the accounts down, clear sys.last_*, collect
garbage, disown any pjsua2 object still alive, then libDestroy. Because we already waited for
the un-REGISTERs, libDestroy runs with PJSUA_DESTROY_NO_RX_MSG: 20 ms instead of a fixed
1-second busy wait.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pjsua2 as pj

from softphone.engine.account import EngineAcc
from softphone.engine.call import EngineCall
from softphone.engine.dialogs import DialogWatcher
from softphone.engine.errors import EngineCommandError
from softphone.engine.events import EngineErrorEvent, EngineStateEvent, Event
from softphone.engine.logtap import LogTap
from softphone.engine.logwriter import TraceWriter, our_aor
from softphone.engine.media import AudioBridge
from softphone.engine.pjconfig import (
    TRANSPORT_TYPES,
    endpoint_config,
    pin_codecs,
    transport_config,
)
from softphone.engine.transports import transport_event
from softphone.engine.types import SYSTEM_CA_BUNDLE, EngineAccount, EngineOptions, Transport
from softphone.sip.message import SipRequest
from softphone.sip.trace import SipTrace

HANGUP_WAIT = 2.0  # seconds to wait for DISCONNECTED of every call at shutdown
UNREGISTER_WAIT = 3.0  # seconds to wait for the answers to the un-REGISTERs
STATS_INTERVAL = 1.0  # seconds between RTP counter readings
# Settling: after pjsip handled something, the answer to what it just sent (a 401/407, a 100
# Trying) is usually back within a fraction of a millisecond on a LAN. The loop keeps handling
# SIP until nothing came for SETTLE_WAIT_MS, and only then does its Python bookkeeping (trace
# parsing, call snapshots, events), so that work never sits between a challenge and its
# answer. SETTLE_BUDGET bounds the delay under a steady stream of messages.
SETTLE_WAIT_MS = 1
SETTLE_BUDGET = 0.005  # seconds


@contextlib.contextmanager
def quiet_stdio() -> Iterator[None]:
    """Point fd 1 and 2 at /dev/null: libCreate prints a banner to stdout before any log
    config applies, which would tear a TUI's screen (§8).

    The banner goes through C stdio, which picks its buffering on first use: on /dev/null it
    buffers fully, so the banner would still sit in the buffer and be written to the terminal
    at exit. C's buffers are flushed into /dev/null before fd 1 is given back."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _flush_c_stdio() -> None:
    if os.name == "posix":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)


def error_text(exc: BaseException) -> str:
    """Readable text for any exception; pj.Error has an empty str() (§0)."""
    if isinstance(exc, pj.Error):
        return f"{exc.reason} (status {exc.status})"
    return str(exc) or type(exc).__name__


class _Endpoint(pj.Endpoint):  # type: ignore[misc]
    """The Endpoint, subclassed for transport (TLS) state reports."""

    def __init__(self, core: Core) -> None:
        super().__init__()
        self._core = weakref.proxy(core)

    def onTransportState(self, prm: Any) -> None:
        try:
            self._core.transport_state(prm)
        except Exception as exc:
            self._core.report("onTransportState", exc)


class Core:
    """On-thread state of one engine. Never touched from another thread."""

    def __init__(
        self, options: EngineOptions, sink: Callable[[Event], None], audio: AudioBridge | None
    ) -> None:
        self.options = options
        self._sink = sink
        self.audio = audio
        # Optional AudioBridge hooks (media.py): see every event first, and run each loop turn.
        self._audio_observe: Callable[[Event], None] | None = getattr(audio, "observe", None)
        self._audio_poll: Callable[[], list[Event]] | None = getattr(audio, "poll", None)
        self.endpoint: Any = None
        self.watcher = DialogWatcher()
        self.accounts: dict[str, EngineAcc] = {}
        self.calls: dict[int, EngineCall] = {}
        self._next_handle = 1
        self._graveyard: list[Any] = []
        self._later: list[tuple[int, Callable[[], None]]] = []  # (log position, work)
        self.keep: list[Any] = []  # objects pjsip points into (SockOpt, SrtpCrypto)
        self._tracked: weakref.WeakSet[Any] = weakref.WeakSet()
        self._transports: dict[tuple[str, str, bool], int] = {}
        self._local: dict[str, str] = {}
        self._aors: dict[str, str] = {}
        self._forked: set[str] = set()
        self._tls_names: dict[str, str] = {}
        self._tls_note: str | None = None
        self._stats_due = 0.0
        self.writer: TraceWriter | None = None
        self.tap: LogTap | None = None

    # -- Host protocol ------------------------------------------------------------------

    def emit(self, event: Event) -> None:
        if self._audio_observe is not None:
            try:
                self._audio_observe(event)
            except Exception as exc:  # a broken bridge must not break event delivery
                if self.writer is not None:
                    self.writer.recent.append(f"audio observe failed: {exc!r}")
        try:
            self._sink(event)
        except Exception as exc:  # a broken sink must not break the engine
            if self.writer is not None:
                self.writer.recent.append(f"sink failed: {exc!r}")

    def report(self, where: str, exc: BaseException) -> None:
        exc.__traceback__ = None  # no engine frames (and pjsua2 objects) kept alive
        self.emit(EngineErrorEvent(where, error_text(exc)))

    def adopt_call(self, call: EngineCall) -> None:
        call.handle = self._next_handle
        self._next_handle += 1
        self.calls[call.handle] = call
        self._tracked.add(call)

    def call_ended(self, call: EngineCall) -> None:
        self.calls.pop(call.handle, None)
        self._forked.discard(call.sip_call_id)
        self.discard(call)

    def discard(self, obj: Any) -> None:
        self._graveyard.append(obj)

    def tls_note(self) -> str | None:
        return self._tls_note

    def account_of(self, name: str) -> EngineAcc:
        account = self.accounts.get(name)
        if account is None:
            raise EngineCommandError("account", f"no account named {name!r}")
        return account

    def call_of(self, handle: int) -> EngineCall:
        call = self.calls.get(handle)
        if call is None:
            raise EngineCommandError("call", f"no active call {handle}")
        return call

    # -- start --------------------------------------------------------------------------

    def startup(self) -> None:
        ep = _Endpoint(self)
        self.endpoint = ep
        with quiet_stdio():
            ep.libCreate()
        self.tap = LogTap(self.options.log_file)
        self.writer = TraceWriter(
            self.emit, self.watcher, self._origin_of, self._local_of, self._fork_seen, self.tap
        )
        try:
            ep.libInit(endpoint_config(self.options, self.writer, self.tap.path))
        except BaseException:
            self.tap.close()
            raise
        self.tap.attach()  # and unlink the private file: pjsua holds it open now
        if self.options.null_audio:
            # The Linux wheel has no sound backend (§0); the null device keeps the conference
            # clock running (setNoDev would stop it and no media would flow, §4).
            ep.audDevManager().setNullDev()
        pin_codecs(ep, self.options.codecs)
        self._listener("udp")
        self._listener("tcp")
        if self.options.tls_cert_file:
            self._listener("tls", inbound=True)
        ep.libStart()
        if self.audio is not None:
            self.audio.open(ep)

    def _listener(
        self,
        kind: Transport,
        ca_file: str | None = None,
        verify: bool = True,
        inbound: bool = False,
    ) -> int:
        """The transport for `kind`; TLS ones are keyed by (CA file, verify) because pjsip's TLS
        settings are per transport, not per account."""
        ca: str | None = None
        key: tuple[str, str, bool]
        if kind != "tls":
            key = (kind, "", True)
        elif inbound:
            # The listener with our certificate (inbound TLS). It never loads the system CA
            # bundle: a pjsip TLS server puts every CA of its CA file in its CertificateRequest,
            # and with the 144-CA system bundle the handshake never completed (measured, with
            # threadCnt 0 and 1). Outgoing connections through it verify against options.ca_file.
            ca = self.options.ca_file
            key = ("tls", ca or "", ca is not None)
            verify = ca is not None
        else:
            ca = ca_file or self.options.ca_file or SYSTEM_CA_BUNDLE
            key = ("tls", ca, verify)
        if key in self._transports:
            return self._transports[key]
        options = self.options if inbound or kind != "tls" else _replace_tls_port(self.options)
        tc = transport_config(
            options,
            kind,
            self.keep,
            ca_file=ca,
            verify_server=verify,
            identity=inbound,
        )
        tid = int(self.endpoint.transportCreate(TRANSPORT_TYPES[kind], tc))
        self._transports[key] = tid
        info = self.endpoint.transportGetInfo(tid)
        self._local.setdefault(kind.upper(), str(info.localName))
        return tid

    def transport_for(self, spec: EngineAccount) -> int:
        return self._listener(spec.transport, spec.ca_file, spec.verify_server)

    def register_aor(self, spec: EngineAccount, add: bool = True) -> None:
        from softphone.sip.uri import SipUri, parse_uri

        uri = parse_uri(spec.id_uri)
        if isinstance(uri, SipUri):
            keys = [f"{uri.user}@{uri.host}".lower() if uri.user else uri.host.lower()]
            if spec.caller_id:
                keys.append(f"{spec.caller_id}@{uri.host}".lower())
            for key in keys:
                if add:
                    self._aors.setdefault(key, spec.name)
                elif self._aors.get(key) == spec.name:
                    del self._aors[key]

    def track(self, obj: Any) -> None:
        self._tracked.add(obj)

    # -- trace hooks (called inside the log writer: no pjsua2 calls here) ---------------

    def _origin_of(self, trace: SipTrace) -> str:
        if trace.transport == "TLS" and trace.direction == "out":
            msg = trace.parsed
            if isinstance(msg, SipRequest):
                routes = msg.routes if "route" in msg.headers else []
                uri = routes[0].uri if routes else msg.uri
                host = getattr(uri, "host", None)
                if host:
                    self._tls_names[trace.remote] = str(host)
        aor = our_aor(trace)
        return (self._aors.get(aor) if aor else None) or "engine"

    def _local_of(self, transport: str) -> str:
        return self._local.get(transport, "")

    def _fork_seen(self, call_id: str) -> None:
        self._forked.add(call_id)

    # -- TLS / TCP transport reports ----------------------------------------------------

    def transport_state(self, prm: Any) -> None:
        event = transport_event(prm, self.endpoint, self._tls_names)
        if event is None:
            return
        if event.verify_status:
            self._tls_note = f"TLS to {event.remote}: {event.explanation}"
        self.emit(event)

    # -- loop ---------------------------------------------------------------------------

    def drain_traces(self) -> None:
        if self.writer is not None:
            self.writer.drain()

    def log_mark(self) -> int:
        """How far pjsua has logged (changes whenever a SIP message is sent or received)."""
        return self.tap.mark() if self.tap is not None else 0

    def later(self, work: Callable[[], None]) -> None:
        # Remember how far pjsua had logged: the work runs right after those entries become
        # traces, so its event sees the dialog state of its own moment. This runs inside
        # callbacks that follow a send, so it goes straight to the tap (a memory load).
        tap = self.tap
        self._later.append((tap.mark() if tap is not None else 0, work))

    def run_later(self) -> None:
        """Replay what was put off: traces and queued publishing, in the order they happened."""
        while self._later:
            pending, self._later = self._later, []
            for position, work in pending:
                if self.writer is not None:
                    self.writer.drain(upto=position)
                try:
                    work()
                except Exception as exc:
                    self.report("publish", exc)
        self.drain_traces()

    def poll(self, ms: int) -> None:
        # With events waiting to be published, look for SIP only briefly before publishing.
        wait = min(ms, SETTLE_WAIT_MS) if self._later else ms
        if self.endpoint.libHandleEvents(wait) > 0:
            self.settle()
        self.run_later()
        if self._forked:  # a new early dialog seen in the traces: re-publish its call
            forked, self._forked = self._forked, set()
            for call in list(self.calls.values()):
                if call.sip_call_id in forked and not call.ended:
                    call.publish()
            self.run_later()
        if self._graveyard:
            self._graveyard.clear()  # drop dead calls/players outside their callbacks
        if self._audio_poll is not None:
            try:
                events = self._audio_poll()  # device streams start/stop here, not in callbacks
            except Exception as exc:
                self.report("audio", exc)
                self._audio_poll = None  # one report, not one every loop turn
            else:
                for event in events:
                    self.emit(event)
        now = time.monotonic()
        if now >= self._stats_due:
            # The stream (and its counters) is gone by the time DISCONNECTED is reported, so
            # the counters are read once a second and the last reading goes in the final event.
            self._stats_due = now + STATS_INTERVAL
            for call in self.calls.values():
                call.refresh_stats()
        for account in self.accounts.values():
            if now >= account.qualify_due:
                account.send_qualify(now)

    def settle(self) -> None:
        """Handle SIP until nothing came for SETTLE_WAIT_MS (at most SETTLE_BUDGET)."""
        deadline = time.monotonic() + SETTLE_BUDGET
        while self.endpoint.libHandleEvents(SETTLE_WAIT_MS) > 0:
            if time.monotonic() >= deadline:
                return

    def _poll_until(self, done: Callable[[], bool], budget: float) -> None:
        deadline = time.monotonic() + budget
        while not done() and time.monotonic() < deadline:
            self.poll(10)

    # -- stop ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        ep = self.endpoint
        if ep is None:
            return
        self.emit(EngineStateEvent("stopping"))
        try:
            self._wind_down()
        except Exception as exc:
            self.report("shutdown", exc)
        self.run_later()  # while the calls still exist
        self._later.clear()
        self.calls.clear()
        self.accounts.clear()
        self._graveyard.clear()
        self.keep.clear()
        for name in ("last_type", "last_value", "last_traceback", "last_exc"):
            if hasattr(sys, name):
                setattr(sys, name, None)  # a kept traceback keeps pjsua2 objects alive (§2)
        gc.collect()
        for obj in list(self._tracked):
            with contextlib.suppress(Exception):
                obj.__disown__()  # safety net: never destroyed after libDestroy (§2 fix 3)
        self.drain_traces()  # the last messages (un-REGISTERs) still become trace events
        if self.writer is not None:
            self.writer.__disown__()  # libDestroy deletes the C++ writer itself
        ep.libDestroy(pj.PJSUA_DESTROY_NO_RX_MSG)
        self.endpoint = None
        if self.tap is not None:
            self.tap.close()  # after libDestroy: pjsua has closed its end of the file
        self._sink_stopped()

    def _wind_down(self) -> None:
        if self.calls:
            with contextlib.suppress(pj.Error):
                self.endpoint.hangupAllCalls()
            self._poll_until(lambda: not self.calls, HANGUP_WAIT)
        for account in self.accounts.values():
            if account.registered or account.reg_in_progress:
                with contextlib.suppress(pj.Error):
                    account.setRegistration(False)
        self._poll_until(
            lambda: not any(a.registered or a.reg_in_progress for a in self.accounts.values()),
            UNREGISTER_WAIT,
        )
        self.poll(20)  # let the last responses (200 to BYE) reach the trace
        if self.audio is not None:
            self.audio.close()
        for call in self.calls.values():
            call.files.release()
        for account in self.accounts.values():
            with contextlib.suppress(pj.Error):
                account.shutdown()

    def _sink_stopped(self) -> None:
        self.emit(EngineStateEvent("stopped"))


def _replace_tls_port(options: EngineOptions) -> EngineOptions:
    from dataclasses import replace

    return replace(options, tls_port=0)
