"""Phone numbers: E.164 normalising, as-you-type formatting, and the Request-URI the phone dials.

Why: providers route on E.164. Twilio's trunks answer anything else with 400 Bad Request
(seed 001), Twilio SIP Domains recommend E.164 for To/From (seed 000), and a national number
typed without its country code is the commonest dialing mistake. So every number is parsed with
phonenumbers (libphonenumber's metadata) against the account's region, and a failure says in
words what is wrong: empty, letters, too short, too long, or not valid in that region.

`dial_uri` produces `sip:+E164@domain` without `;user=phone`: Twilio's and Telnyx's own
examples use the plain form (seed 001 `INVITE sip:+15108675309@{example}.pstn...`), the leading
"+" already marks a global number, and the parameter takes part in URI comparison (RFC 3261
§19.1.4), so adding it could make a registrar's AOR lookup miss.
"""

from __future__ import annotations

import contextlib
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from softphone.config import AccountConfig
from softphone.providers import get_preset
from softphone.sip.errors import SipParseError
from softphone.sip.uri import parse_sip_uri

_E164_RE = re.compile(r"\+[1-9][0-9]{6,14}")
# What people type around digits: spaces, dashes, dots, brackets, slashes (RFC 3966 visual
# separators and the usual national habits).
_NUMBER_CHARS_RE = re.compile(r"\+?[0-9 \-.()/\u00a0]*")
_DIAL_CODES_RE = re.compile(r"[0-9*#]+")  # PBX extensions and feature codes (*97, 100#)
_SIP_USER_RE = re.compile(r"[A-Za-z][A-Za-z0-9\-_.!~*'()&=+$,;?/]*")
_EXAMPLE = "+14155550100"


class NumberError(ValueError):
    """A number or dial target that cannot be used; the message says why and what to type."""


def is_e164(text: str) -> bool:
    """True for the strict E.164 form: "+", country code, subscriber number, digits only."""
    return _E164_RE.fullmatch(text) is not None


def normalise(text: str, region: str = "US") -> str:
    """`text` as E.164 (e.g. '+14155550100'), reading national numbers in `region`."""
    stripped = text.strip()
    if stripped.lower().startswith("tel:"):  # RFC 3966 tel URI: number, then ;parameters
        stripped = stripped[4:].split(";", 1)[0]
    if not stripped:
        raise NumberError(f"empty: type a number, e.g. {_EXAMPLE}")
    letters = "".join(dict.fromkeys(c for c in stripped if c.isalpha()))
    if letters:
        raise NumberError(
            f"{stripped!r} has letters ({letters}): phone numbers are digits; "
            "for a SIP address type sip:user@host"
        )
    if "+" in stripped[1:]:
        raise NumberError(f"{stripped!r}: '+' may only come first, before the country code")
    if not _NUMBER_CHARS_RE.fullmatch(stripped):
        bad = next(c for c in stripped if not re.fullmatch(r"[0-9 \-.()/+\u00a0]", c))
        raise NumberError(f"{stripped!r}: unexpected {bad!r} in a phone number")
    region = _check_region(region)
    try:
        number = phonenumbers.parse(stripped, region)
    except NumberParseException as exc:
        raise NumberError(_parse_failure(stripped, exc)) from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    digits = len(phonenumbers.national_significant_number(number))
    where = _where(number, region)
    if reason == ValidationResult.TOO_SHORT:
        raise NumberError(f"{stripped!r} is too short for {where} ({digits} digits)")
    if reason == ValidationResult.TOO_LONG:
        raise NumberError(f"{stripped!r} is too long for {where} ({digits} digits)")
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise NumberError(f"{stripped!r} is a local number: add the area code")
    if reason == ValidationResult.INVALID_COUNTRY_CODE:
        raise NumberError(f"{stripped!r}: +{number.country_code} is not a country code")
    if reason != ValidationResult.IS_POSSIBLE or not phonenumbers.is_valid_number(number):
        raise NumberError(
            f"{stripped!r} is not a valid number in {where}; check the digits, or for another "
            "country start with + and its country code"
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def as_you_type(text: str, region: str = "US") -> str:
    """Format a partly typed number the way it is written in `region` ('(415) 555-01').

    Anything that is not a number being typed (a SIP address, a name, a feature code) comes
    back unchanged, so the dialer can show this preview for every keystroke.
    """
    stripped = text.strip()
    if not stripped or not _NUMBER_CHARS_RE.fullmatch(stripped):
        return text
    try:
        formatter = phonenumbers.AsYouTypeFormatter(_check_region(region))
    except NumberError:
        return text
    shown = ""
    for char in stripped:
        if char.isdigit() or char == "+":
            shown = formatter.input_digit(char)
    return shown


def dial_uri(target: str, account: AccountConfig) -> str:
    """The Request-URI the phone will send an INVITE to when the user dials `target`.

    - `sip:`/`sips:` URIs (and `user@host`) pass through, after a syntax check;
    - a phone number becomes `sip:+E164@domain`, read in the account's region;
    - a name such as `bob` becomes `sip:bob@domain` (SIP-to-SIP on the same service);
    - lab and generic accounts also dial short codes (`100`, `*97`) as they are.
    Twilio trunks take E.164 only (seed 001: anything else gets 400 Bad Request), so they
    refuse national numbers, names and extensions with that reason.
    """
    preset = get_preset(account.provider)
    domain = preset.defaults(account).domain
    trunk = account.provider == "twilio-trunk"
    text = target.strip()
    if not text:
        raise NumberError("nothing to dial: type a number or a SIP address")
    lower = text.lower()
    if lower.startswith(("sip:", "sips:")) or "@" in text:
        uri_text = text if lower.startswith(("sip:", "sips:")) else "sip:" + text
        try:
            uri = parse_sip_uri(uri_text)
        except SipParseError as exc:
            raise NumberError(f"{text!r} is not a valid SIP address: {exc}") from None
        # Only requests to Twilio must be E.164; a direct call to another host is not Twilio's.
        if trunk and uri.host.lower().endswith(".twilio.com") and not is_e164(uri.user_text):
            raise NumberError(_trunk_refusal(uri.user_text or text, account.region))
        return uri_text
    if not domain:
        raise NumberError(f"account {account.name!r} has no domain to dial numbers at")
    if _SIP_USER_RE.fullmatch(text) and not lower.startswith("tel:"):
        if trunk:
            raise NumberError(_trunk_refusal(text, account.region))
        return f"sip:{text}@{domain}"
    if trunk:
        compact = re.sub(r"[ \-.()/\u00a0]", "", text.removeprefix("tel:"))
        if not is_e164(compact):
            raise NumberError(_trunk_refusal(text, account.region))
    extension = _DIAL_CODES_RE.fullmatch(text) is not None and not trunk
    try:
        return f"sip:{normalise(text, account.region)}@{domain}"
    except NumberError:
        if extension and account.provider in ("lab", "generic"):
            return f"sip:{text}@{domain}"
        raise


def _trunk_refusal(text: str, region: str) -> str:
    hint = ""
    with contextlib.suppress(NumberError):
        hint = f"; did you mean {normalise(text, region)}?"
    return (
        f"{text!r}: a Twilio trunk dials E.164 numbers only (+, country code, number, e.g. "
        f"{_EXAMPLE}); Twilio rejects anything else with 400 Bad Request{hint}"
    )


def _check_region(region: str) -> str:
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise NumberError(f"unknown region {region!r}: use a two-letter code such as US or GB")
    return code


def _where(number: phonenumbers.PhoneNumber, region: str) -> str:
    found = phonenumbers.region_code_for_number(number)
    if found and found != "ZZ":
        return found
    main = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return main if main != "ZZ" else region


def _parse_failure(text: str, exc: NumberParseException) -> str:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if text.startswith("+"):
            return f"{text!r}: the digits after + are not a country code"
        return f"{text!r}: add + and the country code, e.g. {_EXAMPLE}"
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return f"{text!r} is too short to be a phone number"
    if kind == NumberParseException.TOO_LONG:
        return f"{text!r} is too long to be a phone number"
    return f"{text!r} is not a phone number"
