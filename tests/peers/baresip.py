"""Drive a real, headless baresip 1.0.0 as an independent SIP peer for interop tests.

baresip is a second SIP stack (libre) that shares no code with pjsip, so a call it accepts and
media it hears are evidence our side speaks SIP/SDP/RTP, not only to itself. Each instance gets
its own config directory, loopback ports and a tone to send:

* audio out: the `aufile` source plays a WAV tone (8 kHz mono s16); no player module is loaded,
  so no sound card is touched (audio.c decodes and filters RTP even without a player);
* audio in: the `sndfile` filter writes what it decodes to `rec/dump-<time>-dec.wav`, closed
  (header final) when the call ends; that file proves RTP arrived and which tone it carried;
* control: `ctrl_tcp` speaks netstring-framed JSON on a loopback port: commands go in, command
  responses and UA events (REGISTER_OK, CALL_ESTABLISHED, CALL_CLOSED...) come out.

The account is created with `uanew` only after the control connection is up, because ctrl_tcp
drops events while nobody is connected: an account from the `accounts` file would register
before we could listen and REGISTER_OK would be lost. Ports: SIP on P (UDP and TCP), TLS on P+1
(baresip always puts TLS one above sip_listen), control on P+2, RTP/RTCP in an even range above.

Quirks of 1.0.0 this driver works around or exposes:
* `net_interface 127.0.0.1` (an address; the name `lo` fails) makes SDP offer 127.0.0.1 instead
  of the host's first address; the RTP sockets themselves bind 0.0.0.0 (hard-coded in stream.c).
* answermode=auto answers at once and emits no CALL_INCOMING; only manual mode does.
* As a TLS client it loads `sip_cafile` but never verifies the server certificate (libre 1.1.0).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from tests.peers import audio
from tests.peers.ports import free_port_block, release

Transport = Literal["udp", "tcp", "tls"]
HOST = "127.0.0.1"
MODULE_DIR = Path("/usr/lib/baresip/modules")
_PORT_SPAN = 24  # P, P+1 (TLS), P+2 (ctrl), RTP range inside P+4 .. P+21


def available() -> bool:
    """True if baresip and the modules this driver loads are installed."""
    needed = ("g711", "aufile", "sndfile", "account", "menu", "ctrl_tcp")
    return shutil.which("baresip") is not None and all(
        (MODULE_DIR / f"{m}.so").exists() for m in needed
    )


class BaresipError(AssertionError):
    """A baresip peer did not do what the test expected; the message carries its log."""

    def __init__(self, message: str, peer: Baresip) -> None:
        super().__init__(message)
        self.peer = peer


@dataclass(frozen=True)
class Account:
    """One baresip account (an `accounts`-file line, sent with `uanew`).

    `domain` is host[:port] of the AOR: the registrar when `register` is set, otherwise just the
    name this peer answers to. With register=False the line gets `regint=0` (no REGISTER at all).
    """

    user: str
    domain: str = HOST
    transport: Transport = "udp"
    password: str | None = field(default=None, repr=False)  # never shown in failure output
    auth_user: str | None = None
    register: bool = False
    answermode: Literal["auto", "manual"] = "auto"
    codecs: str = "pcmu"

    @property
    def aor(self) -> str:
        return f"sip:{self.user}@{self.domain}"

    def line(self) -> str:
        # RFC 3261 §19.1.1: the transport goes in the URI, but only for a registering account:
        # baresip appends the account's URI params to every dialled URI, so a direct-call
        # account must have none, or `;transport=udp` would be glued onto a TLS target.
        uri = f"{self.aor};transport={self.transport}" if self.register else self.aor
        parts = [f"<{uri}>"]
        if self.password is not None:
            parts.append(f"auth_pass={self.password}")
        if self.auth_user is not None:
            parts.append(f"auth_user={self.auth_user}")
        parts += [f"answermode={self.answermode}", f"audio_codecs={self.codecs}", "mwi=no"]
        if not self.register:
            parts.append("regint=0")
        return ";".join(parts)


class Baresip:
    """A running baresip; use as a context manager so the process always ends with the test."""

    def __init__(
        self,
        workdir: Path,
        account: Account,
        *,
        tone_hz: float = 1000.0,
        tone_seconds: float = 30.0,
        cert_bundle: Path | None = None,
        cafile: Path | None = None,
        lifetime: int = 300,
        name: str | None = None,
    ) -> None:
        self.account = account
        self.name = name or account.user
        self.dir = Path(workdir) / f"baresip-{self.name}"
        self.record_dir = self.dir / "rec"
        self.tone = self.dir / f"tone-{tone_hz:g}.wav"
        self.tone_hz = tone_hz
        self._tone_seconds = tone_seconds  # the call ends itself when aufile reaches the end
        self._cert_bundle = cert_bundle  # cert + key in one PEM, for the TLS listener
        self._cafile = cafile
        self._lifetime = lifetime  # `baresip -t`: a backstop if this process dies uncleanly
        base = free_port_block(range(_PORT_SPAN))
        self._ports = range(base, base + _PORT_SPAN)
        self.sip_port, self.tls_port, self.ctrl_port = base, base + 1, base + 2
        self.rtp_min = (base + 5) & ~1  # libre picks an even RTP port in [min, max), RTCP = +1
        self.rtp_max = self.rtp_min + 16
        self.log = self.dir / "baresip.log"
        self.events: list[dict[str, Any]] = []  # every event received, for failure reports
        self._pending: list[dict[str, Any]] = []  # events not yet taken by wait_for_event
        self._responses: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._token = 0
        self._taken = 0  # recordings taken so far

    # -- addresses ----------------------------------------------------------------------------

    def uri(self, transport: Transport = "udp") -> str:
        """The URI that reaches this peer directly, without a registrar."""
        port = self.tls_port if transport == "tls" else self.sip_port
        return f"sip:{self.account.user}@{HOST}:{port};transport={transport}"

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is not None and not (isinstance(exc, BaresipError) and exc.peer is self):
            print(self.report())  # pytest shows it under "Captured stdout" of the failed test

    def start(self, timeout: float = 10.0) -> None:
        self.record_dir.mkdir(parents=True, exist_ok=True)
        audio.write_tone(self.tone, self.tone_hz, self._tone_seconds)
        (self.dir / "accounts").write_text("")  # accounts come later, via uanew
        (self.dir / "config").write_text(self._config())
        with self.log.open("wb") as log:
            self._proc = subprocess.Popen(
                ["baresip", "-f", str(self.dir), "-t", str(self._lifetime)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._sock = self._connect_ctrl(timeout)
        self._reader = threading.Thread(target=self._read_loop, daemon=True, name=self.name)
        self._reader.start()
        self.command("uanew", self.account.line(), timeout=timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask baresip to quit (it unregisters, hangs up), then terminate/kill if it lingers."""
        proc = self._proc
        if proc is not None and proc.poll() is None and self._sock is not None:
            with contextlib.suppress(OSError):
                self._send("quit", None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        if self._reader is not None:
            self._reader.join(timeout)
        release(self._ports)

    # -- control ------------------------------------------------------------------------------

    def command(self, command: str, params: str | None = None, timeout: float = 5.0) -> str:
        """Run a baresip command; return its text output, raise BaresipError if it failed."""
        token = self._send(command, params)
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                self._check_alive()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._error(f"no response to {command!r} within {timeout} s")
                self._cond.wait(min(0.2, remaining))
            response = self._responses.pop(token)
        if not response.get("ok"):
            raise self._error(f"{command!r} failed: {self._redact(str(response.get('data')))}")
        return str(response.get("data", ""))

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def answer(self) -> None:
        self.command("accept")

    def hangup(self) -> None:
        self.command("hangup")

    def quit(self, timeout: float = 5.0) -> int:
        """Quit and wait for the process; returns its exit status."""
        self._send("quit", None)
        assert self._proc is not None
        return self._proc.wait(timeout)

    def wait_for_event(
        self, event_type: str, timeout: float = 5.0, *, unless: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Take the oldest not-yet-taken event of `event_type`, waiting up to `timeout` s.

        An event of a type in `unless` arriving first (e.g. CALL_CLOSED while waiting for
        CALL_ESTABLISHED) fails at once instead of running into the timeout.
        """
        stop = set(unless)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, event in enumerate(self._pending):
                    if event.get("type") == event_type:
                        return self._pending.pop(i)
                    if event.get("type") in stop:
                        raise self._error(f"got {event} while waiting for {event_type}")
                self._check_alive()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._error(f"no {event_type} event within {timeout} s")
                self._cond.wait(min(0.2, remaining))

    def wait_for_received_audio(self, seconds: float, timeout: float = 10.0) -> None:
        """Wait until the current call's recording holds `seconds` of received audio.

        The sndfile filter writes every decoded RTP frame straight to disk, so the file's growth
        is a direct measure of RTP that arrived and was decoded (8 kHz s16 = 16000 bytes/s).
        Only recordings not yet taken by `recording()` count, i.e. the current call's.
        """
        deadline = time.monotonic() + timeout
        want = 44 + round(seconds * audio.SAMPLE_RATE * 2)  # 44-byte WAV header
        while True:
            self._check_alive()
            sizes = [p.stat().st_size for p in self.record_dir.glob("dump-*-dec.wav")]
            if sizes and max(sizes) >= want:
                return
            if time.monotonic() > deadline:
                raise self._error(f"received under {seconds} s of audio in {timeout} s: {sizes}")
            time.sleep(0.02)

    def recording(self, timeout: float = 5.0) -> Path:
        """Take the finished recording of what this peer heard in the call that just ended.

        sndfile names files by the second the call started (`dump-<time>-dec.wav`), so two
        calls in one second would share a name: taking renames the file to `heard-<n>.wav`
        (and what was sent to `sent-<n>.wav`). Call it after every call, once CALL_CLOSED
        arrived; the header is only final when baresip closed the file, so this waits for it.
        """
        deadline = time.monotonic() + timeout
        while not (files := sorted(self.record_dir.glob("dump-*-dec.wav"))):
            if time.monotonic() > deadline:
                raise self._error("no recording of received audio (did the call set up media?)")
            time.sleep(0.02)
        if len(files) > 1:
            raise self._error(f"several untaken recordings: {[f.name for f in files]}")
        try:
            audio.wait_for_wav(files[0], max(0.1, deadline - time.monotonic()))
        except TimeoutError as exc:
            raise self._error(str(exc)) from None
        self._taken += 1
        heard = files[0].with_name(f"heard-{self._taken}.wav")
        files[0].rename(heard)
        for sent in self.record_dir.glob("dump-*-enc.wav"):
            sent.rename(sent.with_name(f"sent-{self._taken}.wav"))
        return heard

    def report(self) -> str:
        """The process log and the events seen, passwords removed."""
        text = self.log.read_text(errors="replace") if self.log.exists() else "(no log)"
        events = "\n".join(json.dumps(e) for e in self.events)
        return self._redact(f"--- baresip {self.name} log ---\n{text}\n--- events ---\n{events}")

    # -- internals ----------------------------------------------------------------------------

    def _config(self) -> str:
        lines = [
            "poll_method epoll",
            f"sip_listen {HOST}:{self.sip_port}",
            "net_interface 127.0.0.1",
            "call_local_timeout 30",
            "call_max_calls 4",
            f"audio_source aufile,{self.tone}",
            "audio_buffer 20-160",
            f"rtp_ports {self.rtp_min}-{self.rtp_max}",
            "rtcp_mux no",
            "jitter_buffer_delay 5-10",
            f"module_path {MODULE_DIR}",
            "module g711.so",
            "module aufile.so",
            "module sndfile.so",
            "module_tmp account.so",
            "module_app menu.so",
            "module_app ctrl_tcp.so",
            "statmode_default off",  # menu's once-a-second call status line would flood the log
            f"ctrl_tcp_listen {HOST}:{self.ctrl_port}",
            f"snd_path {self.record_dir}",
        ]
        if self._cert_bundle is not None:
            lines.append(f"sip_certificate {self._cert_bundle}")
        if self._cafile is not None:
            lines.append(f"sip_cafile {self._cafile}")
        return "\n".join(lines) + "\n"

    def _connect_ctrl(self, timeout: float) -> socket.socket:
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                return socket.create_connection((HOST, self.ctrl_port), timeout=1)
            except OSError:
                if time.monotonic() > deadline:
                    raise self._error(f"ctrl_tcp not listening after {timeout} s") from None
                time.sleep(0.02)

    def _send(self, command: str, params: str | None) -> str:
        assert self._sock is not None
        self._token += 1
        token = f"t{self._token}"
        message: dict[str, str] = {"command": command, "token": token}
        if params is not None:
            message["params"] = params
        payload = json.dumps(message).encode()
        self._sock.sendall(b"%d:%s," % (len(payload), payload))  # netstring framing
        return token

    def _read_loop(self) -> None:
        assert self._sock is not None
        self._sock.settimeout(None)
        buffer = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._cond.notify_all()
                    return
                buffer += chunk
                while (colon := buffer.find(b":")) > 0:
                    length = int(buffer[:colon])
                    end = colon + 1 + length
                    if len(buffer) < end + 1:
                        break
                    message = json.loads(buffer[colon + 1 : end])
                    buffer = buffer[end + 1 :]  # skip the trailing ','
                    if message.get("response"):
                        self._responses[str(message.get("token"))] = message
                    elif message.get("event"):
                        self.events.append(message)
                        self._pending.append(message)
                self._cond.notify_all()

    @property
    def alive(self) -> bool:
        """Still running (baresip 1.0.0 now and then dies of SIGSEGV between calls)."""
        return self._proc is not None and self._proc.poll() is None

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise self._error(f"baresip exited with status {self._proc.returncode}")

    def _error(self, what: str) -> BaresipError:
        return BaresipError(f"baresip {self.name}: {what}\n{self.report()}", self)

    def _redact(self, text: str) -> str:
        password = self.account.password
        return text.replace(password, "***") if password else text
