"""Shared subscriptions ($share/{group}/{filter}) with real clients: paho-mqtt, mosquitto_sub and raw bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from eventdeck.core import Broker
from eventdeck.core.broker.subscription import State
from eventdeck.core.gateways.controller import Gateways
from eventdeck.core.gateways.listen import ListenAddress
from eventdeck.core.gateways.mqtt import MqttGateway
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from tests.integration.mqtt_support import TIMEOUT, Paho, RawClient, needs_mosquitto_clients, until

GROUP = "$share/workers/jobs/#"


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[MqttGateway]:
    async with MqttGateway(broker, port=0) as gateway:
        yield gateway


def _group(broker: Broker, name: str = GROUP) -> State | None:
    return next((info.state for info in broker.subscriptions() if info.name == name), None)


def _counts(broker: Broker) -> list[tuple[int, int, int]]:
    """(unacked, pending, redelivered) of the group's broker subscription."""
    return [(i.unacked, i.pending, i.redelivered) for i in broker.subscriptions() if i.name == GROUP]


async def _member(port: int, client_id: str, qos: int = 1, **fields: object) -> RawClient:
    client = await RawClient.connect(port, c.MQTT_5, client_id=client_id, **fields)
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(GROUP, qos),)))
    assert isinstance(await client.next(), mqtt.SubAck)
    return client


async def _take(client: RawClient, count: int, *, ack: bool = True) -> list[bytes]:
    got = []
    while len(got) < count:
        packet = await client.next()
        assert isinstance(packet, mqtt.Publish), packet
        got.append(packet.payload)
        if ack and packet.qos:
            client.send(mqtt.Ack(c.PUBACK, packet.packet_id))
    return got


async def _quiet(client: RawClient) -> bool:
    """True if nothing arrives for a moment."""
    try:
        async with asyncio.timeout(0.3):
            await client.next()
    except TimeoutError:
        return True
    return False


@pytest.mark.parametrize("version", [paho.MQTTv311, paho.MQTTv5])
async def test_messages_go_round_robin_and_the_group_shows_its_members(
    broker: Broker, gateway: MqttGateway, version: int
) -> None:
    one, two = Paho(gateway.port, "w1", version), Paho(gateway.port, "w2", version)
    for worker in (one, two):
        await worker.start()
        await worker.subscribe(GROUP, 1)
    assert gateway.shared_groups() == {GROUP: ["w1", "w2"]}
    assert [info.pattern for info in broker.subscriptions() if info.name == GROUP] == ["jobs/#"]
    for n in range(10):
        await broker.publish(f"jobs/{n}", str(n).encode())
    got_one = [(await one.message()).payload for _ in range(5)]
    got_two = [(await two.message()).payload for _ in range(5)]
    assert sorted(got_one + got_two) == [str(n).encode() for n in range(10)]
    assert got_one == [b"0", b"2", b"4", b"6", b"8"]  # in turn
    assert one.messages.empty()
    assert two.messages.empty()
    one.stop()
    two.stop()
    await until(lambda: _group(broker) is None, "the last member out removed the group")
    assert gateway.shared_groups() == {}


async def test_a_member_with_a_full_window_is_skipped_and_its_unacked_message_goes_to_another(
    broker: Broker, gateway: MqttGateway
) -> None:
    slow = await _member(gateway.port, "slow", properties=mqtt.Properties(receive_maximum=1))
    fast = await _member(gateway.port, "fast")
    for n in range(5):
        await broker.publish(f"jobs/{n}", str(n).encode())
    (held,) = await _take(slow, 1, ack=False)  # never acknowledged
    got = await _take(fast, 4)
    assert sorted([held, *got]) == [b"0", b"1", b"2", b"3", b"4"]
    assert await _quiet(slow)  # its window stays full: nothing more for it
    slow.abort()  # gone without acknowledging: the message goes back to the group
    assert await _take(fast, 1) == [held]
    await until(lambda: _counts(broker) == [(0, 0, 1)], "every message acknowledged, one of them redelivered")
    fast.writer.close()


async def test_mqtt_311_and_5_clients_share_one_group(broker: Broker, gateway: MqttGateway) -> None:
    old = await RawClient.connect(gateway.port, c.MQTT_311, client_id="old")
    old.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(GROUP, 0),)))
    assert await old.next() == mqtt.SubAck(1, (0,))
    new = await _member(gateway.port, "new", qos=0)
    for n in range(4):
        await broker.publish("jobs/x", str(n).encode())
    assert sorted(await _take(old, 2) + await _take(new, 2)) == [b"0", b"1", b"2", b"3"]
    old.writer.close()
    new.writer.close()


async def test_no_retained_messages_for_shared_subscriptions(broker: Broker, gateway: MqttGateway) -> None:
    await broker.publish("jobs/old", b"retained", retain=True)
    member = await _member(gateway.port, "late")
    await broker.publish("jobs/new", b"live")
    assert await _take(member, 1) == [b"live"]
    assert await _quiet(member)
    member.writer.close()


async def test_a_persistent_member_away_keeps_the_group_which_queues_for_it(
    broker: Broker, gateway: MqttGateway
) -> None:
    week = mqtt.Properties(session_expiry=7 * 24 * 3600)
    member = await _member(gateway.port, "keeper", properties=week)
    member.send(mqtt.Disconnect())
    await until(lambda: _group(broker) is State.AWAY, "the group waits for its member")
    assert gateway.shared_groups() == {GROUP: ["keeper"]}
    for n in range(3):
        await broker.publish("jobs/x", str(n).encode())
    back = await RawClient.connect(gateway.port, c.MQTT_5, client_id="keeper", clean_start=False, properties=week)
    assert back.connack.session_present
    assert await _take(back, 3) == [b"0", b"1", b"2"]
    back.send(mqtt.Unsubscribe(2, (GROUP,)))
    await until(lambda: _group(broker) is None, "unsubscribed: the group is gone")
    back.writer.close()


async def test_a_member_unsubscribing_leaves_the_others(broker: Broker, gateway: MqttGateway) -> None:
    first, second = await _member(gateway.port, "a"), await _member(gateway.port, "b")
    first.send(mqtt.Unsubscribe(2, (GROUP,)))
    assert isinstance(await first.next(), mqtt.UnsubAck)
    assert gateway.shared_groups() == {GROUP: ["b"]}
    for n in range(3):
        await broker.publish("jobs/x", str(n).encode())
    assert await _take(second, 3) == [b"0", b"1", b"2"]
    assert await _quiet(first)
    first.writer.close()
    second.writer.close()


async def test_shared_subscription_identifier_is_the_members_own(broker: Broker, gateway: MqttGateway) -> None:
    client = Paho(gateway.port, "ider", paho.MQTTv5)
    await client.start()
    props = PahoProperties(PacketTypes.SUBSCRIBE)
    props.SubscriptionIdentifier = 42
    client.client.subscribe(GROUP, 1, properties=props)
    await client.event("subscribe")
    await broker.publish("jobs/x", b"1")
    msg = await client.message()
    client.stop()
    assert msg.properties.SubscriptionIdentifier == [42]


@needs_mosquitto_clients
async def test_mosquitto_sub_joins_a_group(broker: Broker, gateway: MqttGateway) -> None:
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-p", str(gateway.port), "-t", GROUP, "-C", "2", "-v", "-i", "cli-worker",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await until(lambda: gateway.shared_groups() == {GROUP: ["cli-worker"]}, "mosquitto_sub joined")
    await broker.publish("jobs/1", b"one")
    await broker.publish("jobs/2", b"two")
    out, _ = await asyncio.wait_for(sub.communicate(), TIMEOUT)
    assert out.decode().splitlines() == ["jobs/1 one", "jobs/2 two"]


async def test_a_member_taken_over_keeps_its_place(broker: Broker, gateway: MqttGateway) -> None:
    week = mqtt.Properties(session_expiry=7 * 24 * 3600)
    first = await _member(gateway.port, "twin", properties=week)
    second = await RawClient.connect(gateway.port, c.MQTT_5, client_id="twin", clean_start=False, properties=week)
    assert second.connack.session_present
    assert [p.reason_code for p in await first.closed_by_server()] == [c.SESSION_TAKEN_OVER]  # type: ignore[union-attr]
    for n in range(3):
        await broker.publish("jobs/x", str(n).encode())
    assert await _take(second, 3) == [b"0", b"1", b"2"]
    assert gateway.shared_groups() == {GROUP: ["twin"]}
    second.writer.close()


async def test_the_gateways_name_each_groups_members_for_the_subscribers_panel(broker: Broker) -> None:
    gateways = Gateways(broker, mqtt=ListenAddress("127.0.0.1", 0), http=ListenAddress("127.0.0.1", 0))
    assert gateways.shared_groups() == {}  # nothing running yet: no groups, no error
    await gateways.start()
    try:
        assert gateways.mqtt is not None
        assert gateways.http is not None
        over_tcp = await _member(gateways.mqtt.port, "tcp-worker")
        over_websocket = Paho(gateways.http.port, "browser-worker", paho.MQTTv5, websocket=True)  # via /mqtt
        await over_websocket.start()
        await over_websocket.subscribe(GROUP, 1)
        assert gateways.shared_groups() == {GROUP: ["tcp-worker", "browser-worker"]}
        assert [info.name for info in broker.subscriptions()] == [GROUP]  # one group, one subscription
        over_websocket.stop()
        over_tcp.writer.close()
    finally:
        await gateways.stop()
    assert gateways.shared_groups() == {}
