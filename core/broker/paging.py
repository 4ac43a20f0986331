"""A durable subscription's memory window: its oldest messages in memory, the rest in the store only.

Past ``store.window`` messages (or ``store.window_bytes`` of payload) a durable subscription of a broker
with a store leaves each new message in the file only, counting it in ``Subscription.paged`` (so
``pending``, ``pending_bytes`` and ``max_pending`` still count the whole queue). Once the consumer has
taken the window down to half, the next page is read back off the loop, in the order it was queued,
and appended. A million queued messages thus cost memory for a few thousand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventdeck.core.broker.message import Message

if TYPE_CHECKING:
    from eventdeck.core.broker.subscription import Subscription
    from eventdeck.core.store import Store


class Pager:
    """Decides, for one durable subscription, whether a message stays in memory, and reads pages back."""

    __slots__ = ("bytes", "reading", "store", "sub")

    def __init__(self, sub: Subscription, store: Store) -> None:
        self.sub = sub
        self.store = store
        self.bytes = 0  # payload bytes of the sub.paged messages waiting in the file
        self.reading = False  # a page is on its way

    def keep(self, message: Message) -> bool:
        """``message`` was just queued (last in the queue): True if it stays in memory, False if it was taken out
        to wait in the file only (always once something waits there: the queue keeps its order)."""
        sub = self.sub
        queue = sub.queue
        if not sub.paged and (
            len(queue) == 1  # a single message always fits, however large
            or (len(queue) <= self.store.window and sub.pending_bytes - self.bytes <= self.store.window_bytes)
        ):
            return True
        queue.pop()
        sub.paged += 1
        self.bytes += len(message.payload)
        return False

    def drained(self) -> None:
        """The consumer took (or the overflow policy dropped) messages: ask for the next page if the window is
        down to half and none is on its way."""
        sub = self.sub
        window, budget = self.store.window, self.store.window_bytes
        in_memory = sub.pending_bytes - self.bytes
        if sub.paged and not self.reading and len(sub.queue) <= window // 2 and in_memory <= budget // 2:
            self.reading = True
            self.store.read_page(sub.name, window - len(sub.queue), max(1, budget - in_memory), self._arrived)

    def _arrived(self, page: list[Message]) -> None:
        self.reading = False
        sub = self.sub
        if sub._pager is not self:  # unsubscribed, closed with the broker or reset meanwhile
            return
        if not page:  # the file had none left (a count gone wrong): stop counting them rather than ask forever
            sub.pending_bytes -= self.bytes
            sub.paged = self.bytes = 0
            return
        sub.queue.extend(page)
        sub.paged -= len(page)
        self.bytes -= sum([len(message.payload) for message in page])
        sub.wake()
        self.drained()
