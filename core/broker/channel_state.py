"""What the broker keeps per channel (counters, the subscriptions that match it) and its public snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from eventdeck.core.broker.subscription import Subscription


class ChannelInfo(NamedTuple):
    """A snapshot of one channel. Rates come from differences of ``messages`` between snapshots."""

    name: str
    messages: int
    bytes: int
    last_time: float | None
    retained: bool
    subscribers: int
    declared: bool
    description: str


class ChannelState:
    """Per-channel counters plus the cached list of subscriptions that match it.

    ``subs`` is valid while ``generation`` equals the broker's (which moves on every
    subscribe and unsubscribe), so publishing does not search the pattern trie.
    """

    __slots__ = ("bytes", "declared", "description", "generation", "last_time", "messages", "name", "subs")

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages = 0
        self.bytes = 0
        self.last_time: float | None = None
        self.subs: list[Subscription] = []
        self.generation = -1  # forces a trie lookup on first use
        self.declared = False
        self.description = ""

    def info(self, retained: bool) -> ChannelInfo:
        """A snapshot (``subs`` must be current)."""
        return ChannelInfo(
            self.name,
            self.messages,
            self.bytes,
            self.last_time,
            retained,
            len(self.subs),
            self.declared,
            self.description,
        )
