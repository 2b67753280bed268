"""Server nonces: shape, lifetime (stale), forgery, nonce-count replay, bounded memory."""

from __future__ import annotations

import re

import pytest

from softphone.sip.nonce import NonceManager, NonceStatus


def test_nonce_shape_and_uniqueness():
    nm = NonceManager(b"k" * 32)
    nonces = {nm.new_nonce(1000.0) for _ in range(5000)}
    assert len(nonces) == 5000  # same instant, still all different (counter)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", n) for n in nonces)
    assert all(nm.check(n, "00000001", 1000.0) is NonceStatus.VALID for n in nonces)


def test_nonce_valid_then_stale():
    nm = NonceManager(b"secret", lifetime=30.0)
    n = nm.new_nonce(100.0)
    assert nm.check(n, "00000001", 100.0) is NonceStatus.VALID
    assert nm.check(n, "00000002", 130.0) is NonceStatus.VALID
    assert nm.check(n, "00000003", 130.002) is NonceStatus.STALE
    assert nm.check(nm.new_nonce(200.0), None, 150.0) is NonceStatus.STALE  # from the future


def test_forged_and_garbled_nonces_are_invalid():
    nm = NonceManager(b"secret")
    n = nm.new_nonce(10.0)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i, ch in enumerate(n):  # every single-character change, including the last one
        swapped = alphabet[(alphabet.index(ch) + 1) % 64]
        assert nm.check(n[:i] + swapped + n[i + 1 :], "00000001", 10.0) is NonceStatus.INVALID
    garbled_forms = [
        "",
        n[:-1],
        n + "A",
        n[:-1] + "=",
        n.replace(n[3], "+"),
        "é" * 40,
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        n[:20] + "!" + n[21:],
    ]
    for garbled in garbled_forms:
        assert nm.check(garbled, "00000001", 10.0) is NonceStatus.INVALID
    # The standard-alphabet spellings of "-" and "_" decode to the same bytes: still refused.
    dashed = next(m for m in iter(lambda: nm.new_nonce(10.0), None) if "-" in m or "_" in m)
    std = dashed.replace("-", "+").replace("_", "/")
    assert nm.check(std, "00000001", 10.0) is NonceStatus.INVALID
    assert NonceManager(b"other").check(n, "00000001", 10.0) is NonceStatus.INVALID
    assert nm.check(n, "00000001", 10.0) is NonceStatus.VALID  # none of the above recorded


def test_nonce_count_replay():
    nm = NonceManager(b"secret")
    n = nm.new_nonce(0.0)
    assert nm.check(n, "00000000", 0.0) is NonceStatus.REPLAY  # nc starts at 1
    assert nm.check(n, "00000005", 0.0) is NonceStatus.VALID
    assert nm.check(n, "00000005", 0.0) is NonceStatus.REPLAY
    assert nm.check(n, "00000003", 0.0) is NonceStatus.REPLAY
    assert nm.check(n, "zz", 0.0) is NonceStatus.INVALID
    assert nm.check(n, "00000006", 0.0) is NonceStatus.VALID  # REPLAY/INVALID recorded nothing
    assert nm.check(n, "0000000A", 0.0) is NonceStatus.VALID
    assert nm.check(n, None, 0.0) is NonceStatus.REPLAY  # qop nonce reused without qop
    single = nm.new_nonce(0.0)
    assert nm.check(single, None, 0.0) is NonceStatus.VALID
    assert nm.check(single, None, 1.0) is NonceStatus.REPLAY
    assert nm.check(single, "ffffffff", 1.0) is NonceStatus.REPLAY


def test_replay_memory_is_bounded():
    lifetime, step = 10.0, 0.01
    nm = NonceManager(b"secret", lifetime=lifetime)
    peak = 0
    for i in range(int(20 * lifetime / step)):  # 20 lifetimes of steady traffic, 100 nonces/s
        now = i * step
        assert nm.check(nm.new_nonce(now), "00000001", now) is NonceStatus.VALID
        peak = max(peak, nm.remembered())
    assert peak <= 2 * lifetime / step + 1  # never more than two lifetimes' worth
    assert nm.remembered() >= lifetime / step  # ...but at least the live ones
    burst_at = 1000.0
    for _ in range(5000):
        nm.check(nm.new_nonce(burst_at), "00000001", burst_at)
    assert nm.remembered() >= 5000
    nm.new_nonce(burst_at + 2 * lifetime)  # any call after two lifetimes drops the old buckets
    assert nm.remembered() == 0


def test_nonce_manager_rejects_bad_setup():
    with pytest.raises(ValueError):
        NonceManager(b"")
    with pytest.raises(ValueError):
        NonceManager(b"k", lifetime=0)
    long_key = NonceManager(b"k" * 200)  # longer than a BLAKE2b key: hashed down, still works
    assert long_key.check(long_key.new_nonce(5.0), None, 5.0) is NonceStatus.VALID
