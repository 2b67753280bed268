"""tests.peers.ports: blocks handed out are held back for a while, then given out again."""

from __future__ import annotations

import pytest

from tests.peers import ports


def test_a_handed_out_block_is_held_then_released_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("tests.peers.ports.time.monotonic", lambda: clock[0])
    monkeypatch.setattr(ports, "_handed_out", {})
    offsets = list(range(0, 400, 2))  # the lab's RTP range
    base = ports.free_port_block(offsets, kinds=("udp",))
    held = {base + off for off in offsets}
    assert held <= set(ports._handed_out)
    # Within the hold nothing handed out overlaps it.
    for _ in range(20):
        again = ports.free_port_block([0, 2], kinds=("udp",))
        assert not {again, again + 2} & held
    clock[0] += ports.HOLD_S
    ports.free_port_block([0], kinds=("udp",))  # any call forgets what has expired
    assert not held & set(ports._handed_out)


def test_release_forgets_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "_handed_out", {})
    port = ports.free_port("udp")
    ports.release([port])
    assert port not in ports._handed_out
