"""The MQTT gateway under load: stuck subscribers, offline sessions, and what it logs about clients."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from eventdeck.core import Broker
from eventdeck.core.gateways.mqtt import MqttGateway
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from tests.integration.mqtt_support import RawClient

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
