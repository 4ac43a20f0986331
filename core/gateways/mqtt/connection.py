"""One client connection: feeds its ``MqttServerProtocol`` and carries out the actions it returns.

Per connection there is one reader (``run``) and one consumer task per MQTT subscription of its
own, which takes batches from its broker subscription and writes each batch with a single
write. Shared subscriptions are dealt out by their group's task instead (shared.py). No task is
ever created per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, NamedTuple

from eventdeck.core.broker.channels import matches
from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.broker.message import Message, last_id
from eventdeck.core.broker.subscription import State, Subscription
from eventdeck.core.gateways.mqtt.actions import (
    Action,
    ConnectionClosed,
    PublishMany,
    PublishToBroker,
    SessionStarted,
    SubscribeInBroker,
    UnsubscribeInBroker,
)
from eventdeck.core.gateways.mqtt.keep_alive import KeepAliveWatch
from eventdeck.core.gateways.mqtt.link import HIGH_WATER, Link
from eventdeck.core.gateways.mqtt.protocol import ConnState, MqttServerProtocol
from eventdeck.core.gateways.mqtt.session import ClientSubscription, SessionState
from eventdeck.core.mqtt_codec import codes as c

if TYPE_CHECKING:
    from eventdeck.core.gateways.mqtt.server import MqttGateway

log = logging.getLogger("eventdeck.mqtt")

# Messages taken from a broker subscription per write; larger ones mean fewer writes and takes.
_BATCH = 256
# Messages a consumer moves in one loop turn before it lets the others run: a flood queued for one
# client (up to max_queued, 10,000) would otherwise hold the loop, and the window with it, for its whole drain.
_TURN = 1024
_VERSIONS = {c.MQTT_311: "3.1.1", c.MQTT_5: "5.0"}


def _resume_at(window: int) -> int:
    """Free slots a full in-flight window needs before delivery resumes: a quarter of it, so that a
    client acknowledging as fast as it can gets batches, not one write per acknowledgement."""
    return max(1, window // 4)


class MqttClientInfo(NamedTuple):
    """A snapshot of one connected client, for the GUI."""

    client_id: str
    address: str
    protocol_version: str
    connected_since: float
    subscriptions: tuple[str, ...]
    inflight: int
    messages_in: int
    messages_out: int
    refused: int  # publishes and subscriptions the policy turned down ($ channels, access rules, late replies)


class Connection:
    """One client's connection, over TCP or a WebSocket (``link``)."""

    def __init__(self, gateway: MqttGateway, link: Link) -> None:
        self.gateway = gateway
        self.link = link
        self.address = link.address
        self.protocol = MqttServerProtocol(
            gateway.store.sessions,
            gateway.limits,
            credentials=gateway.credentials,
            policy=gateway.policy,
        )
        self.connected_since = time.time()
        self.consumers: dict[ClientSubscription, asyncio.Task[None]] = {}
        self.window_open = asyncio.Event()
        self.rooms: set[asyncio.Event] = set()  # the shared groups waiting for this client's window too
        self.done = False
        # The broker keeps a store: acks wait for its commit, and a persistent session is written there.
        self.durable = gateway.broker.store is not None
        self.holding = 0  # waits for the store's commit under way: while any, nothing is written (see flush)

    @property
    def version(self) -> str:
        return _VERSIONS.get(self.protocol.version, "?")

    async def run(self) -> None:
        protocol = self.protocol
        gateway = self.gateway
        link = self.link
        # Before CONNECT the gateway's waiting budget bounds the wait (see core/gateways/admission.py).
        watch: KeepAliveWatch | None = None
        try:
            while not self.done:
                if watch is not None:
                    watch.waiting = True
                data = await link.read()
                if watch is not None:
                    watch.arrived()
                if not data:
                    await self.apply(protocol.connection_lost())
                    break
                if protocol.state is ConnState.CONNECTING:  # only clients past CONNECT count against the limit
                    protocol.busy = len(gateway.admitted) >= gateway.limits.max_connections
                actions = protocol.receive_data(data)
                if watch is None and protocol.keep_alive and protocol.state is ConnState.CONNECTED:
                    watch = KeepAliveWatch(protocol.keep_alive, self._keep_alive_expired)
                if self.durable and protocol.session is not None:  # acks, QoS 2 ids, subscriptions changed
                    gateway.store.keep(protocol.session)
                await self.apply(actions, commit=protocol.promises)
                self.flush()
                if protocol.outbox.settled:
                    await self.settle()
                quota = protocol.outbox.send_quota
                if quota > 0:
                    for room in self.rooms:
                        room.set()
                    if quota >= _resume_at(protocol.outbox.window):
                        self.window_open.set()
                if gateway.backpressure.holding:
                    await gateway.backpressure.wait()
                else:  # read() returns at once while data is buffered: let the consumers run between chunks
                    await asyncio.sleep(0)
        except (ConnectionError, OSError) as exc:
            await self.apply(protocol.connection_lost(f"connection lost: {exc}" if str(exc) else "connection lost"))
        finally:
            if watch is not None:
                watch.cancel()
            if not self.done:  # cancelled (gateway stopping): still release the session properly
                await self.apply(protocol.close(c.SERVER_SHUTTING_DOWN))
            gateway.connections.discard(self)
            gateway.admitted.discard(self)
            gateway.waiting.left(self)

    def _keep_alive_expired(self) -> None:
        """Nothing from the client for 1.5 x its keep alive: the connection ends (its read then sees the end)."""
        task = asyncio.create_task(self.apply(self.protocol.close(c.KEEP_ALIVE_TIMEOUT, "keep alive timeout")))
        self.gateway.track(task)

    def abort(self) -> None:
        self.link.abort()

    def flush(self) -> None:
        if self.holding:  # e.g. a delivery to a client that reads what it publishes: its PUBACKs are in the buffer
            return
        data = self.protocol.data_to_send()
        if data and not self.link.closing():
            self.link.write(data)

    async def settle(self) -> None:
        """Ack, in their groups, the shared subscriptions' messages this client now has."""
        outbox = self.protocol.outbox
        settled, outbox.settled = outbox.settled, []
        await self.gateway.groups.settle(settled)

    async def apply(self, actions: list[Action], *, commit: bool = True) -> None:
        """Carry out ``actions``; with a store, the acks they answer go out after one commit for all of them.

        ``commit=False``: the answers promise nothing the store must hold first (the read held only the
        client's PUBACKs, say), so they go out without waiting for the store.
        """
        publish_ready = self.gateway.broker.publish_ready
        wait = not self.durable
        for action in actions:
            if type(action) is PublishMany:  # the hot path: one call for all the messages of a read
                messages = action.messages
                done = publish_ready(messages)
                while done < len(messages):  # one the fast path cannot take: the general path says why
                    await self._publish(messages[done], retain=False, wait=wait)
                    done = publish_ready(messages, done + 1)
            elif isinstance(action, PublishToBroker):
                await self._publish(action.message, retain=action.retain, wait=wait)
            elif isinstance(action, SessionStarted):
                await self._start_session(action)
            elif isinstance(action, SubscribeInBroker):
                self._subscribe(action)
            elif isinstance(action, UnsubscribeInBroker):
                self._unsubscribe(action.subscription)
            elif isinstance(action, ConnectionClosed):
                await self._close(action)
        if not wait and commit:
            await self._committed()

    async def _committed(self) -> None:
        """Wait for the store to commit what this read published, writing nothing meanwhile; if it cannot,
        no ack goes out (the connection is cut, so the client sends those messages again)."""
        self.holding += 1
        try:
            await self.gateway.broker.durable_commit()
        except EventDeckError as exc:
            log.error("MQTT client %r: messages not acknowledged, the store failed: %s", self.protocol.client_id, exc)
            self.link.abort()
        finally:
            self.holding -= 1

    async def _publish(self, message: Message, *, retain: bool, wait: bool = True) -> None:
        """Publish one message; one the broker refuses (e.g. a payload over its limit) is logged and skipped.

        ``wait=False``: the caller waits for the store's commit once for everything it published.
        """
        try:
            await self.gateway.broker.publish_message(message, retain=retain, wait_durable=wait)
        except EventDeckError as exc:
            client_id = self.protocol.client_id
            log.warning("MQTT client %r: message to %r not published: %s", client_id, message.channel, exc)

    async def _start_session(self, action: SessionStarted) -> None:
        gateway = self.gateway
        client_id = action.session.client_id
        old = gateway.by_client_id.get(client_id)
        if old is not None and old is not self:
            await old.shutdown(c.SESSION_TAKEN_OVER)
        gateway.by_client_id[client_id] = self
        gateway.waiting.busy(self)
        gateway.admitted.add(self)
        if action.resumed:
            gateway.store.back(client_id)
        if action.discarded is not None:
            gateway.store.drop(action.discarded)
        gateway.store.keep(action.session)
        if action.resumed:
            for sub in action.session.subscriptions.values():
                if sub.share is not None:
                    gateway.groups.join(sub, self)
                else:
                    self._attach(sub, fresh=False)
        gateway.emit("connected", self, "session resumed" if action.resumed else "new session")

    def _subscribe(self, action: SubscribeInBroker) -> None:
        """SUBSCRIBE: a new filter gets a broker subscription; a repeated one keeps it with new options."""
        sub = action.subscription
        if sub.share is not None:
            self.gateway.groups.join(sub, self)
            return
        if action.new:
            self._attach(sub, fresh=True)
            return
        self._stop_consumer_of_filter(sub.filter)
        self._attach(sub, fresh=False)
        if action.send_retained:
            self.protocol.outbox.deliver_retained(sub, self._retained_matching(sub.pattern))
            self.flush()

    def _unsubscribe(self, sub: ClientSubscription) -> None:
        if sub.share is not None:
            self.gateway.groups.leave(sub.share, self.protocol.client_id, self)
            return
        self._stop_consumer(sub)
        if sub.subscription is not None:
            sub.subscription.unsubscribe()

    def _attach(self, sub: ClientSubscription, *, fresh: bool) -> None:
        """Give ``sub`` a live broker subscription (new, or a durable one re-attached) and a consumer."""
        session = self.protocol.session
        assert session is not None
        subscription = sub.subscription
        if subscription is None:  # e.g. the same filter twice in one read: the first one made it already
            with contextlib.suppress(KeyError):
                subscription = sub.subscription = self.gateway.broker.subscription(sub.name)  # so it is dropped too
        if subscription is None or subscription.state is State.CLOSED or subscription.state is State.AWAY:
            away = subscription is not None and subscription.state is State.AWAY
            if not away:  # queues only what is published from now on (see outbox.Outbox._one_copy)
                sub.since = last_id[0]
            subscription = self.gateway.broker.subscribe(
                sub.pattern,
                name=sub.name,
                durable=session.expiry > 0 or away,
                max_pending=self.gateway.limits.max_queued,
                max_pending_bytes=self.gateway.limits.max_queued_bytes,
            )
            if fresh:  # what the broker queued at once are the retained messages
                sub.retained_ids = {message.id for message in subscription.queue}
            sub.subscription = subscription
        self._stop_consumer(sub)
        if self.done:  # the connection ended while its actions were still being carried out
            return
        task = asyncio.create_task(self._consume(sub, subscription), name=f"mqtt {sub.name}")
        self.consumers[sub] = task
        self.gateway.track(task)

    def _retained_matching(self, pattern: str) -> list[Message]:
        broker = self.gateway.broker
        found = (broker.retained(info.name) for info in broker.channels() if info.retained)
        return [message for message in found if message is not None and matches(pattern, message.channel)]

    def stop_consumers(self) -> None:
        for sub in list(self.consumers):
            self._stop_consumer(sub)

    def _stop_consumer_of_filter(self, topic_filter: str) -> None:
        for other in [other for other in self.consumers if other.filter == topic_filter]:
            self._stop_consumer(other)

    def _stop_consumer(self, sub: ClientSubscription) -> None:
        task = self.consumers.pop(sub, None)
        if task is not None:
            task.cancel()

    async def _consume(self, sub: ClientSubscription, subscription: Subscription) -> None:
        """Move messages from ``subscription`` to the client, a batch per write, within its in-flight window."""
        protocol = self.protocol
        outbox = protocol.outbox
        retained_of = self.gateway.broker.retained
        window_open = self.window_open
        link = self.link
        moved = 0  # messages moved in this loop turn
        try:
            while True:
                count = _BATCH
                if sub.qos:
                    if outbox.send_quota <= 0:
                        resume_at = _resume_at(outbox.window)
                        while outbox.send_quota < resume_at:
                            window_open.clear()
                            await window_open.wait()
                    count = min(count, outbox.send_quota)
                messages = await subscription.batch_messages(count)
                if protocol.policy.filters_deliveries:  # a deny rule inside the filter the rules granted
                    messages = [message for message in messages if protocol.policy.may_read(message.channel)]
                outbox.deliver_batch(sub, messages, retained_of)
                if self.durable and sub.qos and outbox.session is not None:
                    # in flight now: stored in the same commit as their leaving the broker's queue
                    self.gateway.store.keep(outbox.session)
                self.flush()
                moved += len(messages)
                if link.buffered() > HIGH_WATER:
                    await self.gateway.drain(self)
                    moved = 0
                elif moved >= _TURN:
                    await asyncio.sleep(0)
                    moved = 0
        except (StopAsyncIteration, ConnectionError):
            return

    async def _close(self, action: ConnectionClosed) -> None:
        self.done = True
        gateway = self.gateway
        self.stop_consumers()
        client_id = self.protocol.client_id
        if gateway.by_client_id.get(client_id) is self:
            del gateway.by_client_id[client_id]
        if self.protocol.outbox.settled:
            await self.settle()
        if self.protocol.session is not None:  # ours or taken over: this connection deals no more shared messages
            for sub in self.protocol.session.subscriptions.values():
                if sub.share is not None:
                    gateway.groups.away(sub.share, self)
        session = action.session
        if session is not None:
            await gateway.groups.give_back(session.take_shared())
        if action.will is not None:
            await self._will(action)
        if session is not None:
            if action.keep_session:
                self._keep(session)
                gateway.store.away(session)
            else:
                gateway.store.drop(session)
        self.flush()
        self.link.close()
        if client_id:
            gateway.emit("disconnected", self, action.detail)
        elif action.reason_code not in (c.SUCCESS, c.UNSPECIFIED_ERROR):
            gateway.emit("refused", self, action.detail)

    async def _will(self, action: ConnectionClosed) -> None:
        """Publish the will now, or once its delay has passed (never later than the session ends)."""
        assert action.will is not None
        session = action.session
        delay = action.will_delay
        if session is not None:  # ours: the session ends now, or when it expires
            delay = min(delay, session.expiry) if action.keep_session else 0
        # None: another connection took the session over; if it resumed it, the will is cancelled
        if delay:
            self.gateway.store.will_later(self.protocol.client_id, action.will, delay)
        else:
            await self._publish(action.will.message, retain=action.will.retain)

    def _keep(self, session: SessionState) -> None:
        """The client went away with a persistent session: its subscriptions wait for it."""
        for sub in session.subscriptions.values():
            if sub.share is not None or sub.subscription is None:
                continue
            if sub.qos:
                sub.subscription.close()  # durable: queues (away) until the client is back
            else:  # QoS 0 is not kept for an absent client (MQTT leaves it optional; Mosquitto
                # does not either): an away fleet would otherwise cost every publish a queue each
                sub.subscription.unsubscribe()

    async def shutdown(self, reason_code: int) -> None:
        """End this connection from the server side (take-over, gateway stop)."""
        if not self.done:
            await self.apply(self.protocol.close(reason_code))

    def info(self) -> MqttClientInfo:
        protocol = self.protocol
        session = protocol.session
        return MqttClientInfo(
            protocol.client_id,
            self.address,
            self.version,
            self.connected_since,
            tuple(session.subscriptions) if session is not None else (),
            len(session.inflight) if session is not None else 0,
            protocol.messages_in,
            protocol.messages_out,
            protocol.policy.refused,
        )
