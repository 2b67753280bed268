"""SO_REUSEPORT groups for the lab's worker processes (Linux).

Kept apart from transport.py because it needs ctypes (for the BPF program) and the transport
module is compiled with mypyc, which does not handle ctypes structures.
"""

from __future__ import annotations

import ctypes
import socket

from softphone.lab.transport import ListenSpec, family_of

# Linux: SO_ATTACH_REUSEPORT_CBPF and the classic-BPF "random" ancillary load (linux/filter.h).
_SO_ATTACH_REUSEPORT_CBPF = 51
_SKF_AD_RANDOM = 0xFFFFF000 + 56


class _SockFilter(ctypes.Structure):
    _fields_ = [  # noqa: RUF012 - ctypes wants a plain list
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]  # noqa: RUF012


def bind_udp_group(spec: ListenSpec, count: int) -> list[socket.socket]:
    """`count` UDP sockets on one address (SO_REUSEPORT), each datagram handed to one of them
    at random by a classic-BPF program, so each worker wakes only for its own datagrams (one
    shared socket would wake every worker for every datagram)."""
    first = _reuseport_socket(spec, spec.port)
    port = first.getsockname()[1]
    group = [first] + [_reuseport_socket(spec, port) for _ in range(count - 1)]
    program = (_SockFilter * 3)(
        _SockFilter(0x20, 0, 0, _SKF_AD_RANDOM),  # A = random()        (BPF_LD|BPF_W|BPF_ABS)
        _SockFilter(0x94, 0, 0, count),  # A = A % count                 (BPF_ALU|BPF_MOD|BPF_K)
        _SockFilter(0x16, 0, 0, 0),  # return A: the socket index        (BPF_RET|BPF_A)
    )
    fprog = _SockFprog(len(program), program)
    first.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_REUSEPORT_CBPF, bytes(fprog))
    return group


def _reuseport_socket(spec: ListenSpec, port: int) -> socket.socket:
    sock = socket.socket(family_of(spec.host), socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    try:
        sock.bind((spec.host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
