"""MQTT 5 behaviours over real sockets, with paho-mqtt, mosquitto_sub and raw bytes: subscription
identifiers, will delay, payload format, flow control, server keep alive, topic aliases, packet sizes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from eventdeck.core import Broker
from eventdeck.core.broker.subscription import Subscription
from eventdeck.core.gateways.mqtt import MqttGateway, MqttLimits
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from tests.integration.mqtt_support import TIMEOUT, Paho, RawClient, until


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[MqttGateway]:
    async with MqttGateway(broker, port=0) as gateway:
        yield gateway


def _subscribe_with_id(client: Paho, topic: str, qos: int, ident: int) -> None:
    props = PahoProperties(PacketTypes.SUBSCRIBE)
    props.SubscriptionIdentifier = ident
    client.client.subscribe(topic, qos, properties=props)


# -- subscription identifiers --------------------------------------------------------


async def test_one_copy_carries_every_matching_subscription_identifier(broker: Broker, gateway: MqttGateway) -> None:
    client = Paho(gateway.port, "ids", paho.MQTTv5)
    await client.start()
    _subscribe_with_id(client, "sensors/t", 2, 2)
    await client.event("subscribe")
    _subscribe_with_id(client, "sensors/t/#", 1, 3)  # "#" matches its parent level too
    await client.event("subscribe")
    await broker.publish("sensors/t", b"21.5")
    msg = await client.message()
    await asyncio.sleep(0.3)  # a second copy would have arrived by now
    client.stop()
    assert sorted(msg.properties.SubscriptionIdentifier) == [2, 3]
    assert msg.qos == 2  # the highest of the two
    assert client.messages.empty()


# -- will delay -----------------------------------------------------------------------


async def _mortal(port: int, delay: int, expiry: int, client_id: str = "mortal") -> RawClient:
    will = mqtt.Will("status/mortal", b"gone", 1, properties=mqtt.Properties(will_delay=delay))
    return await RawClient.connect(
        port, c.MQTT_5, client_id=client_id, will=will, properties=mqtt.Properties(session_expiry=expiry)
    )


async def _will_after(watcher: Subscription) -> float:
    started = asyncio.get_running_loop().time()
    delivery = await watcher.get(timeout=TIMEOUT)
    assert delivery.message.payload == b"gone"
    return asyncio.get_running_loop().time() - started


@pytest.mark.parametrize(
    ("delay", "expiry", "window"),
    [(1, 60, (0.9, 3.0)), (5, 0, (0.0, 0.8)), (5, 1, (0.9, 3.0))],  # the delay, or the session's end if sooner
)
async def test_the_will_waits_for_its_delay_or_the_session_end(
    broker: Broker, gateway: MqttGateway, delay: int, expiry: int, window: tuple[float, float]
) -> None:
    watcher = broker.subscribe("status/#")
    client = await _mortal(gateway.port, delay, expiry)
    client.abort()
    earliest, latest = window
    assert earliest <= await _will_after(watcher) < latest


async def test_no_will_when_the_client_resumes_its_session_in_time(broker: Broker, gateway: MqttGateway) -> None:
    watcher = broker.subscribe("status/#")
    first = await _mortal(gateway.port, 1, 60)
    first.abort()
    await until(lambda: not gateway.clients(), "first connection gone")
    back = await RawClient.connect(
        gateway.port, c.MQTT_5, client_id="mortal", clean_start=False, properties=mqtt.Properties(session_expiry=60)
    )
    assert back.connack.session_present
    with pytest.raises(TimeoutError):
        await watcher.get(timeout=1.5)
    back.send(mqtt.Disconnect())


async def test_a_clean_start_ends_the_session_and_publishes_the_waiting_will(
    broker: Broker, gateway: MqttGateway
) -> None:
    watcher = broker.subscribe("status/#")
    first = await _mortal(gateway.port, 30, 60)
    first.abort()
    await until(lambda: not gateway.clients(), "first connection gone")
    await RawClient.connect(gateway.port, c.MQTT_5, client_id="mortal", clean_start=True)
    assert await _will_after(watcher) < 1.0


# -- payload format, flow control, keep alive -------------------------------------------


async def test_payload_format_and_content_type_reach_an_mqtt5_subscriber(gateway: MqttGateway) -> None:
    receiver, sender = Paho(gateway.port, "receiver", paho.MQTTv5), Paho(gateway.port, "sender", paho.MQTTv5)
    await receiver.start()
    await receiver.subscribe("fmt", 2)
    await sender.start()
    props = PahoProperties(PacketTypes.PUBLISH)
    props.PayloadFormatIndicator = 1
    props.ContentType = "My name"
    for qos in range(3):
        sender.client.publish("fmt", b"", qos, properties=props)
    got = [await receiver.message() for _ in range(3)]
    receiver.stop()
    sender.stop()
    assert [(m.properties.PayloadFormatIndicator, m.properties.ContentType) for m in got] == [(1, "My name")] * 3
    assert sorted(m.qos for m in got) == [0, 1, 2]


async def test_exceeding_the_receive_maximum_gets_disconnect_0x93(gateway: MqttGateway) -> None:
    client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="greedy")
    limit = client.connack.properties.receive_maximum or 65_535
    client.send(*(mqtt.Publish("t", b"m", 1, packet_id=n) for n in range(1, limit + 2)))
    got = await client.closed_by_server()
    assert [type(p) for p in got] == [mqtt.Ack] * limit + [mqtt.Disconnect]
    assert got[-1].reason_code == c.RECEIVE_MAXIMUM_EXCEEDED  # type: ignore[union-attr]


@pytest.mark.parametrize(("asked", "told"), [(0, 60), (120, 60), (20, None)])
async def test_server_keep_alive(broker: Broker, asked: int, told: int | None) -> None:
    async with MqttGateway(broker, port=0, limits=MqttLimits(max_keep_alive=60)) as gateway:
        client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="ka", keep_alive=asked)
        assert client.connack.properties.server_keep_alive == told
        client.writer.close()


# -- topic aliases and packet sizes ---------------------------------------------------------


async def test_topic_aliases_towards_a_client_that_allows_them(broker: Broker, gateway: MqttGateway) -> None:
    long = "plant/building-7/line-3/press-12/hydraulics/temperature"
    client = await RawClient.connect(
        gateway.port, c.MQTT_5, client_id="aliased", properties=mqtt.Properties(topic_alias_maximum=4)
    )
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("plant/#"),)))
    await client.next()
    for n in range(3):
        await broker.publish(long, str(n).encode())
    got = [await client.next() for _ in range(3)]
    assert [(p.topic, p.properties.topic_alias) for p in got] == [(long, 1), ("", 1), ("", 1)]  # type: ignore[union-attr]
    client.writer.close()


async def test_maximum_packet_size_both_ways(broker: Broker) -> None:
    async with MqttGateway(broker, port=0, limits=MqttLimits(max_packet_size=1000)) as gateway:
        small = Paho(gateway.port, "small", paho.MQTTv5)
        props = PahoProperties(PacketTypes.CONNECT)
        props.MaximumPacketSize = 64
        _flags, _rc, connack = await small.start(props)
        assert connack.MaximumPacketSize == 1000
        await small.subscribe("sized", 1)
        raw = "application/octet-stream"
        await broker.publish("sized", b"." * 64, content_type=raw)  # with its header, more than the client takes
        await broker.publish("sized", b"." * 32, content_type=raw)
        assert len((await small.message()).payload) == 32
        small.stop()
        big = await RawClient.connect(gateway.port, c.MQTT_5, client_id="big")
        big.send(mqtt.Publish("sized", b"." * 1000))
        (disconnect,) = await big.closed_by_server()
        assert disconnect.reason_code == c.PACKET_TOO_LARGE  # type: ignore[union-attr]
