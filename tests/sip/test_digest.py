"""Digest authentication: RFC vectors, header grammar, nonce lifecycle and the client/server loop.

The RFC values are the ones printed in RFC 2617 §3.5 and RFC 7616 §3.9.1 (password "Circle of
Life" with a lower-case "of" in 7616, erratum 4495), so a change in the hash chain cannot pass.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from softphone.sip import digest as digest_module
from softphone.sip.digest import (
    ALGORITHMS,
    Challenge,
    Credentials,
    answer_challenge,
    compute_ha1,
    compute_response,
    format_challenge,
    format_credentials,
    parse_challenge,
    parse_credentials,
    verify_credentials,
)
from softphone.sip.errors import SipParseError

# --- RFC 2617 §3.5 ----------------------------------------------------------------------------

RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa",\r\n realm="testrealm@host.com",\r\n'
    ' nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",\r\n uri="/dir/index.html",\r\n'
    ' qop=auth,\r\n nc=00000001,\r\n cnonce="0a4f113b",\r\n'
    ' response="6629fae49393a05397450978507c4ef1",\r\n'
    ' opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


def test_rfc2617_vector_by_hand():
    ha1 = compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    resp = compute_response(
        ha1,
        "GET",
        "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth",
        nc="00000001",
        cnonce="0a4f113b",
    )
    assert resp == "6629fae49393a05397450978507c4ef1"


def test_rfc2617_challenge_answered_and_folded_authorization_verified():
    ch = parse_challenge(RFC2617_CHALLENGE)
    assert ch.qop == ("auth", "auth-int")
    c = answer_challenge(
        ch,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert c == parse_credentials(RFC2617_AUTHORIZATION)  # folded lines (LWS) are accepted
    ha1 = compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    assert verify_credentials(c, method="GET", ha1=ha1)


# --- RFC 7616 §3.9.1 --------------------------------------------------------------------------

RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm, expected):
    header = (
        f'Digest\r\n    realm="http-auth@example.org",\r\n    qop="auth, auth-int",\r\n'
        f'    algorithm={algorithm},\r\n    nonce="{RFC7616_NONCE}",\r\n'
        f'    opaque="{RFC7616_OPAQUE}"'
    )
    ch = parse_challenge(header)
    assert ch == Challenge(
        "http-auth@example.org", RFC7616_NONCE, algorithm, ("auth", "auth-int"), RFC7616_OPAQUE
    )
    c = answer_challenge(
        ch,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce=RFC7616_CNONCE,
    )
    assert (c.response, c.qop, c.nc, c.opaque, c.algorithm) == (
        expected,
        "auth",
        "00000001",
        RFC7616_OPAQUE,
        algorithm,
    )
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    assert verify_credentials(parse_credentials(format_credentials(c)), method="GET", ha1=ha1)


# --- grammar ----------------------------------------------------------------------------------


def test_format_challenge_shape():
    ch = Challenge("lab", "n1", "MD5", ("auth",), "op", stale=True)
    assert format_challenge(ch) == (
        'Digest realm="lab", nonce="n1", algorithm=MD5, qop="auth", opaque="op", stale=TRUE'
    )
    assert (
        format_challenge(Challenge("lab", "n1")) == 'Digest realm="lab", nonce="n1", algorithm=MD5'
    )


def test_format_credentials_shape():
    c = Credentials("bob", "lab", "n", "sip:lab", "0" * 32, "MD5", "auth", "0000000a", "cn", "op")
    assert format_credentials(c) == (
        'Digest username="bob", realm="lab", nonce="n", uri="sip:lab", '
        f'response="{"0" * 32}", algorithm=MD5, cnonce="cn", opaque="op", qop=auth, nc=0000000a'
    )


def test_tolerant_spellings():
    ch = parse_challenge(
        'digest  REALM = "r" ,Nonce=abc,algorithm="sha-256-SESS", qop=auth, stale=true, '
        'domain="sip:a sip:b", x-unknown="ignored, really"'
    )
    assert ch == Challenge("r", "abc", "SHA-256-sess", ("auth",), None, True, "sip:a sip:b")
    assert not parse_challenge('Digest realm="r", nonce="n", stale=FALSE').stale
    assert parse_challenge('Digest realm="r", nonce="n", stale=TRUE').stale
    c = parse_credentials(
        'Digest username="a\\"b\\\\c", realm=r, nonce="n", uri="sip:x", response="'
        + "A" * 32
        + '", qop="auth", nc="00000001", cnonce="c", algorithm="md5"'
    )
    assert (c.username, c.realm, c.qop, c.nc, c.algorithm) == (
        'a"b\\c',
        "r",
        "auth",
        "00000001",
        "MD5",
    )
    assert parse_challenge(format_challenge(Challenge('a"\\b\tc', "é☎"))).realm == 'a"\\b\tc'


RESP = '", response="' + "0" * 32 + '"'
MALFORMED_CHALLENGES = [
    "",
    "   ",
    "Digest",
    'Basic realm="r"',
    'Digestrealm="r", nonce="n"',
    'Digest realm="r"',
    'Digest nonce="n"',
    'Digest realm="r", realm="s", nonce="n"',
    'Digest realm="r", NONCE="n", nonce="m"',
    'Digest realm="r", nonce="n",',
    'Digest realm="r",, nonce="n"',
    'Digest realm="r" nonce="n"',
    'Digest realm="r, nonce="n"',
    'Digest realm="r\r\n", nonce="n"',
    'Digest realm="r\x00", nonce="n"',
    'Digest realm="r", nonce="n", algorithm=SHA-512-256',
    'Digest realm="r", nonce="n", qop=""',
    'Digest realm="r", nonce="n", qop="auth,,auth-int"',
    'Digest realm="r", nonce=n@x',
    'Digest realm="r", nonce="n", =x',
    'Digest realm="r\\',
    'Digest realm="\ud800", nonce="n"',
    'Digest realm="r", nonce="n" garbage',
]
MALFORMED_CREDENTIALS = [
    'Digest realm="r", nonce="n", uri="u' + RESP,
    'Digest username="u", nonce="n", uri="u' + RESP,
    'Digest username="u", realm="r", nonce="n", uri="u"',
    'Digest username="u", realm="r", nonce="n", uri="u' + RESP + ", qop=auth",
    'Digest username="u", realm="r", nonce="n", uri="u' + RESP + ", qop=auth, nc=00000001",
    'Digest username="u", realm="r", nonce="n", uri="u' + RESP + ', qop=auth, nc=1, cnonce="c"',
    'Digest username="u", realm="r", nonce="n", uri="u'
    + RESP
    + ', qop="a b", nc=00000001, cnonce=c',
    'Digest username="u", realm="r", nonce="n", uri="u", response="xyz"',
    'Digest username="u", realm="r", nonce="n", uri="u' + RESP + ", algorithm=SHA-256",
    'Digest username="u", realm="r", nonce="n", uri="u' + RESP + ", algorithm=foo",
    'Digest username="u", username="v", realm="r", nonce="n", uri="u' + RESP,
    'Digest username="u", realm="r", nonce="n", uri=sip:u' + RESP,
]


@pytest.mark.parametrize("value", MALFORMED_CHALLENGES)
def test_malformed_challenge(value):
    with pytest.raises(SipParseError) as info:
        parse_challenge(value)
    assert info.value.status == 400


@pytest.mark.parametrize("value", MALFORMED_CREDENTIALS)
def test_malformed_credentials(value):
    with pytest.raises(SipParseError):
        parse_credentials(value)


def test_format_refuses_header_injection():
    with pytest.raises(SipParseError) as info:
        format_challenge(Challenge("r\r\nVia: evil", "n"))
    assert info.value.status == 500
    with pytest.raises(SipParseError):
        format_credentials(Credentials("u", "r", "n", "u", "0" * 32, qop="auth"))  # no nc/cnonce
    with pytest.raises(SipParseError):
        format_challenge(Challenge("r", "n", qop=("a uth",)))


# Round trips over generated values.
_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\t"), max_size=20)
_token = st.from_regex(r"[A-Za-z0-9\-.!%*_+`'~]{1,12}", fullmatch=True)
_challenges = st.builds(
    Challenge,
    realm=_text,
    nonce=_text,
    algorithm=st.sampled_from(ALGORITHMS),
    qop=st.lists(_token, max_size=3).map(tuple),
    opaque=st.none() | _text,
    stale=st.booleans(),
    domain=st.none() | _text,
)


@st.composite
def _credentials(draw: st.DrawFn) -> Credentials:
    algorithm = draw(st.sampled_from(ALGORITHMS))
    size = 32 if algorithm.startswith("MD5") else 64
    qop = draw(st.none() | _token)
    with_counts = qop is not None or draw(st.booleans())
    return Credentials(
        username=draw(_text),
        realm=draw(_text),
        nonce=draw(_text),
        uri=draw(_text),
        response=draw(st.from_regex(rf"[0-9a-fA-F]{{{size}}}", fullmatch=True)),
        algorithm=algorithm,
        qop=qop,
        nc=draw(st.from_regex(r"[0-9a-f]{8}", fullmatch=True)) if with_counts else None,
        cnonce=draw(_text) if with_counts else draw(st.none() | _text),
        opaque=draw(st.none() | _text),
    )


@given(_challenges)
def test_challenge_round_trip(ch):
    assert parse_challenge(format_challenge(ch)) == ch


@given(_credentials())
def test_credentials_round_trip(c):
    assert parse_credentials(format_credentials(c)) == c


_pieces = st.sampled_from(
    [
        "Digest ",
        "digest",
        "realm",
        "nonce",
        "username",
        "uri",
        "response",
        "qop",
        "nc",
        "cnonce",
        "algorithm",
        "stale",
        "opaque",
        "=",
        '"',
        "\\",
        ",",
        " ",
        "\t",
        "\r\n ",
        "\n",
        "\r",
        "auth",
        "00000001",
        "MD5",
        "SHA-256-sess",
        "0" * 32,
        "x",
        "é",
        "\x00",
        "\ud800",
        "true",
    ]
)
_fuzz = st.text() | st.lists(_pieces, max_size=40).map("".join)


@given(_fuzz)
def test_any_text_parses_or_raises_sip_parse_error(value):
    # Nothing but SipParseError may escape, and whatever parses must format back to itself.
    try:
        ch = parse_challenge(value)
    except SipParseError:
        pass
    else:
        assert parse_challenge(format_challenge(ch)) == ch
    try:
        c = parse_credentials(value)
    except SipParseError:
        pass
    else:
        assert parse_credentials(format_credentials(c)) == c


_digest_shaped = st.lists(_pieces, max_size=40).map(lambda parts: "Digest " + "".join(parts))


@given(_fuzz | _digest_shaped)
def test_fast_path_agrees_with_the_full_grammar(value):
    # The str.find fast path may decline anything, but what it accepts the full RFC 3261 §25.1
    # grammar must accept with exactly the same parameters.
    fast = digest_module._parse_simple(value)
    if fast is not None:
        assert digest_module._parse_full(value, "test") == fast


# --- client/server loop -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_answer_then_verify(algorithm):
    ch = Challenge("lab.test", "abc", algorithm, ("auth-int", "auth"), opaque="o/p")
    c = answer_challenge(
        ch,
        method="REGISTER",
        uri="sip:lab.test",
        username="alice",
        password="s3cret",
        cnonce="cn",
        nc=0x1F,
    )
    assert (c.qop, c.nc, c.opaque, c.cnonce) == ("auth", "0000001f", "o/p", "cn")
    wire = parse_credentials(format_credentials(c))
    good = compute_ha1("alice", "lab.test", "s3cret", algorithm)
    bad = compute_ha1("alice", "lab.test", "s3cret!", algorithm)
    assert verify_credentials(wire, method="REGISTER", ha1=good)
    assert not verify_credentials(wire, method="REGISTER", ha1=bad)
    assert not verify_credentials(wire, method="INVITE", ha1=good)
    other = ALGORITHMS[(ALGORITHMS.index(algorithm) + 2) % 4]  # the other hash family
    assert not verify_credentials(
        wire, method="REGISTER", ha1=compute_ha1("alice", "lab.test", "s3cret", other)
    )


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_sess_and_no_qop_follow_rfc2617_formulas():
    md5 = _md5
    ha1 = md5("u:r:p")
    sess = compute_response(
        ha1, "INVITE", "sip:x", "N", algorithm="MD5-sess", qop="auth", nc="00000002", cnonce="C"
    )
    assert sess == md5(f"{md5(ha1 + ':N:C')}:N:00000002:C:auth:{md5('INVITE:sip:x')}")
    c = answer_challenge(
        Challenge("r", "N"), method="INVITE", uri="sip:x", username="u", password="p", cnonce="C"
    )
    assert (c.qop, c.nc, c.cnonce) == (None, None, None)  # RFC 2069 style: no cnonce/nc
    assert c.response == md5(f"{ha1}:N:{md5('INVITE:sip:x')}")
    assert verify_credentials(c, method="INVITE", ha1=ha1)


def test_unanswerable_and_unverifiable():
    with pytest.raises(SipParseError):
        answer_challenge(
            Challenge("r", "n", qop=("auth-int",)),
            method="M",
            uri="u",
            username="a",
            password="b",
            cnonce="c",
        )
    with pytest.raises(SipParseError):
        answer_challenge(
            Challenge("r", "n", qop=("auth",)),
            method="M",
            uri="u",
            username="a",
            password="b",
            cnonce="c",
            nc=0,
        )
    ha1 = compute_ha1("a", "r", "b")
    c = answer_challenge(
        Challenge("r", "n", qop=("auth",)),
        method="M",
        uri="u",
        username="a",
        password="b",
        cnonce="c",
    )
    assert verify_credentials(c, method="M", ha1=ha1)
    for broken in (
        dataclasses.replace(c, qop="auth-int"),
        dataclasses.replace(c, response="é" * 32),
        dataclasses.replace(c, algorithm="SHA-1"),
        dataclasses.replace(c, nc=None),
        dataclasses.replace(c, nc="00000002"),
    ):
        assert not verify_credentials(broken, method="M", ha1=ha1)
    assert verify_credentials(
        dataclasses.replace(c, response=c.response.upper()), method="M", ha1=ha1
    )
