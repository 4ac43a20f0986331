"""Channel faults: the broker drops, duplicates or delays the next messages published to a channel.

A scenario injects them (``Broker.channel_faults.add("fridge/level", FaultAction.DROP, 3)``) to show
what a lossy or flaky network does. Each fault acts on the next ``count`` messages of its channel,
then disappears by itself; several on one channel act one after the other, oldest first. While none
is active the broker publishes on its fast path: the table tells it (``armed``) when the first
fault comes and the last one goes.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from eventdeck.core.broker.message import Message, freeze_headers, new_id

DUPLICATE_HEADER = "x-eventdeck-duplicate"
"""On the copy of a duplicated message: the id of the original."""


class FaultAction(enum.Enum):
    """What the broker does with a message a channel fault catches."""

    DROP = "drop"
    """It never reaches any subscription (the tap logs it as dropped)."""
    DUPLICATE = "duplicate"
    """It is delivered twice: the copy has a new id and the original's id in ``x-eventdeck-duplicate``."""
    DELAY = "delay"
    """It is routed ``seconds`` later; the publisher does not wait for that."""


@dataclass(eq=False)
class ChannelFault:
    """One fault on ``channel``: acts on the next ``remaining`` messages published there."""

    channel: str
    action: FaultAction
    remaining: int
    seconds: float = 0.0
    """For ``DELAY``: how long each message is held, in real seconds (a scenario rescales it with its speed)."""


class ChannelFaults:
    """The active channel faults, by channel; ``armed`` is called with True/False when the first comes/last goes.

    ``on_change`` callbacks get a fault each time it caught a message or was removed (``remaining``
    tells which: 0 means it is gone).
    """

    def __init__(self, armed: Callable[[bool], None]) -> None:
        self.armed = armed
        self.on_change: list[Callable[[ChannelFault], None]] = []
        self._by_channel: dict[str, list[ChannelFault]] = {}
        self._delayed: set[asyncio.TimerHandle] = set()

    def __iter__(self) -> Iterator[ChannelFault]:
        for faults in self._by_channel.values():
            yield from faults

    def __len__(self) -> int:
        return sum(len(faults) for faults in self._by_channel.values())

    def add(self, channel: str, action: FaultAction, count: int, seconds: float = 0.0) -> ChannelFault:
        """A new fault acting on the next ``count`` messages of ``channel`` (after any older one there)."""
        check_count(count)
        if action is FaultAction.DELAY and not 0 < seconds < float("inf"):
            raise ValueError(f"a delay must be a positive number of seconds, got {seconds!r}")
        fault = ChannelFault(channel, action, count, seconds)
        first = not self._by_channel
        self._by_channel.setdefault(channel, []).append(fault)
        if first:
            self.armed(True)
        return fault

    def remove(self, fault: ChannelFault) -> bool:
        """End ``fault`` now; False if it had already ended."""
        faults = self._by_channel.get(fault.channel, [])
        if fault not in faults:
            return False
        faults.remove(fault)
        if not faults:
            del self._by_channel[fault.channel]
        fault.remaining = 0
        if not self._by_channel:
            self.armed(False)
        self._changed(fault)
        return True

    def clear(self) -> None:
        """End every fault."""
        for fault in list(self):
            self.remove(fault)

    def take(self, channel: str) -> ChannelFault | None:
        """The fault that catches the next message of ``channel`` (its count spent), if any."""
        faults = self._by_channel.get(channel)
        if not faults:
            return None
        fault = faults[0]
        fault.remaining -= 1
        if fault.remaining:
            self._changed(fault)
        else:
            self.remove(fault)
        return fault

    def later(self, seconds: float, route: Callable[[], None]) -> None:
        """Call ``route`` in ``seconds`` (a delayed message), unless ``forget_delayed`` comes first."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._delayed.discard(handle)
            route()

        handle = loop.call_later(seconds, fire)
        self._delayed.add(handle)

    def forget_delayed(self) -> int:
        """Cancel the delayed messages not yet routed (they lived in memory); how many there were."""
        count = len(self._delayed)
        for handle in self._delayed:
            handle.cancel()
        self._delayed.clear()
        return count

    def _changed(self, fault: ChannelFault) -> None:
        for callback in list(self.on_change):
            callback(fault)


def check_count(count: int) -> None:
    """``ValueError`` unless ``count`` (how many messages a fault catches) is a whole number of 1 or more."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"a channel fault catches 1 message or more: count must be a whole number, got {count!r}")


def duplicate_of(message: Message) -> Message:
    """The second copy of a duplicated ``message``: a new id and time, the original's id in a header."""
    ident = new_id()
    headers = freeze_headers({**message.headers, DUPLICATE_HEADER: str(message.id)})
    return message._replace(id=ident, timestamp=ident / 1e9, headers=headers)
