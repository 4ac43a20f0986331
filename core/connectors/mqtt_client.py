"""A lean asyncio MQTT client connection for the MQTT connector, on the gateway's sans-io codec.

Why not aiomqtt/paho: paho reads one packet per event-loop turn, byte by byte, and
acknowledges through a write callback a turn later; on this project's 2-core test
machine that capped a QoS 1 monitor at about 3,000 messages a second, and mosquitto
dropped the rest. Here each ``data_received`` parses every packet in the chunk,
answers all QoS 1 PUBLISHes with one write, and hands the batch to the pump.
Reading pauses while too many batches wait, so a slow mirror pushes back on the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque

from eventdeck.core.connectors.errors import ConnectorError
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode, encode_properties, encode_publish
from eventdeck.core.mqtt_codec.records import (
    NO_PROPERTIES,
    Ack,
    ConnAck,
    Connect,
    Disconnect,
    PingReq,
    Properties,
    Publish,
    SubAck,
    Subscribe,
    SubscriptionRequest,
)

MAX_PACKET = 256 * 1024 * 1024
MAX_WAITING_BATCHES = 256
_V3_REFUSALS = {
    c.V3_UNACCEPTABLE_PROTOCOL: "unacceptable protocol version",
    c.V3_IDENTIFIER_REJECTED: "client identifier rejected",
    c.V3_SERVER_UNAVAILABLE: "server unavailable",
    c.V3_BAD_CREDENTIALS: "bad user name or password",
    c.V3_NOT_AUTHORIZED: "not authorized",
}
AUTH_REFUSALS = {c.V3_BAD_CREDENTIALS, c.V3_NOT_AUTHORIZED, c.BAD_USERNAME_OR_PASSWORD, c.NOT_AUTHORIZED}


class MqttRefusedError(ConnectorError):
    """The broker answered CONNECT, SUBSCRIBE or PUBLISH with a failure code."""

    def __init__(self, what: str, code: int, version: int) -> None:
        name = _V3_REFUSALS.get(code, f"code {code}") if version != c.MQTT_5 else c.reason_name(code)
        super().__init__(f"{what} refused: {name}")
        self.code = code


class MqttClientProtocol(asyncio.Protocol):
    """One client connection: ``open`` connects and logs in, ``next_batch`` yields received PUBLISHes."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.reader = PacketReader(MAX_PACKET, version)
        self.batches: deque[list[Publish]] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self._wakeup: asyncio.Future[None] | None = None
        self._waiters: dict[tuple[int, int], asyncio.Future[ConnAck | SubAck | Ack]] = {}
        self._next_id = 0
        self._paused = False

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        connect: Connect,
        *,
        tls: ssl.SSLContext | None = None,
    ) -> MqttClientProtocol:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            lambda: cls(connect.version), host, port, ssl=tls, server_hostname=host if tls else None
        )
        try:
            answer = await connection._exchange(encode(connect, connect.version), (c.CONNACK, 0))
            assert isinstance(answer, ConnAck)
            if answer.reason_code != c.SUCCESS:
                raise MqttRefusedError("login", answer.reason_code, connect.version)
        except BaseException:
            connection.close()
            raise
        return connection

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        publishes: list[Publish] = []
        acks: list[bytes] = []
        for packet in self.reader.feed(data):
            if type(packet) is Publish:
                publishes.append(packet)
                if packet.qos == 1:
                    acks.append(b"\x40\x02" + packet.packet_id.to_bytes(2, "big"))
            elif isinstance(packet, ConnAck):
                self._resolve((c.CONNACK, 0), packet)
            elif isinstance(packet, SubAck):
                self._resolve((c.SUBACK, packet.packet_id), packet)
            elif isinstance(packet, Ack):
                self._resolve((packet.kind, packet.packet_id), packet)
            elif isinstance(packet, Disconnect):
                self._lose(ConnectionError(f"the broker disconnected us: {c.reason_name(packet.reason_code)}"))
        transport = self.transport
        assert transport is not None
        if acks:
            transport.write(b"".join(acks))
        if publishes:
            self.batches.append(publishes)
            if len(self.batches) > MAX_WAITING_BATCHES and not self._paused:
                self._paused = True
                transport.pause_reading()
            self._wake()
        if self.reader.error is not None:
            self._lose(ConnectionError(f"the broker broke the MQTT protocol: {self.reader.error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._lose(exc or ConnectionResetError("the broker closed the connection"))

    # -- used by the connector -----------------------------------------------------------

    async def next_batch(self) -> list[Publish]:
        """The next PUBLISHes received, in order; raises the reason once the connection is lost and drained."""
        while not self.batches:
            if self.lost.done():
                raise self.lost.result() or ConnectionResetError("connection closed")
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup
        batch = self.batches.popleft()
        if self._paused and len(self.batches) < MAX_WAITING_BATCHES // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return batch

    async def subscribe(self, requests: tuple[SubscriptionRequest, ...]) -> None:
        packet_id = self._packet_id()
        answer = await self._exchange(encode(Subscribe(packet_id, requests), self.version), (c.SUBACK, packet_id))
        assert isinstance(answer, SubAck)
        for request, code in zip(requests, answer.reason_codes, strict=False):
            if code >= 0x80:
                raise MqttRefusedError(f"subscribing to {request.filter!r}", code, self.version)

    async def publish(
        self, topic: str, payload: bytes, qos: int, retain: bool, properties: Properties = NO_PROPERTIES
    ) -> None:
        """Publish; with QoS 1 wait for the broker's PUBACK."""
        props = encode_properties(properties) if self.version == c.MQTT_5 else b""
        if not qos:
            self._write(encode_publish(topic, payload, 0, retain, properties=props))
            return
        packet_id = self._packet_id()
        data = encode_publish(topic, payload, 1, retain, packet_id=packet_id, properties=props)
        answer = await self._exchange(data, (c.PUBACK, packet_id))
        assert isinstance(answer, Ack)
        if answer.reason_code >= 0x80:
            raise MqttRefusedError(f"publishing to {topic!r}", answer.reason_code, self.version)

    async def keep_alive(self, interval: float) -> None:
        """Send PINGREQ every ``interval`` seconds so the broker keeps the connection."""
        ping = encode(PingReq(), self.version)
        while not self.lost.done():
            await asyncio.sleep(interval)
            self._write(ping)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):  # polite, but the socket may already be gone
                self.transport.write(encode(Disconnect(), self.version))
            self.transport.close()
        self._lose(ConnectionResetError("closed"))

    # -- internals ------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self.lost.done() or self.transport is None:
            raise ConnectionError("not connected")
        self.transport.write(data)

    async def _exchange(self, data: bytes, key: tuple[int, int]) -> ConnAck | SubAck | Ack:
        waiter: asyncio.Future[ConnAck | SubAck | Ack] = asyncio.get_running_loop().create_future()
        self._waiters[key] = waiter
        try:
            self._write(data)
            return await waiter
        finally:
            self._waiters.pop(key, None)

    def _packet_id(self) -> int:
        for _ in range(65_535):
            self._next_id = self._next_id % 65_535 + 1
            if (c.PUBACK, self._next_id) not in self._waiters and (c.SUBACK, self._next_id) not in self._waiters:
                return self._next_id
        raise ConnectorError("65,535 MQTT requests are waiting for answers; not sending more")

    def _resolve(self, key: tuple[int, int], packet: ConnAck | SubAck | Ack) -> None:
        waiter = self._waiters.get(key)
        if waiter is not None and not waiter.done():
            waiter.set_result(packet)

    def _wake(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def _lose(self, reason: BaseException) -> None:
        if not self.lost.done():
            self.lost.set_result(reason)
        for waiter in self._waiters.values():
            if not waiter.done():
                failure = ConnectionError(f"connection lost: {reason}")
                failure.__cause__ = reason  # so the connector can name the real reason
                waiter.set_exception(failure)
        self._wake()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
