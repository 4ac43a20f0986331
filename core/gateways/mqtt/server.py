"""The asyncio shell around ``MqttServerProtocol``: sockets, timers and the broker's subscriptions.

Per connection there is one reader task (created by ``asyncio.start_server``) and one consumer
task per MQTT subscription, which takes batches from its broker subscription and writes each
batch with a single ``transport.write``. No task is ever created per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from eventdeck.core.broker.broker import Broker
from eventdeck.core.broker.channels import matches
from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.broker.message import Message
from eventdeck.core.broker.subscription import State, Subscription
from eventdeck.core.gateways.acl import AccessRules
from eventdeck.core.gateways.admission import Admission
from eventdeck.core.gateways.errors import GatewayError
from eventdeck.core.gateways.mqtt.backpressure import Backpressure
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.protocol import (
    Action,
    ConnectionClosed,
    ConnState,
    MqttServerProtocol,
    PublishToBroker,
    SessionStarted,
    SubscribeInBroker,
    UnsubscribeInBroker,
)
from eventdeck.core.gateways.mqtt.session import ClientSubscription, SessionState
from eventdeck.core.gateways.policy import GatewayPolicy
from eventdeck.core.gateways.service import Service
from eventdeck.core.mqtt_codec import codes as c

log = logging.getLogger("eventdeck.mqtt")

_READ_SIZE = 8 * 1024  # ~110 small packets per loop turn: keeps each turn short when a client floods
_BATCH = 64  # deliveries taken from a broker subscription per write: short loop turns under a flood
_HIGH_WATER = 1024 * 1024  # bytes buffered for a client before its consumers wait for the socket
_VERSIONS = {c.MQTT_311: "3.1.1", c.MQTT_5: "5.0"}


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


class ClientEvent(NamedTuple):
    """A client connected, disconnected or was refused (``detail`` says why)."""

    time: float
    kind: str  # "connected" | "disconnected" | "refused"
    client_id: str
    address: str
    protocol_version: str
    detail: str


class _Client:
    """One TCP connection: feeds its ``MqttServerProtocol`` and carries out the actions it returns."""

    def __init__(self, gateway: MqttGateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.gateway = gateway
        self.reader = reader
        self.writer = writer
        self.transport = writer.transport
        peer = writer.get_extra_info("peername")
        self.address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.protocol = MqttServerProtocol(
            gateway.sessions,
            gateway.limits,
            credentials=gateway.credentials,
            policy=gateway.policy,
        )
        self.connected_since = time.time()
        self.consumers: dict[ClientSubscription, asyncio.Task[None]] = {}
        self.window_open = asyncio.Event()
        self.done = False

    @property
    def version(self) -> str:
        return _VERSIONS.get(self.protocol.version, "?")

    async def run(self) -> None:
        protocol = self.protocol
        gateway = self.gateway
        try:
            while not self.done:
                # Before CONNECT the gateway's waiting budget bounds the wait (see core/gateways/admission.py).
                keep_alive = protocol.keep_alive if protocol.state is not ConnState.CONNECTING else 0
                timeout_at = asyncio.get_running_loop().time() + keep_alive * 1.5 if keep_alive else None
                try:
                    async with asyncio.timeout_at(timeout_at):
                        data = await self.reader.read(_READ_SIZE)
                except TimeoutError:
                    await self.apply(protocol.close(c.KEEP_ALIVE_TIMEOUT, "keep alive timeout"))
                    break
                if not data:
                    await self.apply(protocol.connection_lost())
                    break
                if protocol.state is ConnState.CONNECTING:  # only clients past CONNECT count against the limit
                    protocol.busy = len(gateway.admitted) >= gateway.limits.max_connections
                await self.apply(protocol.receive_data(data))
                self.flush()
                if protocol.send_quota > 0:
                    self.window_open.set()
                if gateway.backpressure.holding:
                    await gateway.backpressure.wait()
                else:  # read() returns at once while data is buffered: let the consumers run between chunks
                    await asyncio.sleep(0)
        except (ConnectionError, OSError):
            await self.apply(protocol.connection_lost())
        finally:
            if not self.done:  # cancelled (gateway stopping): still release the session properly
                await self.apply(protocol.close(c.SERVER_SHUTTING_DOWN))
            gateway.connections.discard(self)
            gateway.admitted.discard(self)
            gateway.waiting.left(self)

    def abort(self) -> None:
        self.transport.abort()

    def flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and not self.transport.is_closing():
            self.transport.write(data)

    async def apply(self, actions: list[Action]) -> None:
        broker = self.gateway.broker
        for action in actions:
            if type(action) is PublishToBroker:
                await self._publish(broker, action)
            elif isinstance(action, SessionStarted):
                await self._start_session(action)
            elif isinstance(action, SubscribeInBroker):
                self._subscribe(action)
            elif isinstance(action, UnsubscribeInBroker):
                self._stop_consumer(action.subscription)
                if action.subscription.subscription is not None:
                    action.subscription.subscription.unsubscribe()
            elif isinstance(action, ConnectionClosed):
                await self._close(action)

    async def _publish(self, broker: Broker, action: PublishToBroker) -> None:
        try:
            await broker.publish_message(action.message, retain=action.retain)
        except EventDeckError as exc:  # e.g. a payload over the broker's limit: this message only
            log.warning(
                "MQTT client %r: message to %r not published: %s", self.protocol.client_id, action.message.channel, exc
            )

    async def _start_session(self, action: SessionStarted) -> None:
        gateway = self.gateway
        client_id = action.session.client_id
        old = gateway.by_client_id.get(client_id)
        if old is not None and old is not self:
            await old.shutdown(c.SESSION_TAKEN_OVER)
        gateway.by_client_id[client_id] = self
        gateway.waiting.busy(self)
        gateway.admitted.add(self)
        gateway.cancel_timers(client_id)
        if action.discarded is not None:
            gateway.drop_session(action.discarded)
        if action.resumed:
            for sub in action.session.subscriptions.values():
                self._attach(sub, fresh=False)
        gateway.emit("connected", self, "session resumed" if action.resumed else "new session")

    def _subscribe(self, action: SubscribeInBroker) -> None:
        """SUBSCRIBE: a new filter gets a broker subscription; a repeated one keeps it with new options."""
        sub = action.subscription
        if action.new:
            self._attach(sub, fresh=True)
            return
        self._stop_consumer_of_filter(sub.filter)
        self._attach(sub, fresh=False)
        if action.send_retained:
            self.protocol.deliver_retained(sub, self._retained_matching(sub.filter))
            self.flush()

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
            subscription = self.gateway.broker.subscribe(
                sub.filter,
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

    def _retained_matching(self, topic_filter: str) -> list[Message]:
        broker = self.gateway.broker
        found = (broker.retained(info.name) for info in broker.channels() if info.retained)
        return [message for message in found if message is not None and matches(topic_filter, message.channel)]

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
        retained_of = self.gateway.broker.retained
        window_open = self.window_open
        transport = self.transport
        try:
            while True:
                count = _BATCH
                if sub.qos:
                    while protocol.send_quota <= 0:
                        window_open.clear()
                        await window_open.wait()
                    count = min(count, protocol.send_quota)
                deliveries = await subscription.batch(count)
                if protocol.policy.filters_deliveries:  # a deny rule inside the filter the rules granted
                    deliveries = [d for d in deliveries if protocol.policy.may_read(d.message.channel)]
                protocol.deliver_batch(sub, [delivery.message for delivery in deliveries], retained_of)
                self.flush()
                if transport.get_write_buffer_size() > _HIGH_WATER:
                    await self.gateway.drain(self)
        except (StopAsyncIteration, ConnectionError):
            return

    async def _close(self, action: ConnectionClosed) -> None:
        self.done = True
        gateway = self.gateway
        for sub in list(self.consumers):
            self._stop_consumer(sub)
        client_id = self.protocol.client_id
        if gateway.by_client_id.get(client_id) is self:
            del gateway.by_client_id[client_id]
        session = action.session
        if session is not None:
            if action.keep_session:
                for sub in session.subscriptions.values():
                    if sub.subscription is None:
                        continue
                    if sub.qos:
                        sub.subscription.close()  # durable: queues (away) until the client is back
                    else:  # QoS 0 is not kept for an absent client (MQTT leaves it optional; Mosquitto
                        # does not either): an away fleet would otherwise cost every publish a queue each
                        sub.subscription.unsubscribe()
                gateway.expire_later(session)
            else:
                gateway.drop_session(session)
        if action.will is not None:
            if action.will_delay:
                gateway.will_later(client_id, action.will, action.will_delay)
            else:
                await self._publish(gateway.broker, action.will)
        self.flush()
        self.transport.close()
        if client_id:
            gateway.emit("disconnected", self, action.detail)
        elif action.reason_code not in (c.SUCCESS, c.UNSPECIFIED_ERROR):
            gateway.emit("refused", self, action.detail)

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


class MqttGateway(Service):
    """Lets MQTT 3.1.1 and 5.0 clients publish to and subscribe on ``broker``.

    ``async with MqttGateway(broker, port=0) as gateway:`` listens on 127.0.0.1 (``gateway.port``
    tells the port). A non-loopback ``host`` needs ``credentials`` (user name -> password).
    ``on_event`` is called with a ``ClientEvent`` for each connect, disconnect and refusal;
    the last 1,000 are also kept in ``events``.
    """

    def __init__(
        self,
        broker: Broker,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        limits: MqttLimits | None = None,
        credentials: Mapping[str, str] | None = None,
        rules: AccessRules | None = None,
        on_event: Callable[[ClientEvent], None] | None = None,
    ) -> None:
        self.broker = broker
        self.policy = GatewayPolicy(broker.claim_reply, rules)
        self.host = host
        self.limits = limits or MqttLimits()
        self.credentials = dict(credentials) if credentials is not None else None
        self.on_event = on_event
        self.events: deque[ClientEvent] = deque(maxlen=1_000)
        self.sessions: dict[str, SessionState] = {}
        self.connections: set[_Client] = set()
        self.admitted: set[_Client] = set()  # past CONNECT: these count against max_connections
        # Sockets still to send their CONNECT: a budget of their own, the oldest making room for the newest.
        self.waiting: Admission[_Client] = Admission(
            budget=self.limits.max_waiting, timeout=self.limits.connect_timeout, close=_Client.abort
        )
        self.by_client_id: dict[str, _Client] = {}
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._consumers: set[asyncio.Task[None]] = set()
        self._timers: dict[str, list[asyncio.TimerHandle]] = {}
        self.offline: dict[str, SessionState] = {}  # persistent sessions without a connection, oldest first
        self.offline_dropped = 0  # offline sessions dropped to stay within max_offline_sessions
        # Clients whose socket is full: publishers pause (briefly) so their queues do not overflow.
        self.backpressure = Backpressure(self.limits.publisher_hold, self.limits.publisher_hold_budget)

    @property
    def port(self) -> int:
        """The bound port (the real one when started with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._requested_port

    async def start(self) -> None:
        if self._server is not None:
            return
        if not self.credentials and not _is_loopback(self.host):
            raise GatewayError(
                f"refusing to listen for MQTT on {self.host}: it is not a loopback address, so other machines "
                "could connect; set MQTT credentials (user name and password) first"
            )
        try:
            self._server = await asyncio.start_server(
                self._accept, self.host, self._requested_port, limit=self.limits.max_packet_size + 8
            )
        except OSError as exc:
            where = f"port {self._requested_port} on {self.host}"
            if exc.errno == errno.EADDRINUSE:
                raise GatewayError(f"MQTT gateway: {where} is already in use (another MQTT broker?)") from None
            raise GatewayError(f"MQTT gateway cannot listen on {where}: {exc.strerror or exc}") from None

    async def stop(self) -> None:
        """Stop listening and close every connection (MQTT 5 clients get DISCONNECT 0x8B server shutting down)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self.waiting.close_all()
        for client in list(self.connections):
            await client.shutdown(c.SERVER_SHUTTING_DOWN)
        for task in [*self._handlers, *self._consumers]:
            task.cancel()
        if self._handlers or self._consumers:
            await asyncio.gather(*self._handlers, *self._consumers, return_exceptions=True)
        await server.wait_closed()
        for handles in self._timers.values():
            for handle in handles:
                handle.cancel()
        self._timers.clear()

    def clients(self) -> list[MqttClientInfo]:
        """Connected clients (those past CONNECT), oldest first."""
        clients = sorted(self.by_client_id.values(), key=lambda client: client.connected_since)
        return [client.info() for client in clients]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        client = _Client(self, reader, writer)
        self.connections.add(client)
        self.waiting.waiting(client)
        try:
            await client.run()
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug must end this connection only, never the gateway
            log.exception("MQTT connection from %s failed", client.address)
            client.transport.abort()
        finally:
            self._handlers.discard(task)
            for sub in list(client.consumers):
                client._stop_consumer(sub)
            writer.close()

    # -- sessions and timers (used by _Client) ----------------------------------------

    async def drain(self, client: _Client) -> None:
        """Wait for ``client``'s socket to take its backlog; meanwhile publishers hold back (see backpressure.py)."""
        self.backpressure.full(client, asyncio.get_running_loop().time())
        try:
            await client.writer.drain()
        finally:
            self.backpressure.drained(client)

    def track(self, task: asyncio.Task[None]) -> None:
        """Keep a consumer task until it ends, so ``stop`` can wait for every one."""
        self._consumers.add(task)
        task.add_done_callback(self._consumer_done)

    def _consumer_done(self, task: asyncio.Task[None]) -> None:
        self._consumers.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("MQTT delivery task %s failed", task.get_name(), exc_info=task.exception())

    def emit(self, kind: str, client: _Client, detail: str) -> None:
        event = ClientEvent(time.time(), kind, client.protocol.client_id, client.address, client.version, detail)
        self.events.append(event)  # logged by whoever listens (Gateways logs one line per event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("MQTT gateway event callback failed")

    def drop_session(self, session: SessionState) -> None:
        for sub in session.subscriptions.values():
            if sub.subscription is not None:
                sub.subscription.unsubscribe()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]
        if self.offline.get(session.client_id) is session:
            del self.offline[session.client_id]

    def expire_later(self, session: SessionState) -> None:
        """``session`` lives on without a connection until it expires, or until too many others do too."""
        loop = asyncio.get_running_loop()
        handle = loop.call_later(session.expiry, self._expire, session)
        self._timers.setdefault(session.client_id, []).append(handle)
        self.offline.pop(session.client_id, None)
        self.offline[session.client_id] = session
        if len(self.offline) > self.limits.max_offline_sessions:
            oldest = next(iter(self.offline.values()))
            self.cancel_timers(oldest.client_id)
            self.drop_session(oldest)
            self.offline_dropped += 1
            if self.offline_dropped == 1:  # once: a client farm would otherwise log a line per session
                log.warning(
                    "MQTT gateway: more than %d offline sessions; dropping the oldest ones (first: %r)",
                    self.limits.max_offline_sessions,
                    oldest.client_id,
                )

    def _expire(self, session: SessionState) -> None:
        if session.owner is None:
            self.drop_session(session)

    def will_later(self, client_id: str, will: PublishToBroker, delay: int) -> None:
        def publish() -> None:
            task = asyncio.ensure_future(self.broker.publish_message(will.message, retain=will.retain))
            task.add_done_callback(_ignore_result)

        handle = asyncio.get_running_loop().call_later(delay, publish)
        self._timers.setdefault(client_id, []).append(handle)

    def cancel_timers(self, client_id: str) -> None:
        """The client is back: its session no longer expires and its delayed will is not sent."""
        for handle in self._timers.pop(client_id, ()):
            handle.cancel()
        self.offline.pop(client_id, None)


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("delayed will not published: %s", task.exception())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False
