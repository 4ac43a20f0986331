"""Shared plumbing for the MQTT gateway tests: a raw client, a paho client, waiting helpers."""

from __future__ import annotations

import asyncio
import queue
import shutil
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.properties import Properties as PahoProperties

from eventdeck.core import Broker
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode

TIMEOUT = 10.0
needs_mosquitto_clients = pytest.mark.skipif(
    shutil.which("mosquitto_pub") is None or shutil.which("mosquitto_sub") is None,
    reason="mosquitto_pub/mosquitto_sub (Debian's mosquitto-clients) are not installed",
)


async def until(condition: Callable[[], object], what: str) -> None:
    """Wait (generously) for ``condition``; the machine is shared, so never a tight deadline."""
    async with asyncio.timeout(TIMEOUT):
        while not condition():  # noqa: ASYNC110 - polls state owned by other processes and threads
            await asyncio.sleep(0.01)
    assert condition(), what


def subscribed(broker: Broker, pattern: str) -> Callable[[], bool]:
    return lambda: any(info.pattern == pattern for info in broker.subscriptions())


class RawClient:
    """A hand-driven MQTT client on a real socket, for what libraries will not send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, version: int) -> None:
        self.reader, self.writer, self.version = reader, writer, version
        self.parser = PacketReader(version=version)
        self.inbox: list[mqtt.Packet] = []
        self.connack = mqtt.ConnAck()

    @classmethod
    async def connect(cls, port: int, version: int = c.MQTT_311, **fields: Any) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer, version)
        client.send(mqtt.Connect(fields.pop("client_id", "raw"), version, **fields))
        connack = await client.next()
        assert isinstance(connack, mqtt.ConnAck)
        client.connack = connack
        return client

    def send(self, *packets: mqtt.Packet) -> None:
        self.writer.write(b"".join(encode(p, self.version) for p in packets))

    async def next(self) -> mqtt.Packet:
        async with asyncio.timeout(TIMEOUT):
            while not self.inbox:
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionResetError("server closed the connection")
                self.inbox.extend(self.parser.feed(data))
        return self.inbox.pop(0)

    async def closed_by_server(self) -> list[mqtt.Packet]:
        """Everything the server still sent, then EOF."""
        got = list(self.inbox)
        async with asyncio.timeout(TIMEOUT):
            while data := await self.reader.read(65536):
                got.extend(self.parser.feed(data))
        self.writer.close()
        return got

    def abort(self) -> None:
        self.writer.transport.abort()


class Paho:
    """A paho-mqtt client running its network loop in a thread; messages land in a queue."""

    def __init__(
        self,
        port: int,
        client_id: str = "",
        version: int = paho.MQTTv311,
        clean: bool = True,
        *,
        websocket: bool = False,
    ) -> None:
        kwargs: dict[str, Any] = {"client_id": client_id, "protocol": version}
        if version != paho.MQTTv5:
            kwargs["clean_session"] = clean
        if websocket:  # MQTT over WebSocket on the HTTP gateway's /mqtt (``port`` is the HTTP gateway's)
            kwargs["transport"] = "websockets"
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, **kwargs)
        if websocket:
            self.client.ws_set_options(path="/mqtt")
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.client.on_connect = lambda _c, _u, flags, rc, props: self.events.put(("connect", (flags, rc, props)))
        self.client.on_subscribe = lambda _c, _u, mid, codes, props: self.events.put(("subscribe", codes))
        self.port, self.version, self.clean = port, version, clean

    async def start(self, properties: PahoProperties | None = None) -> Any:
        kwargs: dict[str, Any] = {"properties": properties}
        if self.version == paho.MQTTv5:
            kwargs["clean_start"] = self.clean
        # In a thread: over a WebSocket, connect waits for the HTTP upgrade, which this loop serves.
        await asyncio.to_thread(self.client.connect, "127.0.0.1", self.port, keepalive=30, **kwargs)
        self.client.loop_start()
        return await self.event("connect")

    async def event(self, kind: str) -> Any:
        name, value = await asyncio.to_thread(self.events.get, timeout=TIMEOUT)
        assert name == kind
        return value

    async def message(self) -> paho.MQTTMessage:
        return await asyncio.to_thread(self.messages.get, timeout=TIMEOUT)

    async def subscribe(self, topic: str, qos: int = 0) -> Any:
        self.client.subscribe(topic, qos)
        return await self.event("subscribe")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
