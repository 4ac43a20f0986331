"""The delivery journal: what each subscription did with each message, for following one message.

The tap logs what is published; the journal logs what happens after: each hand-out to a
consumer (with its attempt), each ack, nack, dead letter and overflow drop, by message id. It
is a bounded ring (100,000 message ids by default, oldest forgotten first), written only while
a journal is open on the broker: ``open_journal`` switches every subscription's fast path off
(and ``close`` back on), so a broker without one pays nothing, not even a check per message.
A batch taken at once is one entry holding its ids: a flood costs an id per message, not an
object (allocating one per message made the garbage collector the bottleneck).
Reading is on demand: ``timeline(message)`` answers for ONE message, never per message into
anyone's event loop, from the ring (scanned from the newest end) and from where the message
waits now (a queue, a redelivery, a consumer that has not settled it yet).
"""

from __future__ import annotations

import enum
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eventdeck.core.broker.channels import matches
from eventdeck.core.broker.message import Message

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker
    from eventdeck.core.broker.subscription import Delivery, Subscription

MAX_ENTRIES = 100_000  # message ids kept (a batch's entry counts each of its ids)
SKEW = 1.0  # s: entries a little older than a message's timestamp may still be its (ids run ahead in a flood)

# What an entry records (small ints: an entry is appended per delivery or batch while a journal is open).
DELIVERED, AUTO_ACKED, ACKED, NACKED, DEAD_LETTERED, DROPPED, RETURNED = range(7)

Entry = tuple[float, int | list[int], str, int, int]  # time, message id (or a batch's ids), subscription, what, attempt
Event = tuple[float, str, int, int]  # one message's: time, subscription, what, attempt

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
        """Whether nothing more is to be learnt: every outcome is final, or forgotten beyond asking again."""
        forgotten = not self.complete
        return all(
            line.outcome.settled or (forgotten and line.outcome is Outcome.UNKNOWN) for line in self.subscriptions
        )

    def of(self, subscription: str) -> SubscriptionTimeline | None:
        return next((entry for entry in self.subscriptions if entry.subscription == subscription), None)


class DeliveryJournal:
    """The ring of delivery entries of one broker. Open with ``open_journal``; ``close`` when done."""

    def __init__(self, broker: Broker, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries!r}")
        self.max_entries = max_entries
        self.entries: deque[Entry] = deque()
        self.size = 0  # message ids in ``entries``
        self.opened_at = time.time()
        self.forgotten_until = 0.0  # the time of the newest entry dropped to stay under max_entries
        self.users = 0
        self._broker = weakref.ref(broker)

    @property
    def closed(self) -> bool:
        return self.users <= 0

    # -- written by subscriptions (only while open) ------------------------------

    def record(self, subscription: str, message: Message, what: int, attempt: int) -> None:
        self.entries.append((time.time(), message.id, subscription, what, attempt))
        self.size += 1
        if self.size > self.max_entries:
            self._forget()

    def delivered(self, subscription: str, deliveries: Sequence[Delivery], auto: bool) -> None:
        """A batch of first deliveries handed out at once: one entry, one clock reading."""
        ids = [delivery.message.id for delivery in deliveries]  # ~40 ns an id: the least a batch can cost
        self.entries.append((time.time(), ids, subscription, AUTO_ACKED if auto else DELIVERED, 1))
        self.size += len(ids)
        if self.size > self.max_entries:
            self._forget()

    def _forget(self) -> None:
        entries = self.entries
        while self.size > self.max_entries and len(entries) > 1:
            oldest = entries.popleft()
            ids = oldest[1]
            self.size -= 1 if isinstance(ids, int) else len(ids)
            self.forgotten_until = oldest[0]

    # -- read on demand -------------------------------------------------------------

    def timeline(self, message: Message) -> MessageTimeline:
        """Which subscriptions got ``message`` and what each did with it, as of now."""
        story = self._events_of(message)
        names = list(dict.fromkeys(event[1] for event in story))  # in the order things happened
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
        lines = tuple(_line(name, [e for e in story if e[1] == name], live.get(name), message) for name in names)
        complete = self.opened_at <= message.timestamp and self.forgotten_until < message.timestamp
        return MessageTimeline(message.id, message.timestamp, lines, complete)

    def _events_of(self, message: Message) -> list[Event]:
        """What happened to the message, oldest first; the scan stops at entries older than the message."""
        ident, oldest = message.id, message.timestamp - SKEW
        found = []
        for when, ids, subscription, what, attempt in reversed(self.entries):
            if when < oldest:
                break
            if ids == ident or (type(ids) is list and ident in ids):
                found.append((when, subscription, what, attempt))
        found.reverse()
        return found

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


def _line(name: str, story: list[Event], sub: Subscription | None, message: Message) -> SubscriptionTimeline:
    """One subscription's timeline from its events, and from where the message waits in it now."""
    deliveries = [event for event in story if event[2] in (DELIVERED, AUTO_ACKED)]
    attempts = max((event[3] for event in deliveries), default=0)
    first = deliveries[0][0] if deliveries else None
    waiting = sub.holds(message) if sub is not None else None
    if waiting is not None:
        return SubscriptionTimeline(name, waiting, attempts, first)
    if not story:
        return SubscriptionTimeline(name, Outcome.UNKNOWN)
    when, _name, what, _attempt = story[-1]
    final = _FINAL.get(what)
    if final is not None:
        return SubscriptionTimeline(name, final, attempts, first, when)
    outcome = _AFTER[what]
    return SubscriptionTimeline(name, outcome, attempts, first, when if outcome.settled else None)


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
