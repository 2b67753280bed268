"""SIP transactions (RFC 3261 §17 with the RFC 6026 fixes) as sans-IO state tables: the API.

This is the one module callers import. The pieces live in three modules kept small on purpose:
`transaction_base` (timers, actions, the "time passed in" model), `transaction_client` (figs. 5
and 6, ACK and CANCEL building) and `transaction_server` (figs. 7 and 8, request matching).
`TransactionTable` is the lookup a transport layer keeps: one dict per side, keyed per §17.1.3 and
§17.2.3, so matching an incoming message is one dict hit.

Typical use by a transport layer: create a transaction, `add` it, perform the actions each call
returns (send, deliver to the TU, arm/stop timers) and `remove` it on `Terminated`.
"""

from __future__ import annotations

from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.transaction_base import (
    T1,
    T2,
    T4,
    TIMER_D_MIN,
    Action,
    Deliver,
    Send,
    StartTimer,
    StopTimer,
    Terminated,
    Timeout,
    TimerName,
    TransportFailed,
)
from softphone.sip.transaction_client import (
    ClientKey,
    ClientTransaction,
    client_key,
    make_ack,
    make_cancel,
)
from softphone.sip.transaction_server import (
    ServerKey,
    ServerTransaction,
    cancel_key,
    server_key,
)

__all__ = [
    "T1",
    "T2",
    "T4",
    "TIMER_D_MIN",
    "Action",
    "ClientKey",
    "ClientTransaction",
    "Deliver",
    "Send",
    "ServerKey",
    "ServerTransaction",
    "StartTimer",
    "StopTimer",
    "Terminated",
    "Timeout",
    "TimerName",
    "TransactionTable",
    "TransportFailed",
    "cancel_key",
    "client_key",
    "make_ack",
    "make_cancel",
    "server_key",
]


class TransactionTable:
    """The transactions a transport layer is running, keyed for matching."""

    __slots__ = ("clients", "servers")

    def __init__(self) -> None:
        self.clients: dict[ClientKey, ClientTransaction] = {}
        self.servers: dict[ServerKey, ServerTransaction] = {}

    def __len__(self) -> int:
        return len(self.clients) + len(self.servers)

    def add(self, txn: ClientTransaction | ServerTransaction) -> None:
        """Add `txn` under its key, replacing any transaction already there (match first)."""
        if isinstance(txn, ClientTransaction):
            self.clients[txn.key] = txn
        else:
            self.servers[txn.key] = txn

    def remove(self, txn: ClientTransaction | ServerTransaction) -> None:
        """Remove `txn` (not another transaction that has since taken its key)."""
        if isinstance(txn, ClientTransaction):
            if self.clients.get(txn.key) is txn:
                del self.clients[txn.key]
        elif self.servers.get(txn.key) is txn:
            del self.servers[txn.key]

    def get_client(self, key: ClientKey) -> ClientTransaction | None:
        return self.clients.get(key)

    def get_server(self, key: ServerKey) -> ServerTransaction | None:
        return self.servers.get(key)

    def match_response(self, response: SipResponse) -> ClientTransaction | None:
        return self.clients.get(client_key(response))

    def match_request(self, request: SipRequest) -> ServerTransaction | None:
        """The server transaction of a retransmission, or the INVITE one an ACK belongs to."""
        return self.servers.get(server_key(request))

    def match_cancel(self, cancel: SipRequest) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL targets (§9.2), if it is still here."""
        return self.servers.get(cancel_key(cancel))
