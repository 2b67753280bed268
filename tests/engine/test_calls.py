"""Calls between engine processes through real registrars/proxies, and trunk mode.

Our lab registrar (a forking proxy) and Kamailio route the calls; each phone is an Engine in its
own process. What is asserted is what the far end saw, not what the near end believes: the
callee's DTMF events, the callee's hold state, the CANCEL reason at the losing device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.harness import EngineProc, account
from tests.peers.kamailio import Kamailio
from tests.peers.ports import free_port_block
from tests.peers.registrar import OurRegistrar

pytestmark = pytest.mark.interop

Engines = Callable[..., EngineProc]
Server = Kamailio | OurRegistrar


def _phone(engines: Engines, server: Server, user: str, name: str | None = None) -> EngineProc:
    """An engine registered as `user` at `server`, routing calls through it."""
    proc = engines(name or user)
    proxy = f"sip:127.0.0.1:{server.port};lr"
    proc.cmd(
        "add_account",
        **account(user, user, f"{user}-pw", server.domain, server.port, proxy=proxy),
    )
    proc.wait_event("RegistrationEvent", account=user, state="registered")
    return proc


def _uri(server: Server, user: str) -> str:
    # Kamailio treats a port-less 127.0.0.1 as port 5060, i.e. not itself (kamailio_cfg.py).
    return f"sip:{user}@127.0.0.1:{server.port}"


def _call(caller: EngineProc, callee: EngineProc, server: Server, user: str) -> tuple[int, int]:
    """Dial, answer at the callee; return (caller handle, callee handle) once both confirm."""
    start = time.monotonic()
    mark_in = callee.mark()
    handle = caller.cmd("make_call", caller.name.split("-")[0], _uri(server, user))
    incoming = callee.wait_event("IncomingCallEvent", since=mark_in)
    callee.cmd("answer", incoming["call"])
    caller.wait_event("CallEvent", call=handle, state="confirmed")
    callee.wait_event("CallEvent", since=mark_in, call=incoming["call"], state="confirmed")
    print(f"\ncall setup (INVITE → both CONFIRMED): {(time.monotonic() - start) * 1000:.1f} ms")
    return handle, incoming["call"]


def _digits(proc: EngineProc, count: int) -> str:
    found = proc.wait_count("DtmfEvent", count)
    assert all(e["method"] == "rfc4733" for e in found), found
    return "".join(e["digit"] for e in found)


def test_call_hold_dtmf_hangup(engines: Engines, registrar: OurRegistrar) -> None:
    alice, bob = _phone(engines, registrar, "alice"), _phone(engines, registrar, "bob")
    out, inc = _call(alice, bob, registrar, "bob")
    confirmed = alice.wait_event("CallEvent", call=out, where=lambda e: e["codec"] is not None)
    assert confirmed["codec"] == "PCMU/8000" and confirmed["srtp_suite"] is None
    # Hold: re-INVITE a=sendonly; the far end reports being held by the remote party.
    mark = bob.mark()
    alice.cmd("hold", out)
    assert bob.wait_event("CallEvent", since=mark, call=inc, state="held")["hold"] == "remote"
    assert alice.wait_event("CallEvent", call=out, state="held")["hold"] == "local"
    mark, mark_alice = bob.mark(), alice.mark()
    alice.cmd("unhold", out)
    bob.wait_event("CallEvent", since=mark, call=inc, state="confirmed", hold=None)
    # Alice's stream is re-created when the 200 to her re-INVITE is processed: digits sent
    # before that go to the old stream and are lost, so wait for her media update too.
    alice.wait_event("CallEvent", since=mark_alice, call=out, state="confirmed", hold=None)
    # DTMF as RFC 4733 telephone-events, decoded by the far end's stream.
    alice.cmd("send_dtmf", out, "159#*0")
    assert _digits(bob, 6) == "159#*0"
    stats = alice.cmd("call_info", out)["rtp"]
    assert stats["tx_packets"] > 0 and stats["rx_packets"] > 0, stats
    alice.cmd("hangup", out)
    gone = bob.wait_event("CallEvent", call=inc, state="disconnected")
    assert gone["code"] == 200 and not gone["answered_elsewhere"]
    ended = alice.wait_event("CallEvent", call=out, state="disconnected")
    assert ended["rtp"] is not None and ended["rtp"]["tx_packets"] > 0
    assert ended["duration"] > 0


def test_the_first_event_of_a_call_we_make_is_calling_right_after_its_invite(
    engines: Engines, registrar: OurRegistrar
) -> None:
    """CALLING is put together once SIP has settled, not read in its callback (call.py): it
    still says what CALLING says (no response yet) and still sits between the INVITE that
    started the call and the first response, in the order the sink sees them."""
    alice, bob = _phone(engines, registrar, "alice"), _phone(engines, registrar, "bob")
    mark = alice.mark()
    out, _ = _call(alice, bob, registrar, "bob")
    events = alice.events[mark:]
    first = next(i for i, e in enumerate(events) if e["type"] == "CallEvent")
    calling = events[first]
    assert calling["call"] == out and calling["state"] == "calling"
    assert (calling["code"], calling["reason"]) == (0, "")
    assert calling["remote"] == _uri(registrar, "bob") and calling["call_id"]
    mine = [
        e["trace"]["summary"]
        for e in events
        if e["type"] == "TraceEvent" and e["trace"].get("call_id") == calling["call_id"]
    ]
    before = [
        e["trace"]["summary"]
        for e in events[:first]
        if e["type"] == "TraceEvent" and e["trace"].get("call_id") == calling["call_id"]
    ]
    assert len(before) == 1 and before[0].startswith("INVITE"), (before, mine)
    assert len(mine) > 1  # the responses came after it
    states = [e["state"] for e in events if e["type"] == "CallEvent" and e["call"] == out]
    assert states.count("calling") == 1 and states[-1] == "confirmed", states


@pytest.mark.parametrize("server", ["ours", "kamailio"])
def test_forked_call_answered_elsewhere(
    server: str,
    engines: Engines,
    make_registrar: Callable[..., OurRegistrar],
    make_kamailio: Callable[..., Kamailio],
) -> None:
    reg: Server = make_registrar() if server == "ours" else make_kamailio()
    alice = _phone(engines, reg, "alice")
    desk, mobile = _phone(engines, reg, "bob", "bob-desk"), _phone(engines, reg, "bob", "bob-mob")
    handle = alice.cmd("make_call", "alice", _uri(reg, "bob"))
    ring_desk = desk.wait_event("IncomingCallEvent")
    mobile.wait_event("IncomingCallEvent")
    ringing = alice.wait_event("CallEvent", call=handle, where=lambda e: e["devices_ringing"] == 2)
    assert ringing["state"] == "early"
    desk.cmd("answer", ring_desk["call"])
    alice.wait_event("CallEvent", call=handle, state="confirmed")
    lost = mobile.wait_event("CallEvent", state="disconnected")
    # CANCEL with Reason: SIP;cause=200 (RFC 3326): not a missed call.
    assert lost["answered_elsewhere"] is True and lost["code"] == 487
    cancel = [t for t in mobile.traces() if t["summary"] == "CANCEL"]
    assert cancel and "cause=200" in cancel[0]["raw"]
    alice.cmd("hangup", handle)
    desk_end = desk.wait_event("CallEvent", state="disconnected")
    assert desk_end["answered_elsewhere"] is False


def test_blind_transfer(engines: Engines, registrar: OurRegistrar) -> None:
    alice, bob = _phone(engines, registrar, "alice"), _phone(engines, registrar, "bob")
    carol = _phone(engines, registrar, "carol")
    out, inc = _call(alice, bob, registrar, "bob")
    bob.cmd("transfer", inc, _uri(registrar, "carol"))  # REFER (RFC 3515)
    ring = carol.wait_event("IncomingCallEvent")
    assert "alice" in ring["remote"]
    carol.cmd("answer", ring["call"])
    final = bob.wait_event("TransferEvent", call=inc, final=True)
    assert final["code"] == 200
    new = alice.wait_event(
        "CallEvent", where=lambda e: e["call"] != out and e["state"] == "confirmed"
    )
    assert new["remote"].startswith(_uri(registrar, "carol"))
    bob.cmd("hangup", inc)
    alice.wait_event("CallEvent", call=out, state="disconnected")
    alice.cmd("hangup", new["call"])
    carol.wait_event("CallEvent", state="disconnected")


def test_several_calls_at_once(engines: Engines, registrar: OurRegistrar) -> None:
    alice = _phone(engines, registrar, "alice")
    bob, carol = _phone(engines, registrar, "bob"), _phone(engines, registrar, "carol")
    first, _ = _call(alice, bob, registrar, "bob")
    alice.cmd("hold", first)
    second, _ = _call(alice, carol, registrar, "carol")
    live = {c["call"]: c["state"] for c in alice.cmd("list_calls")}
    assert live == {first: "held", second: "confirmed"}
    alice.cmd("mute", second, True)
    assert alice.cmd("call_info", second)["muted"] is True
    for handle in (first, second):
        alice.cmd("hangup", handle)
        alice.wait_event("CallEvent", call=handle, state="disconnected")
    assert alice.cmd("list_calls") == []


def test_trunk_mode_digest_on_invite_and_no_register(engines: Engines, kamailio: Kamailio) -> None:
    bob = _phone(engines, kamailio, "bob")
    trunk = engines("alice-trunk")
    proxy = f"sip:127.0.0.1:{kamailio.port};lr"
    trunk.cmd(
        "add_account", **account("alice", "alice", "alice-pw", "127.0.0.1", None, proxy=proxy)
    )
    handle = trunk.cmd("make_call", "alice", _uri(kamailio, "bob"))
    incoming = bob.wait_event("IncomingCallEvent")
    bob.cmd("answer", incoming["call"])
    trunk.wait_event("CallEvent", call=handle, state="confirmed")
    sent = [t for t in trunk.traces() if t["direction"] == "out"]
    assert not [t for t in sent if t["summary"] == "REGISTER"]
    invites = [t for t in sent if t["summary"] == "INVITE"]
    assert len(invites) == 2 and "proxy-authorization:" in invites[1]["raw"].lower()
    statuses = [t["summary"] for t in trunk.traces() if t["direction"] == "in"]
    assert statuses[0] == "407 Proxy Authentication Required"
    assert not trunk.find("RegistrationEvent")
    trunk.cmd("hangup", handle)
    bob.wait_event("CallEvent", state="disconnected")


def _trunk(engines: Engines, name: str, **fields: Any) -> tuple[EngineProc, int]:
    port = free_port_block([0])
    proc = engines(name, sip_port=port)
    proc.cmd("add_account", **account(name, name, "x", "127.0.0.1", None, **fields))
    return proc, port


def test_trunk_inbound_ip_acl_and_caller_id(engines: Engines) -> None:
    caller, _ = _trunk(engines, "pbx", caller_id="+15551230000")
    closed, closed_port = _trunk(engines, "closed", allowed_cidrs=["192.0.2.0/24"])
    opened, open_port = _trunk(engines, "opened", allowed_cidrs=["127.0.0.0/8"])
    refused = caller.cmd("make_call", "pbx", f"sip:+15557654321@127.0.0.1:{closed_port}")
    ended = caller.wait_event("CallEvent", call=refused, state="disconnected")
    assert (ended["code"], ended["reason"]) == (403, "Forbidden by IP ACL")
    assert not closed.find("IncomingCallEvent") and not closed.find("CallEvent")
    note = closed.wait_event("LogEvent", where=lambda e: "not in the IP ACL" in e["message"])
    assert "127.0.0.1" in note["message"]
    accepted = caller.cmd("make_call", "pbx", f"sip:+15557654321@127.0.0.1:{open_port}")
    ring = opened.wait_event("IncomingCallEvent")
    assert ring["source"].startswith("127.0.0.1:")
    assert "+15551230000" in ring["remote"]  # the caller ID went out in From
    opened.cmd("reject", ring["call"], 486)
    busy = caller.wait_event("CallEvent", call=accepted, state="disconnected")
    assert busy["code"] == 486


def test_options_qualify(engines: Engines, kamailio: Kamailio) -> None:
    dead_port = free_port_block([0], kinds=("tcp",))
    proc = engines("qualify")
    proxy = f"sip:127.0.0.1:{kamailio.port};lr"
    proc.cmd(
        "add_account",
        **account("trunk", "alice", "x", "127.0.0.1", None, proxy=proxy, options_interval=15),
    )
    proc.cmd(
        "add_account",
        **account("gone", "carol", "x", "127.0.0.1", None, transport="tcp",
                  proxy=f"sip:127.0.0.1:{dead_port};lr", options_interval=15),
    )  # fmt: skip
    first = proc.wait_event("QualifyEvent", account="trunk")
    assert first["reachable"] and first["code"] == 200 and first["rtt_ms"] < 500
    dead = proc.wait_event("QualifyEvent", account="gone")
    assert not dead["reachable"] and dead["code"] == 503 and dead["rtt_ms"] is None
    second = proc.wait_event("QualifyEvent", account="trunk", since=proc.events.index(first) + 1,
                             timeout=20)  # fmt: skip
    gap = second["_t"] - first["_t"]
    print(f"\nqualify rtt {first['rtt_ms']:.1f} ms, interval {gap:.2f} s")
    assert 14.5 <= gap <= 16.0
