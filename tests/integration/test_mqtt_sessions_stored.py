"""Persistent MQTT sessions in the broker's store: a gateway started again on the same data directory
gives the client its session back (session present), resends what was in flight with DUP under the
same packet ids, and remembers the QoS 2 ids waiting for PUBREL."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from eventdeck.core import Broker
from eventdeck.core.broker.durability import restart_on_store
from eventdeck.core.gateways.mqtt import MqttGateway
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.store import FILE_NAME
from eventdeck.core.store.writer import Op
from tests.integration.mqtt_support import TIMEOUT, RawClient, until

SESSION = mqtt.Properties(session_expiry=3600)


@asynccontextmanager
async def serving(data: Path) -> AsyncIterator[tuple[Broker, MqttGateway]]:
    """A broker on the store in ``data`` with its MQTT gateway: one run of ``eventdeck serve --data``."""
    broker = await Broker.on_store(data, synchronous="normal")
    try:
        async with MqttGateway(broker, port=0) as gateway:
            yield broker, gateway
    finally:
        await broker.close()


async def test_in_flight_messages_come_back_with_dup_and_their_packet_ids(tmp_path: Path) -> None:
    async with serving(tmp_path) as (broker, gateway):
        keeper = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False)
        keeper.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("orders/#", 1),)))
        assert isinstance(await keeper.next(), mqtt.SubAck)
        for n in range(3):
            await broker.publish(f"orders/{n}", {"n": n}, headers={"mqtt-qos": "1"})
        sent = [await keeper.next() for _ in range(3)]
        assert all(isinstance(p, mqtt.Publish) and p.qos == 1 for p in sent)
        keeper.send(mqtt.Ack(c.PUBACK, sent[1].packet_id))  # only the second one is the client's
        await until(lambda: len(gateway.store.sessions["keeper"].inflight) == 2, "the PUBACK arrives")
        assert broker.store is not None
        await broker.store.committed()
        with sqlite3.connect(tmp_path / FILE_NAME) as db:  # a row each, the acknowledged one's deleted
            keys = db.execute("SELECT key FROM session_items WHERE client_id = 'keeper' ORDER BY key").fetchall()
        db.close()
        assert keys == [(sent[0].packet_id,), (sent[2].packet_id,)]
        keeper.abort()

    async with serving(tmp_path) as (broker, gateway):
        back = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False)
        assert back.connack.session_present
        again = [await back.next() for _ in range(2)]
        expected = [(p.packet_id, p.topic, p.payload) for p in (sent[0], sent[2])]
        assert [(p.packet_id, p.topic, p.payload) for p in again] == expected
        assert all(isinstance(p, mqtt.Publish) and p.dup for p in again)
        await broker.publish("orders/9", {"n": 9}, headers={"mqtt-qos": "1"})  # subscribed still, without SUBSCRIBE
        later = await back.next()
        assert isinstance(later, mqtt.Publish)
        assert (later.topic, later.payload) == ("orders/9", b'{"n":9}')
        back.abort()


async def test_a_qos2_id_awaiting_pubrel_is_remembered(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_broker, gateway):
        sender = await RawClient.connect(gateway.port, c.MQTT_5, client_id="sender", properties=SESSION)
        sender.send(mqtt.Publish("meter/1", b"42", 2, packet_id=7))
        received = await sender.next()
        assert isinstance(received, mqtt.Ack)
        assert (received.kind, received.packet_id) == (c.PUBREC, 7)
        sender.abort()

    async with serving(tmp_path) as (_broker, gateway):
        back = await RawClient.connect(
            gateway.port, c.MQTT_5, client_id="sender", clean_start=False, properties=SESSION
        )
        assert back.connack.session_present
        back.send(mqtt.Ack(c.PUBREL, 7))
        complete = await back.next()
        assert isinstance(complete, mqtt.Ack)
        assert (complete.kind, complete.packet_id, complete.reason_code) == (c.PUBCOMP, 7, c.SUCCESS)
        back.abort()


async def test_a_clean_start_forgets_the_stored_session(tmp_path: Path) -> None:
    async with serving(tmp_path) as (_broker, gateway):
        keeper = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False)
        keeper.abort()
    async with serving(tmp_path) as (_broker, gateway):
        fresh = await RawClient.connect(gateway.port, client_id="keeper", clean_start=True)
        assert not fresh.connack.session_present
        fresh.abort()
    async with serving(tmp_path) as (_broker, gateway):
        back = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False)
        assert not back.connack.session_present
        back.abort()


async def test_a_read_of_pipelined_qos1_publishes_is_acknowledged_after_one_commit(tmp_path: Path) -> None:
    async with serving(tmp_path) as (broker, gateway):
        keeper = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False)
        keeper.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("orders/#", 1),)))
        assert isinstance(await keeper.next(), mqtt.SubAck)
        keeper.abort()  # away: its durable subscription queues in the store
        publisher = await RawClient.connect(gateway.port, client_id="till")
        assert broker.store is not None
        commits = broker.store.commits
        publisher.send(*(mqtt.Publish(f"orders/{n}", b"x", 1, packet_id=n + 1) for n in range(50)))
        acks = [await publisher.next() for _ in range(50)]
        assert [(a.kind, a.packet_id) for a in acks if isinstance(a, mqtt.Ack)] == [
            (c.PUBACK, n + 1) for n in range(50)
        ]
        assert broker.store.commits - commits <= 3  # one per read of the socket, not one per message
        assert broker.subscription("mqtt:keeper orders/#").info().pending == 50
        publisher.abort()


async def test_a_client_reading_what_it_publishes_gets_no_puback_before_the_commit(tmp_path: Path) -> None:
    """Its own subscription's delivery, written while the PUBACK waits for the store, does not carry the PUBACK out."""
    async with serving(tmp_path) as (broker, gateway):
        echo = await RawClient.connect(gateway.port, client_id="echo", clean_start=False)
        echo.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("echo/#", 1),)))
        assert isinstance(await echo.next(), mqtt.SubAck)
        store = broker.store
        assert store is not None
        gate = threading.Event()
        store._add(Op.CALL, (lambda _db: gate.wait(TIMEOUT), lambda _result: None))  # holds the writer thread
        echo.send(mqtt.Publish("echo/1", b"x", 1, packet_id=7))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                packet = await echo.next()
                raise AssertionError(f"{packet} went out before the store committed the message")
        gate.set()
        got = [await echo.next(), await echo.next()]
        assert mqtt.Ack(c.PUBACK, 7) in got
        assert any(isinstance(p, mqtt.Publish) and p.topic == "echo/1" for p in got)
        echo.abort()


async def away_subscriber(gateway: MqttGateway) -> None:
    """The client "keeper" subscribed to orders/# at QoS 1 on a persistent session, then gone."""
    keeper = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False, properties=SESSION)
    keeper.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("orders/#", 1),)))
    assert isinstance(await keeper.next(), mqtt.SubAck)
    keeper.abort()
    await until(lambda: "keeper" in gateway.store.offline, "the session is away")


async def test_a_broker_reset_ends_the_away_sessions_whose_subscriptions_it_forgot() -> None:
    async with Broker() as broker, MqttGateway(broker, port=0) as gateway:  # Clear, or a restart in memory
        await away_subscriber(gateway)
        broker.reset()
        back = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False, properties=SESSION)
        assert not back.connack.session_present  # not "present" with a subscription the broker forgot
        back.abort()


async def test_a_restart_on_the_store_keeps_the_away_sessions_and_their_queues(tmp_path: Path) -> None:
    async with serving(tmp_path) as (broker, gateway):
        await away_subscriber(gateway)
        await broker.publish("orders/1", {"n": 1}, headers={"mqtt-qos": "1"})
        restart_on_store(broker)
        await broker.publish("orders/2", {"n": 2}, headers={"mqtt-qos": "1"})
        back = await RawClient.connect(gateway.port, client_id="keeper", clean_start=False, properties=SESSION)
        assert back.connack.session_present
        got = [await back.next() for _ in range(2)]
        assert [p.payload for p in got if isinstance(p, mqtt.Publish)] == [b'{"n":1}', b'{"n":2}']
        back.abort()
