"""The simulation: publishers, responders and subscribers from a workspace, so the window is alive from the start.

For each send operation with ``x-eventdeck-publisher`` a task publishes (at the
given rate, with some jitter) payloads made from the message's examples and its
``x-eventdeck-generate`` field generators; a send operation with a ``reply`` is a
command and is sent with ``broker.request`` instead, so request/reply shows up.
Each receive operation with ``x-eventdeck-responder`` becomes a
:class:`~eventdeck.core.simulation.virtual.VirtualSubscriber` that answers the command after
a small delay. Each receive operation with ``x-eventdeck-subscriber`` becomes a
:class:`~eventdeck.core.simulation.virtual.VirtualSubscriber` too: a consumer the broker pushes the
matching events to, which takes its time, and may fail some of them (redelivered, then
dead-lettered to ``$dead/<channel>``)::

    async with Broker() as broker:
        simulation = Simulation(broker, load_demo())
        simulation.start()
        ...
        simulation.pause()   # the toolbar button
        simulation.resume()
        simulation.set_speed(0.5)   # everything at half speed, at once
        await simulation.stop()

Scenarios reach into it by name: a consumer's delay and failure rate (:meth:`Simulation.set_delay`,
:meth:`Simulation.set_failure_rate`), how many competing consumers share a subscription
(:meth:`Simulation.set_consumers`, :meth:`Simulation.consumer_count`), a consumer that dies and comes back
(:meth:`Simulation.stop_consumer`, :meth:`Simulation.start_consumer`), a publisher's burst
(:meth:`Simulation.set_boost`); :mod:`.faults` builds its faults on these.

A request that times out or finds no responder is logged and counted; nothing a
publisher runs into stops the simulation, except the broker closing.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from eventdeck.core.asyncapi.model import MessageSpec
from eventdeck.core.broker.errors import (
    BrokerClosed,
    NoResponderError,
    RequestTimeout,
    SubscriptionError,
)
from eventdeck.core.broker.message import Message, PayloadLike
from eventdeck.core.broker.subscription import State
from eventdeck.core.simulation.clock import SimClock
from eventdeck.core.simulation.consumer_controls import ConsumerControls, UnknownName
from eventdeck.core.simulation.generators import PayloadFactory
from eventdeck.core.simulation.lifecycle import StartStop
from eventdeck.core.simulation.settings import OperationSpec, ResponderSettings, SubscriberSettings
from eventdeck.core.simulation.virtual import ReplyFactory, VirtualSubscriber
from eventdeck.core.simulation.workspace import Workspace, load_demo

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker

__all__ = ["MAX_SPEED", "MIN_SPEED", "Simulation", "UnknownName"]

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 8
"""Most commands a simulated publisher waits on at once; further ticks skip sending until one finishes."""
JITTER = (0.6, 1.4)
"""Each interval between two messages is the nominal one times a random factor in this range."""
FIRST_TICK = 0.5
"""Every publisher sends its first message within this many seconds of ``start()`` (sooner if faster)."""
MIN_SPEED = 0.1
MAX_SPEED = 5.0
"""The range of :meth:`Simulation.set_speed`."""


class Simulation(ConsumerControls, StartStop):
    """Simulated publishers, responders and subscribers for a workspace (the packaged demo by default).

    ``speed`` multiplies every rate and divides every delay and command timeout (tests run
    the demo fast; :meth:`set_speed` changes it while running, between 0.1 and 5);
    ``seed`` makes payloads, timing and failures repeatable. ``start()`` declares the
    workspace's channels, starts the responders and subscribers (:attr:`responders`,
    :attr:`subscribers`, reached by name as :class:`.ConsumerControls` says) and one named
    task per publisher; ``pause()`` and ``resume()`` stop and restart the publishers
    (responders and subscribers keep consuming, so queues drain); ``await stop()`` cancels
    everything and waits for it. A durable subscriber's
    subscription outlives ``stop()``: it stays "away" and keeps queueing, and the next
    ``start()`` takes its backlog.
    """

    def __init__(
        self,
        broker: Broker,
        workspace: Workspace | None = None,
        *,
        speed: float = 1.0,
        seed: int | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be more than 0, got {speed!r}")
        self.broker = broker
        self.workspace = workspace if workspace is not None else load_demo()
        super().__init__(self.workspace.operations)
        self._clock = SimClock(float(speed))
        self.seed = seed
        self.on_speed: list[Callable[[float], None]] = []
        """Called with the new factor after :meth:`set_speed`."""
        self.published: Counter[str] = Counter()
        """Messages (events and commands) published, per channel."""
        self.requests = 0
        self.replies = 0
        self.request_failures = 0
        """Commands that timed out, found no responder, or failed otherwise."""
        self.last_reply: Message | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._requests: set[asyncio.Task[None]] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._running = False
        self._boosts: dict[str | None, float] = {}  # publisher (None: all) -> rate factor
        self._samples: dict[str, PayloadFactory] = {}

    def __repr__(self) -> str:
        state = "paused" if self.paused else "running" if self._running else "stopped"
        return f"<Simulation {self.workspace.title!r} {state} published={self.published.total()}>"

    def _random(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{key}") if self.seed is not None else random.Random()

    # -- state -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    @property
    def speed(self) -> float:
        """How many times faster than the workspace says everything runs."""
        return self._clock.speed

    def set_speed(self, factor: float) -> None:
        """Run at ``factor`` times the workspace's rates and delays (0.1 to 5), from now on.

        Publishers waiting for their next message finish what is left of the wait at the new pace;
        consumers take the new delay from their next message; commands sent from now on get the new
        timeout. ``ValueError`` outside the range (pausing is :meth:`pause`).
        """
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not MIN_SPEED <= factor <= MAX_SPEED:
            raise ValueError(
                f"speed must be a number from {MIN_SPEED:g} to {MAX_SPEED:g} (times the workspace's pace), "
                f"got {factor!r}; to stop the publishers, pause instead"
            )
        self._clock.speed = float(factor)
        for consumer in self.responders + self.subscribers:
            consumer.delay = self.delay_of(consumer.name) / self.speed
        for callback in list(self.on_speed):
            callback(self.speed)

    def clear_counters(self) -> None:
        """Zero what the simulation counted (published, requests, replies, failures)."""
        self.published.clear()
        self.requests = self.replies = self.request_failures = 0
        self.last_reply = None

    def pause(self) -> None:
        """Stop the simulated publishers (messages already queued stay queued)."""
        self._resumed.clear()

    def resume(self) -> None:
        """Let the simulated publishers publish again."""
        self._resumed.set()

    def toggle(self) -> bool:
        """Pause if running, resume if paused; return the new ``paused``."""
        if self.paused:
            self.resume()
        else:
            self.pause()
        return self.paused

    @property
    def publisher_names(self) -> list[str]:
        return [op.publisher.name for op in self.workspace.publishers if op.publisher is not None]

    @property
    def subscriber_names(self) -> list[str]:
        return [op.subscriber.name for op in self.workspace.subscribers if op.subscriber is not None]

    # -- publishers by name ------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of scenario time (shorter when faster; a change of speed applies at once)."""
        await self._clock.sleep(seconds)

    def set_boost(self, publisher: str | None, factor: float) -> None:
        """Publisher ``publisher`` (None: every one) publishes ``factor`` times faster, at once; 1: normal again."""
        if publisher is not None and publisher not in self.publisher_names:
            known = ", ".join(dict.fromkeys(self.publisher_names)) or "none (the workspace simulates no publisher)"
            raise UnknownName(f"no publisher named {publisher!r}; the simulation has: {known}")
        if factor == 1:
            self._boosts.pop(publisher, None)
        else:
            self._boosts[publisher] = factor
        self._clock.changed()

    def _boost_of(self, publisher: str) -> float:
        return self._boosts.get(publisher, 1.0) * self._boosts.get(None, 1.0)

    def sample_payload(self, address: str) -> Any:
        """A payload as the simulation makes them for ``address`` (``{}`` if the workspace has no message there)."""
        factory = self._samples.get(address)
        if factory is None:
            channel = self.workspace.channel_at(address)
            if channel is None or not channel.messages:
                return {}
            message = channel.messages[0]
            factory = PayloadFactory(message, self.workspace.generators(message), self._random(f"sample:{address}"))
            self._samples[address] = factory
        return factory.make()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Declare the channels, start responders, subscribers and publishers (idempotent while running).

        Raises :class:`SubscriptionError` (having started nothing; consuming tasks already
        created end by themselves) if a responder's or a subscriber's name is already taken by
        another subscription of the broker.
        """
        if self._running:
            return
        broker = self.broker
        for channel in self.workspace.channels:
            if channel.address is not None and not channel.parameterized:
                broker.declare_channel(channel.address, channel.description or channel.title)
        loop = asyncio.get_running_loop()
        away = {info.name for info in broker.subscriptions() if info.state is State.AWAY}
        try:
            for op in self.workspace.responders:
                self.responders.append(self._start_responder(op))
            for op in self.workspace.subscribers:
                self.subscribers.append(self._start_subscriber(op))
        except SubscriptionError:
            for consumer in self.responders + self.subscribers:
                if consumer.name in away:
                    consumer.subscription.close()  # a durable one that was away before: away again, with its backlog
                else:
                    consumer.subscription.unsubscribe()
            self.responders.clear()
            self.subscribers.clear()
            raise
        for consumer in self.responders + self.subscribers:
            if consumer.name in self._down:
                consumer.kill()
        for op in self.workspace.publishers:
            assert op.publisher is not None
            name = f"simulation:{op.publisher.name}:{op.key}"
            self._tasks.append(loop.create_task(self._publish_loop(op), name=name))
        self._running = True

    def _start_responder(self, op: OperationSpec) -> VirtualSubscriber:
        settings, reply = op.responder, op.reply
        assert settings is not None
        assert reply is not None
        assert op.channel.pattern is not None
        answer: PayloadLike | ReplyFactory = {}
        if reply.messages:
            message = reply.messages[0]
            answer = PayloadFactory(message, self.workspace.generators(message), self._random(op.key)).reply
        # A failed command is not retried: it times out.
        max_attempts = 1 if settings.failure_rate else 5
        return self._start_consumer(op, settings, op.channel.pattern, reply=answer, max_attempts=max_attempts)

    def _start_subscriber(self, op: OperationSpec) -> VirtualSubscriber:
        settings = op.subscriber
        assert settings is not None
        return self._start_consumer(
            op, settings, settings.pattern, durable=settings.durable, max_attempts=settings.max_attempts
        )

    def _start_consumer(
        self,
        op: OperationSpec,
        settings: ResponderSettings | SubscriberSettings,
        pattern: str,
        *,
        reply: PayloadLike | ReplyFactory | None = None,
        durable: bool = False,
        max_attempts: int,
    ) -> VirtualSubscriber:
        name = settings.name
        consumer = VirtualSubscriber(
            self.broker,
            pattern,
            name=name,
            delay=self.delay_of(name) / self.speed,
            failure_rate=self.failure_rate_of(name),
            reply=reply,
            durable=durable,
            max_attempts=max_attempts,
            seed=self._random(f"{op.key}:failures").randrange(2**32),
            consumers=self.consumer_count(name),
        )
        consumer.start()
        return consumer

    async def stop(self) -> None:
        """Cancel the publishers and pending commands, stop the responders and subscribers, and wait for it.

        Subscriptions are closed: removed, except a durable subscriber's, which stays "away".
        """
        tasks = self._tasks + list(self._requests)
        self._tasks = []
        self._requests.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            results = await asyncio.gather(*tasks, return_exceptions=True)
            for task, result in zip(tasks, results, strict=True):
                if isinstance(result, Exception):
                    logger.error("simulation task %r failed", task.get_name(), exc_info=result)
        consumers = self.responders + self.subscribers
        self.responders, self.subscribers = [], []
        for consumer in consumers:
            await consumer.stop()
        self._running = False

    # -- publishers ----------------------------------------------------------

    async def _publish_loop(self, op: OperationSpec) -> None:
        settings = op.publisher
        address = op.channel.address
        assert settings is not None
        assert address is not None
        rng = self._random(op.key)
        factories = [PayloadFactory(message, self.workspace.generators(message), rng) for message in op.messages] or [
            PayloadFactory(MessageSpec(name=op.key), {}, rng)
        ]
        interval = 1.0 / settings.rate  # scenario seconds: the clock applies the speed and any burst
        boost = partial(self._boost_of, settings.name)
        await self._clock.sleep(rng.uniform(0, min(interval, FIRST_TICK * self.speed)), boost)
        while True:
            if not self._resumed.is_set():
                await self._resumed.wait()
            factory = rng.choice(factories)
            try:
                payload = factory.make()
                if op.is_command:
                    self._send_command(op, address, payload)
                else:
                    await self.broker.publish(
                        address,
                        payload,
                        publisher=settings.name,
                        content_type=factory.message.content_type,
                        retain=settings.retain,
                    )
                    self.published[address] += 1
            except BrokerClosed:
                return
            except Exception:
                logger.exception("simulated publisher %r could not publish to %r", settings.name, address)
            await self._clock.sleep(interval * rng.uniform(*JITTER), boost)

    def _send_command(self, op: OperationSpec, address: str, payload: Any) -> None:
        if len(self._requests) >= MAX_IN_FLIGHT:
            return
        task = asyncio.get_running_loop().create_task(
            self._request(op, address, payload), name=f"simulation:request:{address}"
        )
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _request(self, op: OperationSpec, address: str, payload: Any) -> None:
        settings = op.publisher
        assert settings is not None
        self.requests += 1
        try:
            reply = await self.broker.request(
                address, payload, timeout=settings.timeout / self.speed, publisher=settings.name
            )
        except NoResponderError as exc:  # refused before anything was published
            self.request_failures += 1
            logger.warning("simulated command from %r: %s", settings.name, exc)
        except RequestTimeout as exc:
            self.request_failures += 1
            self.published[address] += 1
            logger.warning("simulated command from %r: %s", settings.name, exc)
        except BrokerClosed:
            self.request_failures += 1
        except Exception:
            self.request_failures += 1
            logger.exception("simulated command from %r to %r failed", settings.name, address)
        else:
            self.replies += 1
            self.published[address] += 1
            self.last_reply = reply
