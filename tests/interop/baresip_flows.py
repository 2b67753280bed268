"""baresip call flows shared by the reference (direct, Kamailio) and our-registrar tests."""

from __future__ import annotations

import time
from pathlib import Path

from tests.peers import audio
from tests.peers.baresip import Baresip

ALICE_HZ, BOB_HZ = 1000.0, 600.0
HEARD_SECONDS = 1.0  # audio each side must receive before the call is hung up
SETUP_TIMEOUT = 5.0


def tls_established_on(port: int) -> bool:
    """True if some TCP connection to local `port` is ESTABLISHED (Linux /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            return True
    return False


def establish(caller: Baresip, callee: Baresip, uri: str, *, manual: bool = False) -> float:
    """Dial and wait until both sides report the call up; returns the setup time in seconds."""
    start = time.monotonic()
    caller.dial(uri)
    if manual:
        callee.wait_for_event("CALL_INCOMING", SETUP_TIMEOUT, unless=("CALL_CLOSED",))
        callee.answer()
    caller.wait_for_event("CALL_ESTABLISHED", SETUP_TIMEOUT, unless=("CALL_CLOSED",))
    callee.wait_for_event("CALL_ESTABLISHED", SETUP_TIMEOUT, unless=("CALL_CLOSED",))
    return time.monotonic() - start


def media_and_hangup(caller: Baresip, callee: Baresip) -> None:
    """Let audio flow both ways, hang up from the caller, then check what each side heard."""
    caller.wait_for_received_audio(HEARD_SECONDS)
    callee.wait_for_received_audio(HEARD_SECONDS)
    caller.hangup()
    caller.wait_for_event("CALL_CLOSED", SETUP_TIMEOUT)
    callee.wait_for_event("CALL_CLOSED", SETUP_TIMEOUT)
    for listener, speaker in ((caller, callee), (callee, caller)):
        heard = audio.analyse(listener.recording())
        where = f"{listener.name} hearing {speaker.name}: {heard}"
        assert abs(heard.dominant_hz - speaker.tone_hz) <= 10, where
        assert heard.band_share > 0.9, where
        assert heard.active_share > 0.8, where
        assert heard.seconds >= HEARD_SECONDS, where
