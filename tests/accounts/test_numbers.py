"""E.164 normalising, as-you-type formatting and dial URIs for every provider."""

from __future__ import annotations

import pytest

from softphone.config import AccountConfig
from softphone.numbers import NumberError, as_you_type, dial_uri, is_e164, normalise


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("4155550100", "US", "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("1 415 555 0100", "US", "+14155550100"),
        ("+1 415.555.0100", "GB", "+14155550100"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("030 901820", "DE", "+4930901820"),
        ("  tel:+14155550100 ", "US", "+14155550100"),
        ("4155550100", "us", "+14155550100"),
    ],
)
def test_normalise_valid(text: str, region: str, e164: str) -> None:
    assert normalise(text, region) == e164
    assert is_e164(e164)


@pytest.mark.parametrize(
    ("text", "region", "words"),
    [
        ("", "US", "empty"),
        ("   ", "US", "empty"),
        ("1-800-FLOWERS", "US", "has letters (FLOWERS)"),
        ("call bob", "US", "has letters"),
        ("415555", "US", "too short for US (6 digits)"),
        ("12", "US", "too short"),
        ("+1415555010", "US", "too short"),
        ("+1 415 555 01000000", "US", "too long"),
        ("+1 200 555 0100", "US", "not a valid number in US"),
        ("020 7946 095", "GB", "not a valid number in GB"),
        ("555-0100", "US", "local number: add the area code"),
        ("+999 1234", "US", "not a country code"),
        ("41+5", "US", "'+' may only come first"),
        ("415#5550100", "US", "unexpected '#'"),
        ("4155550100", "XX", "unknown region 'XX'"),
    ],
)
def test_normalise_errors_say_why(text: str, region: str, words: str) -> None:
    with pytest.raises(NumberError) as info:
        normalise(text, region)
    assert words in str(info.value)


def test_is_e164_is_strict() -> None:
    assert is_e164("+14155550100")
    for text in ("14155550100", "+1 415 555 0100", "+04155550100", "+1234567890123456"):
        assert not is_e164(text)


def test_as_you_type_formats_progressively() -> None:
    typed = "4155550100"
    shown = [as_you_type(typed[: i + 1], "US") for i in range(len(typed))]
    assert shown[2] == "415" and shown[-1] == "(415) 555-0100"
    assert as_you_type("+442079460958", "US") == "+44 20 7946 0958"
    assert as_you_type("02079460958", "GB") == "020 7946 0958"


def test_as_you_type_leaves_non_numbers_alone() -> None:
    for text in ("sip:bob@example.com", "bob", "*97", ""):
        assert as_you_type(text, "US") == text
    assert as_you_type("4155550100", "XX") == "4155550100"


def _account(provider: str, **fields: object) -> AccountConfig:
    fields.setdefault("username", "+14155550100")
    return AccountConfig(name="a", provider=provider, **fields)  # type: ignore[arg-type]


TWILIO = _account("twilio-domain", domain="acme.sip.twilio.com")
TRUNK = _account("twilio-trunk", domain="acme.pstn.ashburn.twilio.com", username="trunkuser")
TELNYX = _account("telnyx", username="bob")
LAB = _account("lab", username="alice")
GENERIC = _account("generic", domain="pbx.example.com", username="201", region="GB")


@pytest.mark.parametrize(
    ("account", "target", "uri"),
    [
        (TWILIO, "415 555 0100", "sip:+14155550100@acme.sip.twilio.com"),
        (TWILIO, "+44 20 7946 0958", "sip:+442079460958@acme.sip.twilio.com"),
        (TWILIO, "bob", "sip:bob@acme.sip.twilio.com"),
        (TRUNK, "+1 (415) 555-0100", "sip:+14155550100@acme.pstn.ashburn.twilio.com"),
        (TRUNK, "sip:+14155550100@acme.pstn.twilio.com", "sip:+14155550100@acme.pstn.twilio.com"),
        (TRUNK, "sip:helpdesk@pbx.example.com", "sip:helpdesk@pbx.example.com"),
        (TELNYX, "4155550100", "sip:+14155550100@sip.telnyx.com"),
        (TELNYX, "carol", "sip:carol@sip.telnyx.com"),
        (LAB, "bob", "sip:bob@127.0.0.1"),
        (LAB, "100", "sip:100@127.0.0.1"),
        (LAB, "*97", "sip:*97@127.0.0.1"),
        (LAB, "4155550100", "sip:+14155550100@127.0.0.1"),
        (GENERIC, "020 7946 0958", "sip:+442079460958@pbx.example.com"),
        (GENERIC, "202", "sip:202@pbx.example.com"),
        (GENERIC, "sips:alice@example.com;transport=tls", "sips:alice@example.com;transport=tls"),
        (GENERIC, "alice@example.com", "sip:alice@example.com"),
    ],
)
def test_dial_uri(account: AccountConfig, target: str, uri: str) -> None:
    assert dial_uri(target, account) == uri


@pytest.mark.parametrize("target", ["4155550100", "bob", "100", "sip:bob@acme.pstn.twilio.com"])
def test_trunk_refuses_non_e164_and_says_twilio_rejects_it(target: str) -> None:
    with pytest.raises(NumberError) as info:
        dial_uri(target, TRUNK)
    message = str(info.value)
    assert "E.164" in message and "400 Bad Request" in message


def test_trunk_refusal_suggests_the_e164_form() -> None:
    with pytest.raises(NumberError, match=r"did you mean \+14155550100\?"):
        dial_uri("(415) 555-0100", TRUNK)


@pytest.mark.parametrize(
    ("account", "target", "words"),
    [
        (TWILIO, "", "nothing to dial"),
        (TWILIO, "100", "too short"),
        (TWILIO, "*97", "unexpected '*'"),
        (TELNYX, "1-800-FLOWERS", "has letters"),
        (LAB, "sip:bad host@x", "not a valid SIP address"),
        (LAB, "+999 1234", "not a country code"),
    ],
)
def test_dial_uri_errors(account: AccountConfig, target: str, words: str) -> None:
    with pytest.raises(NumberError) as info:
        dial_uri(target, account)
    assert words in str(info.value)


def test_dial_uri_never_adds_user_phone() -> None:
    assert ";user=phone" not in dial_uri("+14155550100", TWILIO)
