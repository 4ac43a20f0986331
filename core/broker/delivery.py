"""A delivery: one message handed to a consumer, to ack or nack (``Subscription`` hands them out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventdeck.core.broker import journal as _journal
from eventdeck.core.broker.errors import DeliveryError
from eventdeck.core.broker.message import Message

if TYPE_CHECKING:
    from eventdeck.core.broker.subscription import Subscription

# Delivery._settled values
OPEN = 0
SETTLED = 1
WITHDRAWN = 2  # taken back when the consumer went away or the subscription closed


class Delivery:
    """One message handed to a consumer; ``attempt`` counts from 1 and grows on each redelivery."""

    __slots__ = ("_settled", "_subscription", "attempt", "message")

    def __init__(self, subscription: Subscription, message: Message, attempt: int, settled: int) -> None:
        self.message = message
        self.attempt = attempt
        self._subscription = subscription
        self._settled = settled

    def __repr__(self) -> str:
        return f"<Delivery {self.message.id} on {self.message.channel!r} attempt={self.attempt}>"

    @property
    def redelivered(self) -> bool:
        return self.attempt > 1

    async def ack(self) -> None:
        """Confirm the message was handled. A no-op on auto-ack subscriptions."""
        sub = self._subscription
        if sub.auto:
            return
        self._settle("ack")
        sub._acked += 1
        if sub._store is not None:
            sub._store.settle(sub.name, self.message)
        if sub._journal is not None:
            sub._journal.record(sub.name, self.message, _journal.ACKED, self.attempt)

    async def nack(self, requeue: bool = True, reason: str = "") -> None:
        """Report failure: redeliver it (up to ``max_attempts``), or dead-letter it now if ``requeue`` is False.

        The dead-lettered copy goes to ``$dead/<channel>`` with ``x-dead-reason`` (``reason``
        or "rejected", plus the attempt count when redelivery gave up), ``x-attempts`` and
        the original channel, id and subscription in its headers.
        """
        sub = self._subscription
        if sub.auto:
            raise DeliveryError(f"subscription {sub.name!r} acks automatically; nack needs ack='manual'")
        self._settle("nack")
        if requeue and self.attempt < sub.max_attempts:
            if sub._journal is not None:
                sub._journal.record(sub.name, self.message, _journal.NACKED, self.attempt)
            sub.requeue(self.message, self.attempt + 1)
            return
        why = reason or "rejected"
        if requeue:
            why = f"{why}; gave up after {self.attempt} attempts (max_attempts={sub.max_attempts})"
        sub.dead_letter(self.message, why, self.attempt)

    def _settle(self, what: str) -> None:
        settled = self._settled
        if settled == SETTLED:
            raise DeliveryError(f"message {self.message.id} was already acked or nacked; cannot {what} it again")
        if settled == WITHDRAWN:
            raise DeliveryError(
                f"cannot {what} message {self.message.id}: its consumer left subscription "
                f"{self._subscription.name!r} ({self._subscription.state.value}) before settling it"
            )
        self._settled = SETTLED
        self._subscription.unacked.discard(self)
