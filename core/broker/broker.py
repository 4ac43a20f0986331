"""The embedded broker: routes messages from publishers to matching subscriptions."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from eventdeck.core.broker.channel_faults import ChannelFaults, FaultAction, duplicate_of
from eventdeck.core.broker.channel_state import ChannelState, ChannelTable
from eventdeck.core.broker.channels import PatternTrie, validate_channel
from eventdeck.core.broker.commands import Commands
from eventdeck.core.broker.dead_letters import dead_letter_copy
from eventdeck.core.broker.durability import Durability
from eventdeck.core.broker.errors import (
    BrokerClosed,
    ChannelLimitReached,
    PayloadTooLarge,
)
from eventdeck.core.broker.message import (
    EMPTY_HEADERS,
    JSON,
    Kind,
    Message,
    PayloadLike,
    freeze_headers,
    last_id,
    to_payload,
)
from eventdeck.core.broker.mishaps import Mishaps
from eventdeck.core.broker.receipts import BrokerStats, Receipt, ResetReport
from eventdeck.core.broker.requests import PendingRequests
from eventdeck.core.broker.retained import RetainedMessages
from eventdeck.core.broker.room import Room
from eventdeck.core.broker.snapshots import Snapshots
from eventdeck.core.broker.stepper import Stepper
from eventdeck.core.broker.subscribing import Subscribing
from eventdeck.core.broker.subscription import (
    MAX_PENDING_BYTES,
    Subscription,
)
from eventdeck.core.broker.tap import EventKind, EventLog
from eventdeck.core.store import Store, Synchronous

# The receipts live in their own module; importers keep this path.
__all__ = ["Broker", "BrokerStats", "Receipt", "ResetReport"]

# Hot-path shortcuts (module globals are cheaper than attribute lookups per message).
_time_ns = time.time_ns
_last_id = last_id
_tuple_new = tuple.__new__
_REPLY = Kind.REPLY


class Broker(Commands, Snapshots, Mishaps, Room, Subscribing):
    """An in-process asyncio broker. Use as ``async with Broker() as broker:``.

    Everything runs on the caller's event loop; no method blocks. ``publish`` only
    awaits when a subscription with ``overflow="block"`` is full.

    Limits, each settable here: ``max_pending_bytes`` is the default byte bound of a
    subscription's queue (64 MiB: four of the largest default payloads, and far below the
    ~10 GiB that 10,000 queued 1 MiB messages used to take); ``max_channels`` (100,000) bounds
    the channels kept: creating one more first forgets the least recently used idle ones
    (no subscriber, retained message or declaration; a sixteenth of the cap at a time) and
    a publish or declaration raises ``ChannelLimitReached`` only when none is idle (a
    subscription is still accepted: its channel is listed once there is room);
    ``max_retained_bytes`` (256 MiB: the retained payloads in total) makes a retained
    publish past it raise ``RetainedLimitReached`` before anything is delivered.

    Commands (``request``, ``reply``), snapshots (``channels``, ``stats``, ``tap`` ...) and what
    scenarios do on purpose (``channel_faults``, ``reset``) live in the mixins it inherits.

    With a ``store`` (see ``on_store``) durable subscriptions and their messages, retained messages
    and declared channels are kept on disk and come back when a broker starts on the same store; a
    receipt for a message a durable subscription queued is given once it is committed there.
    """

    def __init__(
        self,
        *,
        max_payload: int = 16 * 1024 * 1024,
        publish_timeout: float = 5.0,
        default_publisher: str = "local",
        max_pending_bytes: int = MAX_PENDING_BYTES,
        max_channels: int = 100_000,
        max_retained_bytes: int = 256 * 1024 * 1024,
        store: Store | None = None,
    ) -> None:
        for what, value in (
            ("max_pending_bytes", max_pending_bytes),
            ("max_channels", max_channels),
            ("max_retained_bytes", max_retained_bytes),
        ):
            if value < 1:
                raise ValueError(f"{what} must be at least 1, got {value!r}")
        self.max_pending_bytes = max_pending_bytes
        self.max_payload = max_payload
        self.publish_timeout = publish_timeout
        self.default_publisher = default_publisher
        self._table = ChannelTable(max_channels)
        self._channels = self._table.states  # the same dict: the hot path looks names up here
        self._subs: dict[str, Subscription] = {}
        self._trie: PatternTrie[Subscription] = PatternTrie()
        self._generation = 0
        self._blocking = 0  # subscriptions with overflow=BLOCK; only then does publish pre-check room
        self._plain = True  # not closed, no 'block' subscriptions, no step mode, no channel fault: the fast path
        self._stepper: Stepper | None = None
        self._faulty = False  # a channel fault is active
        self.on_reset: list[Callable[[], None]] = []
        """Called after ``reset`` forgot what lived in memory (a gateway ends the away sessions it forgot)."""
        self.channel_faults = ChannelFaults(self._arm_faults)
        """Drop, duplicate or delay the next messages of a channel (see :mod:`.channel_faults`)."""
        self._dropped_by_faults = 0
        self._retained = RetainedMessages(max_retained_bytes)
        self._log = EventLog()
        self._requests = PendingRequests(self._log)
        self._closed = False
        self._auto_names = 0
        self._dropped_gone = 0  # drops counted by subscriptions that were since removed
        self._delivered_gone = 0
        self._durability = None if store is None else Durability(self, store)
        self._persisting = False  # a durable subscription keeps its messages in the store: off the fast path
        if self._durability is not None:
            self._durability.restore()

    @classmethod
    async def on_store(
        cls, directory: Path, *, synchronous: Synchronous = "full", max_store_bytes: int | None = None, **options: Any
    ) -> Broker:
        """A broker keeping its durable state in ``directory`` (see ``Store.open``), started with what it holds.

        ``close()`` closes the store too; a broker started again on ``directory`` afterwards (a restart)
        finds its durable subscriptions (consumer away), their queues, retained messages and declared channels.
        """
        store = await Store.open(
            directory, synchronous=synchronous, **({} if max_store_bytes is None else {"max_bytes": max_store_bytes})
        )
        try:
            return cls(store=store, **options)
        except BaseException:
            await store.close()
            raise

    @property
    def store(self) -> Store | None:
        """Where durable state is kept (None: in memory only)."""
        return None if self._durability is None else self._durability.store

    async def __aenter__(self) -> Broker:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Stop: consumers' iterators end, pending requests and blocked publishers fail with ``BrokerClosed``."""
        if self._closed:
            return
        self._closed = True
        self._plain = False
        self.step_mode(None)  # held publishers go on, and fail with BrokerClosed
        durability = self._durability
        if durability is not None:
            durability.detach()  # closing removes the subscriptions from memory, not from the store
        for sub in list(self._subs.values()):
            sub.unsubscribe()
        self._requests.close()
        self.channel_faults.forget_delayed()
        if durability is not None:
            await durability.store.close()

    # -- publishing ----------------------------------------------------------

    def _channel_for_publish(self, channel: str) -> ChannelState:
        """The state of ``channel``, created (after validation) on first use."""
        if self._closed:
            raise BrokerClosed("broker is closed; cannot publish")
        try:
            state = self._channels.get(channel)
        except TypeError:  # unhashable: certainly not a channel name
            state = None
        if state is None:
            state = self._create_channel(validate_channel(channel))
        return state

    async def publish(
        self,
        channel: str,
        payload: PayloadLike = b"",
        *,
        kind: Kind = Kind.EVENT,
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        retain: bool = False,
        publisher: str = "",
        correlation_id: str | None = None,
        reply_to: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - per-call deadline for 'block' subscriptions
    ) -> Receipt:
        """Publish to ``channel`` and return a receipt (message id, subscriptions queued for).

        ``payload`` may be bytes, str (UTF-8) or anything JSON can encode. With
        ``retain=True`` the message becomes the channel's retained message (an empty
        payload clears it). Raises ``InvalidChannel``, ``PayloadTooLarge``,
        ``InvalidPayload``, ``BrokerClosed``, or ``PublishTimeout`` when a ``block``
        subscription stays full for ``timeout`` seconds (default: the broker's
        ``publish_timeout``).
        """
        # The hot path runs once per message, so it avoids calls and repeated lookups. Anything
        # unusual (new channel, closed broker, 'block' subscriptions present) goes through
        # publish_message, after the same checks in the same order.
        try:
            state = self._channels.get(channel)
        except TypeError:  # unhashable: let validation explain
            state = None
        if state is None or not self._plain:
            self._channel_for_publish(channel)
            data = to_payload(payload)
            if len(data) > self.max_payload:
                raise PayloadTooLarge(len(data), self.max_payload)
            message = Message.build(
                channel,
                data,
                kind=kind,
                content_type=content_type,
                headers=headers,
                publisher=publisher or self.default_publisher,
                correlation_id=correlation_id,
                reply_to=reply_to,
            )
            return await self.publish_message(message, retain=retain, timeout=timeout)
        if type(payload) is not bytes:
            payload = to_payload(payload)
        size = len(payload)
        if size > self.max_payload:
            raise PayloadTooLarge(size, self.max_payload)
        ident = _time_ns()
        if ident <= _last_id[0]:
            ident = _last_id[0] + 1
        _last_id[0] = ident
        now = ident / 1e9
        message = _tuple_new(
            Message,
            (
                ident,
                channel,
                kind,
                payload,
                content_type,
                EMPTY_HEADERS if headers is None else freeze_headers(headers),
                now,
                publisher or self.default_publisher,
                correlation_id,
                reply_to,
            ),
        )
        if retain:
            self._retained.check(channel, size)
        subs = state.subs if state.generation == self._generation else self._refresh(state)
        state.messages += 1
        state.bytes += size
        state.last_time = now
        log = self._log
        if log.taps:
            log.ring.append(message)
            log.count += 1
        if kind is _REPLY:
            self._requests.resolve(message)
        queued = len(subs)
        for sub in subs:
            queue = sub.queue
            if (
                len(queue) >= sub.max_pending or sub.pending_bytes + size > sub.max_pending_bytes
            ) and not sub.make_room(message, size):
                queued -= 1
                continue
            queue.append(message)
            sub.pending_bytes += size
            waiter = sub.waiter
            if waiter is not None:
                sub.waiter = None
                if not waiter.done():
                    waiter.set_result(None)
        if retain:
            self._retain(message)
            if self._durability is not None:
                await self._durability.committed()
        return _tuple_new(Receipt, (message, queued))

    async def publish_message(
        self,
        message: Message,
        *,
        retain: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 - same contract as publish
        wait_durable: bool = True,
    ) -> Receipt:
        """Publish a ready-made ``Message`` (gateways and connectors use this to keep their ids and fields).

        ``wait_durable=False``: return before the store commits the message; the caller gives its receipt
        (a PUBACK) only after ``await durable_commit()``, one commit for a whole read of publishes.
        """
        state = self._channel_for_publish(message.channel)
        if len(message.payload) > self.max_payload:
            raise PayloadTooLarge(len(message.payload), self.max_payload)
        if retain:
            self._retained.check(message.channel, len(message.payload))
        if self._stepper is not None:
            await self._stepper.hold(message)
            state = self._channel_for_publish(message.channel)  # closed meanwhile, or the channel forgotten
        fault = self.channel_faults.take(message.channel) if self._faulty else None
        if fault is not None and fault.action is not FaultAction.DUPLICATE:
            return self._caught(message, fault, retain)
        if self._blocking:
            await self._wait_for_room(state, len(message.payload), self.publish_timeout if timeout is None else timeout)
            state = self._channel_for_publish(message.channel)  # forgotten (or the broker reset) meanwhile
        durability = self._durability
        if self._persisting:
            assert durability is not None
            durability.check_room(state.subs if state.generation == self._generation else self._refresh(state))
        enqueued = 0 if durability is None else durability.enqueued
        # The same steps as publish's inlined hot path (test_publish_paths holds them equal).
        queued = self._route(message, state)
        if fault is not None:
            self._route(duplicate_of(message), state)
        if retain:
            self._retain(message)
        if wait_durable and durability is not None and (retain or durability.enqueued != enqueued):
            await durability.committed()  # the receipt promises the message is on disk
        return Receipt(message, queued)

    def publish_ready(self, messages: list[Message], start: int = 0) -> int:
        """Route ``messages[start:]`` (none retained) now, in order, while each can take the fast path.

        Returns the index of the first message that cannot (``len(messages)`` if none): a new channel,
        a payload over ``max_payload``, a reply (a request waits for it), or a broker that is not plain
        (closed, 'block' subscriptions, step mode, a channel fault, a durable subscription with a store).
        The caller passes that one to ``publish_message`` (which raises or waits as it must), then calls
        this again from the next. Gateways publish all the messages of one socket read this way: one
        call, not one coroutine each; a run of messages to one channel is queued as a whole.
        """
        if not self._plain:
            return start
        channels = self._channels
        max_payload = self.max_payload
        index, end = start, len(messages)
        while index < end:
            channel = messages[index].channel
            state = channels.get(channel)
            if state is None:
                break
            stop, size = index, 0
            while stop < end:  # the run: messages to this channel that need nothing but queueing
                message = messages[stop]
                payload = len(message.payload)
                if message.channel != channel or payload > max_payload or message.kind is _REPLY:
                    break
                size += payload
                stop += 1
            if stop == index:
                break
            self._queue_run(messages[index:stop], size, state)
            index = stop
        return index

    def _queue_run(self, run: list[Message], size: int, state: ChannelState) -> None:
        """What ``_route`` does for each of ``run`` (messages to ``state``'s channel, ``size`` payload bytes
        in all, no reply), at once where every subscription has room for all of them."""
        subs = state.subs if state.generation == self._generation else self._refresh(state)
        count = len(run)
        if any(
            len(sub.queue) + count > sub.max_pending or sub.pending_bytes + size > sub.max_pending_bytes for sub in subs
        ):
            for message in run:  # a subscription's overflow policy decides, message by message
                self._route(message, state)
            return
        state.messages += count
        state.bytes += size
        state.last_time = run[-1].timestamp
        log = self._log
        if log.taps:
            log.ring.extend(run)
            log.count += count
        for sub in subs:
            sub.queue.extend(run)
            sub.pending_bytes += size
            sub.wake()

    async def durable_commit(self) -> None:
        """Wait until everything published so far is committed to the store (at once without a store)."""
        if self._durability is not None:
            await self._durability.committed()

    def _route(self, message: Message, state: ChannelState) -> int:
        """Queue ``message`` on each matching subscription (never waits); return how many queued it."""
        subs = state.subs if state.generation == self._generation else self._refresh(state)
        size = len(message.payload)
        state.messages += 1
        state.bytes += size
        state.last_time = message.timestamp
        log = self._log
        if log.taps:
            log.append(message)
        if message.kind is _REPLY:
            self._requests.resolve(message)
        queued = 0
        for sub in subs:
            queue = sub.queue
            if (  # paged: a durable queue's messages past its memory window, in the store only
                len(queue) + sub.paged >= sub.max_pending or sub.pending_bytes + size > sub.max_pending_bytes
            ) and not sub.make_room(message, size):
                continue
            queue.append(message)
            sub.pending_bytes += size
            queued += 1
            sub.wake()
        durability = self._durability
        if self._persisting and durability is not None:
            durability.queued(message, subs)
        return queued

    def step_mode(self, stepper: Stepper | None) -> None:
        """Hold each new message at its channel until ``stepper`` releases it (None: stop, releasing all held)."""
        if self._stepper is not None and self._stepper is not stepper:
            self._stepper.release_all()
        self._stepper = stepper
        self._update_plain()
        if stepper is None:  # time stands still for commands while the presenter steps
            self._requests.resume()
        else:
            self._requests.pause()

    def _update_plain(self) -> None:
        self._persisting = self._durability is not None and self._durability.subscriptions > 0
        self._plain = (
            not self._blocking
            and not self._closed
            and self._stepper is None
            and not self._faulty
            and not self._persisting
        )

    def drop(self, sub: Subscription, message: Message, reason: str) -> None:
        """Count and log a message ``sub``'s overflow policy threw away (called by ``Subscription.make_room``)."""
        sub.dropped += 1
        self._log.record(EventKind.MESSAGE_DROPPED, message.channel, sub.name, message, reason)

    def _retain(self, message: Message) -> None:
        if self._durability is not None:
            self._durability.retained(message)
        if self._retained.put(message):
            self._log.record(EventKind.RETAINED_CLEARED, message.channel)

    def retained(self, channel: str) -> Message | None:
        """The retained message of ``channel``, if any."""
        return self._retained.get(channel)

    def clear_retained(self, channel: str) -> bool:
        """Forget ``channel``'s retained message; True if there was one."""
        if self._retained.pop(channel) is None:
            return False
        if self._durability is not None:
            self._durability.retained_cleared(channel)
        self._log.record(EventKind.RETAINED_CLEARED, channel)
        return True

    def dead_letter(self, message: Message, subscription: str, reason: str, attempts: int) -> None:
        """Move ``message`` to ``$dead/<channel>`` with the reason in its headers (used by nack)."""
        dead = dead_letter_copy(message, subscription, reason, attempts)
        self._log.record(EventKind.DEAD_LETTERED, message.channel, subscription, dead, reason)
        self._route_now(dead, subscription)

    def _route_now(self, message: Message, subscription: str = "") -> bool:
        """Route ``message`` unless the broker closed; False if it was not (a channel it cannot create: logged).

        For messages that must not fail their sender: a dead letter (a nack never fails), a delayed one.
        """
        if self._closed:
            return False
        state = self._channels.get(message.channel)
        if state is None:
            try:
                state = self._create_channel(message.channel)
            except ChannelLimitReached as exc:
                self._log.record(EventKind.MESSAGE_DROPPED, message.channel, subscription, message, str(exc))
                return False
        self._route(message, state)
        return True

    # -- channels and introspection --------------------------------------

    def declare_channel(self, name: str, description: str = "") -> None:
        """Make a channel known before anything is published (workspaces do this)."""
        state = self._channels.get(name) or self._create_channel(validate_channel(name))
        state.declared = True
        state.description = description or state.description
        if self._durability is not None:
            self._durability.declared(name, state.description)

    def _create_channel(self, name: str) -> ChannelState:
        state, forgotten = self._table.add(name, self._busy)
        if forgotten:
            detail = f"{forgotten:,} idle channels forgotten (max_channels={self._table.max_channels:,})"
            self._log.record(EventKind.CHANNELS_FORGOTTEN, detail=detail)
        self._log.record(EventKind.CHANNEL_CREATED, name)
        return state

    def _busy(self, state: ChannelState) -> bool:
        """Whether ``state`` has a subscriber or a retained message (so the channel cap keeps it)."""
        subs = state.subs if state.generation == self._generation else self._refresh(state)
        return bool(subs) or state.name in self._retained

    def _subscribers_for_publish(self, channel: str) -> list[Subscription]:
        """The subscriptions a message published to ``channel`` would reach (creating the channel)."""
        state = self._channel_for_publish(channel)
        return state.subs if state.generation == self._generation else self._refresh(state)

    def _refresh(self, state: ChannelState) -> list[Subscription]:
        state.subs = self._trie.match(state.name)
        state.generation = self._generation
        return state.subs
