"""Property tests: any input gives a message or SipParseError, never another exception."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from softphone.sip import message as message_module
from softphone.sip.address import parse_name_addr
from softphone.sip.errors import SipParseError
from softphone.sip.framer import StreamFramer
from softphone.sip.message import parse_message
from softphone.sip.uri import parse_uri
from softphone.sip.via import parse_via
from tests.sip.torture import INVALID, VALID

CORPUS = [*VALID.values(), *(m for m, _ in INVALID.values())]
SIP_ALPHABET = st.sampled_from(
    [
        b"\r\n",
        b" ",
        b":",
        b";",
        b",",
        b"<",
        b">",
        b'"',
        b"\\",
        b"=",
        b"@",
        b"%",
        b"\t",
        b"\n",
        b"sip:",
        b"SIP/2.0",
        b"Via",
        b"Content-Length",
        b"l",
        b"0",
        b"9",
        b"z9hG4bK",
        b"\x00",
        b"\xff",
    ]
)


def parse_or_error(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError:
        return
    message.to_bytes()  # a parsed message can always be serialised


@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    parse_or_error(data)


@settings(max_examples=300)
@given(st.sampled_from(CORPUS), st.lists(st.tuples(st.integers(0, 4000), SIP_ALPHABET), max_size=8))
def test_mutated_torture_messages(base: bytes, edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(base)
    for position, token in edits:
        at = position % (len(data) + 1)
        data[at : at + len(token)] = token
    parse_or_error(bytes(data))


@settings(max_examples=300)
@given(st.sampled_from(CORPUS), st.lists(st.tuples(st.integers(0, 4000), SIP_ALPHABET), max_size=8))
def test_fast_header_split_agrees_with_the_normalising_one(
    base: bytes, edits: list[tuple[int, bytes]]
) -> None:
    # parse_message reads header lines as they came (CRLF or LF) and falls back to normalising
    # and unfolding when a line does not fit; whenever the fast split accepts, both must agree.
    data = bytearray(base)
    for position, token in edits:
        at = position % (len(data) + 1)
        data[at : at + len(token)] = token
    end = bytes(data).find(b"\r\n\r\n")
    head = bytes(data[: max(end, 0)]).decode("utf-8", "surrogateescape")
    split = message_module._split_head_fast(head)
    if split is None:
        return  # the fast split declined
    start_line, fast = split
    try:
        _, slow = message_module._parse_head_slowly(head)
    except SipParseError:
        with contextlib.suppress(SipParseError):
            message_module._parse_start_line(start_line)
            raise AssertionError("only the slow split refused this header section") from None
        return
    assert [(n, v.rstrip(" \t\r")) for n, v in fast] == [(n, v.rstrip(" \t")) for n, v in slow]


@settings(max_examples=300)
@given(st.sampled_from(CORPUS), st.integers(0, 4000), st.integers(1, 64))
def test_truncated_and_spliced(base: bytes, cut: int, length: int) -> None:
    parse_or_error(base[: cut % (len(base) + 1)])
    parse_or_error(base[:cut] + base[cut + length :])


@given(st.text(max_size=200))
def test_component_parsers_only_raise_parse_errors(text: str) -> None:
    for parse in (parse_uri, parse_name_addr, parse_via):
        with contextlib.suppress(SipParseError):
            parse(text)


@given(st.binary(max_size=3000))
def test_framer_random_bytes(data: bytes) -> None:
    framer = StreamFramer()
    try:
        for frame in framer.feed(data):
            if frame != b"\r\n\r\n":
                parse_or_error(frame)
    except SipParseError:
        pass


@given(st.sampled_from(list(VALID.values())))
def test_valid_messages_round_trip(data: bytes) -> None:
    first = parse_message(data)
    second = parse_message(first.to_bytes())
    assert second.to_bytes() == first.to_bytes()
    assert second.body == first.body
    assert [str(v) for v in second.vias] == [str(v) for v in first.vias]
