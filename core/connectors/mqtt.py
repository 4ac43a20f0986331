"""MQTT 3.1.1/5 connector: monitors ``#`` (and optionally ``$SYS/#``), publishes with retain.

Commands use MQTT 5 request/response: the request carries a *response topic*
(``eventdeck/reply/<client id>``) and *correlation data*; a responder publishes its
reply there with the same correlation data. User properties map to headers.
With ``protocol=3`` (MQTT 3.1.1) there are no headers and no request/reply.
MQTT brokers do not list subscribers or topics, so channels come from traffic
(and the retained messages the broker sends on subscribe). The wire work is in
``mqtt_client`` (see there why it is not aiomqtt).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Hashable
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any

from eventdeck.core.broker.errors import InvalidChannel
from eventdeck.core.broker.message import Kind
from eventdeck.core.connectors.address import Endpoint, parse_bool
from eventdeck.core.connectors.backend import Outgoing
from eventdeck.core.connectors.base import ConnectorBackend
from eventdeck.core.connectors.errors import ConnectorError, causes
from eventdeck.core.connectors.mqtt_client import AUTH_REFUSALS, MqttClientProtocol, MqttRefusedError
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec.records import NO_PROPERTIES, Connect, Properties, Publish, SubscriptionRequest


class MqttBackend(ConnectorBackend):
    kind = "mqtt"
    no_commands = "commands need MQTT 5 (response topic + correlation data); this is MQTT 3.1.1"
    query_options = {"sys": parse_bool, "protocol": int, "qos": int}

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        sys: bool = False,
        protocol: int = 5,
        qos: int = 1,
        keepalive: int = 30,
        **options: Any,
    ) -> None:
        super().__init__(endpoint, **options)
        if protocol not in (3, 4, 5):
            raise ConnectorError(f"MQTT protocol must be 3 (3.1.1) or 5, got {protocol}")
        if qos not in (0, 1):
            raise ConnectorError(f"MQTT QoS must be 0 or 1, got {qos}")
        self.sys = sys
        self.version = c.MQTT_5 if protocol == 5 else c.MQTT_311
        self.qos = qos
        self.keepalive = keepalive
        self.client_id = f"eventdeck-{uuid.uuid4().hex[:12]}"
        self.reply_topic = f"eventdeck/reply/{self.client_id}"
        v5 = self.version == c.MQTT_5
        self.capabilities = replace(
            self.capabilities, lists_channels=False, lists_subscribers=False, request_reply=v5, headers=v5
        )
        self._connection: MqttClientProtocol | None = None

    async def _connect(self, stack: AsyncExitStack) -> None:
        endpoint = self.endpoint
        login = Connect(
            self.client_id,
            self.version,
            clean_start=True,
            keep_alive=self.keepalive,
            username=endpoint.username,
            password=endpoint.password.encode() if endpoint.password is not None else None,
        )
        tls = endpoint.tls.context() if endpoint.tls.enabled else None
        connection = await MqttClientProtocol.open(endpoint.host, endpoint.port, login, tls=tls)
        stack.callback(connection.close)
        pinger = asyncio.create_task(connection.keep_alive(self.keepalive / 2), name=f"eventdeck ping {self.name}")
        stack.callback(pinger.cancel)
        # retain_as_published: live retained publishes keep their flag, so the mirror keeps them too.
        requests = [SubscriptionRequest("#", self.qos, retain_as_published=self.version == c.MQTT_5)]
        if self.sys:
            requests.append(SubscriptionRequest("$SYS/#", 0))
        await connection.subscribe(tuple(requests))
        self._connection = connection

    async def _pump(self) -> None:
        connection = self._connection
        assert connection is not None
        mirror = self.mirror
        while True:
            for publish in await connection.next_batch():
                if publish.properties is NO_PROPERTIES:
                    await mirror(publish.topic, publish.payload, retain=publish.retain)
                else:
                    await self._mirror_v5(publish)

    async def _mirror_v5(self, publish: Publish) -> None:
        """Map MQTT 5 properties onto message fields; resolve our own requests' replies."""
        props = publish.properties
        correlation = props.correlation_data
        kind = Kind.COMMAND if props.response_topic else Kind.EVENT
        if correlation is not None and not props.response_topic:
            kind = Kind.REPLY
        mirrored = await self.mirror(
            publish.topic,
            publish.payload,
            kind=kind,
            content_type=props.content_type,
            headers=dict(props.user_properties) if props.user_properties else None,
            correlation_id=correlation.decode(errors="replace") if correlation is not None else None,
            reply_to=props.response_topic,
            retain=publish.retain,
        )
        if kind is Kind.REPLY and publish.topic == self.reply_topic:
            self._answer(correlation, mirrored)

    async def _refresh(self) -> None:
        """MQTT brokers report neither topics nor subscribers: channels come from traffic."""

    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        connection = self._connection
        assert connection is not None
        if "+" in channel or "#" in channel or not channel:
            raise InvalidChannel(channel, "MQTT topics to publish to cannot be empty or hold '+' or '#'")
        correlation = options.correlation_id
        properties = Properties(
            content_type=options.content_type,
            user_properties=tuple(options.headers.items()) if options.headers else (),
            response_topic=options.reply_to,
            correlation_data=correlation.encode() if correlation is not None else None,
        )
        try:
            await connection.publish(channel, payload, self.qos, options.retain, properties)
        except (ConnectionError, MqttRefusedError) as exc:
            raise ConnectorError(f"could not publish to {channel!r} on {self.name}: {self.describe(exc)}") from exc

    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        """MQTT 5 request/response: our response topic, and correlation data the reply carries back."""
        correlation = uuid.uuid4().hex
        return correlation.encode(), replace(options, correlation_id=correlation, reply_to=self.reply_topic)

    def _describe(self, exc: BaseException) -> str | None:
        for cause in causes(exc):
            if isinstance(cause, MqttRefusedError):
                if cause.code in AUTH_REFUSALS:
                    who = self.endpoint.username or "an anonymous login"
                    return f"MQTT broker {self.endpoint.address} refused {who}: {cause}"
                return f"MQTT broker {self.endpoint.address}: {cause}"
        return None
