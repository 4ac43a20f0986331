"""AMQP 0-9-1 / RabbitMQ connector (aio-pika).

Monitoring binds a temporary exclusive queue with routing key ``#`` to the topic
exchanges the user picks (``exchanges=``, default ``amq.topic``); it sees what is
routed through those exchanges, not what goes straight to a queue. Routing keys
use ``.`` between words; the mirror shows them with ``/`` (``a.b`` <-> ``a/b``;
binding wildcards ``*``/``#`` <-> ``+``/``#``). Publishing goes to the first of those
exchanges (``publish_exchange=`` to choose another). Commands carry ``reply_to``
(an exclusive callback queue of this connection) and ``correlation_id``.
Queues and their consumers are listed from the management HTTP API when it answers;
otherwise subscribers are "not exposed" and the Subscribers panel says why. It is
``management=`` (default ``https://host:15671`` with the connection's TLS options for
``amqps://``, ``http://host:15672`` for ``amqp://``), asked with the connection's credentials
(or a ``user:password@`` in ``management=``). Those never go over plain HTTP to a host other
than loopback unless ``management_insecure=yes`` says so (see ``side_api``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Hashable
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import quote

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractQueue

from eventdeck.core.broker.message import Kind, Message
from eventdeck.core.broker.subscription import SubscriptionInfo
from eventdeck.core.connectors.address import Endpoint, parse_bool, parse_list
from eventdeck.core.connectors.backend import Outgoing
from eventdeck.core.connectors.base import ConnectorBackend, remote_subscription
from eventdeck.core.connectors.errors import ConnectorError, causes
from eventdeck.core.connectors.side_api import SideApi


def key_to_channel(routing_key: str) -> str:
    return routing_key.replace(".", "/")


def channel_to_key(channel: str) -> str:
    return channel.replace("/", ".")


def binding_to_pattern(key: str) -> str:
    """A binding key (``a.*.#``) as a mirror pattern (``a/+/#``)."""
    return "/".join("+" if word == "*" else word for word in key.split("."))


class AmqpBackend(ConnectorBackend):
    kind = "amqp"
    query_options = {
        "exchanges": parse_list,
        "publish_exchange": str,
        "management": str,
        "management_insecure": parse_bool,
    }

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        exchanges: list[str] | None = None,
        publish_exchange: str | None = None,
        management: str | None = None,
        management_insecure: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(endpoint, **options)
        self.exchanges = list(exchanges or ["amq.topic"])
        if not self.exchanges:
            raise ConnectorError("name at least one exchange to monitor (e.g. exchanges=amq.topic)")
        self.publish_exchange = publish_exchange or self.exchanges[0]
        host = endpoint.address.rsplit(":", 1)[0]
        default = f"https://{host}:15671" if endpoint.tls.enabled else f"http://{host}:15672"
        # Subscribers are listed once the management API answers (the side API, see _connect).
        self.capabilities = dataclasses.replace(
            self.capabilities, lists_channels=False, lists_subscribers=False, retained=False
        )
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._monitor: AbstractQueue | None = None
        self._replies: AbstractQueue | None = None
        self.side_api = self._management = SideApi(
            management or default,
            name="RabbitMQ management API",
            option="management",
            username=endpoint.username or "guest",
            password=endpoint.password or "guest",
            tls=endpoint.tls,
            cleartext=management_insecure,
        )
        self.management_url = self._management.url
        self._lost: asyncio.Future[BaseException | None] | None = None

    async def _connect(self, stack: AsyncExitStack) -> None:
        endpoint = self.endpoint
        loop = asyncio.get_running_loop()
        lost: asyncio.Future[BaseException | None] = loop.create_future()
        connection = await aio_pika.connect(
            host=endpoint.host,
            port=endpoint.port,
            login=endpoint.username or "guest",
            password=endpoint.password or "guest",
            virtualhost=endpoint.path or "/",
            ssl=endpoint.tls.enabled,
            ssl_context=endpoint.tls.context() if endpoint.tls.enabled else None,
            timeout=self.connect_timeout,
            client_properties={"connection_name": "eventdeck"},
        )
        stack.push_async_callback(connection.close)

        def on_close(_: object, reason: BaseException | None = None) -> None:
            if not lost.done():
                lost.set_result(reason)

        connection.close_callbacks.add(on_close)
        channel = await connection.channel()
        for name in self.exchanges:
            try:
                await channel.get_exchange(name, ensure=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                raise ConnectorError(f"RabbitMQ has no exchange {name!r} in virtual host {endpoint.path!r}") from None
        monitor = await channel.declare_queue(exclusive=True, auto_delete=True, arguments={"x-max-length": 1_000_000})
        for name in self.exchanges:
            await monitor.bind(name, routing_key="#")
        replies = await channel.declare_queue(exclusive=True, auto_delete=True)
        await replies.consume(self._on_reply, no_ack=True)
        self._channel, self._monitor, self._replies, self._lost = channel, monitor, replies, lost
        self._exchange = await channel.get_exchange(self.publish_exchange, ensure=False)
        await self._ask_side_api("/api/overview")

    async def _pump(self) -> None:
        monitor, lost = self._monitor, self._lost
        assert monitor is not None
        assert lost is not None
        queue: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        await monitor.consume(queue.put, no_ack=True)
        getter: asyncio.Task[AbstractIncomingMessage] | None = None
        try:
            while True:
                while not queue.empty():
                    await self._mirror_incoming(queue.get_nowait())
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait((getter, lost), return_when=asyncio.FIRST_COMPLETED)
                if lost.done():
                    reason = lost.result()
                    if reason is not None:
                        raise reason
                    return
                await self._mirror_incoming(getter.result())
        finally:
            if getter is not None:
                getter.cancel()

    async def _mirror_incoming(self, incoming: AbstractIncomingMessage, kind: Kind | None = None) -> Message | None:
        headers = {key: _text(value) for key, value in incoming.headers.items()} if incoming.headers else None
        if kind is None:
            kind = Kind.COMMAND if incoming.reply_to else Kind.EVENT
        return await self.mirror(
            key_to_channel(incoming.routing_key or ""),
            incoming.body,
            kind=kind,
            content_type=incoming.content_type,
            headers=headers,
            publisher=incoming.app_id or incoming.user_id or "",
            correlation_id=incoming.correlation_id,
            reply_to=incoming.reply_to,
        )

    async def _on_reply(self, incoming: AbstractIncomingMessage) -> None:
        self._answer(incoming.correlation_id or "", await self._mirror_incoming(incoming, Kind.REPLY))

    async def _refresh(self) -> None:
        if self.capabilities.lists_subscribers:
            self._subscriptions = await self._managed_queues()

    async def _managed_queues(self) -> list[SubscriptionInfo]:
        vhost = quote(self.endpoint.path or "/", safe="")
        queues: list[dict[str, Any]] = await self._management.get_json(f"/api/queues/{vhost}")
        bindings: list[dict[str, Any]] = await self._management.get_json(f"/api/bindings/{vhost}")
        keys: dict[str, list[str]] = {}
        for binding in bindings:
            if binding.get("destination_type") == "queue" and binding.get("source"):
                keys.setdefault(binding["destination"], []).append(str(binding.get("routing_key", "")))
        listed = []
        for queue in queues:
            name = str(queue.get("name", ""))
            stats = queue.get("message_stats") or {}
            pattern = ", ".join(binding_to_pattern(key) for key in keys.get(name, [])) or f"(queue {name})"
            listed.append(
                remote_subscription(
                    f"{name} ({queue.get('consumers', 0)} consumers)",
                    pattern,
                    durable=bool(queue.get("durable")),
                    active=bool(queue.get("consumers")),
                    pending=int(queue.get("messages_ready", 0)),
                    unacked=int(queue.get("messages_unacknowledged", 0)),
                    delivered=int(stats.get("deliver_get", 0)),
                    acked=int(stats.get("ack", 0)),
                    redelivered=int(stats.get("redeliver", 0)),
                )
            )
        return listed

    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        exchange = self._exchange
        assert exchange is not None
        message = aio_pika.Message(
            payload,
            headers=dict(options.headers) if options.headers else None,
            content_type=options.content_type,
            correlation_id=options.correlation_id,
            reply_to=options.reply_to,
            app_id="eventdeck",
        )
        try:
            await exchange.publish(message, routing_key=channel_to_key(channel), mandatory=False)
        except aiormq.exceptions.AMQPError as exc:
            raise ConnectorError(f"could not publish to {channel!r} on {self.name}: {self.describe(exc)}") from exc

    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        """``reply_to`` our exclusive callback queue, and a ``correlation_id`` the reply carries back."""
        replies = self._replies
        assert replies is not None
        correlation = uuid.uuid4().hex
        return correlation, dataclasses.replace(options, correlation_id=correlation, reply_to=replies.name)

    def _describe(self, exc: BaseException) -> str | None:
        for cause in causes(exc):
            if isinstance(cause, aiormq.exceptions.ProbableAuthenticationError) or "ACCESS_REFUSED" in str(cause):
                who = self.endpoint.username or "guest"
                return f"RabbitMQ refused {who}: {_first_arg(cause)}"
            if isinstance(cause, aiormq.exceptions.ConnectionNotAllowed) or "NOT_ALLOWED" in str(cause):
                return f"RabbitMQ refused access to virtual host {self.endpoint.path!r}: {_first_arg(cause)}"
            if isinstance(cause, ConnectorError):
                return str(cause)
        return None


def _first_arg(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)
