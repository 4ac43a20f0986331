"""MQTT 5 behaviours of the connection state machine, byte for byte: payload format, flow control,
server keep alive, topic aliases towards the client, packet size limits, subscription identifiers
and shared subscription requests."""

from __future__ import annotations

import pytest

from eventdeck.core import Broker
from eventdeck.core.gateways.mqtt import MqttLimits
from eventdeck.core.gateways.mqtt.actions import ConnectionClosed, PublishMany, SubscribeInBroker
from eventdeck.core.gateways.mqtt.overlap import filters_overlap
from eventdeck.core.gateways.mqtt.translate import TEXT
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from tests.core.gateways.mqtt.support import Pair, message, published, subscribed

# -- payload format indicator and content type -------------------------------------


def _round_trip(props: mqtt.Properties) -> tuple[str, mqtt.Properties]:
    """Publish with ``props`` from one MQTT 5 client; (content type in the broker, properties another receives)."""
    publisher = Pair(c.MQTT_5)
    publisher.connect("pub")
    actions, _ = publisher.send(mqtt.Publish("t", b"caf\xc3\xa9", properties=props))
    (sent,) = published(actions)
    receiver = Pair(c.MQTT_5)
    receiver.connect("sub")
    receiver.server.outbox.deliver(sent, subscribed(receiver, "t", 0))
    (out,) = receiver.received()
    assert isinstance(out, mqtt.Publish)
    return sent.content_type, out.properties


@pytest.mark.parametrize(
    ("payload_format", "content_type", "in_broker"),
    [(1, "My name", "My name"), (0, "image/png", "image/png"), (1, None, TEXT), (None, "text/csv", "text/csv")],
)
def test_payload_format_and_content_type_pass_through(
    payload_format: int | None, content_type: str | None, in_broker: str
) -> None:
    got, props = _round_trip(mqtt.Properties(payload_format=payload_format, content_type=content_type))
    assert got == in_broker
    assert (props.payload_format, props.content_type) == (payload_format, content_type)


def test_no_indicator_in_none_out() -> None:
    got, props = _round_trip(mqtt.NO_PROPERTIES)
    assert got == "application/octet-stream"
    assert (props.payload_format, props.content_type) == (None, None)


@pytest.mark.parametrize(
    ("content_type", "payload", "indicator"),
    [
        ("application/json", b'{"a": 1}', 1),
        ("text/plain; charset=utf-8", "é".encode(), 1),
        ("text/plain; charset=latin-1", b"\xe9", None),
        ("application/json", b"\xff", None),  # says JSON, is not UTF-8: no promise made
        ("application/octet-stream", b"abc", None),
    ],
)
def test_messages_from_elsewhere_get_an_indicator_from_their_content_type(
    content_type: str, payload: bytes, indicator: int | None
) -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    pair.server.outbox.deliver(message("t", payload, content_type=content_type), subscribed(pair, "t", 0))
    (out,) = pair.received()
    assert out.properties.payload_format == indicator  # type: ignore[union-attr]


@pytest.mark.parametrize(("qos", "ack"), [(1, c.PUBACK), (2, c.PUBREC)])
def test_text_that_is_not_utf8_is_refused_with_0x99(qos: int, ack: int) -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    bad = mqtt.Publish("t", b"\xff\xfe", qos, packet_id=7, properties=mqtt.Properties(payload_format=1))
    actions, (reply,) = pair.send(bad)
    assert actions == []
    assert isinstance(reply, mqtt.Ack)
    assert (reply.kind, reply.packet_id, reply.reason_code) == (ack, 7, c.PAYLOAD_FORMAT_INVALID)
    assert "payload format 1" in (reply.properties.reason_string or "")
    assert not pair.server.closed


def test_qos0_text_that_is_not_utf8_ends_the_connection_with_0x99() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    actions, (reply,) = pair.send(mqtt.Publish("t", b"\xff", properties=mqtt.Properties(payload_format=1)))
    assert reply.reason_code == c.PAYLOAD_FORMAT_INVALID  # type: ignore[union-attr]
    assert isinstance(actions[-1], ConnectionClosed)


# -- flow control and keep alive ------------------------------------------------------------


@pytest.mark.parametrize("qos", [1, 2])
def test_receive_maximum_exceeded_gets_disconnect_0x93(qos: int) -> None:
    pair = Pair(c.MQTT_5, limits=MqttLimits(max_inflight=3))
    pair.connect()
    flood = [mqtt.Publish("t", b"m", qos, packet_id=n) for n in range(1, 5)]  # 4 before any ack went out
    actions, replies = pair.send(*flood)
    assert [type(a) for a in actions] == [PublishMany, ConnectionClosed]
    assert len(published(actions)) == 3
    assert [r.packet_id for r in replies[:-1]] == [1, 2, 3]  # type: ignore[union-attr]
    assert replies[-1].reason_code == c.RECEIVE_MAXIMUM_EXCEEDED  # type: ignore[union-attr]


def test_v311_clients_were_not_told_a_receive_maximum_for_qos1() -> None:
    pair = Pair(c.MQTT_311, limits=MqttLimits(max_inflight=3))
    pair.connect()
    _, replies = pair.send(*(mqtt.Publish("t", b"m", 1, packet_id=n) for n in range(1, 11)))
    assert [r.packet_id for r in replies] == list(range(1, 11))  # type: ignore[union-attr]
    assert not pair.server.closed


def test_qos1_acks_handed_out_free_the_window() -> None:
    pair = Pair(c.MQTT_5, limits=MqttLimits(max_inflight=3))
    pair.connect()
    for n in range(1, 10):  # one at a time, each PUBACK sent before the next PUBLISH comes
        _, replies = pair.send(mqtt.Publish("t", b"m", 1, packet_id=n))
        assert replies == [mqtt.Ack(c.PUBACK, n)]


@pytest.mark.parametrize(("version", "asked", "told"), [(c.MQTT_5, 0, 60), (c.MQTT_5, 120, 60), (c.MQTT_5, 30, None)])
def test_server_keep_alive(version: int, asked: int, told: int | None) -> None:
    pair = Pair(version, limits=MqttLimits(max_keep_alive=60))
    _, (connack,) = pair.connect(keep_alive=asked)
    assert connack.properties.server_keep_alive == told  # type: ignore[union-attr]
    assert pair.server.keep_alive == (told or asked)


def test_v311_keep_alive_is_the_clients_own() -> None:
    pair = Pair(c.MQTT_311, limits=MqttLimits(max_keep_alive=60))
    pair.connect(keep_alive=0)
    assert pair.server.keep_alive == 0


# -- topic aliases towards the client and packet sizes --------------------------------------


def test_topic_aliases_to_a_client_that_allows_them() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect(properties=mqtt.Properties(topic_alias_maximum=2))
    sub = subscribed(pair, "#", 0)
    for channel in ("plant/line-1/press/temperature", "plant/line-1/press/temperature", "b", "c", "b"):
        pair.server.outbox.deliver(message(channel), sub)
    got = [(p.topic, p.properties.topic_alias) for p in pair.received()]  # type: ignore[union-attr]
    assert got == [("plant/line-1/press/temperature", 1), ("", 1), ("b", 2), ("c", None), ("", 2)]


def test_no_topic_aliases_unless_the_client_allows_them() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    sub = subscribed(pair, "#", 0)
    pair.server.outbox.deliver(message("a"), sub)
    pair.server.outbox.deliver(message("a"), sub)
    assert [(p.topic, p.properties.topic_alias) for p in pair.received()] == [("a", None)] * 2  # type: ignore[union-attr]


def test_a_packet_too_big_for_the_client_is_not_sent_and_sets_no_alias() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect(properties=mqtt.Properties(maximum_packet_size=64, topic_alias_maximum=5))
    sub = subscribed(pair, "a", 1)
    pair.server.outbox.deliver(message("a", b"." * 64, qos=1), sub)  # 64 bytes of payload alone: too big
    pair.server.outbox.deliver(message("a", b"." * 32, qos=1), sub)
    (small,) = pair.received()
    assert isinstance(small, mqtt.Publish)
    assert (small.topic, small.properties.topic_alias, len(small.payload)) == ("a", 1, 32)
    assert pair.server.session is not None
    assert list(pair.server.session.inflight) == [small.packet_id]  # the big one counts as done


def test_reason_strings_are_dropped_to_fit_the_clients_maximum_packet_size() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect(properties=mqtt.Properties(maximum_packet_size=16))
    _, (disconnect,) = pair.send(mqtt.Publish("a/+", b""))
    assert disconnect == mqtt.Disconnect(c.TOPIC_NAME_INVALID)


# -- subscription identifiers: one copy for overlapping subscriptions ------------------------


def _overlapping(version: int) -> tuple[Pair, list[mqtt.Packet]]:
    pair = Pair(version)
    pair.connect("me")
    wide = subscribed(pair, "home/#", 1, sub_id=2)
    narrow = subscribed(pair, "home/+/temp", 2, sub_id=3)
    elsewhere = subscribed(pair, "garden/#", 2, sub_id=4)
    live = message("home/kitchen/temp", qos=2)
    for sub in (wide, narrow, elsewhere):  # each broker subscription that matched hands it over
        if sub is not elsewhere:
            pair.server.outbox.deliver_batch(sub, [live], lambda _channel: None)
    return pair, pair.received()


def test_overlapping_subscriptions_send_one_copy_with_every_identifier() -> None:
    _, (publish,) = _overlapping(c.MQTT_5)
    assert isinstance(publish, mqtt.Publish)
    assert publish.qos == 2  # the highest of the matching subscriptions
    assert sorted(publish.properties.subscription_ids) == [2, 3]


def test_v311_keeps_one_copy_per_subscription() -> None:
    _, copies = _overlapping(c.MQTT_311)
    assert sorted(p.qos for p in copies) == [1, 2]  # type: ignore[union-attr]


def test_a_subscription_made_after_the_message_does_not_claim_it() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect("me")
    early = subscribed(pair, "a/#", 1, sub_id=1)
    queued = message("a/b", qos=1)  # published while only "a/#" existed
    late = subscribed(pair, "a/b", 2, sub_id=2)
    late.since = queued.id
    pair.server.outbox.deliver_batch(early, [queued], lambda _channel: None)
    (publish,) = pair.received()
    assert publish.properties.subscription_ids == (1,)  # type: ignore[union-attr]


def test_unsubscribing_ends_the_overlap() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect("me")
    wide = subscribed(pair, "a/#", 0, sub_id=1)
    narrow = subscribed(pair, "a/b", 1, sub_id=2)
    assert wide.overlaps == (narrow,)
    pair.send(mqtt.Unsubscribe(5, ("a/b",)))
    assert wide.overlaps == ()


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("a/#", "a/+/c", True),
        ("a", "a/#", True),
        ("a/+", "a", False),
        ("a/b", "a/c", False),
        ("+/b", "a/+", True),
        ("#", "$SYS/x", False),
        ("$SYS/#", "$SYS/+", True),
        ("a/b/#", "a", False),
    ],
)
def test_filters_overlap(first: str, second: str, overlap: bool) -> None:
    assert filters_overlap(first, second) is overlap
    assert filters_overlap(second, first) is overlap


# -- shared subscription requests ------------------------------------------------------


@pytest.mark.parametrize("version", [c.MQTT_311, c.MQTT_5])
def test_shared_subscription_request(version: int) -> None:
    pair = Pair(version)
    pair.connect()
    (action,), (suback,) = pair.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("$share/workers/jobs/#", 1),)))
    assert suback == mqtt.SubAck(1, (1,))
    assert isinstance(action, SubscribeInBroker)
    sub = action.subscription
    assert (sub.share, sub.pattern, sub.name) == ("$share/workers/jobs/#", "jobs/#", "$share/workers/jobs/#")


@pytest.mark.parametrize("bad", ["$share/", "$share/g", "$share/g/", "$share/+/x", "$share/g#/x", "$share/g/a/#/b"])
def test_malformed_shared_filters_are_refused(bad: str) -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    _, (suback,) = pair.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(bad, 1),)))
    assert suback == mqtt.SubAck(1, (c.TOPIC_FILTER_INVALID,))


def test_no_local_on_a_shared_subscription_is_a_protocol_error() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    _, (disconnect,) = pair.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("$share/g/x", 1, no_local=True),)))
    assert disconnect.reason_code == c.PROTOCOL_ERROR  # type: ignore[union-attr]


async def test_a_shared_message_is_settled_once_the_client_acknowledges_it() -> None:
    async with Broker() as broker:
        group = broker.subscribe("jobs", name="$share/g/jobs", ack="manual")
        await broker.publish("jobs", b"job-1", headers={"mqtt-qos": "1"})
        (delivery,) = group.take(1)
        pair = Pair(c.MQTT_5)
        pair.connect("worker")
        sub = subscribed(pair, "$share/g/jobs", 1)
        pair.server.outbox.deliver_shared(delivery.message, sub, delivery, False)
        (publish,) = pair.received()
        assert pair.server.outbox.settled == []
        pair.send(mqtt.Ack(c.PUBACK, publish.packet_id))  # type: ignore[union-attr]
        assert pair.server.outbox.settled == [delivery]
