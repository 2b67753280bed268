"""softphone.sip.pjlog_split: pjsua's log file cut back into its entries.

The entries are real pjsua 2.15.1 log entries (tests/engine/data/pjlog_entries.json, copied
byte for byte from pjsua's log files), concatenated the way pjsua writes them into its file.
"""

from __future__ import annotations

import re

import pytest

from softphone.sip.pjlog_split import entry_clock, split_entries
from tests.sip.pjlog_data import ENTRY_BYTES as ENTRIES

MULTILINE = b"01:00:30.500        pjsua_media.c  .Call 0: stream dump:\n  line two\n  line three\n"


def _messages() -> list[bytes]:
    return [e for e in ENTRIES if e.endswith(b"--end msg--\n")]


def test_concatenated_real_entries_split_back_into_the_same_entries() -> None:
    entries = [*ENTRIES, MULTILINE, *ENTRIES[:3]]
    got, used = split_entries(b"".join(entries), complete=True)
    assert got == entries
    assert used == sum(map(len, entries))


def test_a_read_cut_anywhere_yields_only_whole_entries_and_keeps_the_rest() -> None:
    entries = [*ENTRIES[:4], MULTILINE, *ENTRIES[4:8]]
    data = b"".join(entries)
    for cut in range(0, len(data), 7):
        got, used = split_entries(data[:cut], complete=False)
        assert got == entries[: len(got)], cut
        assert used == sum(map(len, got))
        # Whatever was left over, read again with the rest, gives the remaining entries.
        rest, _ = split_entries(data[used:], complete=True)
        assert got + rest == entries, cut


def test_the_byte_count_wins_over_an_end_marker_inside_the_message() -> None:
    # A message body may contain the text "--end msg--" (say, in a MESSAGE body): the head's
    # byte count says where the entry really ends.
    original = _messages()[0]
    head, rest = original.split(b":\n", 1)
    body = rest[: -len(b"\n--end msg--\n")] + b"\n--end msg--\nnot the end"
    count = re.search(rb"(TX|RX) (\d+) bytes", head)
    assert count is not None
    new_head = head[: count.start(2)] + str(len(body)).encode() + head[count.end(2) :]
    entry = new_head + b":\n" + body + b"\n--end msg--\n"
    got, _ = split_entries(entry + ENTRIES[-1], complete=True)
    assert got == [entry, ENTRIES[-1]]


def test_a_message_cut_at_pjlibs_4000_bytes_ends_where_the_next_entry_starts() -> None:
    # pjlib caps an entry at PJ_LOG_MAX_SIZE and then ends it with a newline: no end marker.
    # (The real entries are shorter than 4000 bytes; the shape is what matters: a head whose
    # byte count runs past the entry's end, no marker, then the newline.)
    message = _messages()[2]
    cut = message[: len(message) - 40] + b"\n"
    got, _ = split_entries(cut + ENTRIES[0] + ENTRIES[1], complete=True)
    assert got == [cut, ENTRIES[0], ENTRIES[1]]


def test_incomplete_tail_stays_when_the_writer_may_still_be_writing() -> None:
    got, used = split_entries(ENTRIES[0] + MULTILINE, complete=False)
    assert got == [ENTRIES[0]]  # the multi-line entry may still grow
    assert used == len(ENTRIES[0])
    got, used = split_entries(ENTRIES[0] + MULTILINE, complete=True)
    assert got == [ENTRIES[0], MULTILINE]


@pytest.mark.parametrize(
    ("entry", "clock"),
    [
        (b"01:00:30.420           pjsua_core.c  ...TX", (1, 0, 30, 420)),
        (b"23:59:59.999 x", (23, 59, 59, 999)),
        (b"no decoration at all\n", None),
    ],
)
def test_entry_clock_reads_the_decoration(
    entry: bytes, clock: tuple[int, int, int, int] | None
) -> None:
    assert entry_clock(entry) == clock
