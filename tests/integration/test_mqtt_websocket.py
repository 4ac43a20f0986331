"""MQTT over WebSocket on the HTTP gateway's /mqtt: paho-mqtt's websocket transport and raw frames."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import paho.mqtt.client as paho
import pytest

from eventdeck.core import Broker
from eventdeck.core.gateways.http.server import HttpGateway
from eventdeck.core.gateways.mqtt import MqttGateway
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode
from tests.integration.mqtt_support import TIMEOUT, Paho, RawClient, subscribed, until


@pytest.fixture
async def gateways(broker: Broker) -> AsyncIterator[tuple[MqttGateway, HttpGateway]]:
    mqtt_gateway = MqttGateway(broker, port=0)
    async with mqtt_gateway, HttpGateway(broker, port=0, mqtt=lambda: mqtt_gateway) as http_gateway:
        yield mqtt_gateway, http_gateway


@pytest.mark.parametrize("version", [paho.MQTTv311, paho.MQTTv5])
async def test_paho_over_websocket_meets_a_tcp_client(
    broker: Broker, gateways: tuple[MqttGateway, HttpGateway], version: int
) -> None:
    mqtt_gateway, http_gateway = gateways
    browser = Paho(http_gateway.port, "browser", version, websocket=True)
    await browser.start()
    await browser.subscribe("room/+/temp", 1)
    (info,) = mqtt_gateway.clients()
    assert (info.client_id, info.address.endswith("(WebSocket)")) == ("browser", True)
    device = await RawClient.connect(mqtt_gateway.port, client_id="device")
    device.send(mqtt.Publish("room/1/temp", b"21.5", 1, packet_id=1))
    assert await device.next() == mqtt.Ack(c.PUBACK, 1)
    got = await browser.message()
    assert (got.topic, got.payload, got.qos) == ("room/1/temp", b"21.5", 1)
    device.send(mqtt.Subscribe(2, (mqtt.SubscriptionRequest("room/cmd"),)))
    await device.next()
    browser.client.publish("room/cmd", b"heat", 1)
    publish = await device.next()
    assert isinstance(publish, mqtt.Publish)
    assert (publish.payload, publish.topic) == (b"heat", "room/cmd")
    browser.stop()
    device.writer.close()
    await until(lambda: not subscribed(broker, "room/+/temp")(), "the websocket client's subscription is gone")


async def test_the_server_chooses_the_mqtt_subprotocol_and_says_why_it_stops(
    gateways: tuple[MqttGateway, HttpGateway],
) -> None:
    mqtt_gateway, http_gateway = gateways
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{http_gateway.port}/mqtt", protocols=("mqtt",)) as ws,
    ):
        assert ws.protocol == "mqtt"
        connect = encode(mqtt.Connect("raw-ws", c.MQTT_5), c.MQTT_5)
        await ws.send_bytes(connect[:5])  # a packet may span frames
        await ws.send_bytes(connect[5:])
        reader = PacketReader(version=c.MQTT_5)
        frame = await ws.receive(timeout=TIMEOUT)
        assert [type(p) for p in reader.feed(frame.data)] == [mqtt.ConnAck]
        stopping = asyncio.create_task(http_gateway.stop())
        frame = await ws.receive(timeout=TIMEOUT)
        (disconnect,) = reader.feed(frame.data)
        assert disconnect.reason_code == c.SERVER_SHUTTING_DOWN  # type: ignore[union-attr]
        assert (await ws.receive(timeout=TIMEOUT)).type is aiohttp.WSMsgType.CLOSE
        await stopping
    assert mqtt_gateway.clients() == []


async def test_text_frames_end_the_connection(gateways: tuple[MqttGateway, HttpGateway]) -> None:
    mqtt_gateway, http_gateway = gateways
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://127.0.0.1:{http_gateway.port}/mqtt", protocols=("mqtt",)) as ws,
    ):
        await ws.send_bytes(encode(mqtt.Connect("texter")))
        await ws.receive(timeout=TIMEOUT)  # CONNACK
        await ws.send_str("PUBLISH please")
        frame = await ws.receive(timeout=TIMEOUT)
        assert (frame.type, frame.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.UNSUPPORTED_DATA)

    def told() -> list[str]:
        return [e.detail for e in mqtt_gateway.events if e.kind == "disconnected" and e.client_id == "texter"]

    await until(told, "the connection's end is told")
    assert "text frame" in told()[0]


async def test_refusals_say_what_to_do(broker: Broker, gateways: tuple[MqttGateway, HttpGateway]) -> None:
    _, http_gateway = gateways
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"http://127.0.0.1:{http_gateway.port}/mqtt",
            headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                     "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
        ) as response:  # fmt: skip
            assert response.status == 400
            assert "subprotocol 'mqtt'" in (await response.json())["error"]
        async with HttpGateway(broker, port=0) as without_mqtt:
            async with session.get(f"http://127.0.0.1:{without_mqtt.port}/mqtt") as response:
                assert response.status == 503
                assert "MQTT gateway is off" in (await response.json())["error"]
            async with session.get(f"http://127.0.0.1:{without_mqtt.port}/") as response:
                assert "GET /mqtt" in (await response.json())["endpoints"]


async def test_a_websocket_client_that_dies_leaves_its_will(
    broker: Broker, gateways: tuple[MqttGateway, HttpGateway]
) -> None:
    _, http_gateway = gateways
    watcher = broker.subscribe("status/#")
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(f"http://127.0.0.1:{http_gateway.port}/mqtt", protocols=("mqtt",))
    await ws.send_bytes(encode(mqtt.Connect("tab", will=mqtt.Will("status/tab", b"closed"))))
    await ws.receive(timeout=TIMEOUT)  # CONNACK
    await session.close()  # the tab is gone without DISCONNECT
    delivery = await watcher.get(timeout=TIMEOUT)
    assert (delivery.message.payload, delivery.message.publisher) == (b"closed", "tab")
