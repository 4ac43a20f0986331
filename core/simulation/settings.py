"""Simulation settings of operations: the ``x-eventdeck-publisher``, ``-responder`` and ``-subscriber`` fields."""

from __future__ import annotations

from dataclasses import dataclass

from eventdeck.core.asyncapi.model import Operation

__all__ = [
    "MAX_ATTEMPTS",
    "MAX_CONSUMERS",
    "MAX_DELAY",
    "MAX_RATE",
    "OperationSpec",
    "PublisherSettings",
    "ResponderSettings",
    "SubscriberSettings",
]

MAX_RATE = 1000.0
"""Highest simulated rate per publisher (messages per second); the demo wants a few per second."""
MAX_DELAY = 60.0
"""Longest simulated processing delay (seconds) of a responder or a subscriber."""
MAX_ATTEMPTS = 100
"""Most deliveries of one message a simulated subscriber may be given before it is dead-lettered."""
MAX_CONSUMERS = 20
"""Most simulated consumers sharing one subscription (a pool of competing consumers)."""


@dataclass(frozen=True)
class PublisherSettings:
    """``x-eventdeck-publisher`` on a send operation: the simulated publisher and its rate."""

    name: str
    rate: float
    """Messages (or commands) per second."""
    timeout: float = 2.0
    """For commands: seconds to wait for the reply."""
    retain: bool = False
    """For events: each one becomes its channel's retained message, the last value a new subscriber gets first."""


@dataclass(frozen=True)
class ResponderSettings:
    """``x-eventdeck-responder`` on a receive operation with a reply: the simulated service."""

    name: str
    delay: float = 0.2
    failure_rate: float = 0.0


@dataclass(frozen=True)
class SubscriberSettings:
    """``x-eventdeck-subscriber`` on a receive operation without a reply: a simulated consumer.

    It subscribes (manual acks) to ``pattern`` and takes ``delay`` seconds per message; it fails
    (nacks) ``failure_rate`` of them, which the broker redelivers up to ``max_attempts`` deliveries
    and then dead-letters to ``$dead/<channel>``. A ``durable`` subscription keeps queueing while
    its consumer is away. ``consumers`` above 1 makes it a pool of competing consumers sharing the
    one subscription: each message goes to whichever of them is free.
    """

    name: str
    pattern: str
    """What it subscribes to: the operation's channel, or the ``pattern`` field (e.g. ``user/#``)."""
    delay: float = 0.0
    failure_rate: float = 0.0
    durable: bool = False
    max_attempts: int = 5
    consumers: int = 1


@dataclass(frozen=True)
class OperationSpec(Operation):
    """A document operation with the simulation settings its ``x-eventdeck-...`` fields give it."""

    publisher: PublisherSettings | None = None
    responder: ResponderSettings | None = None
    subscriber: SubscriberSettings | None = None
