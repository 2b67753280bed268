"""Provider presets: each rule from the seeds, good and bad, and the engine's effective values."""

from __future__ import annotations

from pathlib import Path

import pytest

from softphone import config, providers
from softphone.config import AccountConfig
from softphone.lab.registrar_cli import DEFAULT_REALM
from softphone.labapp.cli import DEMO_USERS
from softphone.providers import AccountInvalid, Problem, effective, validate


def acct(provider: str, **fields: object) -> AccountConfig:
    fields.setdefault("username", "+14155550100")
    return AccountConfig(name="t", provider=provider, **fields)  # type: ignore[arg-type]


def levels(problems: list[Problem], field: str) -> list[str]:
    return [p.level for p in problems if p.field == field]


def errors(account: AccountConfig) -> list[Problem]:
    return [p for p in validate(account) if p.level == "error"]


def test_every_config_provider_has_a_preset() -> None:
    assert tuple(providers.PRESETS) == config.PROVIDERS


def test_lab_preset_matches_the_lab_itself() -> None:
    assert set(providers.LAB_USERS) == set(DEMO_USERS)
    assert providers.LAB_REALM == DEFAULT_REALM


# --- Twilio SIP Domain (seeds 000, 002) --------------------------------------------------


@pytest.mark.parametrize(
    "domain",
    ["acme.sip.twilio.com", "my-co.sip.twilio.com", "a.b.sip.twilio.com", "ACME.SIP.TWILIO.COM"]
    + [f"acme.sip.{edge}.twilio.com" for edge in providers.TWILIO_EDGES],
)
def test_twilio_domain_accepts_domains_and_every_edge(domain: str) -> None:
    assert errors(acct("twilio-domain", domain=domain)) == []


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ("acme.sip.us3.twilio.com", "unknown Twilio edge 'us3'"),
        ("acme.sip.ashburn.twilio.com", "unknown Twilio edge 'ashburn'"),
        ("acme.pstn.twilio.com", "use --provider twilio-trunk"),
        ("sip.twilio.com", "looks like NAME.sip.us1.twilio.com"),
        ("acme.twilio.com", "looks like"),
        ("acme.sip.twilio.co", "looks like"),
        ("sip:acme.sip.twilio.com", "host only"),
        ("acme.sip.twilio.com:5061", "put a port in --registrar"),
    ],
)
def test_twilio_domain_rejects_wrong_domains(domain: str, words: str) -> None:
    found = errors(acct("twilio-domain", domain=domain))
    assert [p.field for p in found] == ["domain"]
    assert words in found[0].text


def test_twilio_domain_needs_a_domain() -> None:
    assert "missing" in errors(acct("twilio-domain"))[0].text


@pytest.mark.parametrize(
    ("expires", "ok"), [(599, False), (600, True), (3600, True), (3601, False)]
)
def test_twilio_domain_expiry_bounds(expires: int, ok: bool) -> None:
    found = errors(acct("twilio-domain", domain="acme.sip.twilio.com", expires=expires))
    assert (found == []) is ok
    if not ok:
        assert found[0].field == "expires" and "600 to 3600" in found[0].text


def test_twilio_domain_defaults_and_effective_values() -> None:
    e = effective(
        acct("twilio-domain", domain="acme.sip.ie1.twilio.com", transport="tls", srtp="mandatory")
    )
    assert e.expires == 600
    assert e.realm == "sip.twilio.com"
    assert e.registrar_uri == "sip:acme.sip.ie1.twilio.com:5061;transport=tls"
    assert e.id_uri == "sip:+14155550100@acme.sip.ie1.twilio.com"
    assert (e.transport, e.port) == ("tls", 5061)
    assert e.srtp_suites == ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
    assert e.max_devices == 10
    assert e.outbound_proxy is None
    udp = effective(acct("twilio-domain", domain="acme.sip.twilio.com"))
    assert (udp.registrar_uri, udp.port, udp.srtp_suites) == (
        "sip:acme.sip.twilio.com:5060",
        5060,
        (),
    )


def test_twilio_domain_srtp_needs_tls() -> None:
    found = errors(acct("twilio-domain", domain="acme.sip.twilio.com", srtp="optional"))
    assert [p.field for p in found] == ["srtp"] and "TLS" in found[0].text


def test_twilio_domain_recommends_e164_usernames() -> None:
    alice = validate(acct("twilio-domain", domain="acme.sip.twilio.com", username="alice"))
    assert levels(alice, "username") == ["warning"]
    assert levels(validate(acct("twilio-domain", domain="acme.sip.twilio.com")), "username") == []


def test_twilio_domain_warns_without_register_and_on_a_foreign_realm() -> None:
    found = validate(
        acct("twilio-domain", domain="acme.sip.twilio.com", register=False, realm="example.com")
    )
    assert levels(found, "register") == ["warning"] and levels(found, "realm") == ["warning"]


# --- Twilio Elastic SIP Trunk (seeds 001, 003) -------------------------------------------

TRUNK_OK = {"caller_id": "+14155550100", "allowed_cidrs": ("54.172.60.0/30",)}


@pytest.mark.parametrize(
    "domain",
    ["acme.pstn.twilio.com", "a.b.pstn.twilio.com"]
    + [f"acme.pstn.{edge}.twilio.com" for edge in providers.TRUNK_EDGES]
    + ["acme.pstn.us1.twilio.com", "acme.pstn.ie1.twilio.com"],
)
def test_twilio_trunk_accepts_termination_uris(domain: str) -> None:
    assert validate(acct("twilio-trunk", domain=domain, **TRUNK_OK)) == []


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ("acme.sip.twilio.com", "use --provider twilio-domain"),
        ("acme.pstn.paris.twilio.com", "unknown Twilio edge 'paris'"),
        ("pstn.twilio.com", "looks like NAME.pstn.ashburn.twilio.com"),
        ("acme.pstn.example.com", "looks like"),
    ],
)
def test_twilio_trunk_rejects_wrong_hosts(domain: str, words: str) -> None:
    found = errors(acct("twilio-trunk", domain=domain, **TRUNK_OK))
    assert [p.field for p in found] == ["domain"] and words in found[0].text


def test_twilio_trunk_never_registers() -> None:
    found = errors(acct("twilio-trunk", domain="acme.pstn.twilio.com", register=True, **TRUNK_OK))
    assert [p.field for p in found] == ["register"] and "no registration" in found[0].text
    e = effective(acct("twilio-trunk", domain="acme.pstn.twilio.com", **TRUNK_OK))
    assert e.registrar_uri is None and e.expires is None
    assert e.realm == "sip.twilio.com"  # Twilio's 407 on INVITE names this realm (seed 003)
    assert e.id_uri == "sip:+14155550100@acme.pstn.twilio.com"  # From = caller ID
    assert e.options_interval == 60 and e.allowed_cidrs == ("54.172.60.0/30",)


def test_twilio_trunk_warns_about_caller_id_and_open_inbound() -> None:
    found = validate(acct("twilio-trunk", domain="acme.pstn.twilio.com", username="u"))
    assert levels(found, "caller_id") == ["warning"]
    assert levels(found, "allowed_cidrs") == ["warning"]
    assert "refused from everyone" in next(p.text for p in found if p.field == "allowed_cidrs")


def test_twilio_trunk_options_interval_floor_and_tls_note() -> None:
    with pytest.raises(config.ConfigError, match="at least 15"):
        acct("twilio-trunk", domain="acme.pstn.twilio.com", options_interval=10)
    found = validate(
        acct(
            "twilio-trunk",
            domain="acme.pstn.twilio.com",
            transport="tls",
            options_interval=15,
            **TRUNK_OK,
        )
    )
    assert [(p.level, p.field) for p in found] == [("note", "transport")]
    assert "TLS 1.2" in found[0].text
    assert (
        effective(
            acct("twilio-trunk", domain="acme.pstn.twilio.com", transport="tls", **TRUNK_OK)
        ).tls_min_version
        == "1.2"
    )


def test_twilio_trunk_srtp_without_tls_is_an_error() -> None:
    found = errors(
        acct("twilio-trunk", domain="acme.pstn.twilio.com", srtp="mandatory", **TRUNK_OK)
    )
    assert [p.field for p in found] == ["srtp"]


# --- Telnyx (seed 004) ----------------------------------------------------------------------


@pytest.mark.parametrize("domain", providers.TELNYX_DOMAINS)
def test_telnyx_accepts_its_registration_hosts(domain: str) -> None:
    assert errors(acct("telnyx", domain=domain, username="bob")) == []


def test_telnyx_defaults() -> None:
    e = effective(acct("telnyx", username="bob"))
    assert (e.domain, e.expires, e.registrar_uri) == (
        "sip.telnyx.com",
        180,
        "sip:sip.telnyx.com:5060",
    )


def test_telnyx_siphv_refuses_register_with_405() -> None:
    found = errors(acct("telnyx", domain="siphv.telnyx.com", username="bob"))
    assert [p.field for p in found] == ["domain"]
    assert "405 Method Not Allowed" in found[0].text and "sip.telnyx.com" in found[0].text
    with pytest.raises(AccountInvalid):
        effective(acct("telnyx", domain="siphv.telnyx.com", username="bob"))
    outbound = validate(
        acct(
            "telnyx",
            domain="siphv.telnyx.com",
            username="bob",
            register=False,
            allowed_cidrs=("192.76.120.0/24",),
        )
    )
    assert [(p.level, p.field) for p in outbound] == [("warning", "domain")]


def test_telnyx_rejects_other_hosts_and_warns_on_long_expiry() -> None:
    assert "registration hosts are" in errors(acct("telnyx", domain="sip.telnyx.de"))[0].text
    found = validate(acct("telnyx", username="bob", expires=3600))
    assert levels(found, "expires") == ["warning"] and "180" in found[0].text


# --- generic and lab ------------------------------------------------------------------------


def test_generic_takes_any_host_and_leaves_the_port_to_dns() -> None:
    e = effective(acct("generic", domain="pbx.example.com", username="201", transport="tcp"))
    assert e.registrar_uri == "sip:pbx.example.com;transport=tcp" and e.port is None
    assert e.expires == 3600 and e.realm == "*"
    assert effective(acct("generic", domain="10.0.0.5", username="201")).domain == "10.0.0.5"
    assert effective(acct("generic", domain="[2001:db8::1]", username="u")).id_uri == (
        "sip:u@[2001:db8::1]"
    )


def test_generic_registrar_override_and_proxy_get_loose_routing() -> None:
    e = effective(
        acct(
            "generic",
            domain="example.com",
            username="u",
            registrar="sip:reg.example.com:5070",
            outbound_proxy="sip:edge.example.com",
        )
    )
    assert e.registrar_uri == "sip:reg.example.com:5070"
    assert e.outbound_proxy == "sip:edge.example.com;lr"


def test_generic_checks_uris_ca_file_and_srtp(tmp_path: Path) -> None:
    bad = errors(acct("generic", domain="example.com", username="u", registrar="sip:bad host"))
    assert [p.field for p in bad] == ["registrar"]
    missing = errors(
        acct(
            "generic",
            domain="example.com",
            username="u",
            transport="tls",
            ca_file=str(tmp_path / "nope.pem"),
        )
    )
    assert [p.field for p in missing] == ["ca_file"]
    srtp = validate(acct("generic", domain="example.com", username="u", srtp="optional"))
    assert levels(srtp, "srtp") == ["warning"] and "RFC 4568" in srtp[0].text
    assert "missing" in errors(acct("generic", username="u"))[0].text


def test_lab_defaults_match_softphone_lab() -> None:
    e = effective(acct("lab", username="alice"))
    assert e.domain == "127.0.0.1" and e.realm == "softphone.lab"
    assert e.registrar_uri == "sip:127.0.0.1:5060" and e.transport == "udp"
    assert e.outbound_proxy == "sip:127.0.0.1:5060;lr"  # calls go through the lab proxy
    assert e.id_uri == "sip:alice@127.0.0.1"
    tls = effective(acct("lab", username="bob", transport="tls"))
    assert tls.registrar_uri == "sip:127.0.0.1:5061;transport=tls"
    assert tls.ca_file is not None and tls.ca_file.endswith("softphone/registrar-cert.pem")
    moved = effective(acct("lab", username="bob", registrar="sip:127.0.0.1:5070"))
    assert moved.outbound_proxy == "sip:127.0.0.1:5070;lr"


def test_lab_warns_for_unknown_users() -> None:
    assert levels(validate(acct("lab", username="dave")), "username") == ["warning"]
    assert validate(acct("lab", username="carol")) == []


def test_problems_are_sorted_and_printable() -> None:
    found = validate(acct("twilio-domain", domain="acme.pstn.twilio.com", username="x", expires=60))
    assert [p.level for p in found] == ["error", "error", "warning"]
    assert str(found[0]).startswith("error: account 't', domain: ")


def test_effective_raises_with_all_errors() -> None:
    with pytest.raises(AccountInvalid) as info:
        effective(acct("twilio-domain", domain="x.pstn.twilio.com", expires=5))
    assert {p.field for p in info.value.problems} == {"domain", "expires"}
