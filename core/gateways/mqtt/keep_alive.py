"""The keep-alive deadline of one connection: one timer that looks at the deadline when it fires.

A timer per read (``asyncio.timeout``) costs a client that sends one packet per read about 4 us a
packet; this one is re-armed only when it fires, at the deadline the last packet set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class KeepAliveWatch:
    """Calls ``expire`` once the client sent nothing for 1.5 x its keep alive (MQTT 3.1.2.10) while its
    connection waits for it; ``arrived`` on every read moves the deadline on."""

    def __init__(self, keep_alive: int, expire: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._limit = keep_alive * 1.5
        self._expire = expire
        self.last = self._loop.time()  # when the last bytes came
        self.waiting = False  # the connection waits for the client (not busy with what it sent)
        self._timer: asyncio.TimerHandle | None = self._loop.call_at(self.last + self._limit, self._due)

    def arrived(self) -> None:
        self.waiting = False
        self.last = self._loop.time()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _due(self) -> None:
        now = self._loop.time()
        due = self.last + self._limit
        if due <= now and self.waiting:
            self._timer = None
            self._expire()
        else:  # a packet came since, or the connection is still busy with one: look again later
            self._timer = self._loop.call_at(due if due > now else now + self._limit, self._due)
