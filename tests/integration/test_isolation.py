"""One client can never read or answer another's replies, and access rules keep a forger off a command's channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from eventdeck.core import Broker, Kind
from eventdeck.core.gateways.acl import AccessRules
from eventdeck.core.gateways.http.server import HttpGateway
from eventdeck.core.gateways.mqtt import MqttGateway
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from tests.integration.mqtt_support import TIMEOUT, RawClient

RULES = """
user responder
topic read commands/#
topic write results/#

user mallory
topic read weather/+
topic readwrite mallory/#
"""
PASSWORDS = {"responder": "r-pass", "mallory": "m-pass"}


@pytest.fixture
async def gateways(broker: Broker) -> AsyncIterator[tuple[MqttGateway, HttpGateway]]:
    async with MqttGateway(broker, port=0) as mqtt_gateway, HttpGateway(broker, port=0) as http_gateway:
        yield mqtt_gateway, http_gateway


async def test_nobody_subscribes_to_replies_over_mqtt(gateways: tuple[MqttGateway, HttpGateway]) -> None:
    mqtt_gateway, _ = gateways
    for version, refused in ((c.MQTT_5, c.NOT_AUTHORIZED), (c.MQTT_311, c.V3_SUBSCRIBE_FAILURE)):
        spy = await RawClient.connect(mqtt_gateway.port, version, client_id=f"spy{version}")
        spy.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("$reply/#"), mqtt.SubscriptionRequest("$dead/#"))))
        ack = await spy.next()
        assert isinstance(ack, mqtt.SubAck)
        assert ack.reason_codes == (refused, 0)  # dead letters may be watched; replies may not
        spy.abort()


async def test_nobody_subscribes_to_replies_over_http(gateways: tuple[MqttGateway, HttpGateway]) -> None:
    _, http_gateway = gateways
    async with aiohttp.ClientSession() as session:
        for path in ("/subscribe?pattern=%24reply/%23", "/ws?pattern=%24reply/%2B"):
            async with session.get(http_gateway.url + path) as answer:
                assert answer.status == 403
                assert "read only by the requester" in (await answer.json())["error"]


async def test_clients_cannot_publish_into_the_brokers_channels(
    broker: Broker, gateways: tuple[MqttGateway, HttpGateway]
) -> None:
    mqtt_gateway, http_gateway = gateways
    forger = await RawClient.connect(mqtt_gateway.port, c.MQTT_5, client_id="forger")
    forger.send(mqtt.Publish("$dead/x", b"fake", 1, packet_id=7))
    ack = await forger.next()
    assert isinstance(ack, mqtt.Ack)
    assert (ack.packet_id, ack.reason_code) == (7, c.NOT_AUTHORIZED)
    url = f"{http_gateway.url}/channels/%24dead/x"
    async with aiohttp.ClientSession() as session, session.post(url, data=b"{}") as answer:
        assert answer.status == 403
    assert broker.stats().published == 0
    forger.abort()


async def test_only_the_first_reply_to_a_waiting_command_gets_through(
    broker: Broker, gateways: tuple[MqttGateway, HttpGateway]
) -> None:
    mqtt_gateway, _ = gateways
    responder = await RawClient.connect(mqtt_gateway.port, c.MQTT_5, client_id="responder")
    responder.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("lamp/switch", 1),)))
    assert isinstance(await responder.next(), mqtt.SubAck)
    asking = asyncio.create_task(broker.request("lamp/switch", {"on": True}, timeout=TIMEOUT))
    command = await responder.next()
    assert isinstance(command, mqtt.Publish)
    response_topic, correlation = command.properties.response_topic, command.properties.correlation_data
    assert response_topic is not None
    assert correlation is not None
    answer = mqtt.Properties(correlation_data=correlation)
    responder.send(mqtt.Ack(c.PUBACK, command.packet_id))
    responder.send(mqtt.Publish(response_topic, b'{"on": true}', 1, packet_id=2, properties=answer))
    responder.send(mqtt.Publish(response_topic, b'{"on": false}', 1, packet_id=3, properties=answer))
    acks = [await responder.next(), await responder.next()]
    assert [(a.packet_id, a.reason_code) for a in acks if isinstance(a, mqtt.Ack)] == [
        (2, c.SUCCESS),
        (3, c.NOT_AUTHORIZED),  # the command has its answer: a second one is refused
    ]
    reply = await asking
    assert (reply.kind, json.loads(reply.payload)) == (Kind.REPLY, {"on": True})
    responder.send(mqtt.Publish(response_topic, b"late", 1, packet_id=4, properties=answer))
    late = await responder.next()
    assert isinstance(late, mqtt.Ack)
    assert late.reason_code == c.NOT_AUTHORIZED
    (info,) = [client for client in mqtt_gateway.clients() if client.client_id == "responder"]
    assert info.refused == 2  # the second reply and the late one, counted
    responder.abort()


async def test_access_rules_keep_a_forger_off_the_commands_channel(broker: Broker) -> None:
    rules = AccessRules.parse(RULES, "rules.acl")
    async with MqttGateway(broker, port=0, credentials=PASSWORDS, rules=rules) as gateway:
        mallory = await RawClient.connect(gateway.port, c.MQTT_5, client_id="m", username="mallory", password=b"m-pass")
        wanted = ("#", "commands/defrost", "commands/#", "weather/today", "mallory/notes")
        mallory.send(mqtt.Subscribe(1, tuple(mqtt.SubscriptionRequest(f, 1) for f in wanted)))
        ack = await mallory.next()
        assert isinstance(ack, mqtt.SubAck)
        assert ack.reason_codes == (c.NOT_AUTHORIZED, c.NOT_AUTHORIZED, c.NOT_AUTHORIZED, 1, 1)
        mallory.send(mqtt.Publish("results/defrost", b"FORGED", 1, packet_id=2))
        refused = await mallory.next()
        assert isinstance(refused, mqtt.Ack)
        assert refused.reason_code == c.NOT_AUTHORIZED

        responder = await RawClient.connect(
            gateway.port, c.MQTT_5, client_id="r", username="responder", password=b"r-pass"
        )
        responder.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("commands/#", 1),)))
        ack = await responder.next()
        assert isinstance(ack, mqtt.SubAck)
        assert ack.reason_codes == (1,)
        await broker.publish("commands/defrost", b"{}")
        delivered = await responder.next()
        assert isinstance(delivered, mqtt.Publish)
        assert delivered.topic == "commands/defrost"
        assert not [p for p in mallory.inbox if isinstance(p, mqtt.Publish)]  # the forger saw nothing
        mallory.abort()
        responder.abort()
