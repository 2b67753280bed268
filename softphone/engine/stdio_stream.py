"""The C stdio stream pjsua writes its log file through, so the engine can size its buffer.

pjsua writes the log with fwrite into a stdio buffer of st_blksize (4 KB). A call set-up logs
about 10 KB, so glibc wrote to the file 2–3 times in the middle of pjsip's work, each write
10–35 µs in situ (measured), some of them between a received 407 and the INVITE that answers
it. With a 1 MB buffer glibc never writes on its own between two reads of the engine loop,
which flushes the stream itself once SIP has settled; and how far pjsua has logged is the
file's size plus what the buffer holds, read without a system call that writes.

pjsua keeps its FILE* to itself, so it is found in glibc's list of open streams
(`_IO_list_all`, linked by `_chain`) by the stream's file descriptor, checked against the
device and inode of the engine's own descriptor for the same file. The two offsets used are
those of `struct _IO_FILE` on 64-bit glibc, unchanged since glibc 2.1 (they are the public
layout getc_unlocked and friends compile against). Anywhere else (another libc, 32-bit), or
if the stream is not found, `find` returns None and the tap flushes with fflush(NULL) instead.
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Any

BUFFER_SIZE = 1 << 20
_WRITE_BASE, _WRITE_PTR, _CHAIN, _FILENO = 32, 40, 104, 112  # struct _IO_FILE, LP64 glibc
_IOFBF = 0
_MAX_STREAMS = 4096  # a guard against walking a corrupt list forever


class StdioStream:
    """One FILE* (by address) with a buffer of our own; the buffer must outlive the stream.

    `write_ptr` is a view of the stream's `_IO_write_ptr` made once: reading `.value` is one
    memory load, cheap enough for the engine's ordering marks inside pjsua callbacks, where
    every extra Python call is paid with pjsip waiting (logtap.py)."""

    def __init__(self, libc: Any, address: int) -> None:
        self._libc = libc
        self.address = address
        self._buffer = ctypes.create_string_buffer(BUFFER_SIZE)
        self.buffer_start = ctypes.addressof(self._buffer)
        self.buffer_end = self.buffer_start + BUFFER_SIZE
        # setvbuf after I/O: glibc flushes what is buffered, then switches to our buffer and
        # points _IO_write_ptr at its start; every flush points it back there.
        if libc.setvbuf(address, self._buffer, _IOFBF, BUFFER_SIZE) != 0:
            raise OSError("setvbuf refused the log stream's buffer")
        self.write_ptr = ctypes.c_size_t.from_address(address + _WRITE_PTR)

    def flush(self) -> None:
        self._libc.fflush(self.address)

    def buffered(self) -> int:
        """Bytes written into the buffer and not yet to the file."""
        base = ctypes.c_size_t.from_address(self.address + _WRITE_BASE).value
        ptr = self.write_ptr.value
        return ptr - base if base and ptr > base else 0


def find(libc: Any, fd: int) -> StdioStream | None:
    """The stream writing the file open as `fd`, with a 1 MB buffer; None if not found."""
    if platform.libc_ver()[0] != "glibc" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    try:
        target = os.fstat(fd)
        libc.setvbuf.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t]
        libc.setvbuf.restype = ctypes.c_int
        address = ctypes.c_void_p.in_dll(libc, "_IO_list_all").value
    except (OSError, AttributeError, ValueError):
        return None
    for _ in range(_MAX_STREAMS):
        if not address:
            return None
        fileno = ctypes.c_int.from_address(address + _FILENO).value
        if fileno >= 0 and fileno != fd and _same_file(fileno, target):
            try:
                return StdioStream(libc, address)
            except OSError:
                return None
        address = ctypes.c_void_p.from_address(address + _CHAIN).value
    return None


def _same_file(fileno: int, target: os.stat_result) -> bool:
    try:
        info = os.fstat(fileno)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == (target.st_dev, target.st_ino)
