"""What `softphone lab` puts on the lab: demo users, the far end's numbers, and the legend.

One place for the names a newcomer reads on screen, the far end registers and the tests dial,
so the legend can never describe a number that behaves differently. The numbers follow the
test lines phone engineers know: an echo line, a milliwatt-style tone line, a busy line, a line
that rings out, and a user with several phones (parallel forking, RFC 3261 §16.7).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# People: a SIP phone (or the TUI) registers as one of them. alice is the TUI's own user.
DEMO_USERS = {"alice": "alice-lab-pw", "bob": "bob-lab-pw", "carol": "carol-lab-pw"}
TUI_USER = "alice"
REALM = "softphone.lab"  # registrar_cli.DEFAULT_REALM (a test keeps them in step)

Role = Literal["echo", "tone", "busy", "no-answer", "multi-ring", "multi-answer"]

ECHO, TONE, BUSY, NO_ANSWER, MULTI = "600", "601", "602", "603", "700"
TONE_HZ = 1004.0  # the milliwatt test tone: not a divisor of 8 kHz, so every sample differs
TONE_SECONDS = 10.0  # then the far end hangs up: its BYE shows on the ladder
MULTI_ANSWER_DELAY = 3.0  # seconds both 700 phones ring before one of them answers
NO_ANSWER_LIMIT = 120.0  # 603 gives up with 480 after this, so a lost caller leaks nothing


@dataclass(frozen=True)
class Device:
    """One registration the far end makes: a user on one transport, doing one thing."""

    account: str  # the far end's account name
    user: str
    transport: Literal["udp", "tcp"]
    role: Role


@dataclass(frozen=True)
class LabNumber:
    user: str
    summary: str


NUMBERS = (
    LabNumber(ECHO, "echo: answers and sends back what it hears"),
    LabNumber(TONE, f"tone: answers, plays {TONE_HZ:g} Hz for {TONE_SECONDS:g} s, hangs up"),
    LabNumber(BUSY, "busy: rings, then 486 Busy Here"),
    LabNumber(NO_ANSWER, "no answer: rings until you hang up"),
    LabNumber(
        MULTI,
        f"one user, several phones: desk and mobile ring (and the TUI, as lab-700);\n"
        f"       mobile answers after {MULTI_ANSWER_DELAY:g} s with echo, the others get "
        "CANCEL 'completed elsewhere'",
    ),
)

# Two registrations of 700, from two processes: pjsua answers the second fork of one INVITE
# reaching the same endpoint with 482 Loop Detected (a merged request, RFC 3261 §8.2.2.2), so
# each phone of a forked user needs an endpoint of its own. Different transports also give the
# registrar two Contact URIs to keep (RFC 3261 §10.3 compares them) and show a mixed fork.
DEVICES = (
    Device(ECHO, ECHO, "udp", "echo"),
    Device(TONE, TONE, "udp", "tone"),
    Device(BUSY, BUSY, "udp", "busy"),
    Device(NO_ANSWER, NO_ANSWER, "udp", "no-answer"),
    Device(f"{MULTI}-desk", MULTI, "udp", "multi-ring"),
    Device(f"{MULTI}-mobile", MULTI, "tcp", "multi-answer"),
)
# Which devices share a far-end process (one pjsua2 endpoint each).
PROCESSES = (
    tuple(d.account for d in DEVICES if d.role != "multi-answer"),
    tuple(d.account for d in DEVICES if d.role == "multi-answer"),
)

FAR_END_USERS = tuple(dict.fromkeys(d.user for d in DEVICES))


def password_of(user: str) -> str:
    """Demo passwords follow one pattern, so a real phone can join 700 as a third device."""
    return DEMO_USERS.get(user, f"{user}-lab-pw")


def lab_users() -> dict[str, str]:
    """Every user the lab registrar knows: the people and the far end's numbers."""
    return {**DEMO_USERS, **{u: password_of(u) for u in FAR_END_USERS}}


def legend(port: int, *, short: bool = False) -> str:
    """The numbers in plain words; `short` fits a title bar."""
    if short:
        return "lab: 600 echo · 601 tone · 602 busy · 603 no answer · 700 multi-device"
    lines = [f"  {n.user}  {n.summary}" for n in NUMBERS]
    people = ", ".join(f"{u} ({pw})" for u, pw in DEMO_USERS.items())
    return "\n".join(
        [
            f"lab numbers (registrar sip:127.0.0.1:{port}, TLS {port + 1}, realm softphone.lab):",
            *lines,
            f"  users for your own SIP phones: {people}",
        ]
    )
