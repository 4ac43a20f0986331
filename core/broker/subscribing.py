"""Subscribing and unsubscribing: ``Broker.subscribe`` and the bookkeeping of its subscriptions.

``Broker`` inherits :class:`Subscribing`; it needs the broker's routing tables and event log.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, cast

from eventdeck.core.broker.channels import is_pattern, matches, validate_pattern
from eventdeck.core.broker.errors import BrokerClosed, ChannelLimitReached, SubscriptionError
from eventdeck.core.broker.subscription import AckMode, Overflow, State, Subscription, check_options
from eventdeck.core.broker.tap import EventKind, EventLog

if TYPE_CHECKING:
    from eventdeck.core.broker.broker import Broker
    from eventdeck.core.broker.channel_state import ChannelState
    from eventdeck.core.broker.channels import PatternTrie
    from eventdeck.core.broker.durability import Durability
    from eventdeck.core.broker.retained import RetainedMessages


class Subscribing:
    """``subscribe``, ``subscription`` and what a subscription tells the broker about itself."""

    if TYPE_CHECKING:  # provided by Broker
        max_pending_bytes: int
        _closed: bool
        _auto_names: int
        _subs: dict[str, Subscription]
        _trie: PatternTrie[Subscription]
        _generation: int
        _blocking: int
        _plain: bool
        _channels: dict[str, ChannelState]
        _retained: RetainedMessages
        _durability: Durability | None
        _dropped_gone: int
        _delivered_gone: int
        _log: EventLog

        def _create_channel(self, name: str) -> ChannelState: ...
        def _update_plain(self) -> None: ...

    def subscribe(
        self,
        pattern: str,
        *,
        name: str | None = None,
        durable: bool = False,
        max_pending: int = 10_000,
        overflow: Overflow | str = Overflow.DROP_OLDEST,
        ack: AckMode | str = AckMode.AUTO,
        max_attempts: int = 5,
        max_pending_bytes: int | None = None,
    ) -> Subscription:
        """Subscribe to ``pattern`` (MQTT wildcards) and return the ``Subscription``.

        A durable subscription whose consumer went away is reattached when the same
        ``name`` subscribes again with the same pattern, and delivers its backlog.
        Retained messages of matching channels are queued first. ``max_pending_bytes``
        bounds the queued payload bytes (default: the broker's ``max_pending_bytes``).
        """
        if self._closed:
            raise BrokerClosed("broker is closed; cannot subscribe")
        validate_pattern(pattern)
        byte_bound = self.max_pending_bytes if max_pending_bytes is None else max_pending_bytes
        policy, mode = check_options(overflow, ack, max_pending, max_attempts, byte_bound)
        if name is None:
            if durable:
                raise SubscriptionError("a durable subscription needs a name to come back to")
            self._auto_names += 1
            name = f"sub-{self._auto_names}"
        existing = self._subs.get(name)
        if existing is not None:
            if existing.durable and durable and existing.state is State.AWAY and existing.pattern == pattern:
                existing.reattach()
                existing.wake()
                return existing
            raise SubscriptionError(
                f"a subscription named {name!r} already exists ({existing.pattern!r}, {existing.state.value})"
            )
        sub = Subscription(
            cast("Broker", self),  # this mixin is only ever a Broker's
            name,
            pattern,
            durable=durable,
            max_pending=max_pending,
            max_pending_bytes=byte_bound,
            overflow=policy,
            ack=mode,
            max_attempts=max_attempts,
        )
        self._subs[name] = sub
        self._trie.add(pattern, sub)
        self._generation += 1
        if policy is Overflow.BLOCK:
            self._blocking += 1
            self._plain = False
        if not is_pattern(pattern) and pattern not in self._channels:
            with contextlib.suppress(ChannelLimitReached):  # listed from its first publish instead (if room by then)
                self._create_channel(pattern)
        self._log.record(EventKind.SUBSCRIPTION_ADDED, pattern, name)
        for channel, message in self._retained.items():
            size = len(message.payload)
            if matches(pattern, channel) and (not sub.full(size) or sub.make_room(message, size)):
                sub.queue.append(message)
                sub.pending_bytes += size
        if durable and self._durability is not None:
            self._durability.added(sub)  # after the retained messages are queued: it keeps them too
            self._update_plain()
        return sub

    def remove_subscription(self, sub: Subscription) -> None:
        """Forget ``sub`` (called by ``Subscription.unsubscribe``)."""
        if self._subs.get(sub.name) is not sub:
            return
        del self._subs[sub.name]
        self._trie.remove(sub.pattern, sub)
        self._generation += 1
        if sub.overflow is Overflow.BLOCK:
            self._blocking -= 1
            self._update_plain()
        if sub._store is not None and self._durability is not None:
            self._durability.removed(sub)
            self._update_plain()
        self._dropped_gone += sub.dropped
        self._delivered_gone += sub.delivered
        self._log.record(EventKind.SUBSCRIPTION_REMOVED, sub.pattern, sub.name)

    def subscription_changed(self, sub: Subscription, what: EventKind) -> None:
        """Log a change of ``sub``'s state (paused, resumed, consumer away or back)."""
        self._log.record(what, sub.pattern, sub.name)

    def subscription(self, name: str) -> Subscription:
        """The live subscription called ``name``; ``KeyError`` if there is none."""
        return self._subs[name]
