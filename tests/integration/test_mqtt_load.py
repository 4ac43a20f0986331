"""The MQTT gateway under load: stuck subscribers, offline sessions, and what it logs about clients."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from eventdeck.core import Broker
from eventdeck.core.gateways.controller import Gateways
from eventdeck.core.gateways.listen import ListenAddress
from eventdeck.core.gateways.mqtt import MqttGateway, MqttLimits
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from tests.integration.mqtt_support import RawClient, subscribed, until

PAYLOAD = b"x" * 2048  # big enough that a non-reading subscriber fills its socket within the run


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[MqttGateway]:
    async with MqttGateway(broker, port=0) as gateway:
        yield gateway


async def _publish_for(port: int, seconds: float) -> tuple[int, float]:
    """A QoS 1 publisher keeping 20 messages in flight for ``seconds``: (messages acknowledged, seconds paused).

    Paused time is the sum of the gaps of over 50 ms between acknowledgements.
    """
    publisher = await RawClient.connect(port, client_id="steady-publisher")
    parser = PacketReader(version=c.MQTT_311)
    acked, sent, paused = 0, 0, 0.0
    started = last = time.monotonic()
    while time.monotonic() - started < seconds:
        while sent - acked < 20:
            sent += 1
            publisher.send(mqtt.Publish("load/x", PAYLOAD, qos=1, packet_id=sent % 65_535 + 1))
        data = await asyncio.wait_for(publisher.reader.read(65_536), 10)
        acked += sum(isinstance(packet, mqtt.Ack) for packet in parser.feed(data))
        now = time.monotonic()
        if now - last > 0.05:
            paused += now - last
        last = now
    publisher.abort()
    return acked, paused


async def _stuck_subscriber(port: int, n: int) -> asyncio.StreamWriter:
    """Subscribes to everything the publisher sends, then never reads again."""
    client = await RawClient.connect(port, client_id=f"stuck-{n}")
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("load/#", qos=0),)))
    assert isinstance(await client.next(), mqtt.SubAck)
    client.writer.transport.pause_reading()  # the kernel buffers fill, then the server's
    return client.writer


async def test_stuck_subscribers_arriving_steadily_cost_publishers_a_bounded_pause(gateway: MqttGateway) -> None:
    quiet, _ = await _publish_for(gateway.port, 2.0)

    async def arrive() -> list[asyncio.StreamWriter]:
        stuck = []
        for n in range(8):  # one every 0.25 s, as a steady trickle of broken clients would
            stuck.append(await _stuck_subscriber(gateway.port, n))
            await asyncio.sleep(0.25)
        return stuck

    arrivals = asyncio.create_task(arrive())
    loaded, paused = await _publish_for(gateway.port, 2.0)
    for writer in await arrivals:
        writer.transport.abort()
    # Before: each newly stuck client held publishers for up to 1 s, one after another (2.0 s of 2).
    # Now the wasted waiting is capped at MqttLimits.publisher_hold_budget (0.5 s) per 10 s.
    assert paused < 0.75, f"the publisher was paused for {paused:.2f} s of 2"
    # Each message now also goes to 8 more queues (overflowing): a shared machine gets a wide margin.
    assert loaded > quiet / 4, f"{loaded} messages with stuck subscribers arriving vs {quiet} without"


async def _leave_a_session(port: int, client_id: str) -> None:
    """An MQTT 5 client with a week-long session subscribes, then goes away."""
    week = mqtt.Properties(session_expiry=7 * 24 * 3600)
    client = await RawClient.connect(port, c.MQTT_5, client_id=client_id, properties=week)
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(f"dev/{client_id}/#", qos=1),)))
    assert isinstance(await client.next(), mqtt.SubAck)
    client.send(mqtt.Disconnect())
    await client.closed_by_server()


async def test_past_max_offline_sessions_the_oldest_is_dropped_and_logged_once(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    async with MqttGateway(broker, port=0, limits=MqttLimits(max_offline_sessions=2)) as gateway:
        with caplog.at_level(logging.WARNING, logger="eventdeck.mqtt"):
            for name in ("a", "b", "c", "d"):
                await _leave_a_session(gateway.port, name)
                await until(lambda name=name: name in gateway.store.offline, f"session {name} offline")  # type: ignore[misc]
        assert list(gateway.store.offline) == ["c", "d"]
        assert set(gateway.store.sessions) == {"c", "d"}
        assert gateway.store.offline_dropped == 2
        names = {info.name for info in broker.subscriptions()}
        assert names == {"mqtt:c dev/c/#", "mqtt:d dev/d/#"}  # the dropped ones stop queueing
        warnings = [record.getMessage() for record in caplog.records]
        assert len(warnings) == 1
        assert "more than 2 offline sessions" in warnings[0]
        # A session that comes back is no longer offline, so it is never the one dropped.
        back = await RawClient.connect(
            gateway.port, c.MQTT_5, client_id="c", clean_start=False, properties=mqtt.Properties(session_expiry=60)
        )
        assert back.connack.session_present
        assert list(gateway.store.offline) == ["d"]
        back.abort()


async def test_an_offline_session_keeps_qos0_filters_without_queueing_for_them(
    broker: Broker, gateway: MqttGateway
) -> None:
    week = mqtt.Properties(session_expiry=7 * 24 * 3600)
    client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="fleet-1", properties=week)
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("fleet/#", qos=0), mqtt.SubscriptionRequest("jobs", 1))))
    assert isinstance(await client.next(), mqtt.SubAck)
    client.send(mqtt.Disconnect())
    await client.closed_by_server()
    await until(lambda: "fleet-1" in gateway.store.offline, "session offline")
    # Before: each offline session's QoS 0 filter queued every message, so 3,000 of them cost
    # each publish 3,000 queue slots (93x slower than with none, where Mosquitto queues nothing).
    assert (await broker.publish("fleet/a", "missed")).queued == 0
    assert (await broker.publish("jobs", "kept")).queued == 1
    back = await RawClient.connect(gateway.port, c.MQTT_5, client_id="fleet-1", clean_start=False, properties=week)
    assert back.connack.session_present
    kept = await back.next()
    assert isinstance(kept, mqtt.Publish)
    assert kept.payload == b"kept"
    await until(subscribed(broker, "fleet/#"), "QoS 0 filter live again")
    await broker.publish("fleet/a", "live")
    live = await back.next()
    assert isinstance(live, mqtt.Publish)
    assert live.payload == b"live"
    back.abort()


def test_max_offline_sessions_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_offline_sessions must be positive"):
        MqttLimits(max_offline_sessions=0)


async def test_each_client_event_is_logged_once(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    gateways = Gateways(broker, mqtt=ListenAddress("127.0.0.1", 0), http=None)
    await gateways.start()
    try:
        assert gateways.mqtt is not None
        with caplog.at_level(logging.INFO):
            client = await RawClient.connect(gateways.mqtt.port, client_id="once")
            client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("x", qos=0),)))
            await until(subscribed(broker, "x"), "subscribed")
            client.send(mqtt.Disconnect())
            await client.closed_by_server()
            await until(lambda: len(gateways.mqtt.events) == 2, "connect and disconnect seen")  # type: ignore[union-attr]
    finally:
        await gateways.stop()
    lines = [record.getMessage() for record in caplog.records if "'once'" in record.getMessage()]
    assert len(lines) == 2, lines  # before: each twice, from eventdeck.mqtt and eventdeck.gateways
    assert "connected" in lines[0]
    assert "disconnected" in lines[1]
