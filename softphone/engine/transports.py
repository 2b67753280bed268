"""Transport state reports → TransportEvent, with the TLS certificate check in plain words.

pjsua2 reports TCP/TLS connection changes in Endpoint.onTransportState; for TLS the parameter
carries the negotiated cipher, the verification status bits and the peer certificate's names
(engine-notes §3). `TlsInfo.protocol` is the configured mask, not the negotiated version, so it
is not reported. The TCP report carries no peer address, hence an empty `remote` for TCP.
"""

from __future__ import annotations

from typing import Any, Literal

import pjsua2 as pj

from softphone.engine.events import TransportEvent
from softphone.engine.explain import explain_certificate


def error_text_status(endpoint: Any, status: int) -> str:
    """pjlib's text for a pj_status_t, with the number."""
    try:
        return f"{endpoint.utilStrError(status)} (status {status})"
    except pj.Error:
        return f"status {status}"


def transport_event(prm: Any, endpoint: Any, tls_names: dict[str, str]) -> TransportEvent | None:
    """The event for one OnTransportStateParam (None for states nobody needs to see).

    `tls_names` maps "ip:port" to the host name we addressed there (from the trace), because
    pjsip checks the certificate against that name (RFC 5922 §7.2), not against the IP.
    """
    state = prm.state
    if state not in (pj.PJSIP_TP_STATE_CONNECTED, pj.PJSIP_TP_STATE_DISCONNECTED):
        return None
    kind = str(prm.type).upper()
    connected = state == pj.PJSIP_TP_STATE_CONNECTED
    up_or_down: Literal["connected", "disconnected"] = "connected" if connected else "disconnected"
    error = error_text_status(endpoint, int(prm.lastError)) if prm.lastError else None
    tls = prm.tlsInfo
    if not kind.startswith("TLS") or tls.isEmpty():
        return TransportEvent(kind, "", up_or_down, error=error)
    remote = str(tls.remoteAddr)
    cert = tls.remoteCertInfo
    subject = None if cert.isEmpty() else str(cert.subjectCn)
    names = () if cert.isEmpty() else tuple(str(n.name) for n in cert.subjectAltName)
    status = int(tls.verifyStatus) & 0xFFFFFFFF
    # A connection that stays up despite a failed check means verification is off.
    verify_enabled = not connected or status == 0
    host = tls_names.get(remote, remote.rsplit(":", 1)[0])
    explanation = explain_certificate(
        status, host=host, subject=subject, names=names, verify_enabled=verify_enabled
    )
    return TransportEvent(
        "TLS",
        remote,
        up_or_down,
        cipher=str(tls.cipherName) or None,
        verify_ok=status == 0,
        verify_status=status,
        verify_messages=tuple(str(m) for m in tls.verifyMsgs),
        peer_subject=subject,
        peer_names=names,
        explanation=explanation,
        error=error,
    )
