"""What the broker hands back: a publish's receipt, broker-wide totals and what a reset forgot."""

from __future__ import annotations

from typing import NamedTuple

from eventdeck.core.broker.message import Message


class Receipt(NamedTuple):
    """What ``publish`` returns: the message as published and how many subscriptions queued it."""

    message: Message
    queued: int

    @property
    def id(self) -> int:
        return self.message.id


class BrokerStats(NamedTuple):
    """Broker-wide totals at ``time``."""

    time: float
    published: int
    delivered: int
    dropped: int
    channels: int
    subscriptions: int
    pending_requests: int


class ResetReport(NamedTuple):
    """What ``Broker.reset`` forgot (everything lived in memory)."""

    queued: int
    """Messages that were waiting in subscriptions (queued or due for redelivery)."""
    retained: int
    requests: int
    """Commands still waiting for a reply (failed with ``BrokerClosed``)."""
    delayed: int
    """Messages a delay fault was holding."""
    subscriptions: int
    """Durable subscriptions whose consumer was away (forgotten; attached ones are kept, emptied)."""
