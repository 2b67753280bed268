"""softphone.engine.logtap: reading pjsua's log file as it grows, cutting it back, timing it.

pjsua's side is played by a file opened the way pjsua opens it (append mode) and written
unbuffered; the real pjsua writing through this tap is covered by every engine test that
looks at traces, and by test_lifecycle.py's test_sip_capture_file_is_open_but_on_no_disk.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from softphone.engine import logtap
from softphone.engine.logtap import LogTap
from tests.sip.pjlog_data import ENTRY_BYTES as ENTRIES


def test_private_file_is_gone_from_disk_once_attached_and_still_read() -> None:
    tap = LogTap()
    directory = Path(tap.path).parent
    assert oct(directory.stat().st_mode & 0o777) == "0o700"  # nobody else may open it
    with open(tap.path, "ab", buffering=0) as pjsua:
        tap.attach()
        assert not directory.exists()  # the capture holds Authorization headers
        for entry in ENTRIES[:3]:
            pjsua.write(entry)
        got = tap.read()
    assert [entry for _, _, entry in got] == ENTRIES[:3]
    ends = [end for end, _, _ in got]
    assert ends == [sum(map(len, ENTRIES[: i + 1])) for i in range(3)]
    assert tap.mark() == ends[-1]
    assert tap.read() == []
    tap.close()


def test_the_file_is_cut_back_and_positions_keep_counting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logtap, "TRUNCATE_AT", 2000)
    tap = LogTap()
    with open(tap.path, "ab", buffering=0) as pjsua:
        tap.attach()
        first = ENTRIES[:4]
        assert sum(map(len, first)) > 2000
        for entry in first:
            pjsua.write(entry)
        before = tap.read()
        assert os.fstat(pjsua.fileno()).st_size == 0  # cut back to empty
        for entry in ENTRIES[4:6]:
            pjsua.write(entry)  # O_APPEND: lands at the new start, no hole
        mark = tap.mark()
        after = tap.read()
    assert [e for _, _, e in before + after] == ENTRIES[:6]
    assert after[-1][0] == mark == sum(map(len, ENTRIES[:6]))
    assert before[-1][0] < after[0][0]
    tap.close()


def test_a_users_log_file_is_kept_and_read_from_where_it_ended(tmp_path: Path) -> None:
    log = tmp_path / "pjsua.log"
    log.write_bytes(ENTRIES[0])  # an earlier run's entries
    tap = LogTap(str(log))
    with log.open("ab", buffering=0) as pjsua:
        tap.attach()
        pjsua.write(ENTRIES[1])
        got = tap.read()
    tap.close()
    assert [e for _, _, e in got] == [ENTRIES[1]]
    assert log.read_bytes() == ENTRIES[0] + ENTRIES[1]


def test_missing_log_file_is_a_clear_error(tmp_path: Path) -> None:
    tap = LogTap(str(tmp_path / "never-created.log"))
    with pytest.raises(RuntimeError, match=r"cannot open pjsua.s log file .*never-created"):
        tap.attach()


def test_entry_times_are_todays_local_time_to_the_millisecond() -> None:
    now = time.time()
    clock = time.strftime("%H:%M:%S", time.localtime(now - 2)).encode()
    entry = clock + b".250 pjsua_core.c  a line\n"
    stamp = logtap._Clock(now).of(entry)
    expected = int(now - 2) + 0.25
    assert abs(stamp - expected) < 1e-6


def test_an_entry_from_before_midnight_read_after_it_is_yesterdays() -> None:
    local_now = time.mktime((2026, 11, 24, 0, 0, 10, 0, 0, -1))
    stamp = logtap._Clock(local_now).of(b"23:59:59.500 pjsua_core.c  late\n")
    assert stamp == pytest.approx(local_now - 10.5)


def test_an_entry_without_decoration_gets_the_read_time() -> None:
    assert logtap._Clock(1234.5).of(b"no time here\n") == 1234.5


class CStream:
    """A C stdio stream opened through libc the way pjsua opens its log ("a" mode)."""

    def __init__(self, path: Path) -> None:
        import ctypes

        libc = ctypes.PyDLL(None)
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.fwrite.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_void_p]
        libc.fflush.argtypes = [ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
        self.libc = libc
        self.fp = libc.fopen(str(path).encode(), b"a")
        assert self.fp

    def write(self, data: bytes) -> None:
        assert self.libc.fwrite(data, 1, len(data), self.fp) == len(data)

    def close(self) -> None:
        self.libc.fclose(self.fp)  # before the buffer (owned by the StdioStream) goes away


def test_a_c_stdio_stream_is_found_by_its_file_and_given_a_big_buffer(tmp_path: Path) -> None:
    """What the tap does with pjsua's log stream, on a stream fopen()ed here through libc."""
    from softphone.engine import stdio_stream

    path = tmp_path / "c.log"
    c = CStream(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        stream = stdio_stream.find(c.libc, fd)
        assert stream is not None and stream.address == c.fp
        data = b"x" * 10_000  # more than the 4 KB stdio would have flushed at
        c.write(data)
        assert os.fstat(fd).st_size == 0  # all of it still in our 1 MB buffer
        assert stream.buffered() == len(data)
        stream.flush()
        assert os.fstat(fd).st_size == len(data) and stream.buffered() == 0
    finally:
        c.close()
        os.close(fd)
    assert stdio_stream.find(c.libc, 10_000) is None  # no such descriptor: not found, no crash


def test_marks_count_what_is_still_in_the_stream_buffer_without_flushing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cheap mark (the stream's write pointer, no system call) agrees with what the reads
    find, before and after reads and across a cut back of the file."""
    monkeypatch.setattr(logtap, "TRUNCATE_AT", 2000)
    tap = LogTap()
    c = CStream(Path(tap.path))
    c.write(ENTRIES[0])  # logged before the tap attaches (pjsua's banner): flushed by setvbuf
    try:
        tap.attach()
        assert tap.mark() == len(ENTRIES[0])
        written = len(ENTRIES[0])
        ends: list[int] = []
        for entry in ENTRIES[1:7]:
            c.write(entry)
            written += len(entry)
            assert tap.mark() == written
            assert os.fstat(tap._fd or -1).st_size < written  # the mark flushed nothing
            ends.extend(end for end, _, _ in tap.read())
            assert tap.mark() == written == ends[-1]
        assert tap._base > 0  # the file was cut back on the way; positions kept counting
        assert ends == [sum(map(len, ENTRIES[: i + 1])) for i in range(7)]
    finally:
        c.close()
        tap.close()
