"""Virtual subscribers: simulated consumers that make queues, acks, failures and replies visible.

A :class:`VirtualSubscriber` is what the GUI adds by hand ("add a virtual
subscriber"): it subscribes to a pattern with ``ack="manual"``, takes a while to
process each message, fails (nacks) a given fraction of them so redelivery and
dead letters show up, and answers commands with a fixed (or computed) reply::

    async with VirtualSubscriber(broker, "groceries/order", reply={"orderId": "ord-1"}) as grocer:
        reply = await broker.request("groceries/order", {"items": ["milk"]})

It is cheap at high rates: deliveries are taken in batches, the processing delay
is slept once per batch (for the sum of the batch), and with no delay it only
yields to the event loop once per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeAlias

from eventdeck.core.broker.errors import DeliveryError, EventDeckError, SubscriptionError
from eventdeck.core.broker.message import Kind, Message, PayloadLike
from eventdeck.core.broker.subscription import AckMode, Delivery, Overflow, State, Subscription
from eventdeck.core.simulation.lifecycle import StartStop

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker

__all__ = ["ReplyFactory", "VirtualSubscriber"]

logger = logging.getLogger(__name__)

ReplyFactory: TypeAlias = Callable[[Message], PayloadLike]
"""Computes the reply payload for one command (the simulation uses this for realistic replies)."""

MAX_BATCH = 256
"""Most deliveries taken before the subscriber sleeps or yields to the event loop."""
MIN_SLEEP = 0.01
"""A batch grows until its summed processing delay reaches this many seconds (one timer per batch)."""
_GONE = (State.CLOSED, State.AWAY)
_LOGGED_ERRORS = 5
"""Handler errors logged one by one; after that only every 1,000th is logged (they are all counted)."""


class VirtualSubscriber(StartStop):
    """A simulated consumer of ``pattern`` with a processing delay, a failure rate and auto-replies.

    - ``delay``: seconds of simulated work per message (slept per batch, not per message).
    - ``failure_rate``: the fraction (0..1) of deliveries that are nacked with ``requeue=True``;
      the broker redelivers them up to ``max_attempts`` times, then dead-letters them.
    - ``reply``: for commands, the reply payload (or a function of the command that returns it).
      ``None`` means commands are acked but never answered. A failed command gets no reply.
    - ``seed``: seeds the random generator that decides failures, for repeatable runs.

    The subscription is created here (so a bad pattern or a taken name fails at once) and
    is available as :attr:`subscription`: pausing it shows the queue grow, resuming drains it.
    ``start()`` runs the consuming task; ``await stop()`` cancels it and closes the
    subscription (a durable one stays "away" and keeps queueing until started again).
    """

    def __init__(
        self,
        broker: Broker,
        pattern: str,
        *,
        name: str | None = None,
        delay: float = 0.0,
        failure_rate: float = 0.0,
        reply: PayloadLike | ReplyFactory | None = None,
        durable: bool = False,
        max_pending: int = 10_000,
        overflow: Overflow | str = Overflow.DROP_OLDEST,
        max_attempts: int = 5,
        seed: int | None = None,
    ) -> None:
        if not delay >= 0:  # also rejects NaN
            raise SubscriptionError(f"processing delay must be 0 or more seconds, got {delay!r}")
        if not 0 <= failure_rate <= 1:
            raise SubscriptionError(f"failure rate must be between 0 and 1, got {failure_rate!r}")
        self.broker = broker
        self.delay = float(delay)
        self.failure_rate = float(failure_rate)
        self.reply = reply
        self.random = random.Random(seed)
        self.processed = 0
        """Deliveries handled and acked."""
        self.failed = 0
        """Deliveries nacked on purpose (the simulated failure rate)."""
        self.replies = 0
        """Commands answered."""
        self.errors = 0
        """Deliveries whose handling raised (logged, dead-lettered, never fatal)."""
        # start() after stop() subscribes anew with the same settings (a durable one gets its backlog back).
        self._subscribe = partial(
            broker.subscribe,
            pattern,
            durable=durable,
            max_pending=max_pending,
            overflow=overflow,
            ack=AckMode.MANUAL,
            max_attempts=max_attempts,
        )
        self._subscription = self._subscribe(name=name)
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<VirtualSubscriber {self.name!r} {self.pattern!r} {state} processed={self.processed}>"

    @property
    def subscription(self) -> Subscription:
        """The broker subscription this consumer drains (pause/resume it to see the queue grow/drain)."""
        return self._subscription

    @property
    def name(self) -> str:
        return self._subscription.name

    @property
    def pattern(self) -> str:
        return self._subscription.pattern

    @property
    def durable(self) -> bool:
        return self._subscription.durable

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start consuming in a task named ``virtual-subscriber:<name>`` (idempotent)."""
        if self.running:
            return
        if self._subscription.state in _GONE:
            self._subscription = self._subscribe(name=self.name)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"virtual-subscriber:{self.name}")

    async def stop(self) -> None:
        """Cancel the consuming task, wait for it, and close the subscription."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # our caller is being cancelled too: let it propagate
        elif task is not None and not task.cancelled() and task.exception() is not None:
            logger.error("virtual subscriber %r had stopped with an error", self.name, exc_info=task.exception())
        self._subscription.close()

    def kill(self) -> int:
        """Die like a process: the consuming task is cancelled (not waited for) and the subscription closed.

        Returns how many messages that lost. A durable subscription loses none: it stays "away" and
        keeps queueing, and the deliveries being worked on go back to the front of its queue. Any
        other is removed with its queue and those deliveries. ``start()`` brings the consumer back.
        """
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        sub = self._subscription
        lost = 0 if sub.durable or sub.state in _GONE else sub.pending + len(sub.unacked)
        sub.close()
        return lost

    # -- consuming -----------------------------------------------------------

    async def _run(self) -> None:
        sub = self._subscription
        try:
            while True:
                # Wait for the first delivery, then take what is already queued in one go:
                # with a delay, only as many as make one timer worth it (MIN_SLEEP).
                delay = self.delay
                limit = MAX_BATCH if not delay else max(1, min(MAX_BATCH, int(MIN_SLEEP / delay)))
                batch = await sub.batch(limit)
                if delay:
                    await asyncio.sleep(delay * len(batch))
                    if sub.state in _GONE:
                        return  # removed (or detached) while "working": the broker took the batch back
                for delivery in batch:
                    await self._handle(delivery)
                if len(batch) == MAX_BATCH and not delay:
                    await asyncio.sleep(0)  # a flood with no delay: let the rest of the loop run once per batch
        except StopAsyncIteration:
            return  # the subscription was closed or the broker shut down

    async def _handle(self, delivery: Delivery) -> None:
        message = delivery.message
        try:
            if self.failure_rate and self.random.random() < self.failure_rate:
                self.failed += 1
                await delivery.nack(requeue=True, reason=f"simulated failure in {self.name!r}")
                return
            if message.kind is Kind.COMMAND and self.reply is not None:
                reply = self.reply
                payload = reply(message) if callable(reply) else reply
                await self.broker.reply(message, payload, publisher=self.name)
                self.replies += 1
            await delivery.ack()
            self.processed += 1
        except Exception as exc:  # a bad message must never kill the consumer
            if isinstance(exc, DeliveryError) and self._subscription.state in _GONE:
                return  # the subscription was removed meanwhile: nothing left to settle
            self._report(message, exc)
            with contextlib.suppress(EventDeckError):  # DeliveryError: already settled, or the subscription went away
                await delivery.nack(requeue=False, reason=f"error in {self.name!r}: {exc}")

    def _report(self, message: Message, exc: Exception) -> None:
        self.errors += 1
        if self.errors <= _LOGGED_ERRORS or self.errors % 1000 == 0:
            logger.warning(
                "virtual subscriber %r failed to handle message %d on %r (%d errors so far): %s",
                self.name,
                message.id,
                message.channel,
                self.errors,
                exc,
                exc_info=not isinstance(exc, EventDeckError),
            )
