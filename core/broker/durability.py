"""The broker's side of its durable store: what it writes there, and what it brings back on start.

Only durable subscriptions, retained messages and declared channels reach the store. While a broker
with a store has no durable subscription, publishing stays on its fast path and never touches the
store (retained messages aside); with one, publishing takes the general path, which hands each
message a durable subscription queued to the store and awaits its commit before the receipt. Past
its memory window a durable subscription leaves new messages in the store only (see :mod:`.paging`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from eventdeck.core.broker.message import Message
from eventdeck.core.broker.paging import Pager
from eventdeck.core.broker.subscription import State, Subscription

if TYPE_CHECKING:
    import asyncio

    from eventdeck.core.broker.broker import Broker
    from eventdeck.core.store import Store


class RestartReport(NamedTuple):
    """What ``Durability.restart`` kept (it was in the store) and lost (it lived in memory only)."""

    subscriptions: int
    """Durable subscriptions, back with their queues."""
    messages: int
    """Messages in those queues (queued, due for redelivery or waiting in the store)."""
    retained: int
    queued_lost: int
    """Messages that were waiting in the other (non-durable) subscriptions."""
    requests: int
    """Commands still waiting for a reply (failed with ``BrokerClosed``)."""
    delayed: int
    """Messages a delay fault was holding."""


@dataclass
class _Queue:
    """A durable subscription's queue as the store has it, across a restart."""

    sub: Subscription
    away: bool
    queue: list[Message]
    redo: list[tuple[Message, int]]
    paged: int
    pager: Pager  # kept: a page on its way when the restart came still lands in this queue
    pending_bytes: int


class Durability:
    """Connects ``broker`` to ``store``; counts the durable subscriptions kept there."""

    def __init__(self, broker: Broker, store: Store) -> None:
        self.broker = broker
        self.store = store
        self.subscriptions = 0  # durable subscriptions kept in the store: publishing leaves its fast path while > 0
        self.enqueued = 0  # messages handed to the store for some durable subscription, ever
        self._restoring = False
        self.restarting = False  # a reset that keeps what the store keeps (restart)

    # -- what the broker reports as it happens --

    def added(self, sub: Subscription) -> None:
        """A durable subscription was created: keep it, and what it queued at once (retained messages)."""
        sub.set_store(self.store)
        self.subscriptions += 1
        if self._restoring:
            return
        self.store.add_subscription(sub.name, sub.pattern, _options(sub))
        for message in sub.queue:
            self.store.enqueue(message, [sub.name])

    def removed(self, sub: Subscription) -> None:
        """A durable subscription was removed (unsubscribed, or forgotten by a reset): forget it and its messages."""
        sub.set_store(None)
        self.subscriptions -= 1
        if not self.restarting:
            self.store.remove_subscription(sub.name)

    def check_room(self, subs: list[Subscription]) -> None:
        """``StoreFull`` if a message for ``subs`` would reach a durable subscription and the store is full."""
        if any(sub._store is not None for sub in subs):
            self.store.check_room()

    def queued(self, message: Message, subs: list[Subscription]) -> None:
        """``message`` was routed to ``subs``: store it for the durable ones that queued it (not dropped it),
        kept in memory by those within their window, in the store only for the others."""
        kept: list[str] = []
        paged: list[str] = []
        for sub in subs:
            pager = sub._pager
            if pager is not None and sub.queue and sub.queue[-1] is message:
                (kept if pager.keep(message) else paged).append(sub.name)
        if kept or paged:
            self.store.enqueue(message, kept, paged)
            self.enqueued += 1

    def retained(self, message: Message) -> None:
        if self._restoring:
            return
        if message.payload:
            self.store.retain(message)
        else:
            self.store.clear_retained(message.channel)

    def retained_cleared(self, channel: str) -> None:
        self.store.clear_retained(channel)

    def declared(self, channel: str, description: str) -> None:
        if not self._restoring:
            self.store.declare(channel, description)

    def committed(self) -> asyncio.Future[None]:
        return self.store.committed()

    def after_reset(self) -> None:
        """The broker forgot everything but its attached subscriptions: so does the store (unless restarting)."""
        if self.restarting:
            return
        self.store.clear()
        for sub in self.broker._subs.values():
            if sub._store is not None:
                sub.paged = 0  # emptied with the rest of its queue
                sub.set_store(self.store)
                self.store.add_subscription(sub.name, sub.pattern, _options(sub))

    def detach(self) -> None:
        """The broker is closing: stop writing (closing a broker removes its subscriptions, the store keeps them)."""
        for sub in self.broker._subs.values():
            sub.set_store(None)
        self.subscriptions = 0

    def restart(self) -> RestartReport:
        """The broker restarts on its store, at once: ``Broker.reset`` forgets what lived in memory only, and what
        the store keeps is back as after a real restart: durable subscriptions with their queues (one whose consumer
        was away stays away; an attached consumer goes on, and may still settle what it holds), retained messages
        and declared channels. Stop a simulation first (as for reset): its durable subscribers come back to their
        queues when it starts again."""
        broker = self.broker
        kept = [_keep(sub) for sub in broker._subs.values() if sub._store is not None]
        queued_lost = sum(sub.pending for sub in broker._subs.values() if sub._store is None)
        retained = [message for _channel, message in broker._retained.items()]
        declared = [(state.name, state.description) for state in broker._channels.values() if state.declared]
        self.restarting = True
        try:
            forgot = broker.reset()
        finally:
            self.restarting = False
        self._restoring = True
        try:
            for queue in kept:
                self._bring_back(queue)
            for message in retained:
                broker._retain(message)
            for name, description in declared:
                broker.declare_channel(name, description)
        finally:
            self._restoring = False
        broker._reset_done()
        messages = sum(queue.sub.pending for queue in kept)
        return RestartReport(len(kept), messages, len(retained), queued_lost, forgot.requests, forgot.delayed)

    def _bring_back(self, queue: _Queue) -> None:
        sub = queue.sub
        if queue.away:  # the reset forgot it (the store did not): the same subscription again, away
            old = sub
            sub = queue.sub = self.broker.subscribe(old.pattern, name=old.name, durable=True, **_options(old))
        sub.queue.extend(queue.queue)
        sub._redo.extend(queue.redo)
        sub.pending_bytes, sub.paged = queue.pending_bytes, queue.paged
        sub._pager, queue.pager.sub = queue.pager, sub
        sub._update_fast()
        if queue.away:
            sub.close()

    # -- starting on a store --

    def restore(self) -> None:
        """Bring back what the store kept: durable subscriptions (consumer away) with their queues,
        redelivery counts, retained messages and declared channels."""
        broker = self.broker
        loaded = self.store.loaded
        self._restoring = True
        try:
            for stored in loaded.subscriptions:
                sub = broker.subscribe(stored.pattern, name=stored.name, durable=True, **stored.options)
                for message, delivered in stored.messages:
                    if delivered:  # handed out before and never settled: a redelivery, counted on
                        sub._redo.append((message, delivered + 1))
                    else:
                        sub.queue.append(message)
                    sub.pending_bytes += len(message.payload)
                assert sub._pager is not None
                sub.paged, sub._pager.bytes = stored.paged, stored.paged_bytes  # the rest waits in the store
                sub.pending_bytes += stored.paged_bytes
                sub.close()  # away until a consumer subscribes under its name
            for message in loaded.retained:
                broker._retain(message)
            for name, description in loaded.channels:
                broker.declare_channel(name, description)
        finally:
            self._restoring = False


def _keep(sub: Subscription) -> _Queue:
    """What ``sub`` has in the store (its queue: memory window, redeliveries and what waits in the file)."""
    assert sub._pager is not None
    queue, redo = list(sub.queue), list(sub._redo)
    return _Queue(sub, sub.state is State.AWAY, queue, redo, sub.paged, sub._pager, sub.pending_bytes)


def _options(sub: Subscription) -> dict[str, Any]:
    """What ``Broker.subscribe`` needs to make ``sub`` again."""
    return {
        "max_pending": sub.max_pending,
        "overflow": sub.overflow.value,
        "ack": sub.ack.value,
        "max_attempts": sub.max_attempts,
        "max_pending_bytes": sub.max_pending_bytes,
    }


def restart_on_store(broker: Broker) -> RestartReport:
    """Restart ``broker`` on its store (see ``Durability.restart``); ``ValueError`` if it has none (use ``reset``)."""
    if broker._durability is None:
        raise ValueError("the broker has no store to restart on: Broker.reset() is its restart")
    return broker._durability.restart()
