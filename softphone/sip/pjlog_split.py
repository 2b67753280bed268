"""pjsua's log file → one bytes chunk per log entry, and the clock time each entry carries.

The engine reads SIP messages from pjsua's log file instead of a LogWriter callback: the
callback crosses into Python (GIL, SWIG proxies) for every message *before* pjsip answers a
challenge, which cost 25–45 µs per message in a real exchange (engine-notes §6). A file is a
plain concatenation of entries, so they have to be told apart again:

- a message entry's first line ends in `TX|RX N bytes ... :` and N bytes of message follow,
  then `\\n--end msg--\\n` (pjsua_core.c, logging module);
- any other entry runs up to the next line that starts with pjlib's time decoration
  (`HH:MM:SS.mmm `), or to the end of what was read.

pjlib caps an entry at PJ_LOG_MAX_SIZE (4000) bytes and then ends it with a newline, so a long
message has no end marker; such an entry also ends where the next decorated line starts. Pure:
no files, no clock.
"""

from __future__ import annotations

import re

# "HH:MM:SS.mmm" at the start of a line: pjlib's PJ_LOG_HAS_TIME | PJ_LOG_HAS_MICRO_SEC
# decoration (which, despite its name, prints milliseconds).
_ENTRY_START = re.compile(rb"\n(?=\d\d:\d\d:\d\d\.\d\d\d )")
_MESSAGE_HEAD = re.compile(rb" (?:TX|RX) (\d+) bytes (?:Request|Response) msg .*:\Z")
_END_MARK = b"\n--end msg--\n"
_CLOCK = re.compile(rb"(\d\d):(\d\d):(\d\d)\.(\d\d\d) ")


def split_entries(data: bytes, *, complete: bool) -> tuple[list[bytes], int]:
    """The whole entries at the start of `data` and how many bytes they take.

    `complete` says that `data` ends on an entry boundary (the writer flushed everything it had
    and nobody else writes); otherwise the last entry is left for the next read, unless a
    message entry's own length shows it whole.
    """
    entries: list[bytes] = []
    pos = 0
    size = len(data)
    while pos < size:
        newline = data.find(b"\n", pos)
        if newline < 0:
            break  # not even the first line yet
        end = _message_end(data, pos, newline)
        if end is None:
            following = _ENTRY_START.search(data, newline)
            if following is not None:
                end = following.start() + 1
            elif complete and data.endswith(b"\n"):
                end = size
            else:
                break
        entries.append(data[pos:end])
        pos = end
    return entries, pos


def _message_end(data: bytes, start: int, newline: int) -> int | None:
    """Where a message entry that starts at `start` ends, by its byte count; None when the
    entry is not a message or does not end where the count says (cut at 4000 bytes)."""
    head = _MESSAGE_HEAD.search(data, start, newline)
    if head is None:
        return None
    body_end = newline + 1 + int(head[1])
    if data.startswith(_END_MARK, body_end):
        return body_end + len(_END_MARK)
    return None


def entry_clock(entry: bytes) -> tuple[int, int, int, int] | None:
    """(hours, minutes, seconds, milliseconds) of local time from the entry's decoration,
    or None when it has none."""
    found = _CLOCK.match(entry)
    if found is None:
        return None
    hours, minutes, seconds, millis = found.groups()
    return int(hours), int(minutes), int(seconds), int(millis)
