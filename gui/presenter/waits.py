"""Commands waiting for their reply, as the presenter shows them (no Qt).

A command with a reply-to waits from the moment the broker routes it until its reply comes
back; the presenter shows the wait at the responders (an hourglass with the seconds) and at
the requester ("waiting for reply"). A request that times out is marked at its requester for
a few seconds. The broker's timeout event names the channel, not the command, so it is put
down to the longest-waiting command on that channel: the first one to expire there.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from eventdeck.core import Kind, Message
from eventdeck.gui.presenter.flow import requester_key

MAX_WAITING = 200  # commands tracked at once; a flood of them is shown by its oldest anyway
TIMED_OUT_SECONDS = 4.0  # how long a "timed out" mark stays at its requester


@dataclass(frozen=True, slots=True)
class TimedOut:
    command: Message
    waited: float  # seconds it waited before the broker gave up
    at: float  # monotonic time it was marked


class CommandWaits:
    """The commands seen waiting, oldest first, and the requests that timed out lately."""

    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self.max_waiting = max_waiting
        self.waiting: OrderedDict[str, tuple[Message, float]] = OrderedDict()  # correlation id -> command, seen at
        self.timed_out: list[TimedOut] = []

    def add(self, batch: Iterable[Message], now: float) -> bool:
        """Take a batch of messages: commands start waiting, replies end their command's wait. True if changed."""
        changed = False
        for message in batch:
            cid = message.correlation_id
            if cid is None:
                continue
            if message.kind is Kind.COMMAND and message.reply_to is not None:
                self.waiting[cid] = (message, now)
                if len(self.waiting) > self.max_waiting:
                    self.waiting.popitem(last=False)
                changed = True
            elif message.kind is Kind.REPLY and self.waiting.pop(cid, None) is not None:
                changed = True
        return changed

    def time_out(self, channel: str, now: float) -> Message | None:
        """The broker gave up on a request on ``channel``: mark the command that waited longest there."""
        for cid, (command, seen) in self.waiting.items():
            if command.channel == channel:
                del self.waiting[cid]
                self.timed_out.append(TimedOut(command, now - seen, now))
                return command
        return None

    def prune(self, now: float) -> None:
        """Forget "timed out" marks that have been shown long enough."""
        self.timed_out = [mark for mark in self.timed_out if now - mark.at < TIMED_OUT_SECONDS]

    def clear(self) -> None:
        self.waiting.clear()
        self.timed_out.clear()

    def by_requester(self, now: float) -> dict[str, tuple[int, float]]:
        """Requester key -> (commands waiting, seconds the oldest has waited)."""
        result: dict[str, tuple[int, float]] = {}
        for command, seen in self.waiting.values():
            key = requester_key(command)
            count, longest = result.get(key, (0, 0.0))
            result[key] = (count + 1, max(longest, now - seen))
        return result

    def by_channel(self, now: float) -> dict[str, tuple[int, float]]:
        """Command channel -> (commands waiting, seconds the oldest has waited): shown at its responders."""
        result: dict[str, tuple[int, float]] = {}
        for command, seen in self.waiting.values():
            count, longest = result.get(command.channel, (0, 0.0))
            result[command.channel] = (count + 1, max(longest, now - seen))
        return result
