"""What the broker keeps per channel (counters, the subscriptions that match it), its public snapshot,
and the table of channels with its cap."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from eventdeck.core.broker.errors import ChannelLimitReached

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


class ChannelTable:
    """The broker's channels by name: at most ``max_channels``, and their names in order for paging.

    ``states`` is a plain dict, so publishing looks a channel up at dict speed. At the cap,
    adding one first forgets the least recently used idle channels (not declared and, says
    the broker's ``busy``, without subscriber or retained message): a sixteenth of the cap at
    once, so the scan is paid once per that many new channels, not per channel.
    """

    def __init__(self, max_channels: int) -> None:
        self.max_channels = max_channels
        self.states: dict[str, ChannelState] = {}
        self.published_gone = 0  # messages counted by channels that were since forgotten
        self._sorted: list[str] | None = None  # rebuilt after a channel came or went

    def add(self, name: str, busy: Callable[[ChannelState], bool]) -> tuple[ChannelState, int]:
        """The new channel ``name`` and how many idle ones were forgotten to make room for it."""
        forgotten = self._forget_idle(name, busy) if len(self.states) >= self.max_channels else 0
        state = self.states[name] = ChannelState(name)
        self._sorted = None
        return state, forgotten

    def _forget_idle(self, wanted: str, busy: Callable[[ChannelState], bool]) -> int:
        idle = [state for state in self.states.values() if not state.declared and not busy(state)]
        if not idle:
            raise ChannelLimitReached(wanted, self.max_channels)
        idle.sort(key=lambda state: state.last_time or 0.0)
        gone = idle[: max(1, self.max_channels // 16)]
        for state in gone:
            del self.states[state.name]
            self.published_gone += state.messages
        self._sorted = None
        return len(gone)

    def page(self, after: str | None, limit: int | None) -> list[ChannelState]:
        """The channels sorted by name: all, or at most ``limit`` whose names sort after ``after``.

        O(limit) while no channel came or went since the last call (the sorted names are kept).
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        names = self._sorted
        if names is None:
            names = self._sorted = sorted(self.states)
        start = 0 if after is None else bisect_right(names, after)
        states = self.states
        return [states[name] for name in names[start : None if limit is None else start + limit]]
