"""Runs sans-IO transactions on asyncio: performs their actions and arms their timers.

A transaction says "send this", "deliver that", "call me back at T"; this module does it with
the event loop's monotonic clock (transactions must not jump with wall-clock changes) and routes
what a transaction delivers to the handler that owns it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from softphone.lab.transport import Address
from softphone.sip.message import SipRequest, SipResponse
from softphone.sip.transaction import (
    Action,
    ClientTransaction,
    Deliver,
    Send,
    ServerTransaction,
    StartTimer,
    StopTimer,
    Terminated,
    Timeout,
    TimerName,
    TransactionTable,
    TransportFailed,
)

Message = SipRequest | SipResponse
Sender = Callable[[str, Address, Message], None]


@dataclass(slots=True, eq=False)
class Slot:
    """A running transaction, its peer and who hears what it delivers."""

    txn: ClientTransaction | ServerTransaction
    transport: str
    address: Address
    on_deliver: Callable[[Message], None]
    on_failure: Callable[[str], None]  # "timeout" or "transport"
    timers: dict[TimerName, asyncio.TimerHandle] = field(default_factory=dict)
    done: bool = False
    on_end: Callable[[], None] | None = None  # called once when the transaction terminates


class TransactionRunner:
    """The proxy's transaction table plus the timers and sends of every transaction in it."""

    def __init__(self, send: Sender) -> None:
        self.table = TransactionTable()
        self._send = send
        self._slots: dict[int, Slot] = {}

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def start_client(
        self,
        txn: ClientTransaction,
        transport: str,
        address: Address,
        on_deliver: Callable[[Message], None],
        on_failure: Callable[[str], None],
    ) -> Slot:
        slot = self._add(txn, transport, address, on_deliver, on_failure)
        self.perform(slot, txn.start(self.now()))
        return slot

    def start_server(
        self,
        txn: ServerTransaction,
        transport: str,
        address: Address,
        on_deliver: Callable[[Message], None],
        on_failure: Callable[[str], None],
    ) -> Slot:
        return self._add(txn, transport, address, on_deliver, on_failure)

    def slot_of(self, txn: ClientTransaction | ServerTransaction) -> Slot | None:
        return self._slots.get(id(txn))

    def respond(self, slot: Slot, response: SipResponse) -> None:
        txn = slot.txn
        assert isinstance(txn, ServerTransaction)
        if not slot.done:
            self.perform(slot, txn.respond(response, self.now()))

    def receive(self, slot: Slot, message: Message) -> None:
        txn = slot.txn
        if isinstance(txn, ClientTransaction):
            assert isinstance(message, SipResponse)
            self.perform(slot, txn.receive(message, self.now()))
        else:
            assert isinstance(message, SipRequest)
            self.perform(slot, txn.receive(message, self.now()))

    def perform(self, slot: Slot, actions: list[Action]) -> None:
        loop = asyncio.get_running_loop()
        for action in actions:
            if isinstance(action, Send):
                self._send(slot.transport, slot.address, action.message)
            elif isinstance(action, Deliver):
                slot.on_deliver(action.message)
            elif isinstance(action, StartTimer):
                old = slot.timers.pop(action.timer, None)
                if old is not None:
                    old.cancel()
                delay = max(0.0, action.deadline - loop.time())
                slot.timers[action.timer] = loop.call_later(delay, self._fire, slot, action.timer)
            elif isinstance(action, StopTimer):
                handle = slot.timers.pop(action.timer, None)
                if handle is not None:
                    handle.cancel()
            elif isinstance(action, Timeout):
                slot.on_failure("timeout")
            elif isinstance(action, TransportFailed):
                slot.on_failure("transport")
            elif isinstance(action, Terminated):
                self._end(slot)

    def transport_error(self, slot: Slot) -> None:
        if not slot.done:
            self.perform(slot, slot.txn.transport_error(self.now()))

    def close(self) -> None:
        for slot in list(self._slots.values()):
            self._end(slot)

    def _add(
        self,
        txn: ClientTransaction | ServerTransaction,
        transport: str,
        address: Address,
        on_deliver: Callable[[Message], None],
        on_failure: Callable[[str], None],
    ) -> Slot:
        slot = Slot(txn, transport, address, on_deliver, on_failure)
        self.table.add(txn)
        self._slots[id(txn)] = slot
        return slot

    def _fire(self, slot: Slot, timer: TimerName) -> None:
        slot.timers.pop(timer, None)
        if not slot.done:
            self.perform(slot, slot.txn.fire(timer, self.now()))

    def _end(self, slot: Slot) -> None:
        if slot.done:
            return
        slot.done = True
        for handle in slot.timers.values():
            handle.cancel()
        slot.timers.clear()
        self.table.remove(slot.txn)
        self._slots.pop(id(slot.txn), None)
        if slot.on_end is not None:
            slot.on_end()

    def __len__(self) -> int:
        return len(self._slots)
