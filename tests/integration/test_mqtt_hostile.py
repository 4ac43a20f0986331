"""The MQTT gateway against clients that misbehave on purpose (issue: hardening ``serve``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventdeck.core import Broker
from eventdeck.core.gateways.mqtt import MqttGateway
from eventdeck.core.mqtt_codec import records as mqtt
from tests.integration.mqtt_support import RawClient, until


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker() as broker:
        yield broker


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
