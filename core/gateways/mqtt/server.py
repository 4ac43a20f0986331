"""The asyncio shell around ``MqttServerProtocol``: the listener, the connections and their sessions.

``MqttGateway`` accepts TCP connections itself; the HTTP gateway hands it WebSocket ones
(``serve``, on ``/mqtt``). Each connection runs in ``connection.py``; sessions that outlive
their connections and delayed wills live in ``sessions.py``, shared subscriptions in ``shared.py``.
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
from eventdeck.core.broker.subscription import State, Subscription
from eventdeck.core.gateways.acl import AccessRules
from eventdeck.core.gateways.admission import Admission
from eventdeck.core.gateways.errors import GatewayError
from eventdeck.core.gateways.mqtt.actions import PublishToBroker
from eventdeck.core.gateways.mqtt.backpressure import Backpressure
from eventdeck.core.gateways.mqtt.connection import Connection, MqttClientInfo
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.link import Link, TcpLink
from eventdeck.core.gateways.mqtt.session import SessionState
from eventdeck.core.gateways.mqtt.sessions import SessionStore
from eventdeck.core.gateways.mqtt.shared import SharedGroups
from eventdeck.core.gateways.policy import GatewayPolicy
from eventdeck.core.gateways.service import Service
from eventdeck.core.mqtt_codec import codes as c

__all__ = ["ClientEvent", "MqttClientInfo", "MqttGateway"]

log = logging.getLogger("eventdeck.mqtt")


class ClientEvent(NamedTuple):
    """A client connected, disconnected or was refused (``detail`` says why)."""

    time: float
    kind: str  # "connected" | "disconnected" | "refused"
    client_id: str
    address: str
    protocol_version: str
    detail: str


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
        self.store = SessionStore(self.limits, self._release, self.publish_will, broker.store)
        self.groups = SharedGroups(broker, self.limits, drain=self.drain, track=self.track)
        self.connections: set[Connection] = set()
        self.admitted: set[Connection] = set()  # past CONNECT: these count against max_connections
        # Sockets still to send their CONNECT: a budget of their own, the oldest making room for the newest.
        self.waiting: Admission[Connection] = Admission(
            budget=self.limits.max_waiting, timeout=self.limits.connect_timeout, close=Connection.abort
        )
        self.by_client_id: dict[str, Connection] = {}
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._consumers: set[asyncio.Task[None]] = set()
        # Clients whose socket is full: publishers pause (briefly) so their queues do not overflow.
        self.backpressure = Backpressure(self.limits.publisher_hold, self.limits.publisher_hold_budget)

    @property
    def port(self) -> int:
        """The bound port (the real one when started with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._requested_port

    @property
    def running(self) -> bool:
        return self._server is not None

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
        self.broker.on_reset.append(self._broker_reset)
        durable = self.broker.store
        if durable is not None:  # the persistent sessions of the last run on this data directory (taken once)
            self.store.restore(durable.loaded, self._reattach)
            durable.loaded.sessions.clear()
            durable.loaded.session_items.clear()

    async def stop(self) -> None:
        """Stop listening and close every connection (MQTT 5 clients get DISCONNECT 0x8B server shutting down)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self.broker.on_reset.remove(self._broker_reset)
        self.waiting.close_all()
        for client in list(self.connections):
            await client.shutdown(c.SERVER_SHUTTING_DOWN)
        self.groups.close()
        for task in [*self._handlers, *self._consumers]:
            task.cancel()
        if self._handlers or self._consumers:
            await asyncio.gather(*self._handlers, *self._consumers, return_exceptions=True)
        await server.wait_closed()
        self.store.close()

    def clients(self) -> list[MqttClientInfo]:
        """Connected clients (those past CONNECT), oldest first."""
        clients = sorted(self.by_client_id.values(), key=lambda client: client.connected_since)
        return [client.info() for client in clients]

    def shared_groups(self) -> dict[str, list[str]]:
        """Shared subscriptions: the group's broker subscription name (``$share/{group}/{filter}``, as
        ``Broker.subscriptions()`` lists it) -> its members' client ids, connected or away, in joining order."""
        return self.groups.members()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.serve(TcpLink(reader, writer))
        finally:
            writer.close()

    async def serve(self, link: Link) -> None:
        """Run one client connection over ``link`` until it ends (the HTTP gateway's ``/mqtt`` calls this)."""
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        client = Connection(self, link)
        self.connections.add(client)
        self.waiting.waiting(client)
        try:
            await client.run()
        except asyncio.CancelledError:
            pass
        except Exception:  # a bug must end this connection only, never the gateway
            log.exception("MQTT connection from %s failed", client.address)
            link.abort()
        finally:
            self._handlers.discard(task)
            client.stop_consumers()

    # -- used by connections and groups -------------------------------------------

    async def drain(self, client: Connection) -> None:
        """Wait for ``client``'s socket to take its backlog; meanwhile publishers hold back (see backpressure.py)."""
        self.backpressure.full(client, asyncio.get_running_loop().time())
        try:
            await client.link.drain()
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

    def emit(self, kind: str, client: Connection, detail: str) -> None:
        event = ClientEvent(time.time(), kind, client.protocol.client_id, client.address, client.version, detail)
        self.events.append(event)  # logged by whoever listens (Gateways logs one line per event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("MQTT gateway event callback failed")

    def publish_will(self, will: PublishToBroker) -> None:
        """A delayed will is due (its delay passed, its session ended, or the gateway stops)."""
        task = asyncio.ensure_future(self.broker.publish_message(will.message, retain=will.retain))
        task.add_done_callback(_ignore_result)

    def _reattach(self, session: SessionState) -> None:
        """A session back from the store finds its durable broker subscriptions (brought back with their queues)."""
        for sub in session.subscriptions.values():
            if sub.share is None:
                with contextlib.suppress(KeyError):
                    sub.subscription = self.broker.subscription(sub.name)

    def _broker_reset(self) -> None:
        """The broker forgot what lived in memory (File > Broker data… > Clear, a restart): an away session whose
        subscriptions came back from the store (a restart on it) takes them up; one whose subscriptions are gone
        ends, so its client hears "no session" and subscribes again rather than "session present" with nothing."""
        for session in list(self.store.offline.values()):
            self._reattach(session)
            if any(_forgotten(sub.subscription) for sub in session.subscriptions.values()):
                self.store.drop(session)

    def _release(self, session: SessionState) -> None:
        """A session ended: its broker subscriptions go, and it leaves its shared groups."""
        for sub in session.subscriptions.values():
            if sub.share is not None:
                self.groups.leave(sub.share, session.client_id)
            elif sub.subscription is not None:
                sub.subscription.unsubscribe()


def _forgotten(subscription: Subscription | None) -> bool:
    return subscription is not None and subscription.state is State.CLOSED


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("delayed will not published: %s", task.exception())


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False
