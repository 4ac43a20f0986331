"""Snapshots: what the broker knows now (channels, subscriptions, totals), and the tap onto what it does.

``Broker`` inherits :class:`Snapshots`; the window and the CLI read the broker through these.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from eventdeck.core.broker.channel_state import ChannelInfo, ChannelState, ChannelTable
from eventdeck.core.broker.receipts import BrokerStats
from eventdeck.core.broker.requests import PendingRequests
from eventdeck.core.broker.retained import RetainedMessages
from eventdeck.core.broker.subscription import Subscription, SubscriptionInfo
from eventdeck.core.broker.tap import EventLog, Tap


class Snapshots:
    """Read-only views of the broker's state; needs its tables."""

    if TYPE_CHECKING:  # provided by Broker
        _table: ChannelTable
        _channels: dict[str, ChannelState]
        _generation: int
        _retained: RetainedMessages
        _subs: dict[str, Subscription]
        _requests: PendingRequests
        _log: EventLog
        _dropped_gone: int
        _delivered_gone: int
        _dropped_by_faults: int

        def _refresh(self, state: ChannelState) -> list[Subscription]: ...

    @property
    def published(self) -> int:
        """Messages published since the broker started (all channels)."""
        return self._table.published_gone + sum(state.messages for state in self._channels.values())

    def knows_channel(self, name: str) -> bool:
        """Whether ``name`` is one of the channels the broker knows now."""
        return name in self._channels

    @property
    def channel_count(self) -> int:
        """How many channels the broker knows now."""
        return len(self._channels)

    def channels(self, after: str | None = None, limit: int | None = None) -> list[ChannelInfo]:
        """Snapshots of the known channels with their counters, sorted by name.

        All of them by default; or one page: at most ``limit`` channels whose names sort after
        ``after``. A page costs O(limit) once the sorted names are cached (rebuilt after a
        channel is created or forgotten).
        """
        infos = []
        for state in self._table.page(after, limit):
            if state.generation != self._generation:
                self._refresh(state)
            infos.append(state.info(state.name in self._retained))
        return infos

    def subscriptions(self) -> list[SubscriptionInfo]:
        """A snapshot of every subscription with its counters, in creation order."""
        return [sub.info() for sub in self._subs.values()]

    def stats(self) -> BrokerStats:
        subs = self._subs.values()
        return BrokerStats(
            time.time(),
            self.published,
            self._delivered_gone + sum(sub.delivered for sub in subs),
            self._dropped_gone + self._dropped_by_faults + sum(sub.dropped for sub in subs),
            len(self._channels),
            len(self._subs),
            len(self._requests),
        )

    def tap(self, max_events: int = 100_000) -> Tap:
        """Open a tap: ``tap.drain()`` returns what happened since the last drain (bounded by ``max_events``)."""
        return Tap(self._log, max_events)
