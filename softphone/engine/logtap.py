"""pjsua's log file as the engine's SIP capture: written by pjsip in C, read by the poll loop.

Why a file and not the LogWriter callback: the callback runs for every SIP message inside
pjsip's processing, before pjsip answers (a 401 is logged, then the authenticated REGISTER is
built and logged, then sent), and each crossing into Python (GIL, SWIG director, proxy
objects) cost 25–45 µs there. pjsua's own log file costs an fwrite into a stdio buffer. So
pjsua writes every entry up to logConfig.level into a file (consoleLevel 2 keeps only
warnings and errors on the callback), and the engine thread reads it once SIP has settled.

The file lives in a private directory (0700) and is unlinked as soon as libInit has opened
it: the capture holds Authorization headers, and nothing else should ever read it. pjsua
writes through buffered stdio, so every read starts with `fflush(NULL)` (the engine thread is
the only SIP thread: threadCnt 0, engine-notes §1). Once more than TRUNCATE_AT bytes have been
read, the file is cut back to zero: pjsua opened it with O_APPEND, so its next write lands at
the new end. Positions handed out by `mark()` count every byte ever written, across cuts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
import time
from typing import Any

from softphone.engine import stdio_stream
from softphone.engine.stdio_stream import StdioStream
from softphone.sip.pjlog_split import entry_clock, split_entries

TRUNCATE_AT = 4 * 1024 * 1024  # bytes read before the private file is cut back to empty
_READ_SIZE = 1 << 20


class _Libc:
    """fflush and lseek from the C library, called *without* releasing the GIL (PyDLL).

    `mark()` runs inside pjsua callbacks; a call that releases the GIL there (ctypes.CDLL,
    os.fstat) may hand it to a waiting Python thread, and pjsip would then wait for that
    thread to let go. With pjsua's stream found (stdio_stream.py) a mark reads the stream's
    write pointer and needs none of this; without it, every mark flushes all of stdio and
    seeks (`logged`).
    """

    def __init__(self) -> None:
        self.dll: Any = None
        self.stream: StdioStream | None = None
        try:
            libc = ctypes.PyDLL(None)
            libc.fflush.argtypes = [ctypes.c_void_p]
            libc.fflush.restype = ctypes.c_int
            libc.lseek.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int]
            libc.lseek.restype = ctypes.c_int64
        except (OSError, AttributeError):  # no C library to reach (not POSIX)
            return
        self.dll = libc

    def adopt_stream(self, fd: int) -> None:
        if self.dll is not None:
            self.stream = stdio_stream.find(self.dll, fd)

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()
        elif self.dll is not None:
            self.dll.fflush(None)

    def size(self, fd: int) -> int:
        if self.dll is not None:
            return int(self.dll.lseek(fd, 0, os.SEEK_END))
        return os.fstat(fd).st_size

    def logged(self, fd: int) -> int:
        """Bytes pjsua has logged into the file so far, flushed or not."""
        if self.stream is not None:
            return self.size(fd) + self.stream.buffered()
        self.flush()
        return self.size(fd)


class LogTap:
    """Reads the entries pjsua appends to its log file, in order, each with its time."""

    def __init__(self, path: str | None = None) -> None:
        """`path`: the user's own pjsua log file (kept, never cut); None: a private one."""
        self._private = path is None
        self._dir = tempfile.mkdtemp(prefix="softphone-pjlog-") if path is None else None
        self.path = path or os.path.join(self._dir or "", "pjsua.log")
        self._fd: int | None = None
        self._base = 0  # bytes cut away before the file's current start
        self._offset = 0  # how far into the file we have read
        self._tail = b""  # the start of an entry not yet whole
        self._libc = _Libc()
        # The cheap mark (see `mark`): a view of pjsua's stream's write pointer, the range
        # it moves in (our buffer), and position − pointer as of the last flush.
        self._write_ptr: ctypes.c_size_t | None = None
        self._ptr_range = (0, 0)
        self._origin = 0

    def attach(self) -> None:
        """Open the file pjsua has just created (after libInit) and, if private, unlink it."""
        try:
            try:
                self._fd = os.open(self.path, os.O_RDWR if self._private else os.O_RDONLY)
            except OSError as exc:
                raise RuntimeError(
                    f"SIP capture: cannot open pjsua's log file {self.path}: {exc.strerror}"
                ) from None
            self._libc.adopt_stream(self._fd)
            if not self._private:
                # A user's file may hold earlier runs: start at its current end.
                self._libc.flush()
                self._offset = self._libc.size(self._fd)
            stream = self._libc.stream
            if stream is not None:
                # setvbuf has just flushed the stream: the file holds everything logged.
                self._write_ptr = stream.write_ptr
                self._ptr_range = (stream.buffer_start, stream.buffer_end)
                self._origin = self._base + self._libc.size(self._fd) - stream.buffer_start
        finally:
            self._remove_private()

    def mark(self) -> int:
        """The position just after everything logged so far (stable across cuts).

        Called inside pjsua callbacks, right after pjsip sent a request whose answer is on its
        way, so the common case is one memory load: what the file held at the last flush (the
        origin) plus where pjsua's stream is writing in our buffer. Only the stream flushes
        the buffer (ours in `read`; glibc's own when 1 MB fills up between two reads, after
        which marks read short until the next `read`, so an event may come out a few traces
        early; never lost)."""
        ptr = self._write_ptr
        if ptr is not None:
            at = ptr.value
            low, high = self._ptr_range
            if low <= at <= high:
                return self._origin + at
        if self._fd is None:
            return self._base + self._offset
        return self._base + self._libc.logged(self._fd)

    def read(self) -> list[tuple[int, float, bytes]]:
        """Every whole entry logged since the last read: (end position, time, entry bytes)."""
        fd = self._fd
        if fd is None:
            return []
        self._libc.flush()
        chunks = [self._tail]
        while True:
            chunk = os.pread(fd, _READ_SIZE, self._offset)
            if not chunk:
                break
            chunks.append(chunk)
            self._offset += len(chunk)
        if self._write_ptr is not None:
            # Flushed: the file ends where the buffer starts again (what a media thread may
            # have logged since the flush is in the buffer, counted from its start).
            self._origin = self._base + self._offset - self._ptr_range[0]
        data = b"".join(chunks)
        if not data:
            return []
        # After the flush the file ends on an entry boundary, unless another thread (a media
        # thread logging a warning) is writing at this very moment: then the split keeps its
        # unfinished entry for the next read.
        entries, used = split_entries(data, complete=True)
        self._tail = data[used:]
        start = self._base + self._offset - len(data)
        out: list[tuple[int, float, bytes]] = []
        stamp = _Clock(time.time())
        for entry in entries:
            start += len(entry)
            out.append((start, stamp.of(entry), entry))
        if self._private and self._offset >= TRUNCATE_AT and not self._tail:
            os.ftruncate(fd, 0)
            self._base += self._offset
            self._offset = 0
        return out

    def close(self) -> None:
        self._write_ptr = None  # the stream (and its view) goes with libDestroy
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._remove_private()

    def _remove_private(self) -> None:
        if self._dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._dir)
            self._dir = None


class _Clock:
    """Entry decoration (local HH:MM:SS.mmm) → epoch seconds, near `now` (the read time).

    pjlib prints no date, so the date is today's unless that puts the entry in the future,
    which means it was logged before midnight and read after. Each second goes through mktime
    (cached: a read's entries share a few seconds at most), so DST changes are honoured."""

    def __init__(self, now: float) -> None:
        self._now = now
        self._today = time.localtime(now)[:3]
        self._seconds: dict[tuple[int, int, int], float] = {}

    def of(self, entry: bytes) -> float:
        clock = entry_clock(entry)
        if clock is None:
            return self._now
        hms = clock[:3]
        second = self._seconds.get(hms)
        if second is None:
            year, month, day = self._today
            second = time.mktime((year, month, day, *hms, 0, 0, -1))
            if second > self._now + 60:  # yesterday's entry, read after midnight
                second -= 86400
            self._seconds[hms] = second
        return second + clock[3] / 1000
