"""The MQTT gateway with real clients over real sockets: mosquitto_pub/sub, paho-mqtt, aiomqtt and raw bytes."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator

import aiomqtt
import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties as PahoProperties

from eventdeck.core import Broker, Kind, Message
from eventdeck.core.gateways.mqtt import GatewayError, MqttGateway, MqttLimits
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode
from tests.integration.mqtt_support import TIMEOUT, Paho, RawClient, needs_mosquitto_clients, subscribed, until


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[MqttGateway]:
    async with MqttGateway(broker, port=0) as gateway:
        yield gateway


# -- mosquitto command-line clients ---------------------------------------------------


@needs_mosquitto_clients
@pytest.mark.parametrize("version", ["311", "5"])
@pytest.mark.parametrize("qos", ["0", "1", "2"])
async def test_mosquitto_clients_at_every_qos(broker: Broker, gateway: MqttGateway, version: str, qos: str) -> None:
    port = str(gateway.port)
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-p", port, "-V", version, "-q", qos, "-t", "room/+/temp", "-C", "3", "-v", "-i", "sub-cli",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await until(subscribed(broker, "room/+/temp"), "mosquitto_sub subscribed")
    assert any(info.name == "mqtt:sub-cli room/+/temp" for info in broker.subscriptions())
    for n in range(3):
        pub = await asyncio.create_subprocess_exec(
            "mosquitto_pub", "-p", port, "-V", version, "-q", qos, "-t", f"room/{n}/temp", "-m", f"{20 + n}",
        )  # fmt: skip
        assert await pub.wait() == 0
    out, _ = await asyncio.wait_for(sub.communicate(), TIMEOUT)
    assert out.decode().splitlines() == ["room/0/temp 20", "room/1/temp 21", "room/2/temp 22"]


@needs_mosquitto_clients
async def test_retained_message_reaches_a_later_subscriber(broker: Broker, gateway: MqttGateway) -> None:
    port = str(gateway.port)
    pub = await asyncio.create_subprocess_exec("mosquitto_pub", "-p", port, "-r", "-t", "lamp/state", "-m", "on")
    assert await pub.wait() == 0
    assert broker.retained("lamp/state") is not None
    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-p", port, "-V", "5", "-t", "lamp/#", "-C", "1", "-F", "%r %t %p",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(sub.communicate(), TIMEOUT)
    assert out.decode().strip() == "1 lamp/state on"  # retain flag set on the retained copy


@needs_mosquitto_clients
async def test_will_is_published_when_a_client_dies(broker: Broker, gateway: MqttGateway) -> None:
    watcher = broker.subscribe("status/#")
    proc = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-p", str(gateway.port), "-t", "x", "-i", "mortal",
        "--will-topic", "status/mortal", "--will-payload", "offline", "--will-retain",
    )  # fmt: skip
    await until(subscribed(broker, "x"), "client subscribed")
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    delivery = await watcher.get(timeout=TIMEOUT)
    assert delivery.message.payload == b"offline"
    assert delivery.message.publisher == "mortal"
    assert broker.retained("status/mortal") is not None
    await until(lambda: not gateway.clients(), "client gone")
    assert any(e.kind == "disconnected" and e.client_id == "mortal" for e in gateway.events)


@needs_mosquitto_clients
async def test_dollar_topics_stay_out_of_wildcards(broker: Broker, gateway: MqttGateway) -> None:
    port = str(gateway.port)
    everything = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-p", port, "-t", "#", "-C", "1", "-v", stdout=asyncio.subprocess.PIPE
    )
    dollar = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-p", port, "-t", "$SYS/#", "-C", "1", "-v", stdout=asyncio.subprocess.PIPE
    )
    await until(lambda: subscribed(broker, "#")() and subscribed(broker, "$SYS/#")(), "both subscribed")
    await broker.publish("$SYS/uptime", "1")
    await broker.publish("plain", "2")
    out1, _ = await asyncio.wait_for(everything.communicate(), TIMEOUT)
    out2, _ = await asyncio.wait_for(dollar.communicate(), TIMEOUT)
    assert out1.decode().strip() == "plain 2"
    assert out2.decode().strip() == "$SYS/uptime 1"


# -- paho-mqtt -----------------------------------------------------------------------


@pytest.mark.parametrize("version", [paho.MQTTv311, paho.MQTTv5])
async def test_persistent_session_queues_while_away(broker: Broker, gateway: MqttGateway, version: int) -> None:
    client = Paho(gateway.port, "keeper", version, clean=False)
    props = None
    if version == paho.MQTTv5:
        props = PahoProperties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 300
    await client.start(props)
    await client.subscribe("orders/#", 1)
    client.stop()
    await until(lambda: not gateway.clients(), "client away")
    (info,) = [i for i in broker.subscriptions() if i.name == "mqtt:keeper orders/#"]
    assert info.durable
    for n in range(3):
        await broker.publish(f"orders/{n}", {"n": n})  # e.g. from the composer
    back = Paho(gateway.port, "keeper", version, clean=False)
    flags, _rc, _ = await back.start(props)
    assert flags.session_present
    got = [(await back.message()).payload for _ in range(3)]
    back.stop()
    assert got == [b'{"n":0}', b'{"n":1}', b'{"n":2}']


async def test_request_reply_with_an_mqtt5_responder(broker: Broker, gateway: MqttGateway) -> None:
    lamp = Paho(gateway.port, "lamp1", paho.MQTTv5)

    def answer(client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
        props = PahoProperties(PacketTypes.PUBLISH)
        props.CorrelationData = msg.properties.CorrelationData
        client.publish(msg.properties.ResponseTopic, b'{"on":true}', 1, properties=props)

    lamp.client.on_message = answer
    await lamp.start()
    await lamp.subscribe("devices/lamp1/set", 1)
    reply = await broker.request("devices/lamp1/set", {"on": True}, timeout=TIMEOUT)
    lamp.stop()
    assert reply.kind is Kind.REPLY
    assert reply.payload == b'{"on":true}'
    assert reply.publisher == "lamp1"


async def test_v5_properties_reach_paho(broker: Broker, gateway: MqttGateway) -> None:
    client = Paho(gateway.port, "", paho.MQTTv5)
    _flags, _rc, props = await client.start()
    assert props.AssignedClientIdentifier.startswith("auto-")
    await client.subscribe("events/#", 1)
    await broker.publish("events/x", {"a": 1}, headers={"trace": "t-1"})
    msg = await client.message()
    client.stop()
    assert msg.properties.ContentType == "application/json"
    assert msg.properties.UserProperty == [("trace", "t-1")]


@pytest.mark.parametrize(("version", "codes"), [(c.MQTT_311, (1, 0x80, 0x80)), (c.MQTT_5, (1, 0x8F, 0x8F))])
async def test_subscribe_failure_reason_codes(gateway: MqttGateway, version: int, codes: tuple[int, ...]) -> None:
    # Client libraries refuse to send bad filters, so these go out as raw packets.
    client = await RawClient.connect(gateway.port, version, client_id="picky")
    client.send(mqtt.Subscribe(1, tuple(mqtt.SubscriptionRequest(f, 1) for f in ("ok/#", "a/#/b", "$share/+/t"))))
    suback = await client.next()
    assert suback.reason_codes == codes  # type: ignore[union-attr]
    client.writer.close()


async def test_a_malformed_client_does_not_disturb_others(broker: Broker, gateway: MqttGateway) -> None:
    good = Paho(gateway.port, "good")
    await good.start()
    await good.subscribe("feed", 0)
    bad = await RawClient.connect(gateway.port, c.MQTT_5, client_id="bad")
    bad.writer.write(b"\x36\x03\x00\x01a")  # QoS 3: malformed
    got = await bad.closed_by_server()
    assert got == [mqtt.Disconnect(c.MALFORMED_PACKET, got[0].properties)]  # type: ignore[union-attr]
    await broker.publish("feed", "still here")
    assert (await good.message()).payload == b"still here"
    good.stop()


async def test_a_burst_of_publishes_in_one_write_is_published_whole_and_in_order() -> None:
    """One read's PUBLISHes go to the broker together; those the fast path leaves keep their place."""
    async with Broker(max_payload=64) as broker, MqttGateway(broker, port=0) as gateway:
        tap = broker.tap()
        listener = broker.subscribe("burst/#", name="listener")
        sent = [mqtt.Publish("burst/a", b"%d" % n) for n in range(500)]  # the first one creates the channel
        sent[100] = mqtt.Publish("burst/new", b"to a new channel")
        sent[200] = mqtt.Publish("burst/a", b"x" * 65)  # over max_payload: this one only is refused (logged)
        sent[300] = mqtt.Publish("burst/a", b"kept", retain=True)
        client = await RawClient.connect(gateway.port)
        client.send(*sent)
        expected = [packet.payload for n, packet in enumerate(sent) if n != 200]
        await until(lambda: len(listener.queue) >= len(expected), "every message queued")
        assert [message.payload for message in listener.take_messages(1000)] == expected
        assert [
            item.payload for item in tap.drain().events if isinstance(item, Message)
        ] == expected  # the window's view
        retained = broker.retained("burst/a")
        assert retained is not None
        assert retained.payload == b"kept"
        client.abort()


# -- aiomqtt -------------------------------------------------------------------------


async def test_aiomqtt_overlapping_subscriptions_and_wildcards(broker: Broker, gateway: MqttGateway) -> None:
    async with aiomqtt.Client("127.0.0.1", gateway.port, identifier="overlap") as client:
        await client.subscribe("home/#", qos=1)
        await client.subscribe("home/+/temp", qos=0)
        await client.publish("home/kitchen/temp", b"21", qos=1)
        got = []
        async with asyncio.timeout(TIMEOUT):
            async for message in client.messages:
                got.append((str(message.topic), message.qos))
                if len(got) == 2:
                    break
    assert sorted(got) == [("home/kitchen/temp", 0), ("home/kitchen/temp", 1)]
    assert {i.name for i in broker.subscriptions()} >= set()  # unsubscribed on clean disconnect
    await until(lambda: not broker.subscriptions(), "clean session removed its subscriptions")


async def test_aiomqtt_v5_qos2_round_trip(gateway: MqttGateway) -> None:
    async with aiomqtt.Client("127.0.0.1", gateway.port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        await client.subscribe("q2/#", qos=2)
        await client.publish("q2/x", b"exactly once", qos=2)
        async with asyncio.timeout(TIMEOUT):
            message = await anext(aiter(client.messages))
    assert message.payload == b"exactly once"
    assert message.qos == 2


# -- raw sockets: what libraries hide ---------------------------------------------------


async def test_redelivery_with_dup_on_reconnect(broker: Broker, gateway: MqttGateway) -> None:
    first = await RawClient.connect(gateway.port, client_id="redo", clean_start=False)
    first.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("jobs", 1),)))
    await first.next()  # SUBACK
    await broker.publish("jobs", "job-1")
    publish = await first.next()
    assert isinstance(publish, mqtt.Publish)
    assert not publish.dup
    first.abort()  # never acknowledged
    await until(lambda: not gateway.clients(), "first connection gone")
    second = await RawClient.connect(gateway.port, client_id="redo", clean_start=False)
    again = await second.next()
    assert again == publish._replace(dup=True)
    second.send(mqtt.Ack(c.PUBACK, again.packet_id))  # type: ignore[union-attr]
    second.writer.close()


async def test_retain_handling_over_a_real_socket(broker: Broker, gateway: MqttGateway) -> None:
    await broker.publish("lamp/state", "on", retain=True)
    client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="picky-retain")
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("lamp/#", 0, retain_handling=2),)))
    assert isinstance(await client.next(), mqtt.SubAck)
    client.send(mqtt.Subscribe(2, (mqtt.SubscriptionRequest("lamp/#", 0, retain_handling=0),)))
    assert isinstance(await client.next(), mqtt.SubAck)
    again = await client.next()  # the first SUBSCRIBE sent none; the repeated one, with 0, sends it
    assert isinstance(again, mqtt.Publish)
    assert (again.topic, again.payload, again.retain) == ("lamp/state", b"on", True)
    client.writer.close()


async def test_keep_alive_expiry_closes_with_reason(gateway: MqttGateway) -> None:
    client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="sleepy", keep_alive=1)
    got = await client.closed_by_server()  # 1.5 s of silence
    assert [p.reason_code for p in got] == [c.KEEP_ALIVE_TIMEOUT]  # type: ignore[union-attr]


async def test_keep_alive_moves_on_with_each_packet(gateway: MqttGateway) -> None:
    client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="lively", keep_alive=1)
    for _ in range(5):  # 2.5 s in all, past the first deadline (1.5 s): each ping moves it on
        await asyncio.sleep(0.5)
        client.send(mqtt.PingReq())
        assert isinstance(await client.next(), mqtt.PingResp)
    got = await client.closed_by_server()  # then 1.5 s of silence
    assert [p.reason_code for p in got] == [c.KEEP_ALIVE_TIMEOUT]  # type: ignore[union-attr]


async def test_connect_deadline(broker: Broker) -> None:
    async with MqttGateway(broker, port=0, limits=MqttLimits(connect_timeout=0.3)) as gateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        async with asyncio.timeout(TIMEOUT):
            assert await reader.read() == b""
        writer.close()


async def test_take_over_disconnects_the_old_connection(gateway: MqttGateway) -> None:
    old = await RawClient.connect(gateway.port, c.MQTT_5, client_id="twin")
    new = await RawClient.connect(gateway.port, c.MQTT_5, client_id="twin")
    got = await old.closed_by_server()
    assert [p.reason_code for p in got] == [c.SESSION_TAKEN_OVER]  # type: ignore[union-attr]
    assert [info.client_id for info in gateway.clients()] == ["twin"]
    new.writer.close()


async def test_stop_says_server_shutting_down(broker: Broker) -> None:
    gateway = MqttGateway(broker, port=0)
    await gateway.start()
    client = await RawClient.connect(gateway.port, c.MQTT_5, client_id="bye")
    info = gateway.clients()[0]
    assert (info.client_id, info.protocol_version, info.address.startswith("127.0.0.1")) == ("bye", "5.0", True)
    await gateway.stop()
    got = await client.closed_by_server()
    assert [p.reason_code for p in got] == [c.SERVER_SHUTTING_DOWN]  # type: ignore[union-attr]


async def test_port_in_use_is_a_clear_error(broker: Broker) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(GatewayError, match=f"port {port} on 127.0.0.1 is already in use"):
            await MqttGateway(broker, port=port).start()


async def test_non_loopback_needs_credentials(broker: Broker) -> None:
    with pytest.raises(GatewayError, match=r"not a loopback address.*credentials"):
        await MqttGateway(broker, "0.0.0.0", 0).start()
    async with MqttGateway(broker, "127.0.0.1", 0, credentials={"u": "p"}) as gateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(encode(mqtt.Connect("x", username="u", password=b"wrong")))
        assert PacketReader().feed(await reader.read(100)) == [mqtt.ConnAck(c.V3_BAD_CREDENTIALS)]
        writer.close()


async def test_a_stuck_subscriber_does_not_throttle_everyone(broker: Broker, gateway: MqttGateway) -> None:
    """A client that stops reading costs the others at most one pause, not a pause per read."""
    stuck = await RawClient.connect(gateway.port, client_id="stuck")
    stuck.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("flood/#", 0),)))
    assert isinstance(await stuck.next(), mqtt.SubAck)  # from now on it never reads again
    fast = await RawClient.connect(gateway.port, client_id="fast")
    fast.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("flood/#", 0),)))
    assert isinstance(await fast.next(), mqtt.SubAck)
    publisher = await RawClient.connect(gateway.port, client_id="publisher")
    chunk = b"x" * 32_000
    count = 600  # ~19 MB: far more than the stuck client's socket buffers hold
    started = asyncio.get_running_loop().time()
    for n in range(count):
        publisher.send(mqtt.Publish(f"flood/{n % 4}", chunk))
        if n % 50 == 49:
            await publisher.writer.drain()
    received = 0
    async with asyncio.timeout(20):
        while received < count:
            if isinstance(await fast.next(), mqtt.Publish):
                received += 1
    assert asyncio.get_running_loop().time() - started < 15  # one stall per read would take minutes
    stuck.abort()


async def test_a_flood_queued_for_one_client_goes_out_over_several_loop_turns(
    broker: Broker, gateway: MqttGateway
) -> None:
    """Its consumer moves at most 1,024 messages a turn, then lets the rest of the loop run (the window's, too)."""
    client = await RawClient.connect(gateway.port, client_id="flood")
    client.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("flood/#", 0),)))
    assert isinstance(await client.next(), mqtt.SubAck)
    await broker.publish("flood/x", b"first")
    assert isinstance(await client.next(), mqtt.Publish)
    subscription = broker.subscription("mqtt:flood flood/#")
    flood = [Message.build("flood/x", b"%d" % n) for n in range(5_000)]
    assert broker.publish_ready(flood) == len(flood)  # queued at once, in this turn
    for _ in range(100):  # the consumer's turns and this test's alternate
        await asyncio.sleep(0)
        if subscription.info().pending < len(flood):
            break
    assert subscription.info().pending == len(flood) - 1_024  # one turn's worth went out
    got = [await client.next() for _ in flood]
    assert [p.payload for p in got] == [m.payload for m in flood]  # type: ignore[union-attr]
    client.abort()
