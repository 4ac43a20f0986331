"""One-click faults on a running simulation: what goes wrong in an event-driven system, made visible.

::

    faults = Faults(simulation)
    faults.crash("welcome-mailer")        # not durable: its queued messages are lost
    faults.drop("fridge/level", 3)        # the broker loses the next 3 fridge reports
    faults.burst("social-service")        # x10 for 5 s, then it ends by itself
    [f.description for f in faults.active]
    faults.clear_all()

Every fault is listed in :attr:`Faults.active` with plain words for a room, until it is cleared
(``clear(ident)``) or ends by itself (a channel fault's count runs out, a burst's time is up);
``on_change`` callbacks hear of every change. Clearing undoes it: a crashed or cut-off consumer
comes back, a slow or flaky one gets its workspace settings back. Subscriber faults act through
:class:`~eventdeck.core.simulation.simulation.Simulation`, channel faults through the broker's
``channel_faults`` (which cost the broker nothing while none is active).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from eventdeck.core.broker.channel_faults import ChannelFault, FaultAction, check_count
from eventdeck.core.broker.channels import validate_channel
from eventdeck.core.broker.durability import RestartReport, restart_on_store
from eventdeck.core.broker.errors import BrokerClosed
from eventdeck.core.broker.receipts import ResetReport
from eventdeck.core.simulation.settings import MAX_DELAY
from eventdeck.core.simulation.simulation import Simulation, UnknownName

__all__ = ["MAX_BURST", "ActiveFault", "BrokerRestart", "FaultKind", "Faults"]

logger = logging.getLogger(__name__)

MAX_BURST = 100.0
"""The largest burst factor (a publisher at 100 times its rate)."""


class FaultKind(enum.Enum):
    """What went wrong; the values are the story's action names."""

    CRASH = "crash"
    SLOW = "slow"
    FLAKY = "flaky"
    DROP = "drop"
    DUPLICATE = "duplicate"
    DELAY = "delay"
    BURST = "burst"
    CUT_OFF = "cutOff"
    BROKER_RESTART = "restartBroker"


@dataclass(frozen=True)
class ActiveFault:
    """A fault as the window shows it; ``target`` is a subscriber or publisher name, a channel, or "" (the broker,
    or every publisher for a burst)."""

    kind: FaultKind
    target: str
    description: str
    ident: int


@dataclass(frozen=True)
class BrokerRestart:
    """What a broker restart kept and lost, queue by queue: what the window's stream and marks show of it."""

    on_store: bool
    """The broker restarted on its durable store (else in memory: nothing survived)."""
    kept: dict[str, int]
    """Each durable subscription back from the store, with the messages in its queue."""
    lost: dict[str, int]
    """Each subscription whose queued messages were lost with the broker's memory (only those that had any)."""
    retained: int
    """Retained messages: kept on a store, lost without."""
    requests: int
    """Commands that were waiting for a reply: failed."""
    delayed: int
    """Messages a delay fault was holding: lost."""


@dataclass(eq=False)
class _Record:
    ident: int
    kind: FaultKind
    target: str
    describe: Callable[[], str]
    end: Callable[[], object]  # undoes it when cleared
    channel_fault: ChannelFault | None = None


_CHANNEL_ACTIONS = {
    FaultKind.DROP: FaultAction.DROP,
    FaultKind.DUPLICATE: FaultAction.DUPLICATE,
    FaultKind.DELAY: FaultAction.DELAY,
}
_DOWN = {FaultKind.CRASH: "crashed", FaultKind.CUT_OFF: "cut off from the broker"}
_BACK = {FaultKind.CRASH: "restart", FaultKind.CUT_OFF: "reconnect"}


class Faults:
    """The faults injected into ``simulation`` (and its broker), each listed until cleared or over."""

    def __init__(self, simulation: Simulation) -> None:
        self.simulation = simulation
        self.broker = simulation.broker
        self.on_change: list[Callable[[], None]] = []
        """Called after every change: a fault added, updated, cleared, or over by itself."""
        self.on_restart: list[Callable[[BrokerRestart], None]] = []
        """Called after each broker restart, with what it kept and lost (before the simulation publishes again)."""
        self._records: dict[int, _Record] = {}
        self._channel_records: dict[ChannelFault, _Record] = {}
        self._delays: dict[ChannelFault, float] = {}  # a delay fault's seconds in scenario time
        self._totals: dict[ChannelFault, int] = {}  # how many messages a channel fault was asked to catch
        self._bursts: dict[str, asyncio.Task[None]] = {}  # by target: "" for every publisher
        self._idents = 0
        simulation.on_speed.append(self._rescale_delays)

    @property
    def active(self) -> list[ActiveFault]:
        """The active faults, oldest first, described as they stand now."""
        return [_snapshot(record) for record in self._records.values()]

    # -- subscribers ---------------------------------------------------------

    def crash(self, subscriber: str) -> ActiveFault:
        """``subscriber`` dies: a durable one's subscription stays and keeps queueing, any other loses its queue."""
        return self._down(FaultKind.CRASH, subscriber)

    def restart(self, subscriber: str) -> None:
        """A crashed ``subscriber`` comes back (a durable one takes its backlog); nothing if it had not crashed."""
        self._up(FaultKind.CRASH, subscriber)

    def cut_off(self, subscriber: str) -> ActiveFault:
        """``subscriber`` loses its connection and receives nothing. A durable subscription keeps queueing; any
        other ends with its session, queue and all (as an MQTT clean session does)."""
        return self._down(FaultKind.CUT_OFF, subscriber)

    def reconnect(self, subscriber: str) -> None:
        """A cut-off ``subscriber`` reaches the broker again; nothing if it was not cut off."""
        self._up(FaultKind.CUT_OFF, subscriber)

    def slow(self, subscriber: str, seconds: float) -> ActiveFault:
        """``subscriber`` takes ``seconds`` (0 to 60, scenario time) per message; clearing restores its delay."""
        name = self.simulation.check_consumer(subscriber)
        _check_range("a slow consumer's delay", seconds, 0.0, MAX_DELAY, "seconds per message")
        self.simulation.set_delay(name, seconds)
        normal = self.simulation.consumer_settings(name).delay

        def describe() -> str:
            return f"slow: {self._each(name)}takes {seconds:g} s per message (normally {normal:g} s)"

        end = partial(self.simulation.set_delay, name, None)
        return _snapshot(self._put(FaultKind.SLOW, name, describe, end, replace=True))

    def flaky(self, subscriber: str, rate: float) -> ActiveFault:
        """``subscriber`` fails ``rate`` (0..1) of its messages (redelivered, then dead-lettered); clearing restores
        its failure rate."""
        name = self.simulation.check_consumer(subscriber)
        _check_range("a flaky consumer's failure rate", rate, 0.0, 1.0, "(a fraction of its messages)")
        self.simulation.set_failure_rate(name, rate)
        normal = self.simulation.consumer_settings(name).failure_rate

        def describe() -> str:
            return f"flaky: {self._each(name)}fails {rate:.0%} of its messages (normally {normal:.0%})"

        end = partial(self.simulation.set_failure_rate, name, None)
        return _snapshot(self._put(FaultKind.FLAKY, name, describe, end, replace=True))

    def _each(self, name: str) -> str:
        """Words for a slow or flaky pool: each of its consumers is so."""
        count = self.simulation.consumer_count(name)
        return f"each of its {count} consumers " if count > 1 else ""

    def _down(self, kind: FaultKind, subscriber: str) -> ActiveFault:
        name = self.simulation.check_consumer(subscriber)
        for other, state in _DOWN.items():
            record = self._find(other, name)
            if record is not None and other is kind:
                return _snapshot(record)  # already so (a story stepping back runs it again)
            if record is not None:
                raise ValueError(f"{name!r} is {state}; {_BACK[other]} it first")
        durable = self.simulation.is_durable(name)
        lost = self.simulation.stop_consumer(name)

        pool = self.simulation.consumer_count(name)
        down = f"{_DOWN[kind]} (all {pool} of its consumers)" if pool > 1 else _DOWN[kind]

        def describe() -> str:
            if durable:
                consumer = self.simulation.consumer(name)
                waiting = 0 if consumer is None else consumer.subscription.pending
                return f"{down}: its durable subscription keeps queueing ({_count(waiting, 'message')} waiting)"
            if kind is FaultKind.CRASH:
                return f"{down}: lost {_count(lost, 'queued message')}; nothing queues for it until it restarts"
            return (
                f"{down}: its session ended, {_count(lost, 'queued message')} lost (not durable); "
                "nothing queues for it until it reconnects"
            )

        end = partial(self.simulation.start_consumer, name)
        return _snapshot(self._put(kind, name, describe, end))

    def _up(self, kind: FaultKind, subscriber: str) -> None:
        record = self._find(kind, self.simulation.check_consumer(subscriber))
        if record is not None:
            self.clear(record.ident)

    # -- channels --------------------------------------------------------------

    def drop(self, channel: str, count: int) -> ActiveFault:
        """The broker loses the next ``count`` messages published to ``channel``: no subscription gets them."""
        return self._channel(FaultKind.DROP, channel, count, 0.0)

    def duplicate(self, channel: str, count: int) -> ActiveFault:
        """The broker delivers the next ``count`` messages of ``channel`` twice (the copy has a new id)."""
        return self._channel(FaultKind.DUPLICATE, channel, count, 0.0)

    def delay(self, channel: str, count: int, seconds: float) -> ActiveFault:
        """The broker holds each of the next ``count`` messages of ``channel`` for ``seconds`` (scenario time)
        before routing it; the publisher does not wait for that."""
        _check_range("a delay", seconds, 0.0, MAX_DELAY, "seconds", low_included=False)
        return self._channel(FaultKind.DELAY, channel, count, seconds)

    def _channel(self, kind: FaultKind, channel: str, count: int, seconds: float) -> ActiveFault:
        self._check_channel(channel)
        check_count(count)
        for fault, record in self._channel_records.items():
            if record.kind is kind and fault.channel == channel and self._delays.get(fault, 0.0) == seconds:
                fault.remaining += count  # the same fault again: it goes on for longer
                self._totals[fault] += count
                self._notify()
                return _snapshot(record)
        faults = self.broker.channel_faults
        fault = faults.add(channel, _CHANNEL_ACTIONS[kind], count, seconds / self.simulation.speed)
        if kind is FaultKind.DELAY:
            self._delays[fault] = seconds
        if not self._channel_records:
            faults.on_change.append(self._channel_fault_changed)
        self._totals[fault] = count
        does = {FaultKind.DROP: "drops", FaultKind.DUPLICATE: "delivers twice"}.get(kind, f"delays by {seconds:g} s")

        def describe() -> str:
            return f"{does} the next {_count(self._totals[fault], 'message')} on {channel} ({fault.remaining} left)"

        record = self._put(kind, channel, describe, partial(faults.remove, fault), channel_fault=fault)
        self._channel_records[fault] = record
        return _snapshot(record)

    def _check_channel(self, channel: str) -> None:
        validate_channel(channel)
        if self.broker.knows_channel(channel) or channel in self.simulation.workspace.addresses:
            return
        some = [info.name for info in self.broker.channels(limit=12)]
        more = self.broker.channel_count - len(some)
        known = (", ".join(some) + (f" and {more:,} more" if more > 0 else "")) if some else "none yet"
        raise UnknownName(f"no channel {channel!r} in the broker or the workspace; known channels: {known}")

    def _channel_fault_changed(self, fault: ChannelFault) -> None:
        record = self._channel_records.get(fault)
        if record is None:
            return  # being cleared
        if not fault.remaining:  # its count ran out
            self._forget(record)
        self._notify()

    def _rescale_delays(self, speed: float) -> None:
        for fault, seconds in self._delays.items():
            fault.seconds = seconds / speed

    # -- publishers and the broker ----------------------------------------------

    def burst(self, publisher: str | None, factor: float = 10, seconds: float = 5) -> ActiveFault:
        """``publisher`` (None: every one) publishes ``factor`` times faster for ``seconds`` (scenario time), then
        the fault ends by itself. Again on the same publisher: the new factor, for ``seconds`` from now."""
        _check_range("a burst's factor", factor, 1.0, MAX_BURST, "times the normal rate", low_included=False)
        _check_range("a burst", seconds, 0.0, math.inf, "seconds", low_included=False)
        self.simulation.set_boost(publisher, factor)
        target = publisher or ""
        earlier = self._bursts.pop(target, None)
        if earlier is not None:
            earlier.cancel()
        who = f"{publisher} publishes" if publisher else "every publisher publishes"
        words = f"{who} {factor:g}x faster for {seconds:g} s"
        end = partial(self._end_burst, publisher)
        record = self._put(FaultKind.BURST, target, lambda: words, end, replace=True)
        self._bursts[target] = asyncio.get_running_loop().create_task(
            self._burst_over(target, record.ident, seconds), name=f"faults:burst:{target or '*'}"
        )
        return _snapshot(record)

    async def _burst_over(self, target: str, ident: int, seconds: float) -> None:
        await self.simulation.sleep(seconds)
        del self._bursts[target]  # this task: clearing must not cancel it
        self.clear(ident)

    def _end_burst(self, publisher: str | None) -> None:
        task = self._bursts.pop(publisher or "", None)
        if task is not None:
            task.cancel()
        self.simulation.set_boost(publisher, 1)

    async def restart_broker(self) -> ActiveFault:
        """The broker restarts: the simulation stops, the broker forgets what it held in memory, the simulation
        starts again (crashed and cut-off consumers stay down, slow and flaky ones stay so, channel faults stay).
        Without a store that is everything (``Broker.reset()``); on a store, durable subscriptions with their
        queues, retained messages and declared channels come back from it (``restart_on_store``), and durable
        subscribers take up their queues again."""
        if self.broker.closed:
            raise BrokerClosed("broker is closed; cannot restart it")
        running = self.simulation.running
        on_store = self.broker.store is not None
        # Stopping the simulation already ends its non-durable subscriptions: count what they lose here.
        lost = {
            info.name: info.pending
            for info in self.broker.subscriptions()
            if info.pending and not (on_store and info.durable)
        }
        await self.simulation.stop()
        if on_store:
            report: ResetReport | RestartReport = restart_on_store(self.broker)._replace(queued_lost=sum(lost.values()))
            kept = {info.name: info.pending for info in self.broker.subscriptions() if info.durable}
        else:
            report = self.broker.reset()._replace(queued=sum(lost.values()))
            kept = {}
        restart = BrokerRestart(on_store, kept, lost, report.retained, report.requests, report.delayed)
        for callback in list(self.on_restart):
            try:
                callback(restart)
            except Exception:  # a listener's bug must not leave the simulation stopped
                logger.exception("a Faults.on_restart callback failed")
        if running:
            self.simulation.start()
        words = _what_survived(report)
        return _snapshot(self._put(FaultKind.BROKER_RESTART, "", lambda: words, _nothing, replace=True))

    # -- clearing ------------------------------------------------------------------

    def clear(self, ident: int) -> bool:
        """End fault ``ident`` and undo it; False if no such fault is active (it may have just ended)."""
        record = self._records.get(ident)
        if record is None:
            return False
        self._forget(record)
        record.end()
        self._notify()
        return True

    def clear_all(self) -> None:
        """End every fault (each undone, oldest first)."""
        if not self._records:
            return
        for record in list(self._records.values()):
            self._forget(record)
            record.end()
        self._notify()

    # -- bookkeeping -------------------------------------------------------------

    def _find(self, kind: FaultKind, target: str) -> _Record | None:
        return next((r for r in self._records.values() if r.kind is kind and r.target == target), None)

    def _put(
        self,
        kind: FaultKind,
        target: str,
        describe: Callable[[], str],
        end: Callable[[], object],
        *,
        replace: bool = False,
        channel_fault: ChannelFault | None = None,
    ) -> _Record:
        """A new active fault; with ``replace``, the active one of ``kind`` on ``target`` (if any) takes its place,
        keeping its ident."""
        record = self._find(kind, target) if replace else None
        if record is None:
            self._idents += 1
            record = _Record(self._idents, kind, target, describe, end, channel_fault)
            self._records[record.ident] = record
        else:
            record.describe, record.end = describe, end
        self._notify()
        return record

    def _forget(self, record: _Record) -> None:
        del self._records[record.ident]
        fault = record.channel_fault
        if fault is not None:
            del self._channel_records[fault]
            self._delays.pop(fault, None)
            del self._totals[fault]
            if not self._channel_records:
                self.broker.channel_faults.on_change.remove(self._channel_fault_changed)

    def _notify(self) -> None:
        for callback in list(self.on_change):
            try:
                callback()
            except Exception:  # a listener's bug must not fail the publish that spent a fault
                logger.exception("a Faults.on_change callback failed")


def _snapshot(record: _Record) -> ActiveFault:
    return ActiveFault(record.kind, record.target, record.describe(), record.ident)


def _nothing() -> None:
    """Clearing a broker restart only takes its notice away: what it forgot stays forgotten."""


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _check_range(what: str, value: float, low: float, high: float, unit: str, *, low_included: bool = True) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    above = number and (value >= low if low_included else value > low)
    if not (above and value <= high):
        bounds = f"from {low:g}" if low_included else f"more than {low:g}"
        limit = "" if math.isinf(high) else f" to {high:g}"
        raise ValueError(f"{what} must be {bounds}{limit} {unit}, got {value!r}")


def _what_survived(report: ResetReport | RestartReport) -> str:
    """What a broker restart kept and lost: without a store nothing survives (messages live in memory only)."""
    if isinstance(report, RestartReport):
        kept = (
            f"{_count(report.subscriptions, 'durable queue')} with {_count(report.messages, 'message')} "
            f"and {_count(report.retained, 'retained message')} (on disk)"
        )
        gone = [_count(report.queued_lost, "queued message") + " of non-durable subscriptions"]
        gone.append(_count(report.requests, "pending command"))
        if report.delayed:
            gone.append(_count(report.delayed, "delayed message"))
        return f"broker restarted: kept {kept}; lost {', '.join(gone)}"
    lost = [
        _count(report.queued, "queued message"),
        _count(report.retained, "retained message"),
        _count(report.requests, "pending command"),
    ]
    if report.delayed:
        lost.append(_count(report.delayed, "delayed message"))
    return f"broker restarted: nothing survived (messages live in memory only); lost {', '.join(lost)}"
