"""Step mode: the broker holds each new message at its channel until it is released, one at a time.

A presenter uses it to walk a room through the flow: a publish waits (held at its channel,
not yet queued anywhere) until ``release`` lets exactly one message go on to be routed to
its subscriptions. Messages are released in the order they were published.
"""

from __future__ import annotations

import asyncio
from collections import deque

from eventdeck.core.broker.message import Message


class Stepper:
    """The messages held at their channels, oldest first; give it to ``Broker.step_mode``."""

    def __init__(self) -> None:
        self._held: deque[tuple[Message, asyncio.Future[None]]] = deque()

    @property
    def held(self) -> list[Message]:
        """The messages waiting, oldest (the next to go) first."""
        return [message for message, future in self._held if not future.done()]

    async def hold(self, message: Message) -> None:
        """Wait until ``message`` is released (the broker awaits this before routing it)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._held.append((message, future))
        await future  # a cancelled publisher cancels the future too: release skips it

    def release(self) -> Message | None:
        """Let the oldest held message go on to its subscriptions; None if nothing is held."""
        while self._held:
            message, future = self._held.popleft()
            if not future.done():  # a cancelled publisher's message is skipped: it never gets routed
                future.set_result(None)
                return message
        return None

    def release_all(self) -> int:
        """Let every held message go, in order; how many went."""
        released = 0
        while self.release() is not None:
            released += 1
        return released
