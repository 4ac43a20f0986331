"""Which sockets a gateway keeps when someone opens thousands that do nothing.

A socket that is not doing anything for a client yet (HTTP: no request in progress; MQTT: no
accepted CONNECT) costs the server a file descriptor and proves nothing: an attacker can open
thousands and renew them forever. So such *waiting* sockets get a budget of their own, apart from
the clients' connection limit: when it is full, the oldest waiting socket makes room for the
newest (a real client sends its request within a round trip, an idle one never does), and none
may wait longer than ``timeout``. A legitimate client is therefore let in however many idle or
slow sockets are held, and the server's descriptors stay bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

_C = TypeVar("_C", bound=Hashable)


class Admission(Generic[_C]):
    """Waiting sockets, oldest first; ``close`` is called for each one evicted or timed out."""

    def __init__(self, *, budget: int, timeout: float, close: Callable[[_C], None]) -> None:
        if budget < 1:
            raise ValueError("the budget for waiting sockets must be at least 1")
        self.budget = budget
        self.timeout = timeout
        self._close = close
        self._waiting: OrderedDict[_C, asyncio.TimerHandle] = OrderedDict()
        self.evicted = 0  # waiting sockets closed to make room for newer ones
        self.timed_out = 0  # waiting sockets closed because they waited too long

    def __len__(self) -> int:
        return len(self._waiting)

    def waiting(self, conn: _C) -> None:
        """``conn`` is connected but not doing anything for a client (new, or between requests)."""
        self.busy(conn)
        self._waiting[conn] = asyncio.get_running_loop().call_later(self.timeout, self._expire, conn)
        while len(self._waiting) > self.budget:
            oldest, timer = self._waiting.popitem(last=False)
            timer.cancel()
            self.evicted += 1
            self._close(oldest)

    def busy(self, conn: _C) -> None:
        """``conn`` is serving a client (a request, a stream, an accepted MQTT session)."""
        timer = self._waiting.pop(conn, None)
        if timer is not None:
            timer.cancel()

    left = busy  # a closed socket simply stops waiting

    def close_all(self) -> None:
        while self._waiting:
            conn, timer = self._waiting.popitem(last=False)
            timer.cancel()
            self._close(conn)

    def _expire(self, conn: _C) -> None:
        if self._waiting.pop(conn, None) is not None:
            self.timed_out += 1
            self._close(conn)


ACCEPT_FAILED = "socket.accept() out of system resource"  # asyncio's words when accept() fails (EMFILE, ENOBUFS...)
ACCEPT_LOG_EVERY = 60.0  # seconds between two log lines about failing accepts


def quiet_accept_failures(loop: asyncio.AbstractEventLoop, log: logging.Logger) -> None:
    """Log failing accepts as one line a minute instead of a traceback per attempt.

    When descriptors run out, asyncio retries accept() every second and reports each failure with
    a traceback: ~3 MB of log a second under a socket flood. Other reports go where they went.
    """
    previous = loop.get_exception_handler()
    last = -ACCEPT_LOG_EVERY
    missed = 0

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        nonlocal last, missed
        if context.get("message") != ACCEPT_FAILED:
            if previous is None:
                loop.default_exception_handler(context)
            else:
                previous(loop, context)
            return
        now = loop.time()
        if now - last < ACCEPT_LOG_EVERY:
            missed += 1
            return
        exc = context.get("exception")
        again = f" ({missed:,} more since the last report)" if missed else ""
        log.error("cannot accept new connections: %s; retrying every second%s", exc, again)
        last, missed = now, 0

    if getattr(previous, "quiets_accept_failures", False):
        return  # installed already (a gateway restarted)
    handler.quiets_accept_failures = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to the hard one; returns the limit now in force.

    Debian's default soft limit is 1,024 descriptors, which a socket flood exhausts long before the
    gateways' own caps (connections plus waiting sockets) are reached.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            return wanted
    return soft
