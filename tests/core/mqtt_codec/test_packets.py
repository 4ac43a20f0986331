"""The MQTT codec: round trips for every packet on 3.1.1 and 5.0, exact errors, and fuzzed streams."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode, varint

V5_PROPS = mqtt.Properties(
    message_expiry=30,
    content_type="application/json",
    response_topic="replies/me",
    correlation_data=b"\x00\x01",
    user_properties=(("a", "1"), ("a", "2")),
)

COMMON = [
    mqtt.Connect("dev-1", c.MQTT_311, False, 30, "user", b"secret", mqtt.Will("dev/1/status", b"gone", 1, True)),
    mqtt.ConnAck(c.SUCCESS, True),
    mqtt.Publish("a/b", b"payload", 0),
    mqtt.Publish("a/b", b"x" * 300, 1, True, True, 7),
    mqtt.Publish("a/b", b"", 2, packet_id=65535),
    mqtt.Ack(c.PUBACK, 1),
    mqtt.Ack(c.PUBREC, 2),
    mqtt.Ack(c.PUBREL, 3),
    mqtt.Ack(c.PUBCOMP, 4),
    mqtt.Subscribe(5, (mqtt.SubscriptionRequest("a/+", 1), mqtt.SubscriptionRequest("#", 2))),
    mqtt.SubAck(5, (1, 2, 0x80)),
    mqtt.Unsubscribe(6, ("a/+", "#")),
    mqtt.PingReq(),
    mqtt.PingResp(),
    mqtt.Disconnect(),
]
ONLY_V5 = [
    mqtt.Connect(
        "",
        c.MQTT_5,
        True,
        0,
        will=mqtt.Will("w", b"", 0, False, mqtt.Properties(will_delay=5)),
        properties=mqtt.Properties(session_expiry=60, receive_maximum=10),
    ),
    mqtt.ConnAck(
        c.SUCCESS, False, mqtt.Properties(assigned_client_id="auto-1", topic_alias_maximum=8, shared_available=0)
    ),
    mqtt.Publish("t", b"p", 1, packet_id=9, properties=V5_PROPS),
    mqtt.Publish("", b"p", 0, properties=mqtt.Properties(topic_alias=3, subscription_ids=(1, 200_000))),
    mqtt.Ack(c.PUBACK, 1, c.NO_MATCHING_SUBSCRIBERS),
    mqtt.Ack(c.PUBREC, 1, c.QUOTA_EXCEEDED, mqtt.Properties(reason_string="full")),
    mqtt.Subscribe(7, (mqtt.SubscriptionRequest("a", 1, True, True, 2),), mqtt.Properties(subscription_ids=(42,))),
    mqtt.SubAck(7, (c.TOPIC_FILTER_INVALID,), mqtt.Properties(reason_string="bad filter")),
    mqtt.UnsubAck(8, (c.SUCCESS, c.NO_SUBSCRIPTION_EXISTED)),
    mqtt.Disconnect(c.SERVER_SHUTTING_DOWN, mqtt.Properties(reason_string="bye")),
    mqtt.Auth(0x18, mqtt.Properties(auth_method="SCRAM")),
]


def _reader(version: int) -> PacketReader:
    return PacketReader(version=version)


@pytest.mark.parametrize("packet", COMMON, ids=lambda p: type(p).__name__)
@pytest.mark.parametrize("version", [c.MQTT_311, c.MQTT_5])
def test_round_trip(packet: object, version: int) -> None:
    if isinstance(packet, mqtt.Connect):
        packet = packet._replace(version=version)
    data = encode(packet, version)  # type: ignore[arg-type]
    assert _reader(version).feed(data) == [packet]


@pytest.mark.parametrize("packet", ONLY_V5, ids=lambda p: type(p).__name__)
def test_round_trip_v5(packet: object) -> None:
    assert _reader(c.MQTT_5).feed(encode(packet, c.MQTT_5)) == [packet]  # type: ignore[arg-type]


def test_unsuback_on_311_has_no_reason_codes() -> None:
    assert _reader(c.MQTT_311).feed(encode(mqtt.UnsubAck(8, (0,)), c.MQTT_311)) == [mqtt.UnsubAck(8)]


def test_byte_by_byte_feeding_gives_the_same_packets() -> None:
    data = b"".join(encode(p, c.MQTT_5) for p in ONLY_V5[1:])
    reader = _reader(c.MQTT_5)
    got = [packet for i in range(len(data)) for packet in reader.feed(data[i : i + 1])]
    assert got == ONLY_V5[1:]
    assert reader.buffered == 0


def test_connect_sets_the_reader_version() -> None:
    reader = PacketReader()
    packets = reader.feed(encode(ONLY_V5[0], c.MQTT_5) + encode(mqtt.Publish("t", b"", properties=V5_PROPS), c.MQTT_5))
    assert reader.version == c.MQTT_5
    assert packets[1].properties == V5_PROPS  # type: ignore[union-attr]


def _error(data: bytes, version: int = c.MQTT_5, limit: int = 1024) -> tuple[int, str]:
    reader = PacketReader(limit, version)
    assert reader.feed(data) == []
    assert reader.error is not None
    return reader.error.reason_code, str(reader.error)


def test_huge_length_claim_is_refused_before_any_allocation() -> None:
    reader = PacketReader(1024, c.MQTT_5)
    assert reader.feed(b"\x30\xff\xff\xff\x7f" + b"x" * 10) == []
    assert reader.error is not None
    assert reader.error.reason_code == c.PACKET_TOO_LARGE
    assert "268,435,460 bytes exceeds the maximum packet size of 1,024" in str(reader.error)
    assert reader.buffered == 0
    assert reader.feed(b"more") == []  # a broken stream stays broken


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b"\x30\xff\xff\xff\xff\x01", c.MALFORMED_PACKET, "longer than 4 bytes"),
        (b"\x36\x05\x00\x01ax\x00", c.MALFORMED_PACKET, "QoS 3"),
        (b"\x38\x03\x00\x01a", c.MALFORMED_PACKET, "DUP set on a QoS 0"),
        (b"\x30\x04\x00\x02\xff\xfe", c.MALFORMED_PACKET, "not valid UTF-8"),
        (b"\x30\x03\x00\x05a", c.MALFORMED_PACKET, "topic longer than the packet"),
        (b"\x32\x05\x00\x01a\x00\x00", c.MALFORMED_PACKET, "packet identifier 0"),
        (b"\x81\x03\x00\x01\x00", c.MALFORMED_PACKET, "wrong fixed-header flags"),
        (b"\x00\x00", c.MALFORMED_PACKET, "type 0 is reserved"),
        (b"\xc0\x01\x00", c.MALFORMED_PACKET, "PINGREQ/PINGRESP with a body"),
        (b"\x30\x05\x00\x01a\x01\x7f", c.MALFORMED_PACKET, "unknown property 0x7F"),
        (b"\x30\x08\x00\x01a\x04\x01\x01\x01\x01", c.PROTOCOL_ERROR, "given twice"),
        (b"\x82\x03\x00\x01\x00", c.PROTOCOL_ERROR, "SUBSCRIBE without a topic filter"),
        (b"\x82\x07\x00\x00\x00\x00\x01a\x00", c.MALFORMED_PACKET, "SUBSCRIBE with packet identifier 0"),
        (b"\xa2\x06\x00\x00\x00\x00\x01a", c.MALFORMED_PACKET, "UNSUBSCRIBE with packet identifier 0"),
        (b"\x30\x09\x00\x01a\x05\x11\x00\x00\x00\x3c", c.PROTOCOL_ERROR, "session_expiry is not allowed in PUBLISH"),
        (b"\x82\x0a\x00\x01\x03\x23\x00\x01\x00\x01a\x00", c.PROTOCOL_ERROR, "topic_alias is not allowed in SUBSCRIBE"),
        (b"\x82\x07\x00\x01\x00\x00\x01a\x30", c.PROTOCOL_ERROR, "retain handling 3"),
        (b"\x82\x07\x00\x01\x00\x00\x01a\xc0", c.MALFORMED_PACKET, "reserved subscription option"),
        (b"\x40\x01\x00", c.MALFORMED_PACKET, "packet ends early"),
        (b"\x10\x0c\x00\x04MQTT\x06\x02\x00\x3c\x00\x00", c.UNSUPPORTED_PROTOCOL_VERSION, "level 6"),
        (b"\x10\x0c\x00\x04MQTT\x04\x03\x00\x3c\x00\x00", c.MALFORMED_PACKET, "reserved CONNECT flag"),
        (b"\x10\x0c\x00\x04MQTT\x04\x08\x00\x3c\x00\x00", c.MALFORMED_PACKET, "without a will"),
        (b"\x10\x0c\x00\x04MQTX\x04\x02\x00\x3c\x00\x00", c.PROTOCOL_ERROR, "unknown protocol name"),
    ],
)
def test_malformed_packets_name_the_problem(data: bytes, reason: int, words: str) -> None:
    code, message = _error(data)
    assert code == reason
    assert words in message


def test_packets_before_an_error_are_still_returned() -> None:
    reader = PacketReader(1024, c.MQTT_311)
    assert reader.feed(b"\xc0\x00\xc0\x00\x00\x00") == [mqtt.PingReq(), mqtt.PingReq()]
    assert reader.error is not None


@pytest.mark.parametrize("value", [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455])
def test_varint_boundaries(value: int) -> None:
    encoded = varint(value)
    assert len(encoded) == 1 + (value > 127) + (value > 16_383) + (value > 2_097_151)
    # As a remaining length: the reader waits for the body instead of calling the length malformed.
    reader = PacketReader(300_000_000, c.MQTT_311)
    assert reader.feed(b"\xc0" + encoded) == ([mqtt.PingReq()] if value == 0 else [])
    assert reader.error is None


# -- fuzzing ---------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20)
_props = st.builds(
    lambda content_type, response_topic, correlation, expiry, user: mqtt.Properties(
        content_type=content_type,
        response_topic=response_topic,
        correlation_data=correlation,
        message_expiry=expiry,
        user_properties=tuple(user),
    ),
    st.none() | _text,
    st.none() | _text,
    st.none() | st.binary(max_size=16),
    st.none() | st.integers(0, 2**32 - 1),
    st.lists(st.tuples(_text, _text), max_size=3),
)
_publishes = st.builds(
    lambda topic, payload, qos, retain, pid, props: mqtt.Publish(
        topic, payload, qos, retain, False, pid if qos else 0, props
    ),
    _text,
    st.binary(max_size=200),
    st.integers(0, 2),
    st.booleans(),
    st.integers(1, 65535),
    _props,
)


@given(st.lists(_publishes, min_size=1, max_size=5), st.data())
@settings(max_examples=200, deadline=None)
def test_publish_streams_round_trip_in_any_chunking(packets: list[mqtt.Publish], data: st.DataObject) -> None:
    stream = b"".join(encode(p, c.MQTT_5) for p in packets)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader = PacketReader(version=c.MQTT_5)
    got = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got.extend(reader.feed(stream[start:end]))
    assert got == packets
    assert reader.error is None


@given(st.binary(max_size=600), st.sampled_from([0, c.MQTT_311, c.MQTT_5]), st.integers(1, 64))
@settings(max_examples=300, deadline=None)
def test_random_bytes_never_crash_and_never_buffer_past_the_limit(data: bytes, version: int, chunk: int) -> None:
    reader = PacketReader(256, version)
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
        assert reader.buffered <= 256 + chunk
    if reader.error is not None:
        assert reader.error.reason_code in (
            c.MALFORMED_PACKET,
            c.PROTOCOL_ERROR,
            c.PACKET_TOO_LARGE,
            c.UNSUPPORTED_PROTOCOL_VERSION,
        )


@given(st.sampled_from(COMMON + ONLY_V5), st.data())
@settings(max_examples=300, deadline=None)
def test_truncated_and_mutated_packets(packet: object, data: st.DataObject) -> None:
    encoded = encode(packet, c.MQTT_5)  # type: ignore[arg-type]
    cut = data.draw(st.integers(0, len(encoded) - 1))
    reader = PacketReader(version=c.MQTT_5)
    assert reader.feed(encoded[:cut]) == []  # a prefix is just "not yet"
    assert reader.error is None
    index = data.draw(st.integers(0, len(encoded) - 1))
    mutated = bytearray(encoded)
    mutated[index] = data.draw(st.integers(0, 255))
    other = PacketReader(4096, c.MQTT_5)
    other.feed(bytes(mutated))  # either parses, waits or reports a ProtocolError; never raises
