"""Publishers waiting for room: a ``block`` subscription that is full holds its publishers back.

``Broker`` inherits :class:`Room`; only a broker with a ``block`` subscription ever waits here.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from eventdeck.core.broker.errors import BrokerClosed, PublishTimeout
from eventdeck.core.broker.tap import EventKind, EventLog

if TYPE_CHECKING:
    from eventdeck.core.broker.channel_state import ChannelState
    from eventdeck.core.broker.subscription import Subscription


class Room:
    """``_wait_for_room``; needs the broker's routing tables."""

    if TYPE_CHECKING:  # provided by Broker
        _closed: bool
        _generation: int
        _log: EventLog

        def _refresh(self, state: ChannelState) -> list[Subscription]: ...

    async def _wait_for_room(self, state: ChannelState, size: int, timeout: float) -> None:  # noqa: ASYNC109 - deadline from publish
        """Wait until no matching ``block`` subscription is full; raise ``PublishTimeout`` after ``timeout``.

        A message larger than a subscription's whole byte bound never waits for it (it is dropped there).
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout
        while True:
            if self._closed:
                raise BrokerClosed("broker is closed; cannot publish")
            subs = state.subs if state.generation == self._generation else self._refresh(state)
            full = next((sub for sub in subs if sub.blocks(size)), None)
            if full is None:
                return
            try:
                await full.wait_for_space(deadline)
            except TimeoutError:
                self._log.record(EventKind.PUBLISH_TIMED_OUT, state.name, full.name, detail=f"full for {timeout:.3g} s")
                raise PublishTimeout(full.name, full.max_pending, loop.time() - started) from None
