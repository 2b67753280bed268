"""Plain-words explanations of registration outcomes and TLS certificate checks.

A VoIP engineer reading "401 Unauthorized" still has to know whether the phone answered the
challenge; a user reading "verify status 0x40000000" learns nothing. These functions turn the
codes pjsua reports into one sentence that says what happened and what to do. Pure functions
(no pjsua2), so every sentence is unit-tested.
"""

from __future__ import annotations

# pjsua_acc.c regc_cb: the codes after which pjsua schedules a registration retry by itself
# (temporary failures), plus transport failures (reported as 408/503 with a pj status).
RETRY_CODES = frozenset({408, 480, 500, 502, 503, 504})

# pj_ssl_cert_verify_flag_t bits (pj/ssl_sock.h).
CERT_ISSUER_NOT_FOUND = 1 << 0
CERT_UNTRUSTED = 1 << 1
CERT_VALIDITY = 1 << 2
CERT_INVALID_FORMAT = 1 << 3
CERT_INVALID_PURPOSE = 1 << 4
CERT_ISSUER_MISMATCH = 1 << 5
CERT_REVOKED = 1 << 7
CERT_CHAIN_TOO_LONG = 1 << 8
CERT_WEAK_SIGNATURE = 1 << 9
CERT_IDENTITY_NOT_MATCH = 1 << 30


def will_retry(code: int) -> bool:
    """Whether pjsua retries a registration that ended with `code` (6xx included)."""
    return code in RETRY_CODES or 600 <= code <= 699


def explain_registration(
    *,
    user: str,
    aor: str,
    code: int,
    reason: str,
    expires: int | None,
    devices: int = 0,
    auth_attempts: int = 0,
    retry_in: int | None = None,
    registrar_error: str | None = None,
    transport_note: str | None = None,
) -> str:
    """One sentence for the outcome of a REGISTER transaction (RFC 3261 §10.2)."""
    if 200 <= code <= 299:
        if not expires:
            return f"unregistered {aor}"
        text = f"registered as {aor} for {expires} s"
        if devices > 1:
            text += f"; {devices} devices are registered on this address"
        return text
    if code in (401, 407):
        if auth_attempts > 0:
            times = "" if auth_attempts == 1 else f" {auth_attempts} times"
            text = (
                f"the registrar rejected the credentials for user {user} "
                f"({code} after answering the challenge{times}); check the user name and "
                "password"
            )
        else:
            text = (
                f"the registrar asked for credentials ({code}) but none of this account's "
                "credentials matched its realm"
            )
        return text + "; no more attempts until the account is changed"
    if code == 403:
        return (
            f"the registrar refused user {user} (403 {reason}); the account may be disabled or "
            "this domain is not served there; no more attempts until the account is changed"
        )
    if code == 404:
        return f"the registrar does not know {aor} (404 {reason})"
    if code == 423:
        return f"the registrar wants a longer registration interval (423 {reason})"
    if registrar_error and "contact" in registrar_error.lower():
        text = (
            f"the registrar refused one more device for {aor}: {registrar_error} "
            f"({code}); remove a device or wait for a binding to expire"
        )
    elif transport_note:
        text = f"could not reach the registrar: {transport_note}"
    elif code == 408:
        text = "no answer from the registrar (408 timeout); check its address, port and transport"
    elif code == 0:
        text = f"could not send REGISTER: {reason}"
    elif 500 <= code <= 599:
        text = f"the registrar failed ({code} {reason})"
    elif 600 <= code <= 699:
        text = f"the registrar declined globally ({code} {reason})"
    else:
        text = f"registration failed ({code} {reason})"
    if retry_in is not None:
        text += f"; retrying in {retry_in} s"
    return text


def explain_certificate(
    verify_status: int,
    *,
    host: str,
    subject: str | None,
    names: tuple[str, ...] = (),
    verify_enabled: bool = True,
) -> str:
    """One sentence for a TLS server certificate check (RFC 5922 §7 for SIP)."""
    who = f"the certificate of {host}" + (f" ({subject})" if subject else "")
    if verify_status == 0:
        return f"{who} is trusted and names this server"
    problems: list[str] = []
    if verify_status & (CERT_ISSUER_NOT_FOUND | CERT_UNTRUSTED | CERT_ISSUER_MISMATCH):
        problems.append(
            "is not signed by a certificate authority this phone trusts (self-signed or an "
            "unknown CA: add the CA to the account's CA file)"
        )
    if verify_status & CERT_VALIDITY:
        problems.append("has expired or is not valid yet (check the clock too)")
    if verify_status & CERT_REVOKED:
        problems.append("has been revoked")
    if verify_status & (CERT_INVALID_FORMAT | CERT_INVALID_PURPOSE | CERT_CHAIN_TOO_LONG):
        problems.append("is malformed or not meant for a TLS server")
    if verify_status & CERT_WEAK_SIGNATURE:
        problems.append("is signed with a weak algorithm")
    if verify_status & CERT_IDENTITY_NOT_MATCH:
        wildcards = [n for n in (*names, subject or "") if n.startswith("*.")]
        if wildcards:
            problems.append(
                f"is a wildcard certificate ({wildcards[0]}), which SIP does not accept "
                f"(RFC 5922 §7.2), so it does not vouch for {host}"
            )
        else:
            listed = ", ".join(names) if names else (subject or "no name")
            problems.append(f"is for {listed}, not for {host} (name mismatch)")
    if not problems:
        problems.append(f"failed verification (status 0x{verify_status:x})")
    text = f"{who} " + "; it ".join(problems)
    if verify_enabled:
        return text + "; the connection was refused"
    return text + "; verification is off for this account, so the connection was kept"
