"""What the engine tells its user: frozen dataclasses of plain data, never pjsua2 objects.

Events are built on the engine thread from copied values (getInfo() fields, parsed messages)
and handed to the sink, which may pass them to another thread (the UI posts them with
App.post_message). Holding a pjsua2 object outside the engine thread can abort the process
when it is garbage-collected there (engine-notes §1, §2), hence plain data only.

`call` is the engine's own call handle: unique for the engine's lifetime, unlike pjsua's call
ids, which are reused as soon as a call slot is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from softphone.sip.trace import SipTrace

RegState = Literal["registering", "registered", "unregistered", "failed", "retrying"]
CallState = Literal[
    "calling", "early", "incoming", "connecting", "confirmed", "held", "disconnected"
]
Direction = Literal["in", "out"]


@dataclass(frozen=True)
class Binding:
    """One Contact the registrar lists for the AOR in its 200 OK (RFC 3261 §10.3 step 8)."""

    contact: str
    expires: int | None
    instance: str | None  # +sip.instance (RFC 5626 §4.1), identifies a device


@dataclass(frozen=True)
class RegistrationEvent:
    """A registration state change. `expires` is the granted expiry (None when unknown),
    `retry_in` the seconds until pjsua retries on its own (None: it will not retry), and
    `auth_attempts` the authenticated REGISTERs sent for this attempt (seen in the trace)."""

    account: str
    state: RegState
    code: int
    reason: str
    expires: int | None
    bindings: tuple[Binding, ...] = ()
    explanation: str = ""
    retry_in: int | None = None
    auth_attempts: int = 0


@dataclass(frozen=True)
class RtpStats:
    """RTCP-derived counters of the call's audio stream (RFC 3550 §6.4)."""

    rx_packets: int
    rx_lost: int
    rx_jitter_ms: float
    tx_packets: int
    rtt_ms: float | None


@dataclass(frozen=True)
class CallEvent:
    """A snapshot of one call after a change. `srtp_suite` is None when media is not
    encrypted; `devices_ringing` counts distinct early dialogs (To tags of 18x responses,
    RFC 3261 §12.1.2) of an outgoing call that forked; `answered_elsewhere` marks an incoming
    call CANCELled with `Reason: SIP;cause=200` (RFC 3326): not a missed call."""

    call: int
    account: str
    direction: Direction
    remote: str
    request_uri: str
    state: CallState
    code: int
    reason: str
    codec: str | None = None
    srtp_suite: str | None = None
    devices_ringing: int = 0
    answered_elsewhere: bool = False
    rtp: RtpStats | None = None
    call_id: str = ""  # the SIP Call-ID, to match the trace / ladder
    hold: Literal["local", "remote"] | None = None
    muted: bool = False
    duration: float = 0.0  # seconds since CONFIRMED (0 before)


@dataclass(frozen=True)
class IncomingCallEvent:
    """A new inbound INVITE that passed the IP ACL (the engine has answered 180 Ringing)."""

    call: int
    account: str
    remote: str
    request_uri: str
    source: str  # "ip:port" the INVITE came from
    call_id: str = ""


@dataclass(frozen=True)
class TraceEvent:
    """One SIP message sent or received (TLS already decrypted)."""

    trace: SipTrace


@dataclass(frozen=True)
class TransportEvent:
    """A TCP/TLS connection came up or went down; for TLS, what was negotiated and verified."""

    transport: str  # "TLS", "TCP"
    remote: str
    state: Literal["connected", "disconnected"]
    cipher: str | None = None
    verify_ok: bool = True
    verify_status: int = 0
    verify_messages: tuple[str, ...] = ()
    peer_subject: str | None = None
    peer_names: tuple[str, ...] = ()
    explanation: str = ""
    error: str | None = None


@dataclass(frozen=True)
class DtmfEvent:
    """A DTMF digit received on a call (RFC 4733 telephone-event or SIP INFO)."""

    call: int
    digit: str
    method: Literal["rfc4733", "sip-info", "other"]
    duration_ms: int = 0


@dataclass(frozen=True)
class TransferEvent:
    """Progress of a blind transfer we started (the NOTIFY sipfrag status, RFC 3515 §2.4.5)."""

    call: int
    code: int
    reason: str
    final: bool


@dataclass(frozen=True)
class QualifyEvent:
    """Result of one OPTIONS qualify. `reachable` is True when any response came back."""

    account: str
    target: str
    reachable: bool
    code: int
    reason: str
    rtt_ms: float | None


@dataclass(frozen=True)
class LogEvent:
    """A pjsip warning or error line (level <= 2) that is not a SIP message."""

    level: int
    message: str


@dataclass(frozen=True)
class EngineErrorEvent:
    """Something failed inside the engine without a caller to report to (a callback)."""

    where: str
    message: str


@dataclass(frozen=True)
class AudioStateEvent:
    """The sound devices behind calls (from the softphone.audio bridge).

    `state`: "ready" (devices found, no call using them), "active" (streams running for a
    call), "null" (no usable device: calls connect but are silent), "failed" (a device stopped
    or would not open: calls go on with null audio). `message` is one plain sentence for the
    TUI; `input`/`output`/`ring` name the devices in use (None: none)."""

    state: Literal["ready", "active", "null", "failed"]
    message: str
    input: str | None = None
    output: str | None = None
    ring: str | None = None


@dataclass(frozen=True)
class AudioLevelEvent:
    """Microphone and speaker levels while a call's audio runs (about 10 per second).
    `input`/`output` are meter positions 0..1 (-60..0 dBFS); the dBFS values are the peaks.
    `underruns`/`overruns` count jitter-buffer glitches since the streams started."""

    input: float
    output: float
    input_dbfs: float
    output_dbfs: float
    underruns: int = 0
    overruns: int = 0


@dataclass(frozen=True)
class EngineStateEvent:
    """The engine itself: "started" (after libStart), "stopping", "stopped"."""

    state: Literal["started", "stopping", "stopped"]
    detail: str = ""


Event = (
    RegistrationEvent
    | CallEvent
    | IncomingCallEvent
    | TraceEvent
    | TransportEvent
    | DtmfEvent
    | TransferEvent
    | QualifyEvent
    | LogEvent
    | EngineErrorEvent
    | EngineStateEvent
    | AudioStateEvent
    | AudioLevelEvent
)
