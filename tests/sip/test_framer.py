"""The TCP/TLS stream framer: Content-Length framing, partial and pipelined data, keep-alives."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from softphone.sip.errors import SipParseError
from softphone.sip.framer import KEEPALIVE_PING, StreamFramer
from softphone.sip.message import parse_message
from tests.sip.torture import VALID

STREAM = [VALID["lwsdisp"], VALID["wsinv"], VALID["mpart01"], VALID["escnull"]]


def test_pipelined_messages_come_out_in_order() -> None:
    framer = StreamFramer()
    frames = framer.feed(b"".join(STREAM))
    assert frames == STREAM
    assert framer.buffered == 0


def test_keepalive_ping_between_messages() -> None:
    framer = StreamFramer()
    frames = framer.feed(STREAM[0] + b"\r\n\r\n" + STREAM[1])
    assert frames == [STREAM[0], KEEPALIVE_PING, STREAM[1]]


def test_split_ping_is_still_one_ping() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r") == []
    assert framer.feed(b"\n") == [KEEPALIVE_PING]


def test_body_arriving_later_waits() -> None:
    framer = StreamFramer()
    data = VALID["wsinv"]
    cut = data.index(b"\r\n\r\n") + 10
    assert framer.feed(data[:cut]) == []
    assert framer.feed(data[cut:]) == [data]


def test_missing_content_length_on_stream_means_no_body() -> None:
    message = VALID["lwsdisp"].replace(b"l: 0\r\n", b"")
    assert StreamFramer().feed(message) == [message]


@pytest.mark.parametrize("bad", [b"l: -1", b"Content-Length: x", b"Content-Length: 99999999999"])
def test_bad_content_length_is_unrecoverable(bad: bytes) -> None:
    message = VALID["lwsdisp"].replace(b"l: 0", bad)
    with pytest.raises(SipParseError):
        StreamFramer().feed(message)


def test_endless_header_section_is_refused() -> None:
    framer = StreamFramer()
    framer.feed(b"INVITE sip:a@b SIP/2.0\r\n")
    with pytest.raises(SipParseError) as info:
        for _ in range(2000):
            framer.feed(b"X-Filler: " + b"a" * 60 + b"\r\n")
    assert info.value.status == 513


@given(st.lists(st.integers(min_value=1, max_value=len(b"".join(STREAM))), max_size=20))
def test_any_chunking_gives_the_same_frames(cuts: list[int]) -> None:
    data = b"".join(STREAM)
    bounds = sorted({0, len(data), *cuts})
    framer = StreamFramer()
    frames: list[bytes] = []
    for start, end in itertools.pairwise(bounds):
        frames.extend(framer.feed(data[start:end]))
    assert frames == STREAM
    assert [parse_message(f, datagram=False).call_id for f in frames] == [
        parse_message(m).call_id for m in STREAM
    ]
