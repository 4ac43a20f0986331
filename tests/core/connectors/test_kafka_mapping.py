"""Kafka records <-> mirror messages, consumer groups -> Subscribers rows, and what users type to read again."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import pytest

from eventdeck.core import InvalidChannel, Kind, State
from eventdeck.core.connectors.backend import Outgoing
from eventdeck.core.connectors.kafka_groups import ConsumerGroup, PartitionLag, as_subscriptions
from eventdeck.core.connectors.kafka_records import channel_to_topic, incoming, outgoing, topic_to_channel
from eventdeck.core.connectors.topic_reader import ReadStart, parse_start_offset, parse_start_time


class Record(NamedTuple):
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


def test_topics_and_channels() -> None:
    assert topic_to_channel("orders.created") == "orders/created"
    assert channel_to_topic("orders/created") == "orders.created"
    assert channel_to_topic("a_b-c.1") == "a_b-c.1"
    for bad in ("", "a b", "a/+", "é", ".", "x" * 250):
        with pytest.raises(InvalidChannel, match="Kafka topics are 1-249 letters"):
            channel_to_topic(bad)


def test_a_record_becomes_a_message_with_its_place_in_the_log() -> None:
    plain = incoming(2, Record(41, 1700000000123, b"k", b"{}", (("trace", b"t1"), ("raw", b"\xff\x00"))))
    assert plain.headers == {
        "kafka-partition": "2",
        "kafka-offset": "41",
        "kafka-timestamp": "1700000000123",
        "kafka-key": "k",
        "trace": "t1",
        "raw": "ff00",  # binary values as hex
    }
    assert (plain.kind, plain.content_type, plain.correlation_id, plain.reply_to) == (Kind.EVENT, None, None, None)
    tombstone = incoming(0, Record(1, 0, b"k", None))
    assert tombstone.headers["kafka-tombstone"] == "yes"

    command = incoming(0, Record(0, 0, None, b"", (("kafka_replyTopic", b"svc.replies"), ("kafka_correlationId", b"c1"),
                                                 ("content-type", b"text/plain"))))  # fmt: skip
    assert (command.kind, command.reply_to, command.correlation_id, command.content_type) == (
        Kind.COMMAND, "svc/replies", "c1", "text/plain"
    )  # fmt: skip
    reply = incoming(0, Record(0, 0, None, b"", (("kafka_correlationId", b"c1"),)))
    assert (reply.kind, reply.correlation_id, reply.reply_to) == (Kind.REPLY, "c1", None)


def test_a_message_goes_out_with_its_key_and_headers_but_not_the_old_records_place() -> None:
    headers = {"kafka-key": "door-1", "kafka-partition": "3", "kafka-offset": "9", "kafka-timestamp": "1", "site": "n"}
    key, sent = outgoing(Outgoing(headers=headers))
    assert key == b"door-1"
    assert sent == [("site", b"n"), ("content-type", b"application/json")]
    key, sent = outgoing(Outgoing(headers={"content-type": "text/csv"}, correlation_id="c1", reply_to="app/replies"))
    assert key is None
    assert sent == [("content-type", b"text/csv"), ("kafka_replyTopic", b"app.replies"), ("kafka_correlationId", b"c1")]


def test_consumer_groups_as_subscribers_rows() -> None:
    busy = ConsumerGroup("billing", "Stable", ("billing-1", "billing-2"), (PartitionLag("orders", 0, 7, 10),
                                                                          PartitionLag("orders", 1, 5, 5)))  # fmt: skip
    empty = ConsumerGroup("audit", "Empty", (), (PartitionLag("orders.created", 0, 2, 9),))
    fresh = ConsumerGroup("new", "Stable", ("n-1",), ())
    unreadable = ConsumerGroup("secret", "Stable", ("s-1",), (), "offsets not readable: denied")
    assert busy.lag == 3
    rows = {row.name: row for row in as_subscriptions([busy, empty, fresh, unreadable])}
    first = rows["billing (2 members) · orders[0]"]
    assert (first.pattern, first.state, first.durable, first.pending, first.acked) == (
        "orders",
        State.ACTIVE,
        True,
        3,
        7,
    )
    assert rows["billing (2 members) · orders[1]"].pending == 0
    away = rows["audit (0 members) · orders.created[0]"]
    assert (away.pattern, away.state, away.pending) == ("orders/created", State.AWAY, 7)  # offsets outlive members
    assert rows["new (1 member)"].pattern == "(nothing committed yet)"
    assert rows["secret (1 member)"].pattern == "(offsets not readable: denied)"


def test_where_to_read_again_from_as_typed() -> None:
    assert parse_start_offset(" 1500 ") == ReadStart(offset=1500)
    assert parse_start_offset("2:1500") == ReadStart(offset=1500, partition=2)
    assert parse_start_time("15m", now=10_000.0) == ReadStart(time=10_000.0 - 900)
    assert parse_start_time("2 h ago", now=10_000.0) == ReadStart(time=10_000.0 - 7200)
    assert parse_start_time("1.5d", now=200_000.0) == ReadStart(time=200_000.0 - 129_600)
    local = parse_start_time("2026-03-01 14:30")
    assert local.time == datetime(2026, 3, 1, 14, 30).timestamp()
    assert parse_start_time("2026-03-01T14:30:00+00:00").time == 1772375400.0
    for typed, words in (("soon", "cannot read 'soon' as a time; type a date and time"),
                         ("-3", "an offset is 0 or more, got -3; type an offset for every partition"),
                         ("x:3", "cannot read 'x:3' as an offset"),
                         ("1:2:3", "cannot read '1:2:3' as an offset")):  # fmt: skip
        parse = parse_start_time if typed == "soon" else parse_start_offset
        with pytest.raises(ValueError, match=words):
            parse(typed)
    with pytest.raises(ValueError, match="not both"):
        ReadStart(offset=1, time=2.0)
    assert ReadStart(offset=5, partition=1).describe() == "from offset 5 of partition 1"
    assert ReadStart().describe() == "from the beginning"
