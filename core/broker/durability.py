"""The broker's side of its durable store: what it writes there, and what it brings back on start.

Only durable subscriptions, retained messages and declared channels reach the store. While a broker
with a store has no durable subscription, publishing stays on its fast path and never touches the
store (retained messages aside); with one, publishing takes the general path, which hands each
message a durable subscription queued to the store and awaits its commit before the receipt. Past
its memory window a durable subscription leaves new messages in the store only (see :mod:`.paging`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventdeck.core.broker.message import Message
from eventdeck.core.broker.subscription import Subscription

if TYPE_CHECKING:
    import asyncio

    from eventdeck.core.broker.broker import Broker
    from eventdeck.core.store import Store


class Durability:
    """Connects ``broker`` to ``store``; counts the durable subscriptions kept there."""

    def __init__(self, broker: Broker, store: Store) -> None:
        self.broker = broker
        self.store = store
        self.subscriptions = 0  # durable subscriptions kept in the store: publishing leaves its fast path while > 0
        self.enqueued = 0  # messages handed to the store for some durable subscription, ever
        self._restoring = False

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
        """The broker forgot everything but its attached subscriptions: so does the store."""
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


def _options(sub: Subscription) -> dict[str, Any]:
    """What ``Broker.subscribe`` needs to make ``sub`` again."""
    return {
        "max_pending": sub.max_pending,
        "overflow": sub.overflow.value,
        "ack": sub.ack.value,
        "max_attempts": sub.max_attempts,
        "max_pending_bytes": sub.max_pending_bytes,
    }
