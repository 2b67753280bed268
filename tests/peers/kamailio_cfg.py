"""The Kamailio 5.6 configuration the reference registrar/proxy runs with.

Kept apart from the process wrapper (kamailio.py) so the routing logic can be read
on its own: this is the behaviour our own registrar is compared against.

What it does (peers.md has the facts behind each choice):
- REGISTER: domain check first (403 for a foreign domain, so the answer never depends
  on the password), then digest (401, RFC 3261 §22.4), then save() in usrloc (memory
  only, db_mode 0) with max_contacts; over TCP/TLS fix_nated_register() keeps the
  binding on the client's own connection.
- Initial requests from local users: proxy digest (407, RFC 3261 §22.3).
- lookup("location") + t_relay(): parallel forking to every binding (RFC 3261 §16.6);
  tm CANCELs the losing branches with `Reason: SIP;cause=200;text="Call completed
  elsewhere"` (RFC 3326).  404 for a user that does not exist, 480 for a user with no
  binding (RFC 3261 §21.4.18).
- Record-Route on INVITE, loose routing of in-dialog requests (RFC 3261 §16.12).
- OPTIONS to the server itself (no user part) → 200: the readiness probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODULE_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

_MODULES = (
    "kex",
    "corex",
    "tm",
    "tmx",
    "sl",
    "rr",
    "pv",
    "maxfwd",
    "usrloc",
    "registrar",
    "textops",
    "siputils",
    "xlog",
    "sanity",
    "nathelper",
    "db_text",
    "auth",
    "auth_db",
)

# The routing logic.  No Python formatting happens in here: `$` and braces are Kamailio's.
_ROUTES = r"""
request_route {
    route(REQINIT);

    # Readiness probe: OPTIONS addressed to the server itself, answered before auth.
    if (is_method("OPTIONS") && uri==myself && $rU==$null) {
        sl_send_reply("200", "OK");
        exit;
    }

    # CANCEL is hop-by-hop: relay it only if it matches a transaction (RFC 3261 §16.10).
    if (is_method("CANCEL")) {
        if (t_check_trans()) {
            route(RELAY);
        }
        exit;
    }

    # Absorb retransmissions of requests whose transaction is being set up.
    if (!is_method("ACK")) {
        if (t_precheck_trans()) {
            t_check_trans();
            exit;
        }
        t_check_trans();
    }

    route(WITHINDLG);

    remove_hf("Route");
    if (is_method("INVITE|SUBSCRIBE")) {
        record_route();
    }

    if (is_method("REGISTER")) {
        route(REGISTRAR);
    }

    route(AUTH);

    if ($rU == $null) {
        sl_send_reply("484", "Address Incomplete");
        exit;
    }
    route(LOCATION);
}

route[REQINIT] {
    if (!mf_process_maxfwd_header("10")) {
        sl_send_reply("483", "Too Many Hops");
        exit;
    }
    if (!sanity_check()) {
        exit;
    }
}

route[WITHINDLG] {
    if (!has_totag()) {
        return;
    }
    if (loose_route()) {
        route(RELAY);
        exit;
    }
    if (is_method("ACK")) {
        # ACK for a non-2xx final answer of a relayed INVITE: hop-by-hop, tm absorbs it.
        if (t_check_trans()) {
            route(RELAY);
        }
        exit;
    }
    sl_send_reply("404", "Not here");
    exit;
}

route[REGISTRAR] {
    # The domain is checked before the credentials, so the answer (403 vs 401) never
    # depends on whether the password was right (peers.md: no password oracle).
    if (!(uri==myself) || $td != SIP_DOMAIN) {
        sl_send_reply("403", "Forbidden domain");
        exit;
    }
    # RFC 3261 §22.4: 401 with WWW-Authenticate; flag 1: To user must be the auth user.
    if (!auth_check("$td", "subscriber", "1")) {
        auth_challenge("$td", "1");
        exit;
    }
    if (proto != UDP) {
        fix_nated_register();
    }
    # save() answers by itself: 200 with the bindings, or 503 + P-Registrar-Error when
    # max_contacts is exceeded.
    save("location");
    exit;
}

route[AUTH] {
    if ($fd == SIP_DOMAIN) {
        # RFC 3261 §22.3: a proxy challenges with 407 / Proxy-Authenticate.
        if (!auth_check("$fd", "subscriber", "1")) {
            auth_challenge("$fd", "1");
            exit;
        }
        consume_credentials();
    }
    if (!(uri==myself)) {
        sl_send_reply("403", "Not relaying");
        exit;
    }
}

route[LOCATION] {
    if (!lookup("location")) {
        if (!is_subscriber("$ru", "subscriber", "3")) {
            sl_send_reply("404", "Not Found");
            exit;
        }
        sl_send_reply("480", "Temporarily Unavailable");
        exit;
    }
    route(RELAY);
}

route[RELAY] {
    if (!t_relay()) {
        sl_reply_error();
    }
    exit;
}
"""


@dataclass(frozen=True)
class Listeners:
    """Where Kamailio listens.  UDP and TCP share one port number, like 5060 does."""

    host: str
    port: int
    tls_port: int | None = None


def render_config(
    listeners: Listeners,
    db_dir: Path,
    *,
    max_contacts: int,
    children: int,
    tls_cfg: Path | None,
) -> str:
    """Return the whole kamailio.cfg text."""
    host, port = listeners.host, listeners.port
    lines = [
        "#!KAMAILIO",
        # The users' domain, compared as a string: `to_uri==myself` is false for a
        # port-less AOR (sip:alice@127.0.0.1) because Kamailio reads it as port 5060.
        f'#!define SIP_DOMAIN "{host}"',
        "debug=2",
        "log_stderror=yes",
        f"children={children}",
        f"tcp_children={max(1, children // 2)}",
        # Only the listeners below count as "myself" — no DNS/interface aliases.
        "auto_aliases=no",
        f"listen=udp:{host}:{port}",
        f"listen=tcp:{host}:{port}",
        # Unquoted on purpose: a quoted alias made the local domain look foreign (peers.md).
        f"alias={host}:{port}",
    ]
    if listeners.tls_port is not None:
        lines += [
            "enable_tls=yes",
            f"listen=tls:{host}:{listeners.tls_port}",
            f"alias={host}:{listeners.tls_port}",
        ]
    lines.append(f'mpath="{MODULE_DIR}"')
    modules = list(_MODULES)
    if tls_cfg is not None:
        modules.insert(0, "tls")
    lines += [f'loadmodule "{m}.so"' for m in modules]
    if tls_cfg is not None:
        lines.append(f'modparam("tls", "config", "{tls_cfg}")')
    lines += [
        'modparam("usrloc", "db_mode", 0)',
        f'modparam("registrar", "max_contacts", {max_contacts})',
        'modparam("registrar", "received_avp", "$avp(RECEIVED)")',
        'modparam("nathelper", "received_avp", "$avp(RECEIVED)")',
        f'modparam("auth_db", "db_url", "text://{db_dir}")',
        'modparam("auth_db", "calculate_ha1", yes)',
        'modparam("auth_db", "password_column", "password")',
        'modparam("auth_db", "load_credentials", "")',
        'modparam("rr", "enable_full_lr", 0)',
    ]
    return "\n".join(lines) + "\n" + _ROUTES


def render_tls_cfg(certificate: Path, private_key: Path) -> str:
    """tls.cfg for the tls module: our cert on the server side, no client verification."""
    return (
        "[server:default]\n"
        "method = TLSv1.2+\n"
        "verify_certificate = no\n"
        "require_certificate = no\n"
        f"private_key = {private_key}\n"
        f"certificate = {certificate}\n"
        "\n"
        "[client:default]\n"
        "method = TLSv1.2+\n"
        "verify_certificate = no\n"
        "require_certificate = no\n"
    )


def render_subscribers(users: dict[str, str], domain: str) -> tuple[str, str]:
    """db_text `version` and `subscriber` files (schema line first, peers.md)."""
    version = "subscriber:7\n"
    rows = [
        "id(int,auto) username(string) domain(string) password(string) "
        "ha1(string,null) ha1b(string,null)"
    ]
    for i, (name, password) in enumerate(sorted(users.items()), start=1):
        if any(c in name + password for c in ":\n\\"):
            raise ValueError("db_text fields may not contain ':', '\\' or newlines")
        rows.append(f"{i}:{name}:{domain}:{password}::")
    return version, "\n".join(rows) + "\n"
