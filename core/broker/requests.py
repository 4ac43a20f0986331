"""Request/reply bookkeeping: commands in flight, matched to their reply by correlation id."""

from __future__ import annotations

import asyncio
import os

from eventdeck.core.broker.errors import BrokerClosed, DeliveryError, RequestTimeout
from eventdeck.core.broker.message import Message
from eventdeck.core.broker.tap import EventKind, EventLog

REPLY_PREFIX = "$reply/"


class _Waiting:
    """One command's wait for its reply: when it was sent and when it expires, in loop time."""

    __slots__ = ("channel", "deadline", "started", "timer")

    def __init__(self, channel: str, started: float, deadline: float) -> None:
        self.channel = channel
        self.started = started
        self.deadline = deadline
        self.timer: asyncio.TimerHandle | None = None


class PendingRequests:
    """The future of each command waiting for its reply, and the timer that fails it.

    While the broker steps (``pause``), time stands still for requests: a command held at its
    channel until the presenter presses Next must not time out meanwhile. ``resume`` gives each
    request the time it had left.
    """

    def __init__(self, log: EventLog) -> None:
        self._futures: dict[str, asyncio.Future[Message]] = {}
        self._waiting: dict[str, _Waiting] = {}
        self._claimed: set[str] = set()  # requests a gateway client's reply is on its way to
        self._paused_at: float | None = None
        self._log = log

    def __len__(self) -> int:
        return len(self._futures)

    def open(self, channel: str, timeout: float) -> tuple[str, asyncio.Future[Message]]:
        """A fresh correlation id and the future its reply resolves (``RequestTimeout`` after ``timeout``).

        The caller must ``forget`` it when done (a plain pair of calls: a context manager costs
        measurably per request).
        """
        loop = asyncio.get_running_loop()
        # Unguessable (as secrets.token_hex, whose own import brings hashlib's ~1.5 ms to the first paint): only
        # who received the command can answer it.
        correlation_id = os.urandom(12).hex()
        future: asyncio.Future[Message] = loop.create_future()
        self._futures[correlation_id] = future
        now = loop.time()
        waiting = self._waiting[correlation_id] = _Waiting(channel, now, now + timeout)
        if self._paused_at is None:
            waiting.timer = loop.call_at(waiting.deadline, self._expire, correlation_id)
        return correlation_id, future

    def claim(self, correlation_id: str) -> bool:
        """True once for a request still waiting: the first reply claims it, any later one is turned away."""
        future = self._futures.get(correlation_id)
        if future is None or future.done() or correlation_id in self._claimed:
            return False
        self._claimed.add(correlation_id)
        return True

    def forget(self, correlation_id: str) -> None:
        waiting = self._waiting.pop(correlation_id, None)
        if waiting is not None and waiting.timer is not None:
            waiting.timer.cancel()
        self._futures.pop(correlation_id, None)
        self._claimed.discard(correlation_id)

    def resolve(self, reply: Message) -> None:
        """Hand ``reply`` to the request it answers, if that one is still waiting."""
        if reply.correlation_id is not None:
            future = self._futures.pop(reply.correlation_id, None)
            if future is not None and not future.done():
                future.set_result(reply)

    def pause(self) -> None:
        """Stop every request's clock (step mode)."""
        if self._paused_at is not None:
            return
        self._paused_at = asyncio.get_running_loop().time()
        for waiting in self._waiting.values():
            if waiting.timer is not None:
                waiting.timer.cancel()
                waiting.timer = None

    def resume(self) -> None:
        """Restart the clocks: each request keeps the time it had left when they stopped."""
        if self._paused_at is None:
            return
        loop = asyncio.get_running_loop()
        stood_still = loop.time() - self._paused_at
        self._paused_at = None
        for correlation_id, waiting in self._waiting.items():
            waiting.started += stood_still
            waiting.deadline += stood_still
            waiting.timer = loop.call_at(waiting.deadline, self._expire, correlation_id)

    def _expire(self, correlation_id: str) -> None:
        future = self._futures.pop(correlation_id, None)
        waiting = self._waiting.pop(correlation_id, None)
        self._claimed.discard(correlation_id)
        if future is None or future.done() or waiting is None:
            return
        elapsed = asyncio.get_running_loop().time() - waiting.started
        self._log.record(EventKind.REQUEST_TIMED_OUT, waiting.channel, detail=f"no reply after {elapsed:.3g} s")
        future.set_exception(RequestTimeout(waiting.channel, elapsed))

    def close(self) -> None:
        """Fail every request still waiting: the broker closed under it."""
        self.fail_all("broker closed before the reply arrived")

    def fail_all(self, reason: str) -> int:
        """Fail every request still waiting with ``BrokerClosed(reason)``; how many there were."""
        for waiting in self._waiting.values():
            if waiting.timer is not None:
                waiting.timer.cancel()
        failed = 0
        for future in self._futures.values():
            if not future.done():
                future.set_exception(BrokerClosed(reason))
                failed += 1
        self._futures.clear()
        self._waiting.clear()
        self._claimed.clear()
        return failed


def reply_address(command: Message) -> tuple[str, str]:
    """Where the reply to ``command`` goes and the correlation id it carries; ``DeliveryError`` if not a command."""
    if command.reply_to is None or command.correlation_id is None:
        raise DeliveryError(
            f"message {command.id} on {command.channel!r} has no reply-to/correlation id; only commands can be answered"
        )
    return command.reply_to, command.correlation_id
