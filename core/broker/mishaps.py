"""Mishaps a scenario causes on purpose: channel faults that catch messages, and ``reset`` (a restart).

``Broker`` inherits :class:`Mishaps`; none of it costs anything while no channel fault is active
(the broker keeps publishing on its fast path) and nobody resets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from eventdeck.core.broker.channel_faults import ChannelFault, ChannelFaults, FaultAction
from eventdeck.core.broker.channel_state import ChannelState, ChannelTable
from eventdeck.core.broker.channels import is_pattern
from eventdeck.core.broker.durability import Durability
from eventdeck.core.broker.errors import BrokerClosed, ChannelLimitReached
from eventdeck.core.broker.message import Message
from eventdeck.core.broker.receipts import Receipt, ResetReport
from eventdeck.core.broker.requests import PendingRequests
from eventdeck.core.broker.retained import RetainedMessages
from eventdeck.core.broker.subscription import State, Subscription
from eventdeck.core.broker.tap import EventKind, EventLog

DROPPED_BY_FAULT = "dropped by a fault"
"""The detail of the ``MESSAGE_DROPPED`` event of a message a drop fault caught."""


class Mishaps:
    """Channel faults (``channel_faults``) and ``reset``; needs the broker's tables and routing."""

    if TYPE_CHECKING:  # provided by Broker
        channel_faults: ChannelFaults
        _closed: bool
        _faulty: bool
        _subs: dict[str, Subscription]
        _table: ChannelTable
        _channels: dict[str, ChannelState]
        _generation: int
        _retained: RetainedMessages
        _requests: PendingRequests
        on_reset: list[Callable[[], None]]
        _log: EventLog
        _dropped_gone: int
        _delivered_gone: int
        _dropped_by_faults: int
        _durability: Durability | None

        def _create_channel(self, name: str) -> ChannelState: ...
        def _route_now(self, message: Message, subscription: str = "") -> bool: ...
        def _retain(self, message: Message) -> None: ...
        def _update_plain(self) -> None: ...

    def reset(self) -> ResetReport:
        """Forget everything held in memory, as a broker restarted without a durable store would; at once.

        Channels, retained messages, pending commands (their waiters get ``BrokerClosed`` saying the
        broker restarted), messages a delay fault holds, statistics and counters all start from zero.
        A subscription with a consumer attached (a gateway client's, a hand-made virtual subscriber's)
        is kept, so its owner goes on: its queue and redeliveries are emptied and its counters zeroed
        (deliveries its consumer holds unsettled may still be acked or nacked); the channel of a plain
        (wildcard-free) pattern is listed again, as subscribing lists it. A durable subscription whose
        consumer is away is forgotten with its backlog: nothing remembered it. Step mode and channel
        faults stay (they are the presenter's). Stop a simulation first: its subscriptions are its own.
        Synchronous; O(subscriptions + channels), whatever the backlog.
        """
        if self._closed:
            raise BrokerClosed("broker is closed; cannot reset")
        queued = forgotten = 0
        for sub in list(self._subs.values()):
            queued += sub.pending
            if sub.state is State.AWAY:
                sub.unsubscribe()
                forgotten += 1
            else:
                _empty(sub)
        retained = len(self._retained)
        self._retained.clear()
        requests = self._requests.fail_all("broker restarted before the reply arrived")
        delayed = self.channel_faults.forget_delayed()
        self._table = ChannelTable(self._table.max_channels)
        self._channels = self._table.states
        self._generation += 1
        self._dropped_gone = self._delivered_gone = self._dropped_by_faults = 0
        for sub in self._subs.values():
            if not is_pattern(sub.pattern) and sub.pattern not in self._channels:
                with contextlib.suppress(ChannelLimitReached):
                    self._create_channel(sub.pattern)
        if self._durability is not None:
            self._durability.after_reset()
        if self._durability is None or not self._durability.restarting:  # a restart tells once the store's part is back
            self._reset_done()
        return ResetReport(queued, retained, requests, delayed, forgotten)

    def _reset_done(self) -> None:
        for callback in list(self.on_reset):
            callback()

    def _arm_faults(self, armed: bool) -> None:
        """The channel fault table's ``armed``: publishing leaves its fast path while a fault is active."""
        self._faulty = armed
        self._update_plain()

    def _caught(self, message: Message, fault: ChannelFault, retain: bool) -> Receipt:
        """Drop ``message`` or route it ``fault.seconds`` later; queued nowhere yet either way."""
        if fault.action is FaultAction.DROP:
            self._dropped_by_faults += 1
            self._log.record(EventKind.MESSAGE_DROPPED, message.channel, "", message, DROPPED_BY_FAULT)
        else:
            self.channel_faults.later(fault.seconds, lambda: self._route_delayed(message, retain))
        return Receipt(message, 0)

    def _route_delayed(self, message: Message, retain: bool) -> None:
        if self._route_now(message) and retain:
            self._retain(message)


def _empty(sub: Subscription) -> None:
    """Empty ``sub``'s queue and redeliveries and zero its counters, keeping it and its consumer.

    (Done from the broker's side until ``Subscription`` has a reset of its own.)
    """
    sub.queue.clear()
    sub._redo.clear()
    sub.pending_bytes = 0
    sub.delivered = sub._acked = sub.redelivered = sub.dead_lettered = sub.dropped = 0
    sub._update_fast()
    if sub.space_waiters:
        sub._wake_space()  # publishers blocked on its room: there is room now
