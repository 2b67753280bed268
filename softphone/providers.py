"""Provider presets: what Twilio, Telnyx and the lab fix, and what they reject, in plain words.

Why: the mistakes people make registering to these services are well known (a trunk URI used
as a SIP Domain, an edge that does not exist, REGISTER sent to Telnyx's siphv host, an expiry
Twilio refuses, SRTP over plain UDP). Catching them before a single packet is sent turns a
silent 403/405/timeout into a sentence. The rules come from the provider documents in
shared/seeds (000 Twilio SIP Domain registration, 001 Elastic SIP Trunking, 002 SIP domains and
edges, 003 Asterisk with Twilio, 004 Telnyx registration).

`effective(account)` turns what the user configured into the values the engine needs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Literal, TypeAlias

import phonenumbers
import platformdirs

from softphone import paths
from softphone.config import AccountConfig, Srtp, Transport
from softphone.sip.errors import SipParseError
from softphone.sip.uri import parse_sip_uri

Level = Literal["error", "warning", "note"]
_Add: TypeAlias = Callable[[Level, str, str], None]  # records one Problem
# SDES crypto suites in order of preference (RFC 4568 §6.2; Twilio accepts both, seed 001).
SRTP_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
TWILIO_REALM = "sip.twilio.com"  # the realm of Twilio's 401/407 challenges (seed 003 trace)
TWILIO_EDGES = ("us1", "us2", "ie1", "de1", "sg1", "jp1", "br1", "au1")  # seed 002
TRUNK_EDGES = (  # localized termination URIs, seed 001
    "ashburn",
    "umatilla",
    "dublin",
    "frankfurt",
    "singapore",
    "tokyo",
    "sao-paulo",
    "sydney",
)
TELNYX_DOMAINS = ("sip.telnyx.com", "sip.telnyx.eu", "sip.telnyx.ca", "sip.telnyx.com.au")
TELNYX_HV = "siphv.telnyx.com"  # high-volume product: REGISTER gets 405 (seed 004)
LAB_USERS = ("alice", "bob", "carol")  # softphone.labapp.cli.DEMO_USERS (a test keeps step)
LAB_REALM = "softphone.lab"

_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?", re.I)
_TWILIO_SIP_RE = re.compile(
    rf"(?P<x>{_LABEL}(?:\.{_LABEL})*)\.sip(?:\.(?P<edge>{_LABEL}))?"
    r"\.twilio\.com"
)
_TWILIO_PSTN_RE = re.compile(
    rf"(?P<x>{_LABEL}(?:\.{_LABEL})*)\.pstn(?:\.(?P<edge>{_LABEL}))?"
    r"\.twilio\.com"
)
_E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about an account: an error blocks use, a warning or note only informs."""

    level: Level
    account: str
    field: str
    text: str

    def __str__(self) -> str:
        return f"{self.level}: account {self.account!r}, {self.field}: {self.text}"


class AccountInvalid(Exception):
    """`effective()` on an account with errors; `problems` lists them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class EffectiveAccount:
    """What the engine needs to register and call, every default resolved."""

    name: str
    provider: str
    username: str
    """Digest user name."""
    domain: str
    id_uri: str
    """The AOR / From URI, e.g. sip:+14155550100@example.sip.twilio.com."""
    registrar_uri: str | None
    """Where REGISTER goes; None when the account does not register."""
    realm: str
    """Digest realm to answer; "*" answers whichever realm the server names."""
    transport: Transport
    port: int | None
    """Server port, or None to let DNS (SRV) / the scheme default decide."""
    srtp: Srtp
    srtp_suites: tuple[str, ...]
    expires: int | None
    """Requested registration lifetime; None when not registering."""
    outbound_proxy: str | None
    """Route every request through this URI (loose routing); None to use the Request-URI."""
    ca_file: str | None
    caller_id: str | None
    region: str
    allowed_cidrs: tuple[str, ...]
    options_interval: int | None
    """Seconds between OPTIONS pings to the server (trunk mode), None for no pings."""
    max_devices: int | None
    """How many devices the provider rings per user name (Twilio: 10), if known."""
    tls_min_version: str = "1.2"
    """Oldest TLS version offered; Twilio refuses 1.0/1.1 (seed 001)."""


class Preset:
    """Base preset: the generic rules; subclasses add what their provider fixes."""

    name: ClassVar[str] = "generic"
    summary: ClassVar[str] = "any SIP registrar or proxy"
    default_domain: ClassVar[str | None] = None
    default_expires: ClassVar[int] = 3600  # RFC 3261 §10.2.1.1 suggests 3600 s
    registers: ClassVar[bool] = True
    realm: ClassVar[str | None] = None
    max_devices: ClassVar[int | None] = None
    udp_port: ClassVar[int | None] = None  # None: no port in the URI, DNS SRV may pick one
    tls_port: ClassVar[int | None] = None
    srtp_needs_tls: ClassVar[bool] = False

    def defaults(self, account: AccountConfig) -> AccountConfig:
        """`account` with every field the user left out filled with this provider's value."""
        register = self.registers if account.register is None else account.register
        return replace(
            account,
            domain=account.domain or self.default_domain,
            transport=account.transport or "udp",
            srtp=account.srtp or "off",
            register=register,
            expires=account.expires or (self.default_expires if register else None),
            realm=account.realm or self.realm,
            options_interval=account.options_interval or (None if register else 60),
        )

    def port(self, account: AccountConfig) -> int | None:
        """The server port for the account's transport (TLS has its own, 5061 by default)."""
        return self.tls_port if account.transport == "tls" else self.udp_port

    def registrar_uri(self, account: AccountConfig) -> str:
        """sip:host[:port][;transport=tcp|tls]. TLS uses sip: + transport=tls, not sips:, as
        Twilio advises (seed 001: sips: is rewritten and may behave unexpectedly)."""
        if account.registrar:
            return account.registrar
        port = self.port(account)
        host = f"{account.domain}:{port}" if port else f"{account.domain}"
        suffix = "" if account.transport == "udp" else f";transport={account.transport}"
        return f"sip:{host}{suffix}"

    def default_proxy(self, account: AccountConfig) -> str | None:
        """Outbound proxy when the user named none."""
        return None

    def default_ca_file(self, account: AccountConfig) -> str | None:
        return None

    def validate(self, account: AccountConfig) -> list[Problem]:
        """Every problem with `account` for this provider, errors first."""
        a = self.defaults(account)
        found: list[Problem] = []

        def add(level: Level, field: str, text: str) -> None:
            found.append(Problem(level, a.name, field, text))

        self._check_common(a, add)
        self._check(a, add)
        return sorted(found, key=lambda p: ("error", "warning", "note").index(p.level))

    def _check(self, a: AccountConfig, add: _Add) -> None:
        """Provider-specific rules (none for generic)."""

    def _check_common(self, a: AccountConfig, add: _Add) -> None:
        domain = a.domain
        if not domain:
            add("error", "domain", f"missing: give --domain HOST for a {self.name} account")
        elif "://" in domain or domain.lower().startswith(("sip:", "sips:")) or "@" in domain:
            add("error", "domain", f"{domain!r}: give the host only, e.g. example.com")
        elif not _is_host(domain):
            hint = " (put a port in --registrar instead)" if ":" in domain else ""
            add("error", "domain", f"{domain!r} is not a host name or IP address{hint}")
        for key in ("registrar", "outbound_proxy"):
            value = getattr(a, key)
            if value:
                try:
                    parse_sip_uri(value)
                except SipParseError as exc:
                    add("error", key, f"{exc} (expected e.g. sip:host:5060;transport=tcp)")
        if a.ca_file is not None:
            if not Path(a.ca_file).expanduser().is_file():
                add("error", "ca_file", f"{a.ca_file}: no such file")
            if a.transport != "tls":
                add("warning", "ca_file", "only used with --transport tls")
        if a.srtp != "off" and a.transport != "tls":
            level: Level = "error" if self.srtp_needs_tls else "warning"
            why = (
                f"{self.summary} offers SRTP only together with TLS signalling; "
                if self.srtp_needs_tls
                else "SDES keys travel in the SDP, readable by anyone on the path without TLS "
                "(RFC 4568 §8.3); "
            )
            add(level, "srtp", why + "use --transport tls")
        if a.region not in phonenumbers.SUPPORTED_REGIONS:
            add("error", "region", f"{a.region!r} is not a region phonenumbers knows (e.g. US)")
        if a.caller_id and not _valid_number(a.caller_id):
            add("warning", "caller_id", f"{a.caller_id} is not a valid number in any region")
        if a.register and a.allowed_cidrs:
            add("warning", "allowed_cidrs", "only used by accounts that do not register (trunks)")
        if a.register and a.options_interval is not None:
            add("warning", "options_interval", "only used by accounts that do not register")
        if not a.register and not a.allowed_cidrs:
            add("warning", "allowed_cidrs", "empty: inbound INVITEs will be refused from "
                "everyone; list the provider's signalling networks")  # fmt: skip


def _check_twilio_host(
    a: AccountConfig,
    add: _Add,
    own: re.Pattern[str],
    other: re.Pattern[str],
    edges: tuple[str, ...],
) -> None:
    """Twilio hosts: NAME.sip[.edge].twilio.com (SIP Domain), NAME.pstn[.edge].twilio.com
    (trunk); the commonest mistake is one used for the other, so say which it is."""
    domain = (a.domain or "").lower().rstrip(".")
    if not domain or not _is_host(domain):
        return
    kind, example = ("SIP Domain", "NAME.sip.us1.twilio.com") if own is _TWILIO_SIP_RE else (
        "trunk termination URI", "NAME.pstn.ashburn.twilio.com")  # fmt: skip
    m = own.fullmatch(domain)
    if other.fullmatch(domain):
        fix = "twilio-trunk" if own is _TWILIO_SIP_RE else "twilio-domain"
        add("error", "domain", f"{domain} is not a Twilio {kind}: use --provider {fix}")
    elif m is None:
        add("error", "domain", f"{domain!r}: a Twilio {kind} looks like {example}")
    elif m.group("edge") and m.group("edge") not in edges:
        add("error", "domain", f"unknown Twilio edge {m.group('edge')!r}: use one of "
            + ", ".join(edges))  # fmt: skip


class TwilioDomain(Preset):
    name = "twilio-domain"
    summary = "Twilio SIP Domain (Programmable Voice, registering phones)"
    # 600 s, the bottom of Twilio's 600-3600 s range: a crashed or moved phone's stale binding
    # occupies one of the 10 device slots per user name (seed 000) for 10 minutes, not an hour.
    default_expires = 600
    realm = TWILIO_REALM
    max_devices = 10
    udp_port, tls_port = 5060, 5061
    srtp_needs_tls = True

    def _check(self, a: AccountConfig, add: _Add) -> None:
        _check_twilio_host(a, add, _TWILIO_SIP_RE, _TWILIO_PSTN_RE, TWILIO_EDGES)
        if a.expires is not None and not 600 <= a.expires <= 3600:
            add("error", "expires", f"{a.expires} s: Twilio accepts 600 to 3600 seconds")
        if not a.register:
            add("warning", "register", "a SIP Domain rings only registered phones: without "
                "REGISTER this account can call out but never ring")  # fmt: skip
        if not _E164_RE.fullmatch(a.username):
            add("warning", "username", "Twilio recommends E.164 user names (e.g. +14155550100) "
                "so the phone shows its own number and caller ID just works")  # fmt: skip
        if a.realm and a.realm != TWILIO_REALM:
            add("warning", "realm", f"Twilio challenges with realm {TWILIO_REALM!r}")


class TwilioTrunk(Preset):
    name = "twilio-trunk"
    summary = "Twilio Elastic SIP Trunk (no REGISTER, digest on INVITE)"
    registers = False
    realm = TWILIO_REALM
    udp_port, tls_port = 5060, 5061
    srtp_needs_tls = True

    def _check(self, a: AccountConfig, add: _Add) -> None:
        # Localized edges (ashburn, ...) and the legacy region ids (us1, ...) both exist.
        edges = TRUNK_EDGES + TWILIO_EDGES
        _check_twilio_host(a, add, _TWILIO_PSTN_RE, _TWILIO_SIP_RE, edges)
        if a.register:
            add("error", "register", "Elastic SIP Trunking has no registration: Twilio does "
                "not take REGISTER on a termination URI; set register = false")  # fmt: skip
        if not a.caller_id:
            add("warning", "caller_id", "Twilio rejects outbound calls whose From is not a "
                "Twilio number or verified caller ID: set --caller-id +E164")  # fmt: skip
        if a.transport == "tls":
            add("note", "transport", "Twilio accepts TLS 1.2 or newer only (1.0 and 1.1 are "
                "deprecated); softphone offers 1.2+")  # fmt: skip


class Telnyx(Preset):
    name = "telnyx"
    summary = "Telnyx credential connection"
    default_domain = "sip.telnyx.com"
    default_expires = 180  # Telnyx asks for ~180 s so inbound calls find a moved phone (seed 004)
    udp_port, tls_port = 5060, 5061

    def _check(self, a: AccountConfig, add: _Add) -> None:
        domain = (a.domain or "").lower().rstrip(".")
        hosts = ", ".join(TELNYX_DOMAINS)
        if domain == TELNYX_HV and a.register:
            add("error", "domain", f"{TELNYX_HV} answers REGISTER with 405 Method Not Allowed "
                f"(it is outbound-only): register to {hosts}, or set register = false")  # fmt: skip
        elif domain == TELNYX_HV:
            add("warning", "domain", f"{TELNYX_HV} is outbound-only: no inbound calls")
        elif domain and domain not in TELNYX_DOMAINS:
            add("error", "domain", f"{domain!r}: Telnyx registration hosts are {hosts}")
        if a.register and a.expires is not None and a.expires > 300:
            add("warning", "expires", f"{a.expires} s: Telnyx recommends about 180 s so inbound "
                "calls reach you soon after a network change")  # fmt: skip


class Generic(Preset):
    """Anything that speaks RFC 3261; only the common rules apply."""


class Lab(Preset):
    name = "lab"
    summary = "the local lab registrar (softphone lab)"
    default_domain = "127.0.0.1"
    default_expires = 300  # short, so refreshes show in the lab; its registrar allows 60-3600
    realm = LAB_REALM
    udp_port, tls_port = 5060, 5061  # softphone lab: UDP/TCP on 5060, TLS on port + 1

    def default_proxy(self, account: AccountConfig) -> str | None:
        # The lab registrar is also the forking proxy: route calls through it (RFC 3261 §16.12
        # loose routing) so `sip:bob@127.0.0.1` reaches it whatever port it listens on.
        uri = self.registrar_uri(account)
        return uri if ";lr" in uri else uri + ";lr"

    def default_ca_file(self, account: AccountConfig) -> str | None:
        # `softphone lab` makes a self-signed certificate in the data dir on first TLS start.
        return str(Path(platformdirs.user_data_dir(paths.APP)) / "registrar-cert.pem")

    def _check(self, a: AccountConfig, add: _Add) -> None:
        if a.username not in LAB_USERS:
            users = ", ".join(LAB_USERS)
            add("warning", "username", f"the lab knows {users} unless its registrar was "
                "started with --user NAME:PASSWORD")  # fmt: skip
        if a.expires is not None and not 60 <= a.expires <= 3600:
            add("warning", "expires", f"{a.expires} s: the lab registrar allows 60 to 3600 s")


PRESETS: dict[str, Preset] = {
    p.name: p for p in (TwilioDomain(), TwilioTrunk(), Telnyx(), Generic(), Lab())
}


def get_preset(name: str) -> Preset:
    """The preset called `name`; KeyError names the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; use one of {', '.join(PRESETS)}") from None


def validate(account: AccountConfig) -> list[Problem]:
    """The account's problems under its provider's rules."""
    return get_preset(account.provider).validate(account)


def effective(account: AccountConfig) -> EffectiveAccount:
    """Resolve every default; AccountInvalid if the provider finds an error."""
    preset = get_preset(account.provider)
    errors = [p for p in preset.validate(account) if p.level == "error"]
    if errors:
        raise AccountInvalid(errors)
    a = preset.defaults(account)
    assert a.domain is not None and a.transport is not None and a.srtp is not None
    # On a trunk the From user is the caller ID Twilio checks (seed 001), not the digest user.
    id_user = a.caller_id if not a.register and a.caller_id else a.username
    proxy = a.outbound_proxy or preset.default_proxy(a)
    if proxy and ";lr" not in proxy:
        proxy += ";lr"  # loose routing (RFC 3261 §16.12); pjsip strict-routes without it
    return EffectiveAccount(
        name=a.name,
        provider=a.provider,
        username=a.username,
        domain=a.domain,
        id_uri=f"sip:{id_user}@{a.domain}",
        registrar_uri=preset.registrar_uri(a) if a.register else None,
        realm=a.realm or "*",
        transport=a.transport,
        port=preset.port(a),
        srtp=a.srtp,
        srtp_suites=() if a.srtp == "off" else SRTP_SUITES,
        expires=a.expires if a.register else None,
        outbound_proxy=proxy,
        ca_file=a.ca_file or (preset.default_ca_file(a) if a.transport == "tls" else None),
        caller_id=a.caller_id,
        region=a.region,
        allowed_cidrs=a.allowed_cidrs,
        options_interval=None if a.register else a.options_interval,
        max_devices=preset.max_devices,
    )


def _is_host(text: str) -> bool:
    if _HOST_RE.fullmatch(text) and len(text) <= 253:
        return True
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return not (":" in text and not text.startswith("["))


def _valid_number(e164: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    except phonenumbers.NumberParseException:
        return False
