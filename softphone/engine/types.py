"""The engine's own input types: one fully resolved account, and the endpoint options.

The provider layer (presets, config, keyring) turns what the user wrote into these; the engine
does no defaults-guessing of its own, so what it is given is exactly what goes on the wire.
Both are frozen and validated at construction, so a bad value fails in the caller's thread with
a plain message instead of deep inside pjsua2 (where a misuse can abort the process,
engine-notes §10.1). No pjsua2 import here: the UI and the FakeEngine use these types too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from softphone.sip.errors import SipParseError
from softphone.sip.uri import SipUri, parse_uri

Transport = Literal["udp", "tcp", "tls"]
SrtpMode = Literal["off", "optional", "mandatory"]

TRANSPORTS: tuple[Transport, ...] = ("udp", "tcp", "tls")
SRTP_MODES: tuple[SrtpMode, ...] = ("off", "optional", "mandatory")
# SDES suites (RFC 4568 §6.2) in the order offered; the 80-bit tag first (design.md: SDES 80/32).
DEFAULT_SRTP_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
MIN_OPTIONS_INTERVAL = 15  # qualify no more often than this (Twilio rate-limits OPTIONS)


def _check_sip_uri(what: str, text: str) -> SipUri:
    try:
        uri = parse_uri(text)
    except SipParseError as exc:
        raise ValueError(f"{what} {text!r} is not a valid SIP URI: {exc.reason}") from None
    if not isinstance(uri, SipUri):
        raise ValueError(f"{what} {text!r} must be a sip: or sips: URI")
    return uri


@dataclass(frozen=True)
class EngineAccount:
    """One account exactly as the engine will use it.

    `registrar_uri` None means trunk mode: no REGISTER, calls go to the termination URI given
    to make_call and are authenticated when challenged (407). `allowed_cidrs`, when not empty,
    is an IP ACL for inbound INVITEs (403 to anyone else). `options_interval` > 0 sends an
    OPTIONS "qualify" to the proxy / registrar / id_uri host that often (at least 15 s).
    Registration retries after 408/5xx/transport failures come `retry_first_sec` after the
    first failure and every `retry_interval_sec` after that, without random jitter, so a user
    can predict them (engine-notes §7). The password never appears in repr().
    """

    name: str
    id_uri: str
    registrar_uri: str | None
    username: str
    password: str = field(repr=False)
    realm: str = "*"
    transport: Transport = "udp"
    srtp: SrtpMode = "off"
    srtp_suites: tuple[str, ...] = DEFAULT_SRTP_SUITES
    expires: int = 600
    proxy: str | None = None
    ca_file: str | None = None
    verify_server: bool = True
    allowed_cidrs: tuple[str, ...] = ()
    options_interval: int = 0
    caller_id: str | None = None
    retry_first_sec: int = 5
    retry_interval_sec: int = 30
    display_name: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("account name is empty")
        _check_sip_uri("id_uri", self.id_uri)
        if self.registrar_uri is not None:
            _check_sip_uri("registrar_uri", self.registrar_uri)
        if self.proxy is not None:
            _check_sip_uri("proxy", self.proxy)
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, not {self.transport!r}")
        if self.srtp not in SRTP_MODES:
            raise ValueError(f"srtp must be one of {SRTP_MODES}, not {self.srtp!r}")
        if self.srtp != "off" and not self.srtp_suites:
            raise ValueError("SRTP is enabled but no crypto suite is allowed")
        if not 1 <= self.expires <= 2**31 - 1:
            raise ValueError(f"expires must be 1..2**31-1 seconds, not {self.expires}")
        if self.options_interval and self.options_interval < MIN_OPTIONS_INTERVAL:
            raise ValueError(
                f"options_interval must be 0 (off) or at least {MIN_OPTIONS_INTERVAL} s"
            )
        if self.retry_first_sec < 1 or self.retry_interval_sec < 1:
            raise ValueError("registration retry intervals must be at least 1 s")
        for cidr in self.allowed_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"allowed_cidrs: {cidr!r} is not an IP network") from None

    @property
    def trunk(self) -> bool:
        """True in trunk mode (no registrar, no REGISTER)."""
        return self.registrar_uri is None

    def source_allowed(self, source: str) -> bool:
        """Whether an INVITE from `source` ("ip:port" or "[v6]:port") passes the IP ACL."""
        if not self.allowed_cidrs:
            return True
        host = source.rsplit(":", 1)[0].strip("[]") if ":" in source else source
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(c, strict=False) for c in self.allowed_cidrs)


@dataclass(frozen=True)
class EngineOptions:
    """Endpoint-wide settings (one Endpoint per process, engine-notes §2).

    `bind_host` is where SIP and RTP sockets bind; `public_host` what SDP and Contact
    advertise (None: pjsua picks). Port 0 means "any free port". RTP ports are always set
    explicitly because pjsua's default (4000+) collides with other software (§10.9).
    `codecs` are pinned in this priority order and every other codec is disabled: speex, the
    library default, distorted the test tone in 2 of 8 runs (§4), and this wheel has no Opus.
    `tls_cert_file`/`tls_key_file` give the TLS listener an identity for inbound TLS.
    `null_audio` runs the bridge on pjsua's null sound device (always right on Linux, where the
    wheel has no sound backend; real audio then comes through an AudioBridge); False keeps
    pjsua's default device, for wheels that have one.
    """

    bind_host: str = "0.0.0.0"
    public_host: str | None = None
    sip_port: int = 0
    tls_port: int = 0
    rtp_port_start: int = 40000
    rtp_port_range: int = 1000
    codecs: tuple[str, ...] = ("PCMU", "PCMA", "G722")
    log_level: int = 4
    null_audio: bool = True
    tls_min: str = "1.2"
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    ca_file: str | None = None
    log_file: str | None = None  # pjsua's full log (all levels up to log_level), for debugging
    user_agent: str = "softphone/0.1"
    poll_ms: int = 10
    max_calls: int = 8

    def __post_init__(self) -> None:
        for what, port in (("sip_port", self.sip_port), ("tls_port", self.tls_port)):
            if not 0 <= port <= 65535:
                raise ValueError(f"{what} must be 0..65535")
        if not 1024 <= self.rtp_port_start <= 65000 or self.rtp_port_range < 4:
            raise ValueError("RTP ports: start 1024..65000 and a range of at least 4")
        if not self.codecs:
            raise ValueError("at least one codec must be enabled")
        if self.tls_min != "1.2":
            # The wheel bundles OpenSSL 1.0.2k: TLS 1.3 cannot be negotiated (engine-notes §3).
            raise ValueError("tls_min must be '1.2': this pjsua2 build has no TLS 1.3")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if not 1 <= self.poll_ms <= 100:
            raise ValueError("poll_ms must be 1..100")
        if not 1 <= self.max_calls <= 32:
            raise ValueError("max_calls must be 1..32")
