"""A subscription's settings and the snapshot of its counters: the vocabulary shared with the broker."""

from __future__ import annotations

import enum
from typing import NamedTuple, TypeVar

from eventdeck.core.broker.errors import SubscriptionError

MAX_PENDING_BYTES = 64 * 1024 * 1024  # per subscription: four of the largest default payloads


class Overflow(enum.Enum):
    """What a full subscription does with one more message."""

    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"
    BLOCK = "block"


class AckMode(enum.Enum):
    AUTO = "auto"
    MANUAL = "manual"


class State(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    AWAY = "away"  # durable, no consumer attached: still queueing
    CLOSED = "closed"


_E = TypeVar("_E", Overflow, AckMode)


def check_options(
    overflow: Overflow | str, ack: AckMode | str, max_pending: int, max_attempts: int, max_pending_bytes: int = 1
) -> tuple[Overflow, AckMode]:
    """The overflow policy and ack mode as enums; ``SubscriptionError`` for anything out of range."""
    policy = _enum(Overflow, overflow, "overflow")
    mode = _enum(AckMode, ack, "ack")
    if max_pending < 1:
        raise SubscriptionError(f"max_pending must be at least 1, got {max_pending}")
    if max_pending_bytes < 1:
        raise SubscriptionError(f"max_pending_bytes must be at least 1, got {max_pending_bytes}")
    if max_attempts < 1:
        raise SubscriptionError(f"max_attempts must be at least 1, got {max_attempts}")
    return policy, mode


def _enum(kind: type[_E], value: object, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(repr(member.value) for member in kind)
        raise SubscriptionError(f"{what} must be one of {choices}, got {value!r}") from None


class SubscriptionInfo(NamedTuple):
    """A snapshot of one subscription's settings and counters."""

    name: str
    pattern: str
    durable: bool
    state: State
    overflow: Overflow
    ack: AckMode
    max_pending: int
    pending: int
    unacked: int
    delivered: int
    acked: int
    redelivered: int
    dead_lettered: int
    dropped: int
    pending_bytes: int = 0  # payload bytes of the ``pending`` messages
    max_pending_bytes: int = 0
