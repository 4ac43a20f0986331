"""The MQTT connection state machine, driven with bytes and no sockets (h11 style)."""

from __future__ import annotations

import dataclasses

import pytest

from eventdeck.core import Kind
from eventdeck.core.gateways.mqtt import MqttLimits
from eventdeck.core.gateways.mqtt.actions import (
    ConnectionClosed,
    PublishMany,
    PublishToBroker,
    SessionStarted,
    SubscribeInBroker,
    UnsubscribeInBroker,
)
from eventdeck.core.gateways.mqtt.session import SessionState
from eventdeck.core.gateways.mqtt.translate import CORRELATION_ENCODING_HEADER, EXPIRY_HEADER
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from tests.core.gateways.mqtt.support import Pair, message, published, subscribed


@pytest.mark.parametrize("version", [c.MQTT_311, c.MQTT_5])
def test_connect_accepted(version: int) -> None:
    pair = Pair(version)
    actions, replies = pair.connect("dev-1", keep_alive=30)
    assert isinstance(actions[0], SessionStarted)
    assert not actions[0].resumed
    assert replies[0].reason_code == c.SUCCESS  # type: ignore[union-attr]
    assert pair.server.client_id == "dev-1"
    assert pair.server.keep_alive == 30
    if version == c.MQTT_5:
        props = replies[0].properties  # type: ignore[union-attr]
        assert props.receive_maximum == 64
        assert props.maximum_packet_size == 1024 * 1024
        assert props.shared_available is None  # absent: shared subscriptions are available


def test_v5_empty_client_id_is_assigned_and_returned() -> None:
    pair = Pair(c.MQTT_5)
    _, replies = pair.connect("")
    assigned = replies[0].properties.assigned_client_id  # type: ignore[union-attr]
    assert assigned
    assert assigned.startswith("auto-")
    assert pair.server.client_id == assigned


def test_v311_empty_client_id_needs_clean_session() -> None:
    pair = Pair()
    actions, replies = pair.connect("", clean_start=False)
    assert replies == [mqtt.ConnAck(c.V3_IDENTIFIER_REJECTED)]
    assert isinstance(actions[-1], ConnectionClosed)
    assert pair.server.closed


@pytest.mark.parametrize(("version", "code"), [(c.MQTT_311, c.V3_BAD_CREDENTIALS), (c.MQTT_5, 0x86)])
def test_credentials_are_checked(version: int, code: int) -> None:
    creds = {"alice": "s3cret"}
    refused = Pair(version, credentials=creds)
    assert refused.connect(username="alice", password=b"wrong")[1] == [mqtt.ConnAck(code)]
    assert refused.server.closed
    accepted = Pair(version, credentials=creds)
    assert accepted.connect(username="alice", password=b"s3cret")[1][0].reason_code == 0  # type: ignore[union-attr]


def test_unsupported_protocol_level_gets_a_311_refusal() -> None:
    pair = Pair()
    actions, replies = pair.send_bytes(b"\x10\x0c\x00\x04MQTT\x06\x02\x00\x3c\x00\x00")
    assert replies == [mqtt.ConnAck(c.V3_UNACCEPTABLE_PROTOCOL)]
    assert isinstance(actions[-1], ConnectionClosed)


def test_busy_server_refuses() -> None:
    pair = Pair(c.MQTT_5, busy=True)
    assert pair.connect()[1] == [mqtt.ConnAck(c.SERVER_BUSY)]


def test_anything_before_connect_closes_silently() -> None:
    pair = Pair()
    actions, replies = pair.send(mqtt.PingReq())
    assert replies == []
    assert isinstance(actions[0], ConnectionClosed)
    assert pair.server.closed


@pytest.mark.parametrize("version", [c.MQTT_311, c.MQTT_5])
def test_publish_at_each_qos(version: int) -> None:
    pair = Pair(version)
    pair.connect("pub")
    actions, replies = pair.send(
        mqtt.Publish("t/0", b"zero"),
        mqtt.Publish("t/1", b"one", 1, packet_id=1),
        mqtt.Publish("t/2", b"two", 2, packet_id=2),
    )
    assert [m.channel for m in published(actions)] == ["t/0", "t/1", "t/2"]
    assert all(m.publisher == "pub" for m in published(actions))
    assert replies == [mqtt.Ack(c.PUBACK, 1), mqtt.Ack(c.PUBREC, 2)]
    # A DUP of the QoS 2 message is acknowledged again but not published twice.
    actions, replies = pair.send(mqtt.Publish("t/2", b"two", 2, dup=True, packet_id=2))
    assert actions == []
    assert replies == [mqtt.Ack(c.PUBREC, 2)]
    assert pair.send(mqtt.Ack(c.PUBREL, 2))[1] == [mqtt.Ack(c.PUBCOMP, 2)]


def test_v5_pubrel_for_unknown_id_says_not_found() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    assert pair.send(mqtt.Ack(c.PUBREL, 9))[1] == [mqtt.Ack(c.PUBCOMP, 9, c.PACKET_ID_NOT_FOUND)]


def test_retain_flag_reaches_the_broker_action() -> None:
    pair = Pair()
    pair.connect()
    actions, _ = pair.send(mqtt.Publish("t", b"v", retain=True))
    assert isinstance(actions[0], PublishToBroker)
    assert actions[0].retain


def test_publishes_of_one_read_go_to_the_broker_together_in_order() -> None:
    pair = Pair()
    pair.connect()
    actions, _ = pair.send(
        mqtt.Publish("t/1", b"1"),
        mqtt.Publish("t/2", b"2", 1, packet_id=1),
        mqtt.Publish("t/3", b"3", retain=True),
        mqtt.Publish("t/4", b"4", 2, packet_id=2),
        mqtt.Subscribe(3, (mqtt.SubscriptionRequest("s"),)),
        mqtt.Publish("t/5", b"5"),
    )
    # A retained message and a subscription keep their places between the batches.
    assert [type(a) for a in actions] == [PublishMany, PublishToBroker, PublishMany, SubscribeInBroker, PublishMany]
    assert [m.payload for m in published(actions)] == [b"1", b"2", b"3", b"4", b"5"]


@pytest.mark.parametrize(("version", "bad"), [(c.MQTT_311, c.V3_SUBSCRIBE_FAILURE), (c.MQTT_5, None)])
def test_subscribe_reason_codes(version: int, bad: int | None) -> None:
    pair = Pair(version, limits=MqttLimits(max_subscriptions_per_client=3))
    pair.connect()
    filters = ["a/+", "a/#/b", "$share/g", "b/#", "$SYS/#", "c", "a/+"]
    actions, replies = pair.send(mqtt.Subscribe(1, tuple(mqtt.SubscriptionRequest(f, 1) for f in filters)))
    expected_v5 = (1, c.TOPIC_FILTER_INVALID, c.TOPIC_FILTER_INVALID, 1, 1, c.QUOTA_EXCEEDED, 1)
    expected = tuple(code if code == 1 else bad for code in expected_v5) if bad else expected_v5
    assert replies == [mqtt.SubAck(1, expected)]
    subs = [a for a in actions if isinstance(a, SubscribeInBroker)]
    assert [(s.subscription.filter, s.new) for s in subs] == [
        ("a/+", True),
        ("b/#", True),
        ("$SYS/#", True),
        ("a/+", False),
    ]
    assert subs[0].subscription.name == "mqtt:dev a/+"


def test_unsubscribe_reason_codes() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    pair.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest("a"),)))
    actions, replies = pair.send(mqtt.Unsubscribe(2, ("a", "b")))
    assert replies == [mqtt.UnsubAck(2, (c.SUCCESS, c.NO_SUBSCRIPTION_EXISTED))]
    assert [type(a) for a in actions] == [UnsubscribeInBroker]


def test_ping() -> None:
    pair = Pair()
    pair.connect()
    assert pair.send(mqtt.PingReq())[1] == [mqtt.PingResp()]


@pytest.mark.parametrize("retain_handling", [0, 1, 2])
def test_only_retain_handling_0_asks_for_retained_again_on_a_repeated_subscribe(retain_handling: int) -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    request = mqtt.Subscribe(1, (mqtt.SubscriptionRequest("a/#", 1, retain_handling=retain_handling),))
    (first,) = pair.send(request)[0]
    (again,) = pair.send(request)[0]
    assert isinstance(first, SubscribeInBroker)
    assert isinstance(again, SubscribeInBroker)
    assert (first.new, first.send_retained) == (True, False)  # a new one gets them from the broker itself
    assert (again.new, again.send_retained) == (False, retain_handling == 0)
    pair.server.outbox.deliver_retained(again.subscription, [message("a/state", b"on")])
    assert [(p.topic, p.retain) for p in pair.received()] == [("a/state", True)]  # type: ignore[union-attr]


@pytest.mark.parametrize(("retain_handling", "sent"), [(0, True), (1, True), (2, False)])
def test_retained_copies_queued_at_subscribe_follow_retain_handling(retain_handling: int, sent: bool) -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    sub = subscribed(pair, qos=0, retain_handling=retain_handling)
    retained, live = message("a/state", b"on"), message("a/state", b"off")
    sub.retained_ids = {retained.id}
    pair.server.outbox.deliver_batch(sub, [retained, live], lambda channel: live)
    expected = [(b"on", True), (b"off", False)] if sent else [(b"off", False)]
    assert [(p.payload, p.retain) for p in pair.received()] == expected  # type: ignore[union-attr]
    assert not sub.retained_ids  # each retained copy counts once


@pytest.mark.parametrize("as_published", [False, True])
def test_retain_as_published_flags_the_message_the_broker_retains(as_published: bool) -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    sub = subscribed(pair, qos=0, retain_as_published=as_published)
    kept, passing = message("a/state", b"kept"), message("a/state", b"passing")
    pair.server.outbox.deliver_batch(sub, [kept, passing], lambda channel: kept)
    got = [(p.payload, p.retain) for p in pair.received()]  # type: ignore[union-attr]
    assert got == [(b"kept", as_published), (b"passing", False)]


def test_delivery_takes_the_lower_qos_and_respects_the_window() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect(properties=mqtt.Properties(receive_maximum=2))
    sub = subscribed(pair, qos=1)
    pair.server.outbox.deliver(message(qos=0), sub)
    for n in range(3):
        pair.server.outbox.deliver(message(payload=b"%d" % n, qos=2), sub)
    got = pair.received()
    assert [(p.qos, p.payload) for p in got] == [(0, b"x"), (1, b"0"), (1, b"1")]  # type: ignore[union-attr]
    assert pair.server.outbox.send_quota == -1  # one waits in the session
    first = got[1].packet_id  # type: ignore[union-attr]
    _, replies = pair.send(mqtt.Ack(c.PUBACK, first))
    assert [p.payload for p in replies] == [b"2"]  # type: ignore[union-attr]


def test_qos2_delivery_handshake() -> None:
    pair = Pair()
    pair.connect()
    sub = subscribed(pair, qos=2)
    pair.server.outbox.deliver(message(), sub)
    (publish,) = pair.received()
    assert isinstance(publish, mqtt.Publish)
    assert publish.qos == 2
    assert pair.send(mqtt.Ack(c.PUBREC, publish.packet_id))[1] == [mqtt.Ack(c.PUBREL, publish.packet_id)]
    pair.send(mqtt.Ack(c.PUBCOMP, publish.packet_id))
    assert pair.server.session is not None
    assert not pair.server.session.inflight


def test_only_reads_whose_answers_promise_something_wait_for_a_store() -> None:
    """A read of the client's PUBACKs, PUBCOMPs and pings needs no commit before its answers; the rest do."""
    pair = Pair()
    pair.connect()
    assert pair.server.promises  # CONNACK
    sub = subscribed(pair, qos=2)
    assert pair.server.promises  # SUBACK
    for qos in (1, 1, 2):
        pair.server.outbox.deliver(message(qos=qos), sub)
    one, other, exactly = (packet.packet_id for packet in pair.received())  # type: ignore[attr-defined]
    pair.send(mqtt.Ack(c.PUBACK, one), mqtt.PingReq(), mqtt.Ack(c.PUBACK, other))
    assert not pair.server.promises
    pair.send(mqtt.Ack(c.PUBREC, exactly))  # its PUBREL says the server holds the message as released
    assert pair.server.promises
    pair.send(mqtt.Ack(c.PUBCOMP, exactly))
    assert not pair.server.promises
    pair.send(mqtt.Publish("a/b", b"x", 1, packet_id=9))
    assert pair.server.promises


def test_resumed_session_resends_in_flight_with_dup_and_the_same_ids() -> None:
    sessions: dict[str, SessionState] = {}
    first = Pair(sessions=sessions)
    first.connect("keep", clean_start=False)
    sub1 = subscribed(first, qos=1)
    sub2 = subscribed(first, "b", qos=2)
    first.server.outbox.deliver(message("a/1"), sub1)
    first.server.outbox.deliver(message("b"), sub2)
    p1, p2 = first.received()
    first.send(mqtt.Ack(c.PUBREC, p2.packet_id))  # type: ignore[union-attr]
    actions = first.server.connection_lost()
    closed = actions[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.keep_session
    second = Pair(sessions=sessions)
    actions, replies = second.connect("keep", clean_start=False)
    assert isinstance(actions[0], SessionStarted)
    assert actions[0].resumed
    assert replies[0] == mqtt.ConnAck(c.SUCCESS, True)
    assert replies[1] == p1._replace(dup=True)  # type: ignore[union-attr]
    assert replies[2] == mqtt.Ack(c.PUBREL, p2.packet_id)  # type: ignore[union-attr]


def test_clean_start_discards_the_old_session() -> None:
    sessions: dict[str, SessionState] = {}
    Pair(sessions=sessions).connect("x", clean_start=False)
    actions, replies = Pair(sessions=sessions).connect("x", clean_start=True)
    started = actions[0]
    assert isinstance(started, SessionStarted)
    assert started.discarded is not None
    assert not started.resumed
    assert replies == [mqtt.ConnAck(c.SUCCESS, False)]


def test_take_over_names_the_previous_connection() -> None:
    sessions: dict[str, SessionState] = {}
    old = Pair(sessions=sessions)
    old.connect("same")
    actions, _ = Pair(sessions=sessions).connect("same", clean_start=False)
    assert isinstance(actions[0], SessionStarted)
    assert actions[0].replaced is old.server
    # The old connection, closed afterwards, no longer owns (and cannot drop) the session.
    closed = old.server.close(c.SESSION_TAKEN_OVER)[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.session is None


def test_v5_malformed_packet_gets_disconnect_and_publishes_the_will() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect(will=mqtt.Will("dev/status", b"offline", 1, True))
    actions, replies = pair.send_bytes(b"\x36\x03\x00\x01a")
    assert replies[0].reason_code == c.MALFORMED_PACKET  # type: ignore[union-attr]
    closed = actions[-1]
    assert isinstance(closed, ConnectionClosed)
    assert closed.will is not None
    assert closed.will.message.channel == "dev/status"
    assert closed.will.retain


@pytest.mark.parametrize(("reason", "will"), [(c.SUCCESS, False), (c.DISCONNECT_WITH_WILL, True)])
def test_disconnect_and_the_will(reason: int, will: bool) -> None:
    pair = Pair(c.MQTT_5)
    pair.connect(will=mqtt.Will("w", b"bye"))
    closed = pair.send(mqtt.Disconnect(reason))[0][-1]
    assert isinstance(closed, ConnectionClosed)
    assert (closed.will is not None) is will


def test_disconnect_cannot_turn_a_zero_expiry_into_a_persistent_session() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    _, replies = pair.send(mqtt.Disconnect(properties=mqtt.Properties(session_expiry=60)))
    assert replies[0].reason_code == c.PROTOCOL_ERROR  # type: ignore[union-attr]


def test_oversized_packet_v5() -> None:
    pair = Pair(c.MQTT_5, limits=MqttLimits(max_packet_size=100))
    pair.connect()
    _, replies = pair.send(mqtt.Publish("t", b"x" * 200))
    assert replies[0].reason_code == c.PACKET_TOO_LARGE  # type: ignore[union-attr]
    assert pair.server.closed


def test_second_connect_is_a_protocol_error() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    assert pair.connect()[1][0].reason_code == c.PROTOCOL_ERROR  # type: ignore[union-attr]


def test_inbound_topic_alias() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    actions, _ = pair.send(
        mqtt.Publish("long/topic/name", b"1", properties=mqtt.Properties(topic_alias=3)),
        mqtt.Publish("", b"2", properties=mqtt.Properties(topic_alias=3)),
    )
    assert [m.channel for m in published(actions)] == ["long/topic/name"] * 2
    _, replies = pair.send(mqtt.Publish("", b"3", properties=mqtt.Properties(topic_alias=999)))
    assert replies[0].reason_code == c.TOPIC_ALIAS_INVALID  # type: ignore[union-attr]


def test_wildcard_in_topic_name_closes() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    _, replies = pair.send(mqtt.Publish("a/+", b""))
    assert replies[0].reason_code == c.TOPIC_NAME_INVALID  # type: ignore[union-attr]


def test_v5_properties_become_message_fields_and_back() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect("asker")
    props = mqtt.Properties(
        response_topic="answers/asker",
        correlation_data=b"\xff\x00",
        content_type="application/json",
        user_properties=(("trace", "t1"),),
        message_expiry=60,
    )
    actions, _ = pair.send(mqtt.Publish("devices/lamp/set", b"{}", 1, packet_id=1, properties=props))
    (message,) = published(actions)
    assert message.kind is Kind.COMMAND
    assert message.reply_to == "answers/asker"
    assert message.correlation_id == "ff00"
    assert message.headers[CORRELATION_ENCODING_HEADER] == "hex"
    assert message.content_type == "application/json"
    assert message.headers["trace"] == "t1"
    assert message.headers[EXPIRY_HEADER] == "60"
    other = Pair(c.MQTT_5)
    other.connect("lamp")
    sub = subscribed(other, "devices/#", 1, no_local=False)
    sub.ids = (5,)
    other.server.outbox.deliver(message, sub)
    (out,) = other.received()
    assert isinstance(out, mqtt.Publish)
    assert out.properties.response_topic == "answers/asker"
    assert out.properties.correlation_data == b"\xff\x00"
    assert out.properties.user_properties == (("trace", "t1"),)  # mqtt-* headers stay inside
    assert out.properties.content_type == "application/json"
    assert out.properties.subscription_ids == (5,)
    assert 0 < out.properties.message_expiry <= 60  # type: ignore[operator]
    # The answer: correlation data without a response topic is a reply.
    answer = mqtt.Publish("answers/asker", b"ok", properties=mqtt.Properties(correlation_data=b"req-7"))
    (reply,) = published(other.send(answer)[0])
    assert reply.kind is Kind.REPLY
    assert reply.correlation_id == "req-7"


def test_expired_messages_are_not_delivered() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect()
    sub = subscribed(pair, qos=0)
    old = message(headers={EXPIRY_HEADER: "5"})._replace(timestamp=0.0)
    pair.server.outbox.deliver(old, sub)
    assert pair.received() == []


def test_no_local_and_client_maximum_packet_size() -> None:
    pair = Pair(c.MQTT_5)
    pair.connect("me", properties=mqtt.Properties(maximum_packet_size=50))
    sub = subscribed(pair, qos=0, no_local=True)
    pair.server.outbox.deliver(message(publisher="me"), sub)
    pair.server.outbox.deliver(message(payload=b"x" * 100), sub)
    pair.server.outbox.deliver(message(payload=b"small"), sub)
    assert [p.payload for p in pair.received()] == [b"small"]  # type: ignore[union-attr]


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="max_inflight must be positive"):
        MqttLimits(max_inflight=0)
    assert dataclasses.replace(MqttLimits(), connect_timeout=1.0).connect_timeout == 1.0
