"""MQTT 3.1.1/5 connector (aiomqtt): monitors ``#`` (and optionally ``$SYS/#``), publishes with retain.

Commands use MQTT 5 request/response: the request carries a *response topic*
(``eventdeck/reply/<client id>``) and *correlation data*; a responder publishes its
reply there with the same correlation data. User properties map to headers.
With ``protocol=3`` (MQTT 3.1.1) there are no headers and no request/reply.
MQTT brokers do not list subscribers or topics, so channels come from traffic
(and the retained messages the broker sends on subscribe).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from eventdeck.core.backend import Capabilities
from eventdeck.core.errors import InvalidChannel
from eventdeck.core.message import JSON, Kind, Message, PayloadLike, to_payload

from .base import ConnectorBackend
from .endpoint import Endpoint, parse_bool
from .errors import ConnectorError, causes

# CONNACK codes that mean "these credentials are not accepted" (3.1.1: 4, 5; MQTT 5: 134, 135).
_AUTH_CODES = {4, 5, 134, 135}


class MqttBackend(ConnectorBackend):
    kind = "mqtt"
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
        if qos not in (0, 1, 2):
            raise ConnectorError(f"MQTT QoS must be 0, 1 or 2, got {qos}")
        self.sys = sys
        self.protocol = aiomqtt.ProtocolVersion.V5 if protocol == 5 else aiomqtt.ProtocolVersion.V311
        self.qos = qos
        self.keepalive = keepalive
        self.client_id = f"eventdeck-{uuid.uuid4().hex[:12]}"
        self.reply_topic = f"eventdeck/reply/{self.client_id}"
        v5 = self.protocol is aiomqtt.ProtocolVersion.V5
        self.capabilities = Capabilities(
            lists_channels=False,
            lists_subscribers=False,
            request_reply=v5,
            retained=True,
            headers=v5,
            virtual_subscribers=False,
        )
        self._client: aiomqtt.Client | None = None
        self._pending: dict[bytes, asyncio.Future[Message]] = {}

    async def _connect(self, stack: AsyncExitStack) -> None:
        endpoint = self.endpoint
        client = aiomqtt.Client(
            endpoint.host,
            endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            identifier=self.client_id,
            protocol=self.protocol,
            keepalive=self.keepalive,
            timeout=self.connect_timeout,
            tls_context=endpoint.tls.context() if endpoint.tls.enabled else None,
        )
        await stack.enter_async_context(client)
        if self.protocol is aiomqtt.ProtocolVersion.V5:
            # retainAsPublished: live retained publishes keep their flag, so the mirror keeps them too.
            await client.subscribe("#", options=SubscribeOptions(qos=self.qos, retainAsPublished=True))
            if self.sys:
                await client.subscribe("$SYS/#", options=SubscribeOptions(qos=0))
        else:
            await client.subscribe("#", qos=self.qos)
            if self.sys:
                await client.subscribe("$SYS/#", qos=0)
        self._client = client

    async def _pump(self) -> None:
        client = self._client
        assert client is not None
        mirror = self.mirror
        async for message in client.messages:
            props = message.properties
            if props is None:
                await mirror(message.topic.value, message.payload, retain=message.retain)
            else:
                await self._mirror_v5(message.topic.value, message.payload, props, message.retain)

    async def _mirror_v5(self, topic: str, payload: bytes, props: Properties, retain: bool) -> None:
        """Map MQTT 5 properties onto message fields; resolve our own requests' replies."""
        response_topic: str | None = getattr(props, "ResponseTopic", None)
        correlation: bytes | None = getattr(props, "CorrelationData", None)
        user: list[tuple[str, str]] = getattr(props, "UserProperty", None) or []
        kind = Kind.COMMAND if response_topic else Kind.EVENT
        future = None
        if correlation is not None and response_topic is None:
            kind = Kind.REPLY
            future = self._pending.pop(correlation, None) if topic == self.reply_topic else None
        mirrored = await self.mirror(
            topic,
            payload,
            kind=kind,
            content_type=getattr(props, "ContentType", None),
            headers=dict(user) if user else None,
            correlation_id=correlation.decode(errors="replace") if correlation is not None else None,
            reply_to=response_topic,
            retain=retain,
        )
        if future is not None and mirrored is not None and not future.done():
            future.set_result(mirrored)

    async def _refresh(self) -> None:
        """MQTT brokers report neither topics nor subscribers: channels come from traffic."""

    def _properties(
        self, headers: Mapping[str, str] | None, content_type: str, correlation: bytes | None = None
    ) -> Properties | None:
        if self.protocol is not aiomqtt.ProtocolVersion.V5:
            return None
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.ContentType = content_type
        if headers:
            props.UserProperty = list(headers.items())
        if correlation is not None:
            props.ResponseTopic = self.reply_topic
            props.CorrelationData = correlation
        return props

    async def _send(
        self,
        channel: str,
        payload: bytes,
        *,
        headers: Mapping[str, str] | None,
        content_type: str,
        retain: bool,
        correlation: bytes | None = None,
    ) -> None:
        client = self._client
        assert client is not None
        if "+" in channel or "#" in channel or not channel:
            raise InvalidChannel(channel, "MQTT topics to publish to cannot be empty or hold '+' or '#'")
        try:
            await client.publish(
                channel,
                payload,
                qos=self.qos,
                retain=retain,
                properties=self._properties(headers, content_type, correlation),
            )
        except aiomqtt.MqttError as exc:
            raise ConnectorError(f"could not publish to {channel!r} on {self.name}: {self.describe(exc)}") from exc

    async def request(
        self,
        channel: str,
        payload: PayloadLike = b"",
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-request deadline is the API
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        publisher: str = "",
    ) -> Message:
        """Send a command with an MQTT 5 response topic and correlation data; wait for the reply."""
        self._require_connection()
        if not self.capabilities.request_reply:
            raise ConnectorError("commands need MQTT 5 (response topic + correlation data); this is MQTT 3.1.1")
        self._check_features(headers)
        correlation = uuid.uuid4().hex.encode()
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[correlation] = future
        try:
            await self._send(
                channel,
                to_payload(payload),
                headers=headers,
                content_type=content_type,
                retain=False,
                correlation=correlation,
            )
            return await self._await_reply(future, channel, timeout)
        finally:
            self._pending.pop(correlation, None)

    def _describe(self, exc: BaseException) -> str | None:
        for cause in causes(exc):
            if isinstance(cause, aiomqtt.MqttCodeError):
                code = cause.rc.value if isinstance(cause.rc, ReasonCode) else cause.rc
                if isinstance(cause, aiomqtt.exceptions.MqttConnectError) and code in _AUTH_CODES:
                    who = self.endpoint.username or "an anonymous login"
                    return f"MQTT broker {self.endpoint.address} refused {who}: {cause}"
        return None
