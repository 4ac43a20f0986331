"""Request/reply bookkeeping: commands in flight, matched to their reply by correlation id."""

from __future__ import annotations

import asyncio
import secrets

from eventdeck.core.broker.errors import BrokerClosed, DeliveryError, RequestTimeout
from eventdeck.core.broker.message import Message
from eventdeck.core.broker.tap import EventKind, EventLog

REPLY_PREFIX = "$reply/"


class PendingRequests:
    """The future of each command waiting for its reply, with the timer that fails it."""

    def __init__(self, log: EventLog) -> None:
        self._futures: dict[str, asyncio.Future[Message]] = {}
        self._claimed: set[str] = set()  # requests a gateway client's reply is on its way to
        self._log = log

    def __len__(self) -> int:
        return len(self._futures)

    def open(self, channel: str, timeout: float) -> tuple[str, asyncio.Future[Message], asyncio.TimerHandle]:
        """A fresh correlation id, the future its reply resolves (``RequestTimeout`` after ``timeout``) and its timer.

        The caller must ``forget`` it when done (a plain pair of calls: a context manager costs
        measurably per request).
        """
        loop = asyncio.get_running_loop()
        correlation_id = secrets.token_hex(12)  # unguessable: only who received the command can answer it
        future: asyncio.Future[Message] = loop.create_future()
        self._futures[correlation_id] = future
        return correlation_id, future, loop.call_later(timeout, self._expire, correlation_id, channel, loop.time())

    def claim(self, correlation_id: str) -> bool:
        """True once for a request still waiting: the first reply claims it, any later one is turned away."""
        future = self._futures.get(correlation_id)
        if future is None or future.done() or correlation_id in self._claimed:
            return False
        self._claimed.add(correlation_id)
        return True

    def forget(self, correlation_id: str, timer: asyncio.TimerHandle) -> None:
        timer.cancel()
        self._futures.pop(correlation_id, None)
        self._claimed.discard(correlation_id)

    def resolve(self, reply: Message) -> None:
        """Hand ``reply`` to the request it answers, if that one is still waiting."""
        if reply.correlation_id is not None:
            future = self._futures.pop(reply.correlation_id, None)
            if future is not None and not future.done():
                future.set_result(reply)

    def _expire(self, correlation_id: str, channel: str, started: float) -> None:
        future = self._futures.pop(correlation_id, None)
        self._claimed.discard(correlation_id)
        if future is None or future.done():
            return
        elapsed = asyncio.get_running_loop().time() - started
        self._log.record(EventKind.REQUEST_TIMED_OUT, channel, detail=f"no reply after {elapsed:.3g} s")
        future.set_exception(RequestTimeout(channel, elapsed))

    def close(self) -> None:
        """Fail every request still waiting: the broker closed under it."""
        for future in self._futures.values():
            if not future.done():
                future.set_exception(BrokerClosed("broker closed before the reply arrived"))
        self._futures.clear()
        self._claimed.clear()


def reply_address(command: Message) -> tuple[str, str]:
    """Where the reply to ``command`` goes and the correlation id it carries; ``DeliveryError`` if not a command."""
    if command.reply_to is None or command.correlation_id is None:
        raise DeliveryError(
            f"message {command.id} on {command.channel!r} has no reply-to/correlation id; only commands can be answered"
        )
    return command.reply_to, command.correlation_id
