"""From a configured account to what the engine runs: EngineAccount and EngineOptions.

Why a module of its own: the account layer (config, presets, keyring) knows nothing of pjsua2
and the engine knows nothing of presets; this is the one seam between them, shared by the
headless commands now and the TUI later, so both put exactly the same thing on the wire.

The password is passed in (from `account_cli.resolve_password`) and only ever lands in the
EngineAccount, whose repr hides it. Local addresses: a server on a loopback address can only
be reached from loopback, so by default the phone binds 127.0.0.1 then (its Contact and SDP
must name an address the server can reach back, RFC 3261 §8.1.1.8); otherwise it binds every
interface and lets pjsua pick the advertised address.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from softphone.engine.types import DEFAULT_SRTP_SUITES, EngineAccount, EngineOptions
from softphone.providers import EffectiveAccount
from softphone.sip.errors import SipParseError
from softphone.sip.uri import SipUri, parse_uri

ANY_HOST = "0.0.0.0"
LOOPBACK_HOST = "127.0.0.1"
_RTP_RANGE_RE = re.compile(r"(\d{1,5})(?:-(\d{1,5}))?")


def to_engine_account(account: EffectiveAccount, password: str) -> EngineAccount:
    """The EngineAccount for `account`, authenticating with `password`.

    Trunk accounts (no registrar) keep the engine's default expiry: it is never sent. An account
    without SRTP keeps the default suite list, which the engine ignores when SRTP is off.
    """
    return EngineAccount(
        name=account.name,
        id_uri=account.id_uri,
        registrar_uri=account.registrar_uri,
        username=account.username,
        password=password,
        realm=account.realm,
        transport=account.transport,
        srtp=account.srtp,
        srtp_suites=account.srtp_suites or DEFAULT_SRTP_SUITES,
        expires=account.expires or 600,
        proxy=account.outbound_proxy,
        ca_file=account.ca_file,
        allowed_cidrs=account.allowed_cidrs,
        options_interval=account.options_interval or 0,
        caller_id=account.caller_id,
    )


def server_host(account: EffectiveAccount) -> str:
    """The host the phone sends to first: the outbound proxy, else the registrar, else the
    domain (RFC 3261 §8.1.2: the first Route, or the Request-URI)."""
    for candidate in (account.outbound_proxy, account.registrar_uri):
        if candidate:
            try:
                uri = parse_uri(candidate)
            except SipParseError:
                continue
            if isinstance(uri, SipUri):
                return uri.host.strip("[]")
    return account.domain.strip("[]")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class LocalAddress:
    """Where the phone's sockets go; None fields take the defaults described above."""

    bind: str | None = None
    sip_port: int = 0
    rtp_ports: tuple[int, int] | None = None  # first and last port, inclusive


def parse_rtp_ports(text: str) -> tuple[int, int]:
    """'40000-40999' (or '40000': 1000 ports from there) as (first, last); ValueError if bad."""
    m = _RTP_RANGE_RE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r}: give a port range such as 40000-40999")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else first + 999
    if not 1024 <= first <= 65000 or not first + 3 <= last <= 65535:
        raise ValueError(
            f"{text!r}: RTP ports must lie in 1024-65535, start at most at 65000, "
            "and span at least 4 ports (2 calls, RTP + RTCP each)"
        )
    return first, last


def headless_options(
    account: EffectiveAccount, local: LocalAddress | None = None, *, log_file: str | None = None
) -> EngineOptions:
    """EngineOptions for one command-line run with `account`."""
    local = local or LocalAddress()
    bind = local.bind or (LOOPBACK_HOST if is_loopback(server_host(account)) else ANY_HOST)
    first, last = local.rtp_ports or (40000, 40999)
    return EngineOptions(
        bind_host=bind,
        sip_port=local.sip_port,
        rtp_port_start=first,
        rtp_port_range=last - first + 1,
        log_file=log_file,
    )
