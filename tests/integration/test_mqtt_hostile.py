"""The MQTT gateway against clients that misbehave on purpose (issue: hardening ``serve``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from eventdeck.core import Broker
from eventdeck.core.gateways.mqtt import MqttGateway, MqttLimits
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from tests.integration.mqtt_support import RawClient, until


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[MqttGateway]:
    async with MqttGateway(broker, port=0) as gateway:
        yield gateway


def leak_subscriptions(broker: Broker) -> list[str]:
    return [info.name for info in broker.subscriptions() if info.pattern == "leak/#"]


@pytest.mark.parametrize("one_packet", [True, False], ids=["one SUBSCRIBE", "two SUBSCRIBEs in one read"])
async def test_a_repeated_filter_leaves_nothing_behind_for_the_next_session(
    broker: Broker, gateway: MqttGateway, one_packet: bool
) -> None:
    first = await RawClient.connect(gateway.port, client_id="dupsub")
    twice = (mqtt.SubscriptionRequest("leak/#", 1), mqtt.SubscriptionRequest("leak/#", 1))
    if one_packet:
        first.send(mqtt.Subscribe(1, twice))
    else:
        first.send(mqtt.Subscribe(1, twice[:1]), mqtt.Subscribe(2, twice[1:]))
    for _ in range(1 if one_packet else 2):
        assert isinstance(await first.next(), mqtt.SubAck)
    first.send(mqtt.Disconnect())
    await first.closed_by_server()
    await until(lambda: not leak_subscriptions(broker), "the clean session's subscriptions are gone")

    await broker.publish("leak/x", b"stale")  # nobody is subscribed now: this must reach no one
    second = await RawClient.connect(gateway.port, client_id="dupsub")
    second.send(mqtt.Subscribe(3, (mqtt.SubscriptionRequest("leak/#", 1),)))
    assert isinstance(await second.next(), mqtt.SubAck)
    await broker.publish("leak/y", b"fresh")
    delivered = await second.next()
    assert isinstance(delivered, mqtt.Publish)
    assert (delivered.topic, delivered.payload) == ("leak/y", b"fresh")
    second.send(mqtt.Disconnect())
    assert not [p for p in await second.closed_by_server() if isinstance(p, mqtt.Publish)]
    await until(lambda: not leak_subscriptions(broker), "and again after the second session")


async def idle_sockets(port: int, count: int) -> list[asyncio.StreamWriter]:
    """Sockets that connect and never send CONNECT."""
    return [(await asyncio.open_connection("127.0.0.1", port))[1] for _ in range(count)]


async def test_sockets_that_never_send_connect_cannot_lock_out_a_user(broker: Broker) -> None:
    limits = MqttLimits(max_connections=50, max_waiting=20)
    async with MqttGateway(broker, port=0, limits=limits, credentials={"alice": "s3cret"}) as gateway:
        idle = await idle_sockets(gateway.port, 200)  # four times max_connections, before authentication
        alice = await RawClient.connect(gateway.port, client_id="alice", username="alice", password=b"s3cret")
        assert alice.connack.reason_code == c.SUCCESS
        await until(lambda: len(gateway.waiting) <= 20, "the oldest waiting sockets made room")
        assert gateway.waiting.evicted >= 180
        alice.send(mqtt.Disconnect())
        await alice.closed_by_server()
        for writer in idle:
            writer.close()


async def test_only_clients_past_connect_count_against_max_connections(broker: Broker) -> None:
    async with MqttGateway(broker, port=0, limits=MqttLimits(max_connections=2)) as gateway:
        idle = await idle_sockets(gateway.port, 10)
        first = await RawClient.connect(gateway.port, client_id="one")
        second = await RawClient.connect(gateway.port, client_id="two")
        assert (first.connack.reason_code, second.connack.reason_code) == (c.SUCCESS, c.SUCCESS)
        third = await RawClient.connect(gateway.port, client_id="three")
        assert third.connack.reason_code == c.V3_SERVER_UNAVAILABLE
        for writer in idle:
            writer.close()


async def test_a_socket_that_never_sends_connect_is_closed_after_the_connect_timeout(broker: Broker) -> None:
    async with MqttGateway(broker, port=0, limits=MqttLimits(connect_timeout=0.2)) as gateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        assert gateway.waiting.timed_out == 1
        writer.close()


@pytest.mark.parametrize(
    "packet",
    [
        mqtt.Subscribe(0, (mqtt.SubscriptionRequest("a", 0),)),
        mqtt.Unsubscribe(0, ("a",)),
        mqtt.Publish("a", b"x", properties=mqtt.Properties(session_expiry=60)),
    ],
    ids=["SUBSCRIBE id 0", "UNSUBSCRIBE id 0", "PUBLISH with Session Expiry"],
)
async def test_packets_the_spec_forbids_close_the_connection_with_the_reason(
    broker: Broker, gateway: MqttGateway, packet: mqtt.Packet
) -> None:
    client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="rude")
    client.send(packet)
    last = (await client.closed_by_server())[-1]
    assert isinstance(last, mqtt.Disconnect)
    assert last.reason_code in (c.MALFORMED_PACKET, c.PROTOCOL_ERROR)
    assert broker.stats().published == 0
