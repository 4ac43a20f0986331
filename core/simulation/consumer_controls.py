"""The simulation's consumers reached by name: what a scenario changes of them, and who is down.

:class:`ConsumerControls` is the part of :class:`~eventdeck.core.simulation.simulation.Simulation`
that faults and stories reach into by a responder's or subscriber's name: its processing delay
and failure rate, how many competing consumers share its subscription, and whether it is down::

    simulation.set_delay("search-indexer", 2)          # scenario seconds per message, from its next one
    simulation.set_consumers("thumbnail-workers", 5)   # the pool grows at once; None: the workspace's
    simulation.stop_consumer("activity-feed")          # dies, and stays down across start()

Each change is kept by name (so it holds across ``start()``) and applied at once to the running
:class:`~eventdeck.core.simulation.virtual.VirtualSubscriber` of that name, if any.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from eventdeck.core.broker.errors import EventDeckError, SubscriptionError
from eventdeck.core.simulation.settings import OperationSpec, ResponderSettings, SubscriberSettings
from eventdeck.core.simulation.virtual import VirtualSubscriber, check_consumers

__all__ = ["ConsumerControls", "UnknownName"]


class UnknownName(EventDeckError, KeyError):  # noqa: N818 - reads as what it is
    """No publisher, subscriber or responder of the simulation has this name; the message lists those that do."""

    def __str__(self) -> str:
        return str(self.args[0])  # not KeyError's repr of it


class ConsumerControls(ABC):
    """The responders and subscribers of ``operations`` by name, with what a scenario changed of them."""

    def __init__(self, operations: Iterable[OperationSpec]) -> None:
        self.responders: list[VirtualSubscriber] = []
        """The simulated services answering commands (``x-eventdeck-responder``), while running."""
        self.subscribers: list[VirtualSubscriber] = []
        """The simulated consumers of events (``x-eventdeck-subscriber``), while running."""
        self._consumer_settings: dict[str, ResponderSettings | SubscriberSettings] = {
            settings.name: settings
            for op in operations
            for settings in (op.responder, op.subscriber)
            if settings is not None
        }
        self._delays: dict[str, float] = {}  # scenario seconds, instead of the workspace's
        self._failure_rates: dict[str, float] = {}
        self._consumer_counts: dict[str, int] = {}  # pool sizes, instead of the workspace's
        self._down: set[str] = set()  # consumers stopped on purpose: they stay down across start()

    @property
    @abstractmethod
    def speed(self) -> float:
        """How many times faster than the workspace says everything runs (a consumer's delay is divided by it)."""

    def check_consumer(self, name: str) -> str:
        """``name`` if it is one of the workspace's subscribers or responders; ``UnknownName`` listing them if not."""
        if name not in self._consumer_settings:
            known = ", ".join(self._consumer_settings) or "none (the workspace simulates no consumer)"
            raise UnknownName(f"no subscriber or responder named {name!r}; the simulation has: {known}")
        return name

    def consumer(self, name: str) -> VirtualSubscriber | None:
        """The running consumer called ``name`` (None while the simulation is stopped)."""
        self.check_consumer(name)
        return next((c for c in self.responders + self.subscribers if c.name == name), None)

    def consumer_settings(self, name: str) -> ResponderSettings | SubscriberSettings:
        """What the workspace says of consumer ``name`` (``UnknownName`` if it has no such consumer)."""
        return self._consumer_settings[self.check_consumer(name)]

    def delay_of(self, name: str) -> float:
        """The processing delay of consumer ``name`` in scenario seconds (its workspace value unless changed)."""
        return self._delays.get(name, self.consumer_settings(name).delay)

    def failure_rate_of(self, name: str) -> float:
        """The failure rate of consumer ``name`` (its workspace value unless changed)."""
        return self._failure_rates.get(name, self.consumer_settings(name).failure_rate)

    def set_delay(self, name: str, seconds: float | None) -> None:
        """Consumer ``name`` takes ``seconds`` (scenario time) per message from its next one; None: the workspace's."""
        self.check_consumer(name)
        if seconds is None:
            self._delays.pop(name, None)
        else:
            self._delays[name] = seconds
        consumer = self.consumer(name)
        if consumer is not None:
            consumer.delay = self.delay_of(name) / self.speed

    def set_failure_rate(self, name: str, rate: float | None) -> None:
        """Consumer ``name`` fails ``rate`` (0..1) of its messages from now on; None: the workspace's."""
        self.check_consumer(name)
        if rate is None:
            self._failure_rates.pop(name, None)
        else:
            self._failure_rates[name] = rate
        consumer = self.consumer(name)
        if consumer is not None:
            consumer.failure_rate = self.failure_rate_of(name)

    def consumer_count(self, name: str) -> int:
        """How many competing consumers share consumer ``name``'s subscription (its workspace ``consumers`` unless
        changed; 1 for a responder unless changed)."""
        settings = self.consumer_settings(name)
        return self._consumer_counts.get(name, settings.consumers if isinstance(settings, SubscriberSettings) else 1)

    def set_consumers(self, name: str, count: int | None) -> None:
        """Scale consumer ``name`` to ``count`` competing consumers (1 to 20) sharing its one subscription, at once
        if running; None: the workspace's number. ``ValueError`` outside the range."""
        self.check_consumer(name)
        if count is None:
            self._consumer_counts.pop(name, None)
        else:
            try:
                self._consumer_counts[name] = check_consumers(count)
            except SubscriptionError as exc:
                raise ValueError(f"cannot scale {name!r}: {exc}") from None
        consumer = self.consumer(name)
        if consumer is not None:
            consumer.set_consumers(self.consumer_count(name))

    def restore_consumers(self) -> None:
        """Every consumer back to the workspace's number of consumers (what a scenario's reset does)."""
        for name in list(self._consumer_counts):
            self.set_consumers(name, None)

    def stop_consumer(self, name: str) -> int:
        """Consumer ``name`` dies (see :meth:`VirtualSubscriber.kill`) and stays down, even across ``start()``.

        Returns how many messages that lost (none for a durable subscription: it keeps queueing).
        """
        self._down.add(self.check_consumer(name))
        consumer = self.consumer(name)
        return 0 if consumer is None else consumer.kill()

    def start_consumer(self, name: str) -> None:
        """Consumer ``name`` comes back (a durable one takes its backlog) if the simulation is running."""
        self._down.discard(self.check_consumer(name))
        consumer = self.consumer(name)
        if consumer is not None:
            consumer.start()

    def is_durable(self, name: str) -> bool:
        """Whether consumer ``name``'s subscription is durable (keeps queueing while it is away)."""
        settings = self.consumer_settings(name)
        return isinstance(settings, SubscriberSettings) and settings.durable
