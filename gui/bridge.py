"""The one place where the broker core meets Qt.

The bridge drains the broker's tap on a ~33 ms timer and hands each batch to Qt
as ONE signal (never one per message; a burst of more than ``FLUSH_CHUNK`` as a few,
one per loop turn); a slower timer takes snapshots of channels
and subscriptions and turns counter differences into rates. Panels call the core
through ``bridge.broker`` and run coroutines with ``bridge.spawn`` so a failure is
logged and shown, never lost and never fatal. With ``set_validator`` (an AsyncAPI
document loaded), each batch is also validated: small ones before they are emitted,
a flood's on the next loop turn; ``validated`` follows, at most once per batch.

On the embedded broker the bridge keeps the delivery journal open, so the window can follow
one message (``follow``, ``followed``) and ask what each subscription did with it
(``timeline``): one message at a time, on demand, never a signal per delivery.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from eventdeck.core import Broker, BrokerEvent, BrokerStats, ChannelInfo, Kind, Message, SubscriptionInfo
from eventdeck.core.broker.journal import DeliveryJournal, MessageTimeline, open_journal
from eventdeck.core.connectors.backend import Backend, EmbeddedBackend

if TYPE_CHECKING:  # importing it loads jsonschema and YAML: only once a document is opened
    from eventdeck.core.asyncapi.live import LiveValidator

log = logging.getLogger(__name__)

FLUSH_MS = 33
SNAPSHOT_MS = 500
RATE_WINDOW = 4  # rates are averaged over the last 4 snapshots (2 s): steadier than one 500 ms step
TAP_EVENTS = 200_000  # about 4 s of traffic at 50,000 msg/s between two flushes is plenty
INLINE_CHECK = 200  # a batch this small is validated before it is shown (well under a millisecond)
FLUSH_CHUNK = 2_000  # events a timer's flush hands over per loop turn; a burst's rest goes on the next turns
NO_DELIVERIES = (
    "{backend} is a broker EventDeck connects to: it does not report deliveries or acks, "
    "so who received a message and what they did with it cannot be shown."
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Channels, subscriptions and totals at one moment, with rates since the previous snapshot.

    ``subscriptions`` is empty and ``subscriptions_exposed`` False when the backend's broker
    does not say who subscribes (panels then say so instead of showing an empty list).
    """

    time: float
    channels: list[ChannelInfo]
    subscriptions: list[SubscriptionInfo]
    stats: BrokerStats
    channel_rates: dict[str, float] = field(default_factory=dict)  # msg/s per channel
    subscription_rates: dict[str, float] = field(default_factory=dict)  # deliveries/s per subscription
    publish_rate: float = 0.0
    delivery_rate: float = 0.0
    subscriptions_exposed: bool = True


class CommandLog:
    """Remembers recent commands and replies by correlation id, so each can link to the other."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._commands: OrderedDict[str, Message] = OrderedDict()
        self._replies: dict[str, Message] = {}

    def record(self, message: Message) -> None:
        cid = message.correlation_id
        if cid is None:
            return
        if message.kind is Kind.COMMAND:
            self._commands[cid] = message
            if len(self._commands) > self.capacity:
                old, _ = self._commands.popitem(last=False)
                self._replies.pop(old, None)
        elif message.kind is Kind.REPLY and cid in self._commands:
            self._replies[cid] = message

    def command_for(self, reply: Message) -> Message | None:
        return self._commands.get(reply.correlation_id or "")

    def reply_for(self, command: Message) -> Message | None:
        return self._replies.get(command.correlation_id or "")


class Bridge(QObject):
    """Turns broker activity into batched Qt signals and runs core coroutines for the panels."""

    # list[Message] and list[BrokerEvent], one batch per flush, handed over as they are: a Signal(list) copied
    # the list into a Qt list and back for every receiver (~1 ms a flush at 50,000 msg/s). Receivers only read it.
    messages = Signal(object)
    events = Signal(object)
    lost = Signal(int)  # tap events lost because the GUI fell behind
    snapshot = Signal(object)  # Snapshot
    error = Signal(str)  # a failed background action, in words for the status bar
    status_changed = Signal(object)  # Status of the backend's connection
    backend_changed = Signal(object)  # Backend: the window now shows another broker
    validator_changed = Signal(object)  # LiveValidator | None: a document was loaded or closed
    validated = Signal()  # after a flush whose messages moved the validator's counters (at most one per flush)
    followed = Signal(object)  # Message | None: the message the window follows (a stream row, a presenter dot)

    def __init__(self, source: Backend | Broker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.backend: Backend = EmbeddedBackend(source) if isinstance(source, Broker) else source
        self.broker = self.backend.broker  # where everything observed flows through
        self.backend.add_status_listener(self.status_changed.emit)
        self.commands = CommandLog()
        self.validator: LiveValidator | None = None
        self._unchecked: list[Message] = []  # a flood's batches, validated on the next loop turn
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(0)
        self._check_timer.timeout.connect(self._check_unchecked)
        self._tap = self.broker.tap(max_events=TAP_EVENTS)
        self.journal = _journal_for(self.backend)
        self.followed_message: Message | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._history: deque[Snapshot] = deque(maxlen=RATE_WINDOW)
        self.last_snapshot: Snapshot | None = None
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush_some)
        self._backlog: list[Message | BrokerEvent] = []  # drained, not yet handed over: for the next loop turns
        self._rest_timer = QTimer(self)
        self._rest_timer.setSingleShot(True)
        self._rest_timer.setInterval(0)
        self._rest_timer.timeout.connect(self._flush_some)
        self._snapshot_timer = QTimer(self)
        self._snapshot_timer.setInterval(SNAPSHOT_MS)
        self._snapshot_timer.timeout.connect(self.take_snapshot)

    def set_backend(self, backend: Backend) -> None:
        """Show ``backend`` from now on: a fresh tap on its broker and fresh rates (panels clear themselves)."""
        if backend is self.backend:
            return
        self.flush()  # what the old broker still had goes out first
        self.follow(None)  # a message of the old broker
        self._tap.close()
        if self.journal is not None:
            self.journal.close()
        self.backend.remove_status_listener(self.status_changed.emit)
        self.backend = backend
        self.broker = backend.broker
        backend.add_status_listener(self.status_changed.emit)
        self._tap = self.broker.tap(max_events=TAP_EVENTS)
        self.journal = _journal_for(backend)
        self._history.clear()
        self.commands = CommandLog()
        self.backend_changed.emit(backend)
        self.status_changed.emit(backend.status)
        self.take_snapshot()

    def start(self) -> None:
        self._flush_timer.start()
        self._snapshot_timer.start()
        self.take_snapshot()

    def stop(self) -> None:
        self._flush_timer.stop()
        self._rest_timer.stop()
        self._backlog = []
        self._snapshot_timer.stop()
        self._tap.close()
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        for task in list(self._tasks):
            task.cancel()

    def flush(self) -> None:
        """Drain the tap once and emit what it held (and what earlier flushes still kept) as one batch per kind."""
        backlog, self._backlog = self._backlog, []
        self._emit([*backlog, *self._drain()])

    def _flush_some(self) -> None:
        """The timer's flush: at most ``FLUSH_CHUNK`` events a loop turn, so a broker's burst (a Kafka fetch
        brings 6,000-13,000 messages at once) never makes one long callback of every receiver; the rest go
        on the next turns. The tap is drained again once they are out, so its ring still bounds what waits."""
        if not self._backlog:
            self._backlog = self._drain()
        chunk, self._backlog = self._backlog[:FLUSH_CHUNK], self._backlog[FLUSH_CHUNK:]
        self._emit(chunk)
        if self._backlog:
            self._rest_timer.start()

    def _drain(self) -> list[Message | BrokerEvent]:
        batch = self._tap.drain()
        if batch.lost:
            self.lost.emit(batch.lost)
        return batch.events

    def _emit(self, items: list[Message | BrokerEvent]) -> None:
        if not items:
            return
        messages: list[Message] = []
        events: list[BrokerEvent] = []
        for item in items:
            if type(item) is Message:
                messages.append(item)
                if item.correlation_id is not None:
                    self.commands.record(item)
            else:
                events.append(item)  # type: ignore[arg-type]
        if messages:
            validator = self.validator
            if validator is not None and len(messages) <= INLINE_CHECK and not self._unchecked:
                # Checked before the batch is shown, so a row is flagged the moment it appears.
                checked = validator.check(messages)
                self.messages.emit(messages)
                if checked:
                    self.validated.emit()
            else:
                self.messages.emit(messages)
                if validator is not None:
                    # In a flood, validating on a loop turn of its own keeps each turn short (input and
                    # timers get in between); the stream adds flood rows 10 times a second, by then flagged.
                    self._unchecked.extend(messages)
                    self._check_timer.start()
        if events:
            self.events.emit(events)

    def follow(self, message: Message | None) -> None:
        """Follow ``message`` through the broker (None: stop); the presenter, topology and inspector show its path."""
        if message is not self.followed_message:
            self.followed_message = message
            self.followed.emit(message)

    def timeline(self, message: Message) -> MessageTimeline | None:
        """What each subscription did with ``message`` so far; None when the backend cannot say (``NO_DELIVERIES``)."""
        return self.journal.timeline(message) if self.journal is not None else None

    def no_deliveries_reason(self) -> str:
        """Why ``timeline`` has nothing to say on this backend, in words for an empty state."""
        return NO_DELIVERIES.format(backend=self.backend.name)

    def _check_unchecked(self) -> None:
        batch, self._unchecked = self._unchecked, []
        if self.validator is not None and self.validator.check(batch):
            self.validated.emit()

    def set_validator(self, validator: LiveValidator | None) -> None:
        """Check every message against a loaded document from now on (None: stop checking)."""
        self.validator = validator
        self._unchecked = []
        self.validator_changed.emit(validator)

    def take_snapshot(self) -> Snapshot:
        """Read the broker's counters and emit them with the rates since the last snapshot."""
        now = time.monotonic()
        channels = self.broker.channels()
        exposed = self.backend.subscriptions()
        subscriptions = exposed if exposed is not None else []
        stats = self.broker.stats()
        previous = self._history[0] if self._history else None
        if previous is None or now <= previous.time:
            snap = Snapshot(now, channels, subscriptions, stats, subscriptions_exposed=exposed is not None)
        else:
            elapsed = now - previous.time
            before_ch = {info.name: info.messages for info in previous.channels}
            before_sub = {info.name: info.delivered for info in previous.subscriptions}
            snap = Snapshot(
                now,
                channels,
                subscriptions,
                stats,
                {info.name: max(0, info.messages - before_ch.get(info.name, 0)) / elapsed for info in channels},
                {info.name: max(0, info.delivered - before_sub.get(info.name, 0)) / elapsed for info in subscriptions},
                max(0, stats.published - previous.stats.published) / elapsed,
                max(0, stats.delivered - previous.stats.delivered) / elapsed,
                exposed is not None,
            )
        self._history.append(snap)
        self.last_snapshot = snap
        self.snapshot.emit(snap)
        return snap

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any]:
        """Run ``coro`` on the loop; if it fails, log it and emit ``error`` (it never kills the app)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(done, what))
        return task

    def _finished(self, task: asyncio.Task[Any], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s failed", what, exc_info=exc)
            self.error.emit(f"{what} failed: {exc}")


def _journal_for(backend: Backend) -> DeliveryJournal | None:
    """The embedded broker's delivery journal; a connector's local mirror has no real subscriptions to journal."""
    return open_journal(backend.broker) if isinstance(backend, EmbeddedBackend) else None
