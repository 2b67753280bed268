"""Routing decisions and the §16.7 best-response choice, without sockets."""

from __future__ import annotations

import pytest

from softphone.lab.forking import Branch, ForwardContext
from softphone.lab.routing import DialogTokens, Hop, SelfMatcher, hop_for, record_route
from softphone.lab.transport import ListenSpec
from softphone.sip.build import make_response
from softphone.sip.message import SipRequest, parse_message
from softphone.sip.uri import parse_sip_uri, parse_uri

LISTENERS = [ListenSpec("UDP", "127.0.0.1", 5060), ListenSpec("TLS", "127.0.0.1", 5061)]
MATCHER = SelfMatcher(LISTENERS, frozenset({"127.0.0.1", "softphone.lab", "localhost"}))
INVITE = (
    b"INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r1\r\n"
    b"From: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:bob@127.0.0.1>\r\n"
    b"Call-ID: route-test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
)


@pytest.mark.parametrize(
    ("uri", "hop"),
    [
        ("sip:bob@127.0.0.1:5070", Hop("UDP", "127.0.0.1", 5070)),
        ("sip:bob@127.0.0.1;transport=tcp", Hop("TCP", "127.0.0.1", 5060)),
        ("sips:bob@127.0.0.1", Hop("TLS", "127.0.0.1", 5061)),
        ("sip:bob@localhost:6000;transport=TLS", Hop("TLS", "127.0.0.1", 6000)),
        ("sip:bob@[::1]:5080", Hop("UDP", "::1", 5080)),
        ("sip:bob@example.com", None),  # the lab does no DNS: never a hop to a name
    ],
)
def test_hop_for(uri: str, hop: Hop | None) -> None:
    assert hop_for(parse_sip_uri(uri)) == hop


def test_self_matching() -> None:
    assert MATCHER.is_us(parse_uri("sip:127.0.0.1:5061;transport=tls;lr"))
    assert MATCHER.is_us(parse_uri("sip:127.0.0.1;lr"))  # default port 5060
    assert not MATCHER.is_us(parse_uri("sip:127.0.0.1:5070;lr"))
    assert not MATCHER.is_us(parse_uri("sip:10.0.0.1:5060;lr"))
    assert MATCHER.is_local_domain("SOFTPHONE.LAB") and not MATCHER.is_local_domain("example.com")


def test_dialog_tokens_bind_to_the_call_id() -> None:
    tokens = DialogTokens(b"secret")
    token = tokens.make("call-1")
    assert tokens.check("call-1", token)
    assert not tokens.check("call-2", token)
    assert not tokens.check("call-1", None)
    assert not DialogTokens(b"other").check("call-1", token)
    route = record_route(LISTENERS[1], token)
    assert route == f"<sip:127.0.0.1:5061;transport=tls;lr;dlg={token}>"


def context_with(*statuses: int) -> ForwardContext:
    request = parse_message(INVITE)
    assert isinstance(request, SipRequest)
    context = ForwardContext(server=None, request=request)  # type: ignore[arg-type]
    for status in statuses:
        branch = Branch(request, Hop("UDP", "127.0.0.1", 5070))
        header = "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"
        branch.final = make_response(request, status, extra=[(header, f"Digest r{status}")])
        context.branches.append(branch)
    return context


@pytest.mark.parametrize(
    ("statuses", "best"),
    [
        ((486, 480), 486),  # the informative one within the class
        ((480, 408), 480),
        ((404, 302), 302),  # the lowest class wins
        ((486, 603), 603),  # a 6xx always wins (§16.7 step 6)
        ((503,), 500),  # never pass a 503 upstream
        ((408, 500), 408),
    ],
)
def test_best_response(statuses: tuple[int, ...], best: int) -> None:
    assert context_with(*statuses).best_response().status == best


def test_challenges_are_aggregated() -> None:
    best = context_with(401, 401).best_response()
    assert best.status == 401
    assert best.headers.get_all("www-authenticate") == ["Digest r401"]
    mixed = context_with(401, 407).best_response()
    assert mixed.headers.get_all("www-authenticate") == ["Digest r401"]
    assert mixed.headers.get_all("proxy-authenticate") == ["Digest r407"]


def test_caller_cancel_prefers_487() -> None:
    context = context_with(480, 487)
    context.cancelled_by_caller = True
    assert context.best_response().status == 487
