"""When publishers wait for subscribers whose sockets are full, and for how long at most.

A subscriber's socket that fills up briefly is normal under a flood: publishers (the readers of
every connection) pause until it drains, so its queue need not overflow. A subscriber that stays
full for longer than ``hold`` is stuck: it never holds anyone again until its socket drains.
What stuck clients cost is bounded as a whole, not per client: the time publishers spend waiting
for clients that turned out stuck is merged across readers and capped at ``budget`` seconds per
``window``, so a steady arrival of stuck clients costs at most ``budget / window`` of the time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

WINDOW = 10.0  # seconds over which the hold budget is counted


class Backpressure:
    """The subscribers whose sockets are full, and the publishers' wait for them."""

    def __init__(self, hold: float, budget: float, window: float = WINDOW) -> None:
        self.hold = hold
        self.budget = budget
        self.window = window
        self.congested: dict[Hashable, float] = {}  # not (yet) stuck -> loop time its socket filled up
        self.stuck: set[Hashable] = set()
        self._relief = asyncio.Event()
        self._window_start = 0.0
        self._spent = 0.0  # seconds of wasted hold charged in the current window
        self._charged_until = 0.0  # holds overlapping in time are charged once

    @property
    def holding(self) -> bool:
        """Whether a reader should call ``wait`` (cheap: the readers ask after every read)."""
        return bool(self.congested)

    def full(self, client: Hashable, now: float) -> None:
        if client not in self.stuck:
            self.congested.setdefault(client, now)
            self._relief.clear()

    def drained(self, client: Hashable) -> None:
        self.stuck.discard(client)
        if self.congested.pop(client, None) is not None and not self.congested:
            self._relief.set()

    async def wait(self) -> None:
        """Wait while a subscriber's socket is briefly full, within the hold and the budget."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._mark_stuck(now)
        if not self.congested:
            return
        if now - self._window_start >= self.window:
            self._window_start, self._spent = now, 0.0
        left = self.budget - self._spent
        if left <= 0:
            return
        deadline = min(min(self.congested.values()) + self.hold, now + left)
        try:
            async with asyncio.timeout_at(deadline):
                await self._relief.wait()
        except TimeoutError:  # someone is stuck: the wait was wasted
            end = loop.time()
            self._spent += max(0.0, end - max(now, self._charged_until))
            self._charged_until = max(self._charged_until, end)
            self._mark_stuck(end)

    def _mark_stuck(self, now: float) -> None:
        for client in [client for client, since in self.congested.items() if now - since >= self.hold]:
            del self.congested[client]
            self.stuck.add(client)
        if not self.congested:
            self._relief.set()
