"""Retained messages: the last retained message of each channel, bounded by their payload bytes in total."""

from __future__ import annotations

from collections.abc import ItemsView

from eventdeck.core.broker.errors import RetainedLimitReached
from eventdeck.core.broker.message import Message


class RetainedMessages:
    """One retained message per channel; ``max_bytes`` bounds their payloads together."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._messages: dict[str, Message] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def __contains__(self, channel: object) -> bool:
        return channel in self._messages

    def get(self, channel: str) -> Message | None:
        return self._messages.get(channel)

    def items(self) -> ItemsView[str, Message]:
        return self._messages.items()

    def check(self, channel: str, size: int) -> None:
        """``RetainedLimitReached`` if retaining ``size`` bytes on ``channel`` would pass ``max_bytes``."""
        old = self._messages.get(channel)
        total = self.bytes + size - (0 if old is None else len(old.payload))
        if size and total > self.max_bytes:
            raise RetainedLimitReached(channel, size, total, self.max_bytes)

    def put(self, message: Message) -> bool:
        """Retain ``message`` (an empty payload clears the channel's); True if that cleared one."""
        old = self.pop(message.channel)
        if message.payload:
            self._messages[message.channel] = message
            self.bytes += len(message.payload)
            return False
        return old is not None

    def pop(self, channel: str) -> Message | None:
        old = self._messages.pop(channel, None)
        if old is not None:
            self.bytes -= len(old.payload)
        return old

    def clear(self) -> None:
        self._messages.clear()
        self.bytes = 0
