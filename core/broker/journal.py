"""The delivery journal: what each subscription did with each message, for following one message.

The tap logs what is published; the journal logs what happens after: each hand-out to a
consumer (with its attempt), each ack, nack, dead letter and overflow drop, by message id. It
is a bounded ring (100,000 entries by default, oldest forgotten first), written only while a
journal is open on the broker: ``open_journal`` switches every subscription's fast path off
(and ``close`` back on), so a broker without one pays nothing, not even a check per message.
Reading is on demand: ``timeline(message)`` answers for ONE message, never per message into
anyone's event loop, from the ring (scanned from the newest end) and from where the message
waits now (a queue, a redelivery, a consumer that has not settled it yet).
"""

from __future__ import annotations

import enum
import time
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventdeck.core.broker.channels import matches
from eventdeck.core.broker.message import Message

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker
    from eventdeck.core.broker.subscription import Delivery, Subscription

MAX_ENTRIES = 100_000
SKEW = 1.0  # s: entries a little older than a message's timestamp may still be its (ids run ahead in a flood)

# What an entry records (small ints: an entry is appended per delivery while a journal is open).
DELIVERED, AUTO_ACKED, ACKED, NACKED, DEAD_LETTERED, DROPPED, RETURNED = range(7)

Entry = tuple[float, int, str, int, int]  # time, message id, subscription, what, attempt

_open: weakref.WeakKeyDictionary[Broker, DeliveryJournal] = weakref.WeakKeyDictionary()


class Outcome(enum.Enum):
    """Where one message stands with one subscription."""

    QUEUED = "queued"  # in its queue, not handed out yet
    DELIVERED = "delivered"  # handed to the consumer, not acked yet
    REDELIVERING = "failed, to be redelivered"  # nacked (or its consumer left): queued again
    ACKED = "acked"
    DEAD_LETTERED = "dead-lettered"
    DROPPED = "dropped"  # thrown away by the overflow policy
    UNKNOWN = "unknown"  # nothing on record: taken before the journal opened, or forgotten since

    @property
    def settled(self) -> bool:
        """Whether nothing more will happen to the message on this subscription."""
        return self in _SETTLED


_SETTLED = frozenset({Outcome.ACKED, Outcome.DEAD_LETTERED, Outcome.DROPPED})
_FINAL = {AUTO_ACKED: Outcome.ACKED, ACKED: Outcome.ACKED, DEAD_LETTERED: Outcome.DEAD_LETTERED}
_AFTER = {
    DELIVERED: Outcome.DELIVERED,
    NACKED: Outcome.REDELIVERING,
    RETURNED: Outcome.REDELIVERING,
    DROPPED: Outcome.DROPPED,
}


@dataclass(frozen=True, slots=True)
class SubscriptionTimeline:
    """One subscription's part in one message's story; times are epoch seconds."""

    subscription: str
    outcome: Outcome
    attempts: int = 0  # deliveries to the consumer (1, or more after nacks)
    delivered_at: float | None = None  # the first delivery
    outcome_at: float | None = None  # when the outcome was reached (None while it is pending)

    @property
    def redelivered(self) -> bool:
        return self.attempts > 1 or self.outcome is Outcome.REDELIVERING


@dataclass(frozen=True, slots=True)
class MessageTimeline:
    """Every subscription that got one message, and what each did with it.

    ``complete`` is False when the journal cannot vouch for the whole story: it opened after
    the message was published, or its ring has forgotten that far back.
    """

    message_id: int
    published_at: float
    subscriptions: tuple[SubscriptionTimeline, ...]
    complete: bool = True

    @property
    def settled(self) -> bool:
        """Whether every subscription has reached a final outcome (nothing left to refresh)."""
        return all(entry.outcome.settled for entry in self.subscriptions)

    def of(self, subscription: str) -> SubscriptionTimeline | None:
        return next((entry for entry in self.subscriptions if entry.subscription == subscription), None)


class DeliveryJournal:
    """The ring of delivery entries of one broker. Open with ``open_journal``; ``close`` when done."""

    def __init__(self, broker: Broker, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        self.entries: deque[Entry] = deque(maxlen=max_entries)
        self.opened_at = time.time()
        self.users = 0
        self._broker = weakref.ref(broker)

    @property
    def closed(self) -> bool:
        return self.users <= 0

    # -- written by subscriptions (only while open) ------------------------------

    def record(self, subscription: str, message: Message, what: int, attempt: int) -> None:
        self.entries.append((time.time(), message.id, subscription, what, attempt))

    def delivered(self, subscription: str, deliveries: Iterable[Delivery], auto: bool) -> None:
        """A batch handed out at once: one clock reading for all of it."""
        now, what = time.time(), AUTO_ACKED if auto else DELIVERED
        self.entries.extend([(now, d.message.id, subscription, what, d.attempt) for d in deliveries])

    # -- read on demand -------------------------------------------------------------

    def timeline(self, message: Message) -> MessageTimeline:
        """Which subscriptions got ``message`` and what each did with it, as of now."""
        story = self._entries_of(message)
        names = list(dict.fromkeys(entry[2] for entry in story))  # in the order things happened
        broker = self._broker()
        live: dict[str, Subscription] = {}
        if broker is not None and not broker.closed:
            for info in broker.subscriptions():
                if info.name in names or matches(info.pattern, message.channel):
                    live[info.name] = broker.subscription(info.name)
        for name, sub in live.items():
            # A subscription that came later never got it, unless it was retained and handed over on subscribing.
            if name not in names and (sub.since <= message.timestamp or sub.holds(message) is not None):
                names.append(name)
        lines = tuple(_line(name, [e for e in story if e[2] == name], live.get(name), message) for name in names)
        return MessageTimeline(message.id, message.timestamp, lines, self._covers(message))

    def _entries_of(self, message: Message) -> list[Entry]:
        """The message's entries, oldest first; the scan stops at entries older than the message."""
        ident, oldest = message.id, message.timestamp - SKEW
        found = []
        for entry in reversed(self.entries):
            if entry[0] < oldest:
                break
            if entry[1] == ident:
                found.append(entry)
        found.reverse()
        return found

    def _covers(self, message: Message) -> bool:
        entries = self.entries
        if message.timestamp < self.opened_at:
            return False
        return len(entries) < (entries.maxlen or 0) or entries[0][0] <= message.timestamp

    def close(self) -> None:
        """One user is done; the last one switches the subscriptions back to their fast path."""
        if self.users <= 0:
            return
        self.users -= 1
        broker = self._broker()
        if self.users == 0 and broker is not None:
            if _open.get(broker) is self:
                del _open[broker]
            _switch(broker, None)


def _line(name: str, story: list[Entry], sub: Subscription | None, message: Message) -> SubscriptionTimeline:
    """One subscription's timeline from its entries, and from where the message waits in it now."""
    deliveries = [entry for entry in story if entry[3] in (DELIVERED, AUTO_ACKED)]
    attempts = max((entry[4] for entry in deliveries), default=0)
    first = deliveries[0][0] if deliveries else None
    waiting = sub.holds(message) if sub is not None else None
    if waiting is not None:
        return SubscriptionTimeline(name, waiting, attempts, first)
    if not story:
        return SubscriptionTimeline(name, Outcome.UNKNOWN)
    last = story[-1]
    final = _FINAL.get(last[3])
    if final is not None:
        return SubscriptionTimeline(name, final, attempts, first, last[0])
    outcome = _AFTER[last[3]]
    return SubscriptionTimeline(name, outcome, attempts, first, last[0] if outcome.settled else None)


def _switch(broker: Broker, journal: DeliveryJournal | None) -> None:
    for info in broker.subscriptions():
        broker.subscription(info.name).set_journal(journal)


def open_journal(broker: Broker, max_entries: int = MAX_ENTRIES) -> DeliveryJournal:
    """Start journaling ``broker``'s deliveries (or share the journal already open); ``close()`` it when done."""
    journal = _open.get(broker)
    if journal is None:
        journal = _open[broker] = DeliveryJournal(broker, max_entries)
        _switch(broker, journal)
    journal.users += 1
    return journal


def journal_of(broker: Broker) -> DeliveryJournal | None:
    """The journal open on ``broker``, if any (a new subscription writes to it from the start)."""
    return _open.get(broker)
