"""The lab's stateful forking proxy (RFC 3261 §16), over the sans-IO transactions.

Initial requests from our users are challenged (407), then forked in parallel to every contact
registered for the Request-URI's AOR; nothing is ever sent to an address that did not register
(no open relay). In-dialog requests follow the route set we Record-Routed, proven by the dialog
token. Requests arriving on one transport and leaving on another get two Record-Route entries
(RFC 5658) so each side reaches us on its own transport.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from functools import partial
from typing import TYPE_CHECKING

from softphone.lab.auth import Authenticator
from softphone.lab.bindings import Binding, BindingTable
from softphone.lab.forking import COMPLETED_ELSEWHERE, Branch, ForwardContext
from softphone.lab.registrar import Source
from softphone.lab.routing import DialogTokens, Hop, SelfMatcher, hop_for, record_route
from softphone.lab.sharding import make_branch
from softphone.lab.transport import Address, ListenSpec
from softphone.lab.txn_runner import Message, Slot, TransactionRunner
from softphone.lab.users import UserDirectory
from softphone.sip.build import make_response, new_tag
from softphone.sip.errors import SipParseError
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.transaction import ClientTransaction, ServerTransaction, make_cancel
from softphone.sip.uri import SipUri, parse_sip_uri

if TYPE_CHECKING:
    from softphone.lab.server import LabServer

log = logging.getLogger(__name__)
TIMER_C = 180.0  # §16.6 step 11: proxy INVITE timeout, "greater than 3 minutes"
MAX_OWN_VIAS = 2  # a request that passed through us this often is looping (§16.3 step 4)
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, INFO, UPDATE, REFER, NOTIFY, SUBSCRIBE, PRACK"


class ForkingProxy:
    """Routes every non-REGISTER message the lab server receives."""

    def __init__(
        self,
        server: LabServer,
        *,
        auth: Authenticator,
        users: UserDirectory,
        bindings: BindingTable,
        matcher: SelfMatcher,
        tokens: DialogTokens,
        timer_c: float = TIMER_C,
        worker: int = 0,
    ) -> None:
        self.server = server
        self.auth = auth
        self.users = users
        self.bindings = bindings
        self.matcher = matcher
        self.tokens = tokens
        self.timer_c = timer_c
        self.worker = worker  # in our Via branches, so responses find this worker
        self.runner = TransactionRunner(self._send)
        self._contexts: dict[int, ForwardContext] = {}  # id(server txn) -> context

    # ------------------------------------------------------------------ requests
    def on_request(self, request: SipRequest, source: Source, local: Address) -> None:
        if request.method == "ACK":
            self._ack(request, source)
            return
        existing = self.runner.table.match_request(request)
        if existing is not None:  # a retransmission: the transaction answers it
            slot = self.runner.slot_of(existing)
            if slot is not None:
                self.runner.receive(slot, request)
            return
        slot = self.runner.start_server(
            ServerTransaction(request, reliable=source.transport != "UDP"),
            source.transport,
            (source.host, source.port),
            on_deliver=lambda message: None,
            on_failure=lambda why: None,
        )
        if request.method == "CANCEL":
            self._cancel(request, slot)
            return
        if request.method == "INVITE":
            self.runner.respond(slot, make_response(request, 100))  # §16.2: stop retransmits
        try:
            self._route(request, source, slot)
        except SipParseError as exc:
            self._reply(slot, request, exc.status, exc.reason)

    def _route(self, request: SipRequest, source: Source, slot: Slot) -> None:
        max_forwards = request.max_forwards
        if max_forwards is not None and max_forwards <= 0:
            self._reply(slot, request, 483)
            return
        if self._own_vias(request) >= MAX_OWN_VIAS:
            self._reply(slot, request, 482)
            return
        routes = request.routes
        if routes and self.matcher.is_us(routes[0].uri):
            if request.to_addr.tag is not None:
                self._in_dialog(request, source, slot)
                return
            # An initial request preloaded with our Route (a phone's outbound proxy setting):
            # drop it; a further Route would make us relay elsewhere, so that is refused.
            self._strip_our_routes(request, require_token=False)
            if request.routes:
                self._reply(slot, request, 403, "Relaying Denied")
                return
        uri = request.uri
        if not isinstance(uri, SipUri):
            self._reply(slot, request, 416)
            return
        if self.matcher.is_us(uri) and not uri.user:
            self._to_us(request, slot)
            return
        if request.to_addr.tag is not None:
            # In-dialog but not along our route set: not a dialog we proxied.
            self._reply(slot, request, 481)
            return
        if not self.matcher.is_local_domain(uri.host):
            self._reply(slot, request, 403, "Relaying Denied")
            return
        self._initial(request, source, slot, uri)

    def _initial(self, request: SipRequest, source: Source, slot: Slot, uri: SipUri) -> None:
        now = self.server.wall_clock()
        result = self.auth.authenticate(request, source.host, now, proxy=True, to_tag=new_tag())
        if result.response is not None:
            self.runner.respond(slot, result.response)
            return
        from_uri = request.from_addr.uri
        if not isinstance(from_uri, SipUri) or from_uri.user_text != result.username:
            # Like Kamailio's auth_check(..., 1): the caller may not claim someone else's From.
            self._reply(slot, request, 403, "From Does Not Match Credentials")
            return
        aor = uri.user_text
        if aor not in self.users:
            self._reply(slot, request, 404)
            return
        targets = self.bindings.current(aor, now)
        if not targets:
            self._reply(slot, request, 480)
            return
        self._fork(request, source, slot, targets)

    def _to_us(self, request: SipRequest, slot: Slot) -> None:
        if request.method == "OPTIONS":  # keep-alives and health checks (e.g. sipp, pjsua)
            self._reply(slot, request, 200, extra=[("Allow", ALLOW)])
        else:
            self._reply(slot, request, 404)

    # ------------------------------------------------------------------ forwarding
    def _fork(
        self, request: SipRequest, source: Source, slot: Slot, targets: list[Binding]
    ) -> None:
        context = ForwardContext(slot, request)
        inbound = self.server.hub.local_for(source.transport)
        token = self.tokens.make(request.call_id)
        for binding in targets:
            copy = request.copy()
            copy.uri = parse_sip_uri(binding.contact)
            hop = Hop(binding.transport, binding.source_host, binding.source_port)
            outbound = self.server.hub.local_for(hop.transport)
            if inbound is None or outbound is None:
                continue
            if outbound.transport != inbound.transport:
                copy.headers.prepend("Record-Route", record_route(inbound, token))
                copy.headers.prepend("Record-Route", record_route(outbound, token))
            else:
                copy.headers.prepend("Record-Route", record_route(inbound, token))
            context.branches.append(Branch(copy, hop))
        self._start(context)

    def _forward_along(self, request: SipRequest, slot: Slot, hop: Hop) -> None:
        context = ForwardContext(slot, request)
        context.branches.append(Branch(request.copy(), hop))
        self._start(context)

    def _start(self, context: ForwardContext) -> None:
        if not context.branches:
            self._reply(context.server, context.request, 480)
            return
        key = id(context.server.txn)
        self._contexts[key] = context
        context.server.on_end = lambda: self._drop_context(key)
        for branch in context.branches:
            self._prepare(branch)
        for branch in context.branches:
            reliable = branch.hop.transport != "UDP"
            branch.slot = self.runner.start_client(
                ClientTransaction(branch.request, reliable=reliable),
                branch.hop.transport,
                branch.hop.address,
                on_deliver=partial(self._on_branch, context, branch),
                on_failure=partial(self._branch_failed, context, branch),
            )
        if context.is_invite:
            self._arm_timer_c(context)

    def _prepare(self, branch: Branch) -> None:
        """§16.6 steps 3 and 8: Max-Forwards minus one and our own Via on top."""
        request = branch.request
        request.headers.set("Max-Forwards", str(max(0, (request.max_forwards or 70) - 1)))
        outbound = self.server.hub.local_for(branch.hop.transport)
        sent_by = _hostport(outbound) if outbound else "127.0.0.1"
        via_branch = make_branch(self.worker, secrets.token_hex(8))
        request.headers.prepend(
            "Via", f"SIP/2.0/{branch.hop.transport} {sent_by};branch={via_branch}"
        )

    # ------------------------------------------------------------------ responses
    def on_response(self, response: SipResponse, source: Source, local: Address) -> None:
        txn = self.runner.table.match_response(response)
        slot = self.runner.slot_of(txn) if txn is not None else None
        if slot is not None:
            self.runner.receive(slot, response)
        else:
            self._forward_stray(response)

    def _on_branch(self, context: ForwardContext, branch: Branch, message: Message) -> None:
        if not isinstance(message, SipResponse):
            return
        status = message.status
        if status < 200:
            branch.provisional = True
            if branch.cancel_reason is not None:
                self._send_cancel(branch, branch.cancel_reason)
            if status > 100 and not context.finished:
                self._upstream(context, message)
                if context.is_invite:
                    self._arm_timer_c(context)
            return
        first_final = branch.final is None
        branch.final = message
        if 200 <= status < 300:
            if not context.answered:
                context.answered = True
                for other in context.pending():
                    self._send_cancel(other, COMPLETED_ELSEWHERE)
            self._upstream(context, message)  # §16.7 step 5: every 2xx goes up
            return
        if not first_final:
            return
        if status >= 600:
            for other in context.pending():
                self._send_cancel(other, "")
        self._maybe_finish(context)

    def _branch_failed(self, context: ForwardContext, branch: Branch, why: str) -> None:
        if branch.final is None:
            branch.final = make_response(branch.request, 408 if why == "timeout" else 503)
            self._maybe_finish(context)

    def _maybe_finish(self, context: ForwardContext) -> None:
        if context.all_final() and not context.answered and not context.finished:
            context.finished = True
            self._upstream(context, context.best_response())

    def _upstream(self, context: ForwardContext, response: SipResponse) -> None:
        """Forward a response through the server transaction, minus our Via (§16.7 step 9)."""
        out = response.copy()
        out.headers.pop_first("via")
        self.runner.respond(context.server, out)

    def _forward_stray(self, response: SipResponse) -> None:
        """§16.7 step 1: no matching transaction: forward statelessly along the Via."""
        vias = response.vias
        if len(vias) < 2 or not self._via_is_ours(vias[0].host, vias[0].port):
            return
        out = response.copy()
        out.headers.pop_first("via")
        via = out.top_via
        host = via.params.get("received") or via.host
        rport = via.params.get("rport")
        port = int(rport) if rport and rport.isdigit() else via.port or 5060
        self._send(via.transport, (host.strip("[]"), port), out)

    # ------------------------------------------------------------------ CANCEL, ACK, dialogs
    def _cancel(self, cancel: SipRequest, slot: Slot) -> None:
        invite = self.runner.table.match_cancel(cancel)
        context = self._contexts.get(id(invite)) if invite is not None else None
        if context is None:
            self._reply(slot, cancel, 481)
            return
        self._reply(slot, cancel, 200)
        if context.answered or context.finished:
            return
        context.cancelled_by_caller = True
        reason = cancel.headers.get("reason") or ""
        for branch in context.pending():
            self._send_cancel(branch, reason)

    def _send_cancel(self, branch: Branch, reason: str) -> None:
        """§9.1: CANCEL only after a provisional response; until then remember to send it."""
        if branch.final is not None or branch.cancelled:
            return
        if not branch.provisional:
            branch.cancel_reason = reason
            return
        branch.cancelled = True
        cancel = make_cancel(branch.request)
        if reason:
            cancel.headers.add("Reason", reason)  # RFC 3326
        self.runner.start_client(
            ClientTransaction(cancel, reliable=branch.hop.transport != "UDP"),
            branch.hop.transport,
            branch.hop.address,
            on_deliver=lambda message: None,
            on_failure=lambda why: None,
        )

    def _ack(self, ack: SipRequest, source: Source) -> None:
        invite = self.runner.table.match_request(ack)
        slot = self.runner.slot_of(invite) if invite is not None else None
        if slot is not None:  # ACK for our non-2xx final: absorbed hop by hop (§17.2.1)
            self.runner.receive(slot, ack)
            return
        hop = self._strip_our_routes(ack)
        if hop is None:
            return  # an ACK we cannot route is dropped silently (it has no response)
        out = ack.copy()
        out.headers.set("Max-Forwards", str(max(0, (ack.max_forwards or 70) - 1)))
        outbound = self.server.hub.local_for(hop.transport)
        sent_by = _hostport(outbound) if outbound else "127.0.0.1"
        # §16.11: a stateless forward keeps a branch derived from the incoming one.
        branch = make_branch(
            self.worker, "sl" + self.tokens.make(ack.top_via.branch or ack.call_id)
        )
        out.headers.prepend("Via", f"SIP/2.0/{hop.transport} {sent_by};branch={branch}")
        self._send(hop.transport, hop.address, out)

    def _in_dialog(self, request: SipRequest, source: Source, slot: Slot) -> None:
        hop = self._strip_our_routes(request)
        if hop is None:
            self._reply(slot, request, 403, "Relaying Denied")
            return
        self._forward_along(request, slot, hop)

    def _strip_our_routes(self, request: SipRequest, *, require_token: bool = True) -> Hop | None:
        """§16.4: remove the Route entries naming us (two after a transport switch) and check
        our dialog token; then the next hop is the next Route, else the Request-URI."""
        routes = request.routes
        ours = 0
        while ours < len(routes) and self.matcher.is_us(routes[ours].uri):
            ours += 1
        if ours == 0:
            return None
        first = routes[0].uri
        token = first.params.get("dlg") if isinstance(first, SipUri) else None
        if require_token and not self.tokens.check(request.call_id, token):
            return None
        for _ in range(ours):
            request.headers.pop_first("route")
        remaining = request.routes
        target = remaining[0].uri if remaining else request.uri
        return hop_for(target) if isinstance(target, SipUri) else None

    # ------------------------------------------------------------------ helpers
    def _reply(
        self,
        slot: Slot,
        request: SipRequest,
        status: int,
        reason: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> None:
        fields = [("Server", "softphone-lab"), *(extra or [])]
        self.runner.respond(
            slot, make_response(request, status, reason, to_tag=new_tag(), extra=fields)
        )

    def _send(self, transport: str, address: Address, message: Message) -> None:
        self.server.send_message(transport, address, message)

    def _own_vias(self, request: SipRequest) -> int:
        return sum(1 for via in request.vias if self._via_is_ours(via.host, via.port))

    def _via_is_ours(self, host: str, port: int | None) -> bool:
        listeners = self.server.hub.bound
        return any(spec.host == host.strip("[]") and spec.port == port for spec in listeners)

    def _drop_context(self, key: int) -> None:
        context = self._contexts.pop(key, None)
        if context is not None and context.timer_c is not None:
            context.timer_c.cancel()

    def _arm_timer_c(self, context: ForwardContext) -> None:
        if context.timer_c is not None:
            context.timer_c.cancel()
        loop = asyncio.get_running_loop()
        context.timer_c = loop.call_later(self.timer_c, self._timer_c_fired, context)

    def _timer_c_fired(self, context: ForwardContext) -> None:
        """§16.8: CANCEL branches that rang; treat silent ones as 408."""
        context.timer_c = None
        for branch in context.pending():
            if branch.provisional:
                self._send_cancel(branch, "")
            else:
                self._branch_failed(context, branch, "timeout")

    def close(self) -> None:
        self.runner.close()


def _hostport(spec: ListenSpec) -> str:
    host = f"[{spec.host}]" if ":" in spec.host else spec.host
    return f"{host}:{spec.port}"
