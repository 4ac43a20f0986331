"""The tap: a bounded log of what the broker did, drained in batches by observers.

The broker appends to one shared ring (a ``deque`` with ``maxlen``), never to a
buffer per observer, so publishing costs the same however many taps are open.
Each tap keeps only a read position; a tap that falls behind the ring loses the
oldest events and is told how many. Events every open tap has drained are
dropped from the ring at drain time, so it does not keep old messages alive.

What happens to a message after it is published (each delivery, ack, nack and dead letter
per subscription) is not drained here: it would be one event per delivery. A tap's owner
opens the delivery journal (``journal.open_journal``) and asks it about one message at a time.
"""

from __future__ import annotations

import enum
import itertools
import time
from collections import deque
from typing import NamedTuple, TypeAlias

from eventdeck.core.broker.message import Message


class EventKind(enum.Enum):
    """What happened in the broker (a published message is logged as the ``Message`` itself)."""

    CHANNEL_CREATED = "channel created"
    CHANNELS_FORGOTTEN = "channels forgotten"  # idle ones, to stay under max_channels
    SUBSCRIPTION_ADDED = "subscription added"
    SUBSCRIPTION_REMOVED = "subscription removed"
    SUBSCRIPTION_PAUSED = "subscription paused"
    SUBSCRIPTION_RESUMED = "subscription resumed"
    CONSUMER_AWAY = "consumer away"
    CONSUMER_BACK = "consumer back"
    MESSAGE_DROPPED = "message dropped"
    DEAD_LETTERED = "dead-lettered"
    RETAINED_CLEARED = "retained cleared"
    REQUEST_TIMED_OUT = "request timed out"
    PUBLISH_TIMED_OUT = "publish timed out"
    NO_RESPONDER = "no responder"


class BrokerEvent(NamedTuple):
    """Something other than a publish that the broker did; ``message`` is set where one is involved."""

    kind: EventKind
    channel: str = ""
    subscription: str = ""
    message: Message | None = None
    detail: str = ""
    timestamp: float = 0.0


TapItem: TypeAlias = Message | BrokerEvent


class TapBatch(NamedTuple):
    """What one ``Tap.drain()`` returns: the events in order and how many were lost before them."""

    events: list[TapItem]
    lost: int


class EventLog:
    """The broker's shared ring of tap items; ``count`` is how many were ever appended."""

    def __init__(self) -> None:
        self.ring: deque[TapItem] = deque(maxlen=1)
        self.count = 0
        self.taps: list[Tap] = []

    def append(self, item: TapItem) -> None:
        self.ring.append(item)
        self.count += 1

    def record(
        self,
        kind: EventKind,
        channel: str = "",
        subscription: str = "",
        message: Message | None = None,
        detail: str = "",
    ) -> None:
        """Log a ``kind`` event, built only if a tap is open to see it."""
        if self.taps:
            self.append(BrokerEvent(kind, channel, subscription, message, detail, time.time()))

    def attach(self, tap: Tap) -> None:
        self.taps.append(tap)
        self._resize()

    def detach(self, tap: Tap) -> None:
        if tap in self.taps:
            self.taps.remove(tap)
            self._resize()
            self.trim()

    def trim(self) -> None:
        """Forget what every open tap has already drained, so the ring does not keep it alive."""
        ring = self.ring
        if not ring:
            return
        oldest_wanted = min((tap.next for tap in self.taps), default=self.count)
        excess = oldest_wanted - (self.count - len(ring))
        if excess >= len(ring):
            ring.clear()
        else:
            for _ in range(excess):
                ring.popleft()

    def _resize(self) -> None:
        size = max((tap.max_events for tap in self.taps), default=1)
        if size != self.ring.maxlen:
            self.ring = deque(self.ring, maxlen=size)


class Tap:
    """An observer's cursor into the broker's event log. Create with ``Broker.tap()``."""

    def __init__(self, log: EventLog, max_events: int) -> None:
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, got {max_events}")
        self.max_events = max_events
        self.lost_total = 0
        self.closed = False
        self._log = log
        self.next = log.count
        log.attach(self)

    def drain(self) -> TapBatch:
        """Everything logged since the last drain (at most ``max_events``), oldest first.

        ``lost`` counts the events this tap missed because it drained too late (the
        ring only keeps the newest ``max_events``). A closed tap returns nothing.
        """
        if self.closed:
            return TapBatch([], 0)
        log = self._log
        ring = log.ring
        first = log.count - len(ring)  # sequence number of ring[0]
        start = max(self.next, first, log.count - self.max_events)
        lost = start - self.next
        self.next = log.count
        self.lost_total += lost
        offset = start - first
        events = list(ring) if offset == 0 else list(itertools.islice(ring, offset, None))
        log.trim()
        return TapBatch(events, lost)

    def close(self) -> None:
        """Stop observing; the broker no longer keeps events for this tap."""
        self.closed = True
        self._log.detach(self)

    def __enter__(self) -> Tap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
