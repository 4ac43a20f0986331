"""The simulation's clock: sleeps measured in scenario seconds, so a change of speed applies at once.

``await clock.sleep(2.0)`` sleeps 2 s at speed 1, 1 s at speed 2; when the speed changes (or a
sleeper's own ``boost``, e.g. a publisher's burst) the sleeps in progress are rescheduled for what
is left of them at the new pace, so a publisher slowed to a crawl does not have to finish its long
interval before a faster speed shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["SimClock"]


class _Sleeper:
    __slots__ = ("boost", "future", "left", "pace", "since", "timer")

    def __init__(self, future: asyncio.Future[None], left: float, boost: Callable[[], float] | None) -> None:
        self.future = future
        self.left = left  # scenario seconds still to sleep
        self.boost = boost
        self.pace = 1.0  # scenario seconds per real second since ``since``
        self.since = 0.0
        self.timer: asyncio.TimerHandle | None = None


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class SimClock:
    """Scenario time at ``speed`` times real time."""

    def __init__(self, speed: float = 1.0) -> None:
        self._speed = speed
        self._sleepers: set[_Sleeper] = set()

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, factor: float) -> None:
        self._speed = factor
        self.changed()

    async def sleep(self, seconds: float, boost: Callable[[], float] | None = None) -> None:
        """Sleep ``seconds`` of scenario time, sped up further by ``boost()`` (read again at each change)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        sleeper = _Sleeper(loop.create_future(), seconds, boost)
        self._schedule(sleeper, loop)
        self._sleepers.add(sleeper)
        try:
            await sleeper.future
        finally:
            self._sleepers.discard(sleeper)
            if sleeper.timer is not None:
                sleeper.timer.cancel()

    def changed(self) -> None:
        """Reschedule every sleep in progress at the current pace (call after a ``boost`` changed)."""
        if not self._sleepers:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        for sleeper in self._sleepers:
            if sleeper.timer is not None:
                sleeper.timer.cancel()
            sleeper.left -= (now - sleeper.since) * sleeper.pace
            self._schedule(sleeper, loop)

    def _schedule(self, sleeper: _Sleeper, loop: asyncio.AbstractEventLoop) -> None:
        sleeper.pace = self._speed * (sleeper.boost() if sleeper.boost is not None else 1.0)
        sleeper.since = loop.time()
        sleeper.timer = loop.call_later(max(0.0, sleeper.left) / sleeper.pace, _wake, sleeper.future)
