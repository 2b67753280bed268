"""Build pjsua2 configuration objects from EngineOptions / EngineAccount.

Every setting here answers a fact observed in engine-notes.md; the section is cited at each.
Only called on the engine thread (pjsua2 objects are created and dropped there).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import pjsua2 as pj

from softphone.engine.errors import EngineCommandError
from softphone.engine.types import EngineAccount, EngineOptions, Transport
from softphone.sip.uri import SipUri, parse_uri

_SRTP_USE = {"off": 0, "optional": 1, "mandatory": 2}  # PJMEDIA_SRTP_DISABLED/OPTIONAL/MANDATORY
TRANSPORT_TYPES = {
    "udp": pj.PJSIP_TRANSPORT_UDP,
    "tcp": pj.PJSIP_TRANSPORT_TCP,
    "tls": pj.PJSIP_TRANSPORT_TLS,
}


def endpoint_config(options: EngineOptions, writer: Any, log_path: str) -> Any:
    """EpConfig: one engine thread (§1, §9); SIP messages logged to the file `log_path` (the
    engine's LogTap reads it), only warnings and errors through `writer` (§6)."""
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0  # no pjsip worker thread: we poll libHandleEvents ourselves
    cfg.uaConfig.mainThreadOnly = True  # callbacks on the libCreate thread = the engine thread
    cfg.uaConfig.maxCalls = options.max_calls
    cfg.uaConfig.userAgent = options.user_agent
    cfg.uaConfig.stunServer.clear()
    # SIP messages are logged at level 4. The file gets every entry up to `level`; the writer
    # only those up to consoleLevel, and each call into it is a crossing into Python in the
    # middle of pjsip's work (logtap.py), so it gets warnings and errors only.
    cfg.logConfig.msgLogging = 1
    cfg.logConfig.level = max(4, options.log_level)
    cfg.logConfig.consoleLevel = 2
    cfg.logConfig.filename = log_path
    cfg.logConfig.fileFlags = pj.PJ_O_APPEND  # the tap cuts the file back; writes follow
    cfg.logConfig.writer = writer  # the caller keeps `writer` referenced (segfault otherwise)
    cfg.medConfig.noVad = True  # continuous RTP: no silence suppression gaps in recordings
    cfg.medConfig.ecTailLen = 0  # no echo canceller on the null device
    return cfg


def pin_codecs(endpoint: Any, codecs: tuple[str, ...]) -> None:
    """Enable exactly `codecs`, in that order. A name stands for every rate of the codec in
    pjsua's list (speex has 8, 16 and 32 kHz) and picks the first; all other ids are disabled
    one by one, so no second rate of a codec stays in the offer."""
    ids = [str(c.codecId) for c in endpoint.codecEnum2()]
    first: dict[str, str] = {}
    for codec_id in ids:
        first.setdefault(codec_id.split("/")[0].upper(), codec_id)
    missing = [c for c in codecs if c.upper() not in first]
    if missing:
        raise EngineCommandError(
            "codecs", f"{', '.join(missing)} not available; this build has {sorted(first)}"
        )
    wanted = [first[c.upper()] for c in codecs]
    for codec_id in ids:
        if codec_id not in wanted:
            endpoint.codecSetPriority(codec_id, 0)  # 0 disables the codec
    for rank, codec_id in enumerate(wanted):
        endpoint.codecSetPriority(codec_id, 255 - rank)


def _tcp_nodelay() -> Any:
    """TCP_NODELAY: SIP over TCP/TLS must not wait on Nagle (peers.md measured +40 ms)."""
    return pj.SockOpt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def transport_config(
    options: EngineOptions,
    kind: Transport,
    keep: list[Any],
    *,
    ca_file: str | None = None,
    verify_server: bool = True,
    identity: bool = False,
) -> Any:
    """TransportConfig for one listener; `keep` holds objects pjsip points into (SockOpt).

    For TLS, `ca_file` is the trust list for servers we connect to and `identity` gives the
    listener our certificate (options.tls_cert_file) for inbound connections.
    """
    tc = pj.TransportConfig()
    tc.boundAddress = options.bind_host
    if options.public_host:
        tc.publicAddress = options.public_host
    tc.port = options.tls_port if kind == "tls" else options.sip_port
    if kind == "tcp":
        opt = _tcp_nodelay()
        keep.append(opt)  # SockOpt copies point at the original's value (siptypes.cpp)
        tc.sockOptParams.sockOpts.append(opt)
    if kind == "tls":
        tls = tc.tlsConfig
        # TLS 1.2 only: this build cannot do 1.3, and 1.0/1.1 are accepted by default (§3).
        tls.proto = pj.PJ_SSL_SOCK_PROTO_TLS1_2
        if ca_file is not None:
            if not os.path.exists(ca_file):
                raise FileNotFoundError(f"CA file {ca_file} does not exist")
            tls.CaListFile = ca_file
        tls.verifyServer = verify_server
        if identity and options.tls_cert_file and options.tls_key_file:
            tls.certFile = options.tls_cert_file
            tls.privKeyFile = options.tls_key_file
        opt = _tcp_nodelay()
        keep.append(opt)
        tls.sockOptParams.sockOpts.append(opt)
    return tc


def with_transport(uri: str, transport: Transport) -> str:
    """`uri` with `;transport=` set to the account's transport unless it names one already.

    An account bound to a TCP or TLS listener cannot send to a URI that implies UDP (pjsip
    refuses with PJSIP_ETPNOTSUITABLE), and RFC 3263 §4.1 would pick UDP for a bare sip: URI
    with a port. sips: URIs already mean TLS (RFC 3261 §26.2.2).
    """
    parsed = parse_uri(uri)
    if not isinstance(parsed, SipUri) or parsed.transport or parsed.scheme.lower() == "sips":
        return uri
    if transport == "udp":
        return uri
    params = dict(parsed.params)
    params["transport"] = transport
    return str(parsed.copy(params=params))


def account_config(
    acc: EngineAccount, options: EngineOptions, transport_id: int, rtp_keep: list[Any]
) -> Any:
    """AccountConfig for `acc` bound to the listener `transport_id`."""
    cfg = pj.AccountConfig()
    cfg.idUri = acc.id_uri
    if acc.display_name:
        # quoted-string (RFC 3261 §25.1): escape backslash and double quote.
        name = acc.display_name.replace("\\", "\\\\").replace('"', '\\"')
        cfg.idUri = f'"{name}" <{acc.id_uri}>'
    cfg.sipConfig.transportId = transport_id
    cfg.sipConfig.authCreds.append(
        pj.AuthCredInfo("digest", acc.realm, acc.username, 0, acc.password)
    )
    if acc.proxy:
        cfg.sipConfig.proxies.append(with_transport(acc.proxy, acc.transport))
    reg = cfg.regConfig
    if acc.registrar_uri is not None:
        reg.registrarUri = with_transport(acc.registrar_uri, acc.transport)
        reg.registerOnAdd = True
    else:
        reg.registrarUri = ""
        reg.registerOnAdd = False
    reg.timeoutSec = acc.expires
    # Predictable retries (§7): no random spread, first retry and interval as configured.
    reg.randomRetryIntervalSec = 0
    reg.firstRetryIntervalSec = acc.retry_first_sec
    reg.retryIntervalSec = acc.retry_interval_sec
    reg.dropCallsOnFail = False
    # NAT helpers off: they rewrite Contact/Via from what the registrar saw, which on loopback
    # and behind a provider SBC only causes a second REGISTER (§2: set everything explicitly).
    nat = cfg.natConfig
    nat.iceEnabled = False
    nat.sipStunUse = pj.PJSUA_STUN_USE_DISABLED
    nat.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
    nat.contactRewriteUse = 0
    nat.viaRewriteUse = 0
    nat.sdpNatRewriteUse = 0
    media = cfg.mediaConfig
    mtc = media.transportConfig
    mtc.boundAddress = options.bind_host
    if options.public_host:
        mtc.publicAddress = options.public_host
    mtc.port = options.rtp_port_start  # never pjsua's default 4000 (§10.9)
    mtc.portRange = options.rtp_port_range
    media.srtpUse = _SRTP_USE[acc.srtp]
    # Secure signalling 1 (default) demands TLS for SRTP; over UDP/TCP that makes mandatory
    # SRTP fail with PJSIP_ESESSIONINSECURE (§3), so it is required only on TLS accounts.
    media.srtpSecureSignaling = 1 if acc.transport == "tls" else 0
    if acc.srtp != "off":
        for suite in acc.srtp_suites:
            crypto = pj.SrtpCrypto()
            crypto.name = suite
            media.srtpOpt.cryptos.append(crypto)
            rtp_keep.append(crypto)
        media.srtpOpt.keyings.clear()
        media.srtpOpt.keyings.append(pj.PJMEDIA_SRTP_KEYING_SDES)
    return cfg
