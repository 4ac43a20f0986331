"""Virtual subscribers: simulated consumers that make queues, acks, failures and replies visible.

A :class:`VirtualSubscriber` is what the GUI adds by hand ("add a virtual
subscriber"): it subscribes to a pattern with ``ack="manual"``, takes a while to
process each message, fails (nacks) a given fraction of them so redelivery and
dead letters show up, and answers commands with a fixed (or computed) reply::

    async with VirtualSubscriber(broker, "groceries/order", reply={"orderId": "ord-1"}) as grocer:
        reply = await broker.request("groceries/order", {"items": ["milk"]})

With ``consumers=N`` it is a pool of competing consumers: N consumer tasks
("thumbnail-workers#1", "#2", ...) share its one subscription, each taking the next
message when it is free, so the work is spread over them and the queue drains N
times faster; :meth:`VirtualSubscriber.set_consumers` scales the pool while it runs.

It is cheap at high rates: deliveries are taken in batches, the processing delay
is slept once per batch (for the sum of the batch), and with no delay it only
yields to the event loop once per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, TypeAlias

from eventdeck.core.broker.errors import DeliveryError, EventDeckError, SubscriptionError
from eventdeck.core.broker.message import Kind, Message, PayloadLike
from eventdeck.core.broker.subscription import AckMode, Delivery, Overflow, State, Subscription
from eventdeck.core.simulation.lifecycle import StartStop
from eventdeck.core.simulation.settings import MAX_CONSUMERS

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker

__all__ = ["ReplyFactory", "VirtualSubscriber", "check_consumers"]

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
    - ``consumers``: how many consumers (1 to 20) share the subscription, each with the delay
      and the failure rate above; each message goes to one of them (:attr:`processed_by` counts
      what each one did).

    The subscription is created here (so a bad pattern or a taken name fails at once) and
    is available as :attr:`subscription`: pausing it shows the queue grow, resuming drains it.
    ``start()`` runs the consuming tasks; ``await stop()`` cancels them and closes the
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
        consumers: int = 1,
    ) -> None:
        if not delay >= 0:  # also rejects NaN
            raise SubscriptionError(f"processing delay must be 0 or more seconds, got {delay!r}")
        if not 0 <= failure_rate <= 1:
            raise SubscriptionError(f"failure rate must be between 0 and 1, got {failure_rate!r}")
        self._consumers = check_consumers(consumers)
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
        self.processed_by: Counter[str] = Counter()
        """Deliveries handled and acked, by consumer (its :meth:`consumer_name`), counted once per batch."""
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
        self._workers: dict[int, asyncio.Task[None]] = {}  # consumer number (from 1) -> its task
        self._idle: set[asyncio.Task[None]] = set()  # waiting for a delivery: they hold none, so may be cancelled

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        pool = f" consumers={self._consumers}" if self._consumers > 1 else ""
        return f"<VirtualSubscriber {self.name!r} {self.pattern!r} {state}{pool} processed={self.processed}>"

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
        return any(not task.done() for task in self._workers.values())

    @property
    def consumers(self) -> int:
        """How many consumers share the subscription (the pool's size; 1 for a plain subscriber)."""
        return self._consumers

    def consumer_name(self, number: int) -> str:
        """The display name of consumer ``number`` (from 1): ``thumbnail-workers#2``."""
        return f"{self.name}#{number}"

    def set_consumers(self, count: int) -> None:
        """``count`` consumers (1 to 20) share the subscription from now on (``SubscriptionError`` outside).

        While running, new consumers start at once; one too many stops when it is free, so no
        delivery it holds is left unsettled.
        """
        self._consumers = check_consumers(count)
        if not self.running:
            return  # start() starts as many
        self._start_workers()
        for number, task in list(self._workers.items()):
            if number > count and task in self._idle:
                del self._workers[number]
                task.cancel()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start consuming, one task per consumer named ``virtual-subscriber:<name>#<n>`` (idempotent)."""
        if self.running:
            return
        self._workers.clear()  # ended with the subscription (a broker closing): start anew
        if self._subscription.state in _GONE:
            self._subscription = self._subscribe(name=self.name)
        self._start_workers()

    def _start_workers(self) -> None:
        loop = asyncio.get_running_loop()
        for number in range(1, self._consumers + 1):
            if number not in self._workers:
                name = f"virtual-subscriber:{self.consumer_name(number)}"
                self._workers[number] = loop.create_task(self._run(number), name=name)

    async def stop(self) -> None:
        """Cancel the consuming tasks, wait for them, and close the subscription."""
        tasks = list(self._workers.values())
        self._workers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # raises if our caller is being cancelled too
        self._subscription.close()

    def kill(self) -> int:
        """Die like a process: every consumer's task is cancelled (not waited for) and the subscription closed.

        Returns how many messages that lost. A durable subscription loses none: it stays "away" and
        keeps queueing, and the deliveries being worked on go back to the front of its queue. Any
        other is removed with its queue and those deliveries. ``start()`` brings the consumers back.
        """
        for task in self._workers.values():
            task.cancel()
        self._workers.clear()
        sub = self._subscription
        lost = 0 if sub.durable or sub.state in _GONE else sub.pending + len(sub.unacked)
        sub.close()
        return lost

    # -- consuming -----------------------------------------------------------

    async def _run(self, number: int) -> None:
        """Consumer ``number``: take deliveries and work on them until the pool is scaled in below it."""
        sub = self._subscription
        worker = self.consumer_name(number)
        me = asyncio.current_task()
        assert me is not None
        try:
            while number <= self._consumers:
                # Wait for the first delivery, then take this consumer's share of what is already queued:
                # with a delay, only as many as make one timer worth it (MIN_SLEEP).
                self._idle.add(me)
                batch = await sub.batch(1)
                self._idle.discard(me)
                delay = self.delay
                limit = MAX_BATCH if not delay else max(1, min(MAX_BATCH, int(MIN_SLEEP / delay)))
                share = min(limit - 1, sub.pending // self._consumers)
                if share:
                    batch += sub.take(share)
                if delay:
                    await asyncio.sleep(delay * len(batch))
                    if sub.state in _GONE:
                        return  # removed (or detached) while "working": the broker took the batch back
                handled = 0
                for delivery in batch:
                    handled += await self._handle(delivery)
                self.processed_by[worker] += handled
                if len(batch) == MAX_BATCH and not delay:
                    await asyncio.sleep(0)  # a flood with no delay: let the rest of the loop run once per batch
        except StopAsyncIteration:
            return  # the subscription was closed or the broker shut down
        except Exception:  # a bug, not a bad message (_handle keeps those): say so now, not at stop()
            logger.exception("virtual subscriber %r stopped with an error", worker)
            return
        finally:
            self._idle.discard(me)
        if self._workers.get(number) is me:
            del self._workers[number]  # scaled in: it finished its batch and leaves the pool

    async def _handle(self, delivery: Delivery) -> bool:
        """Work on one delivery; True if it was handled and acked."""
        message = delivery.message
        try:
            if self.failure_rate and self.random.random() < self.failure_rate:
                self.failed += 1
                await delivery.nack(requeue=True, reason=f"simulated failure in {self.name!r}")
                return False
            if message.kind is Kind.COMMAND and self.reply is not None:
                reply = self.reply
                payload = reply(message) if callable(reply) else reply
                await self.broker.reply(message, payload, publisher=self.name)
                self.replies += 1
            await delivery.ack()
            self.processed += 1
            return True
        except Exception as exc:  # a bad message must never kill the consumer
            if isinstance(exc, DeliveryError) and self._subscription.state in _GONE:
                return False  # the subscription was removed meanwhile: nothing left to settle
            self._report(message, exc)
            with contextlib.suppress(EventDeckError):  # DeliveryError: already settled, or the subscription went away
                await delivery.nack(requeue=False, reason=f"error in {self.name!r}: {exc}")
            return False

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


def check_consumers(count: int) -> int:
    """``count`` if it is a whole number of consumers from 1 to ``MAX_CONSUMERS``; ``SubscriptionError`` if not."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CONSUMERS:
        raise SubscriptionError(
            f"the number of consumers sharing a subscription must be a whole number from 1 to {MAX_CONSUMERS}, "
            f"got {count!r}"
        )
    return count
