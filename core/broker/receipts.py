"""What the broker hands back: a publish's receipt and broker-wide totals."""

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
