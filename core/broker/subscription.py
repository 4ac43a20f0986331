"""Subscriptions: a named consumer of a pattern with a bounded queue, acks and redelivery."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

from eventdeck.core.broker import journal as _journal
from eventdeck.core.broker.delivery import OPEN, SETTLED, WITHDRAWN, Delivery
from eventdeck.core.broker.errors import SubscriptionError
from eventdeck.core.broker.journal import DeliveryJournal, Outcome, journal_of
from eventdeck.core.broker.message import Message
from eventdeck.core.broker.paging import Pager
from eventdeck.core.broker.subscription_options import (
    MAX_PENDING_BYTES,
    AckMode,
    Overflow,
    State,
    SubscriptionInfo,
    check_options,
)
from eventdeck.core.broker.tap import EventKind

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker
    from eventdeck.core.store import Store

# The options, the snapshot and Delivery live in their own modules; every importer keeps this path.
__all__ = [
    "MAX_PENDING_BYTES",
    "AckMode",
    "Delivery",
    "Overflow",
    "State",
    "Subscription",
    "SubscriptionInfo",
    "check_options",
]


class Subscription:
    """A consumer's view of the broker. Iterate with ``async for delivery in subscription``.

    Create with ``Broker.subscribe``. The queue is bounded by ``max_pending`` messages
    and ``max_pending_bytes`` payload bytes (``pending_bytes`` counts the queue and the
    redeliveries, as NATS does); what happens when either is reached is the ``overflow``
    policy. ``close()`` detaches the
    consumer: a durable subscription keeps queueing (state "away") until a consumer
    subscribes again under the same name; any other is removed. ``unsubscribe()``
    always removes it. Consumers are woken once per batch of messages (one waiter
    future per subscription), never once per message.
    """

    def __init__(
        self,
        broker: Broker,
        name: str,
        pattern: str,
        *,
        durable: bool,
        max_pending: int,
        max_pending_bytes: int,
        overflow: Overflow,
        ack: AckMode,
        max_attempts: int,
    ) -> None:
        self.name = name
        self.pattern = pattern
        self.durable = durable
        self.max_pending = max_pending
        self.max_pending_bytes = max_pending_bytes
        self.pending_bytes = 0
        self.overflow = overflow
        self.ack = ack
        self.auto = ack is AckMode.AUTO
        self.max_attempts = max_attempts
        self.state = State.ACTIVE
        self.queue: deque[Message] = deque()
        self.unacked: set[Delivery] = set()
        self.delivered = 0
        self._acked = 0
        self.redelivered = 0
        self.dead_lettered = 0
        self.dropped = 0
        self._broker = broker
        self._redo: deque[tuple[Message, int]] = deque()
        # True while the consumer may take straight from ``queue``: active, nothing to redeliver
        # and no publisher waiting for room (those need waking on every pop).
        self._fast = True
        self.waiter: asyncio.Future[None] | None = None
        self.space_waiters: deque[asyncio.Future[None]] = deque()
        self.since = time.time()  # a message published before this never came here (unless retained)
        # Where deliveries and acks are journaled while someone follows messages (the fast path is off then).
        self._journal: DeliveryJournal | None = journal_of(broker)
        # Where a durable subscription of a broker with a store keeps its messages (the fast path is off then).
        self._store: Store | None = None
        self._pager: Pager | None = None  # with a store: what stays in memory (see paging.py)
        self.paged = 0  # the newest queued messages, waiting in the store only (past the memory window)
        self._update_fast()

    def __repr__(self) -> str:
        return f"<Subscription {self.name!r} {self.pattern!r} {self.state.value} pending={self.pending}>"

    @property
    def acked(self) -> int:
        """Deliveries acked (on auto-ack subscriptions: every delivery)."""
        return self.delivered if self.auto else self._acked

    @property
    def pending(self) -> int:
        """Messages queued and not yet handed to the consumer (in memory or waiting in the store)."""
        return len(self.queue) + len(self._redo) + self.paged

    def info(self) -> SubscriptionInfo:
        return SubscriptionInfo(
            self.name,
            self.pattern,
            self.durable,
            self.state,
            self.overflow,
            self.ack,
            self.max_pending,
            self.pending,
            len(self.unacked),
            self.delivered,
            self.acked,
            self.redelivered,
            self.dead_lettered,
            self.dropped,
            self.pending_bytes,
            self.max_pending_bytes,
        )

    def _update_fast(self) -> None:
        self._fast = (
            self.state is State.ACTIVE
            and not self._redo
            and not self.space_waiters
            and self._journal is None
            and self._store is None
        )

    def set_store(self, store: Store | None) -> None:
        """Keep this subscription's messages in ``store`` from now on (None: stop); called by the broker."""
        self._store = store
        self._pager = None if store is None else Pager(self, store)
        self._update_fast()

    def set_journal(self, journal: DeliveryJournal | None) -> None:
        """Journal deliveries and acks from now on (None: stop); called by ``open_journal`` and its ``close``."""
        self._journal = journal
        self._update_fast()

    def holds(self, message: Message) -> Outcome | None:
        """Where ``message`` waits here now (queued, to be redelivered, with the consumer), or None.

        Scans the queue: for following one message on demand, never per message. Compares ids: a durable
        queue's message read back from the store (past the memory window) is a copy of the one published.
        """
        ident = message.id
        if any(queued.id == ident for queued in self.queue):
            return Outcome.QUEUED
        if any(queued.id == ident for queued, _attempt in self._redo):
            return Outcome.REDELIVERING
        if any(delivery.message.id == ident for delivery in self.unacked):
            return Outcome.DELIVERED
        return None

    # -- consuming -------------------------------------------------------

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Delivery:
        # Hot path: one flag, one pop, one small object. Anything else is _ready's or _next_slow's business.
        if self._fast:
            queue = self.queue
            if queue:
                message = queue.popleft()
                self.pending_bytes -= len(message.payload)
                self.delivered += 1
                if self.auto:
                    return Delivery(self, message, 1, SETTLED)
                delivery = Delivery(self, message, 1, OPEN)
                self.unacked.add(delivery)
                return delivery
        ready = self._ready()  # a plain call: a ready delivery costs no second coroutine
        return ready if ready is not None else await self._next_slow()

    def _ready(self) -> Delivery | None:
        """The next delivery off the fast path (redeliveries first, journaled), if one is ready now."""
        if self.state is not State.ACTIVE:
            return None
        if self._redo:
            message, attempt = self._redo.popleft()
            self.pending_bytes -= len(message.payload)
            self._update_fast()
            self.redelivered += 1
            return self._hand_out(message, attempt)
        if self.queue:
            message = self.queue.popleft()
            self.pending_bytes -= len(message.payload)
            if self.space_waiters:
                self._wake_space()
            self._update_fast()
            return self._hand_out(message, 1)
        return None

    async def _next_slow(self) -> Delivery:
        while True:
            ready = self._ready()
            if ready is not None:
                return ready
            if self.state is not State.ACTIVE and self.state is not State.PAUSED:
                raise StopAsyncIteration
            await self._wait()

    def take(self, max_count: int = 256) -> list[Delivery]:
        """Up to ``max_count`` deliveries that are ready now, redeliveries first; never waits.

        Empty when nothing is queued or the subscription is paused, away or closed. Taking
        a batch costs far less per message than one ``async for`` step each.
        """
        if self.state is not State.ACTIVE:
            return []
        taken: list[Delivery] = []
        while self._redo and len(taken) < max_count:
            message, attempt = self._redo.popleft()
            self.pending_bytes -= len(message.payload)
            self.redelivered += 1
            taken.append(self._hand_out(message, attempt))
        queue = self.queue
        count = min(max_count - len(taken), len(queue))
        if count > 0:
            self.delivered += count
            popleft = queue.popleft
            settled = SETTLED if self.auto else OPEN
            fresh = [Delivery(self, popleft(), 1, settled) for _ in range(count)]
            if queue or self._redo or self.paged:
                self.pending_bytes -= sum([len(delivery.message.payload) for delivery in fresh])
            else:  # took everything: nothing left to add up (the usual case for a keeping-up consumer)
                self.pending_bytes = 0
            if not self.auto:
                self.unacked.update(fresh)
            if self._journal is not None:
                self._journal.delivered(self.name, fresh, self.auto)
            if self._store is not None:
                self._stored_hand_out([delivery.message for delivery in fresh], 1)
            taken.extend(fresh)
            if self.space_waiters:
                self._wake_space()
        self._update_fast()
        return taken

    def take_messages(self, max_count: int = 256) -> list[Message]:
        """``take`` for an auto-ack subscription, as bare messages: no ``Delivery`` to build per message.

        An auto-ack delivery is settled when handed out, so a consumer that only forwards messages (a
        gateway) needs nothing else. Off the fast path (redeliveries, journal, store) it is ``take``'s.
        """
        if not self.auto:
            raise SubscriptionError(f"subscription {self.name!r} acks manually; take its deliveries to ack them")
        queue = self.queue
        if not (self._fast and queue):
            return [delivery.message for delivery in self.take(max_count)]
        if len(queue) <= max_count:  # a consumer keeping up takes everything
            taken = list(queue)
            queue.clear()
            self.pending_bytes = 0
        else:
            popleft = queue.popleft
            taken = [popleft() for _ in range(max_count)]
            self.pending_bytes -= sum([len(message.payload) for message in taken])
        self.delivered += len(taken)
        return taken

    async def batch(self, max_count: int = 256) -> list[Delivery]:
        """Wait until something is ready, then ``take(max_count)``; ``StopAsyncIteration`` once closed."""
        while not (taken := self.take(max_count)):
            await self._wait_for_more()
        return taken

    async def batch_messages(self, max_count: int = 256) -> list[Message]:
        """``batch`` as bare messages (``take_messages``): for auto-ack consumers that only forward them."""
        while not (taken := self.take_messages(max_count)):
            await self._wait_for_more()
        return taken

    async def _wait_for_more(self) -> None:
        """Wait for a message while the subscription may still get one; ``StopAsyncIteration`` once it cannot."""
        if self.state is not State.ACTIVE and self.state is not State.PAUSED:
            raise StopAsyncIteration
        await self._wait()

    async def _wait(self) -> None:
        # One waiter per subscription, shared if several consumers iterate it.
        waiter = self.waiter
        if waiter is None or waiter.done():
            waiter = self.waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        except asyncio.CancelledError:
            if self.waiter is waiter:
                self.waiter = None
            try:
                task = asyncio.current_task()
            except RuntimeError:  # cancelled from outside a running loop (e.g. a teardown): stop
                task = None
            if task is None or task.cancelling():
                raise
            # Another consumer sharing the waiter was cancelled, not us: the caller waits again.

    async def get(self, timeout: float | None = None) -> Delivery:  # noqa: ASYNC109 - the plain API is the point
        """The next delivery; raises ``TimeoutError`` after ``timeout`` seconds, ``StopAsyncIteration`` if closed."""
        if timeout is None:
            return await self.__anext__()
        async with asyncio.timeout(timeout):
            return await self.__anext__()

    def _hand_out(self, message: Message, attempt: int) -> Delivery:
        self.delivered += 1
        if self._store is not None:
            self._stored_hand_out((message,), attempt)
        if self._journal is not None:
            self._journal.record(self.name, message, _journal.AUTO_ACKED if self.auto else _journal.DELIVERED, attempt)
        if self.auto:
            return Delivery(self, message, attempt, SETTLED)
        delivery = Delivery(self, message, attempt, OPEN)
        self.unacked.add(delivery)
        return delivery

    def _stored_hand_out(self, messages: tuple[Message, ...] | list[Message], attempt: int) -> None:
        # Auto-ack: handed out is done with. Manual: the count a restart redelivers it with (+1).
        store = self._store
        assert store is not None
        for message in messages:
            if self.auto:
                store.settle(self.name, message)
            else:
                store.delivered(self.name, message, attempt)
        if self.paged:
            assert self._pager is not None
            self._pager.drained()

    # -- called by the broker and by deliveries ----------------------------

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _wake_space(self) -> None:
        # Wake one blocked publisher per free slot.
        room = self.max_pending - len(self.queue) - self.paged
        while self.space_waiters and room > 0:
            waiter = self.space_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                room -= 1

    def full(self, size: int) -> bool:
        """Whether there is no room for one more message of ``size`` bytes."""
        return len(self.queue) + self.paged >= self.max_pending or self.pending_bytes + size > self.max_pending_bytes

    def blocks(self, size: int) -> bool:
        """Whether a publisher must wait before a message of ``size`` bytes may be queued here.

        Never for a message larger than the whole byte bound: ``make_room`` drops it instead.
        """
        return self.overflow is Overflow.BLOCK and size <= self.max_pending_bytes and self.full(size)

    async def wait_for_space(self, deadline: float) -> None:
        """Wait (as a blocked publisher) until the consumer takes a message; ``TimeoutError`` at ``deadline``."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.space_waiters.append(waiter)
        self._fast = False  # the consumer must now wake us on every pop
        try:
            async with asyncio.timeout_at(deadline):
                await waiter
        finally:
            if waiter in self.space_waiters:
                self.space_waiters.remove(waiter)

    def make_room(self, message: Message, size: int) -> bool:
        """Apply the overflow policy to a full queue; True if ``message`` may now be queued.

        A message larger than the whole byte bound is dropped with its own reason and evicts
        nothing: no amount of eviction would make it fit.
        """
        drop = self._drop
        if size > self.max_pending_bytes:
            drop(message, f"{size:,} bytes exceed max_pending_bytes ({self.max_pending_bytes:,}): dropped")
            return False
        if self.overflow is not Overflow.DROP_OLDEST:
            drop(message, "queue full: dropped the newest")
            return False
        queue = self.queue
        while queue and self.full(size):
            oldest = queue.popleft()
            self.pending_bytes -= len(oldest.payload)
            drop(oldest, "queue full: dropped the oldest")
        if self.full(size):  # redeliveries (or messages waiting in the store) alone fill the bound
            drop(message, "queue full: dropped the newest")
            return False
        return True

    def requeue(self, message: Message, attempt: int) -> None:
        self._redo.append((message, attempt))
        self.pending_bytes += len(message.payload)
        self._fast = False
        self.wake()

    def _drop(self, message: Message, reason: str) -> None:
        if self._store is not None:
            self._store.settle(self.name, message)
            if self.paged:
                assert self._pager is not None
                self._pager.drained()
        if self._journal is not None:
            self._journal.record(self.name, message, _journal.DROPPED, 0)
        self._broker.drop(self, message, reason)

    def dead_letter(self, message: Message, reason: str, attempts: int) -> None:
        self.dead_lettered += 1
        if self._store is not None:
            self._store.settle(self.name, message)
        if self._journal is not None:
            self._journal.record(self.name, message, _journal.DEAD_LETTERED, attempts)
        self._broker.dead_letter(message, self.name, reason, attempts)

    # -- control -----------------------------------------------------------

    def pause(self) -> None:
        """Stop handing out messages; they keep queueing (visible as growing ``pending``)."""
        if self.state is State.ACTIVE:
            self.state = State.PAUSED
            self._fast = False
            self._broker.subscription_changed(self, EventKind.SUBSCRIPTION_PAUSED)

    def resume(self) -> None:
        """Hand out queued messages again."""
        if self.state is State.PAUSED:
            self.state = State.ACTIVE
            self._update_fast()
            self._broker.subscription_changed(self, EventKind.SUBSCRIPTION_RESUMED)
            self.wake()

    def close(self) -> None:
        """Detach the consumer. Durable: keep queueing until a consumer comes back. Otherwise: remove."""
        if self.state in (State.CLOSED, State.AWAY):
            return
        if not self.durable:
            self.unsubscribe()
            return
        self._return_unacked()
        self.state = State.AWAY
        self._fast = False
        self._broker.subscription_changed(self, EventKind.CONSUMER_AWAY)
        self.wake()

    def unsubscribe(self) -> None:
        """Remove the subscription and drop whatever it still holds."""
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        self._fast = False
        self._broker.remove_subscription(self)
        self.queue.clear()
        self._redo.clear()
        self.pending_bytes = self.paged = 0
        for delivery in self.unacked:
            delivery._settled = WITHDRAWN
        self.unacked.clear()
        self.wake()
        while self.space_waiters:
            waiter = self.space_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def reattach(self) -> None:
        """A consumer subscribed again under this durable name: deliver the backlog."""
        self.state = State.ACTIVE
        self._update_fast()
        self._broker.subscription_changed(self, EventKind.CONSUMER_BACK)
        self.wake()

    def _return_unacked(self) -> None:
        # Messages the departing consumer never settled are redelivered to the next one first.
        for delivery in sorted(self.unacked, key=lambda d: d.message.id):
            delivery._settled = WITHDRAWN
            if self._journal is not None:
                self._journal.record(self.name, delivery.message, _journal.RETURNED, delivery.attempt)
            self._redo.append((delivery.message, delivery.attempt + 1))
            self.pending_bytes += len(delivery.message.payload)
        self.unacked.clear()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
