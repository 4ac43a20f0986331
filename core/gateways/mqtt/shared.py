"""Shared subscriptions (``$share/{group}/{filter}``, MQTT 5 4.8.2; 3.1.1 clients may use them too).

Each group is one broker subscription, named ``$share/{group}/{filter}`` (the Subscribers panel
shows it with ``MqttGateway.shared_groups()`` naming its members). One task takes its messages and
hands each to the next connected member in turn (round robin), skipping members whose Receive
Maximum is used up or whose socket is full; while none can take more, messages wait in the group's
queue, bounded like any MQTT subscription's (``MqttLimits.max_queued``).

Membership belongs to the session, as in Mosquitto: a member with a persistent session stays one
while it is away, and the group lives while any member's session does (the last member leaving,
by UNSUBSCRIBE or by its session ending, removes the broker subscription and what it holds).
Unlike Mosquitto, an away member is not dealt messages: they go to the connected members, or, with
none connected, wait in the group (its broker subscription is "away") for the first one back.
The group's subscription acks manually: a message counts as delivered once its member has it
(QoS 0: sent; QoS 1: PUBACK; QoS 2: PUBREC). What a member had not acknowledged when its connection
ended goes back to the group at once, for the next member (MQTT 5 4.8.2 allows this); a message
handed back ``max_attempts`` (5) times is dead-lettered like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from eventdeck.core.broker.broker import Broker
from eventdeck.core.broker.errors import DeliveryError
from eventdeck.core.broker.subscription import AckMode, Delivery, State, Subscription
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.link import HIGH_WATER
from eventdeck.core.gateways.mqtt.session import ClientSubscription

if TYPE_CHECKING:
    from eventdeck.core.gateways.mqtt.connection import Connection

log = logging.getLogger("eventdeck.mqtt")

BATCH = 64  # deliveries taken per loop turn


class SharedGroup:
    """One ``$share/{group}/{filter}``: its members (by client id) and the task dealing out its messages."""

    def __init__(self, groups: SharedGroups, name: str, pattern: str) -> None:
        self._groups = groups
        self.name = name
        self.pattern = pattern
        self.members: dict[str, ClientSubscription] = {}  # every member's subscription, connected or not
        self.connected: dict[str, Connection] = {}  # the members that can be dealt messages now
        self.room = asyncio.Event()  # set when a member's window opens
        self.subscription: Subscription | None = None
        self.task: asyncio.Task[None] | None = None
        self._skip: set[int] = set()  # the retained messages queued when it was made: none go to members
        self._next = 0

    def __repr__(self) -> str:
        return f"<SharedGroup {self.name!r} members={list(self.members)}>"

    def start(self) -> None:
        """Make (or bring back) the broker subscription and the task dealing out its messages."""
        subscription = self.subscription
        if subscription is None or subscription.state is State.AWAY:
            fresh = subscription is None
            limits = self._groups.limits
            subscription = self.subscription = self._groups.broker.subscribe(
                self.pattern,
                name=self.name,
                durable=True,  # away (still queueing) while no member is connected
                ack=AckMode.MANUAL,
                max_pending=limits.max_queued,
                max_pending_bytes=limits.max_queued_bytes,
            )
            if fresh:
                self._skip = {message.id for message in subscription.queue}
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._deal(subscription), name=f"mqtt {self.name}")
            self._groups.track(self.task)
        self.room.set()

    def pause(self) -> None:
        """No member is connected: stop dealing; the subscription queues until one is back."""
        if self.task is not None:
            self.task.cancel()
            self.task = None
        if self.subscription is not None:
            self.subscription.close()

    def remove(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None
        if self.subscription is not None:
            self.subscription.unsubscribe()

    async def _deal(self, subscription: Subscription) -> None:
        retained_of = self._groups.broker.retained
        try:
            while True:
                capacity, blocked = self._capacity()
                if not capacity:
                    if blocked is not None:
                        await self._groups.drain(blocked)
                    else:
                        self.room.clear()
                        await self.room.wait()
                    continue
                deliveries = await subscription.batch(capacity)
                if self._skip:  # the retained messages queued at its start: shared subscriptions get none
                    retained = [d for d in deliveries if d.message.id in self._skip]
                    self._skip.difference_update(d.message.id for d in retained)
                    deliveries = [d for d in deliveries if d not in retained]
                    await self._groups.settle(retained)
                touched: dict[str, Connection] = {}
                unplaced = [d for d in deliveries if not self._place(d, retained_of, touched)]
                if unplaced:  # members left while the batch was awaited
                    await self._groups.give_back(unplaced)
                for connection in touched.values():
                    connection.flush()
                    await connection.settle()
                    if connection.link.buffered() > HIGH_WATER:
                        await self._groups.drain(connection)
        except StopAsyncIteration:  # the subscription closed: the group was paused or removed
            return

    def _capacity(self) -> tuple[int, Connection | None]:
        """How many messages the connected members can take now; a member with a full socket if that is why none."""
        total, blocked = 0, None
        for client_id, connection in self.connected.items():
            if connection.link.buffered() > HIGH_WATER:
                blocked = connection
                continue
            total += BATCH if self.members[client_id].qos == 0 else max(0, connection.protocol.outbox.send_quota)
            if total >= BATCH:
                return BATCH, None
        return total, blocked

    def _place(self, delivery: Delivery, retained_of: Callable[[str], object], touched: dict[str, Connection]) -> bool:
        """Hand ``delivery`` to the next member that can take it; False if none can."""
        message = delivery.message
        members = list(self.connected.items())
        count = len(members)
        for step in range(count):
            index = (self._next + step) % count
            client_id, connection = members[index]
            sub = self.members[client_id]
            outbox = connection.protocol.outbox
            policy = connection.protocol.policy
            if connection.link.buffered() > HIGH_WATER or (sub.qos and outbox.send_quota <= 0):
                continue
            if policy.filters_deliveries and not policy.may_read(message.channel):
                continue
            self._next = (index + 1) % count
            retain = sub.retain_as_published and retained_of(message.channel) is message
            outbox.deliver_shared(message, sub, delivery, retain)
            touched[client_id] = connection
            return True
        return False


class SharedGroups:
    """Every shared subscription of the gateway, by its broker subscription's name."""

    def __init__(
        self,
        broker: Broker,
        limits: MqttLimits,
        *,
        drain: Callable[[Connection], Awaitable[None]],
        track: Callable[[asyncio.Task[None]], None],
    ) -> None:
        self.broker = broker
        self.limits = limits
        self.drain = drain
        self.track = track
        self.groups: dict[str, SharedGroup] = {}

    def members(self) -> dict[str, list[str]]:
        """Each group's broker subscription name -> its members' client ids, in the order they joined."""
        return {name: list(group.members) for name, group in self.groups.items()}

    def join(self, sub: ClientSubscription, connection: Connection) -> None:
        """``sub`` (shared) of ``connection``'s client subscribes, resubscribes or comes back on its session."""
        assert sub.share is not None
        group = self.groups.get(sub.share)
        if group is None:
            group = self.groups[sub.share] = SharedGroup(self, sub.share, sub.pattern)
        client_id = connection.protocol.client_id
        group.members[client_id] = sub
        group.connected[client_id] = connection
        connection.rooms.add(group.room)
        group.start()

    def away(self, name: str, connection: Connection) -> None:
        """The member's connection ended: no more messages for it (its session may keep it a member)."""
        group = self.groups.get(name)
        client_id = connection.protocol.client_id
        if group is None or group.connected.get(client_id) is not connection:  # taken over already
            return
        del group.connected[client_id]
        connection.rooms.discard(group.room)
        if not group.connected:
            group.pause()

    def leave(self, name: str, client_id: str, connection: Connection | None = None) -> None:
        """A member unsubscribed or its session ended; the last one out removes the group."""
        group = self.groups.get(name)
        if group is None:
            return
        group.members.pop(client_id, None)
        group.connected.pop(client_id, None)
        if connection is not None:
            connection.rooms.discard(group.room)
        if not group.members:
            del self.groups[name]
            group.remove()
        elif not group.connected:
            group.pause()

    async def settle(self, deliveries: list[Delivery]) -> None:
        """The members have these messages: ack them in their groups (a removed group's are gone already)."""
        for delivery in deliveries:
            with contextlib.suppress(DeliveryError):
                await delivery.ack()

    async def give_back(self, deliveries: list[Delivery]) -> None:
        """Messages a member will not take after all: back to their group, for the next member."""
        for delivery in deliveries:
            with contextlib.suppress(DeliveryError):
                await delivery.nack(reason="handed back by members that left without acknowledging it")

    def close(self) -> None:
        for group in self.groups.values():
            group.remove()
        self.groups.clear()
