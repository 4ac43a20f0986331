"""Kafka records as mirror messages and back: topic names, keys, headers and the request/reply headers.

Topic names use ``.`` between words (Kafka allows only letters, digits, ``.``, ``_`` and ``-``);
the mirror shows them with ``/`` (``orders.created`` <-> ``orders/created``), like AMQP and NATS, so
the channel tree works. Every mirrored record carries ``kafka-partition``, ``kafka-offset``,
``kafka-timestamp`` (ms), ``kafka-key`` when it has a key and ``kafka-tombstone: yes`` when its value
is null (a delete marker); its own headers follow (binary values as hex). Publishing takes the key
from a ``kafka-key`` header; the other ``kafka-*`` headers describe a record already written (a
replayed recording carries them) and are not sent again.
Commands use the headers of Spring for Apache Kafka's ``ReplyingKafkaTemplate``, so its
``@SendTo`` responders answer them: ``kafka_replyTopic`` names the reply topic and
``kafka_correlationId`` comes back on the reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from eventdeck.core.broker.errors import InvalidChannel
from eventdeck.core.broker.message import Kind
from eventdeck.core.connectors.backend import Outgoing

KEY = "kafka-key"
PARTITION = "kafka-partition"
OFFSET = "kafka-offset"
TIMESTAMP = "kafka-timestamp"
TOMBSTONE = "kafka-tombstone"
NOT_SENT = frozenset({KEY, PARTITION, OFFSET, TIMESTAMP, TOMBSTONE})  # the record's own fields, not headers
CONTENT_TYPE = "content-type"
REPLY_TOPIC = "kafka_replyTopic"
CORRELATION_ID = "kafka_correlationId"
_LEGAL_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")
TOPIC_RULE = "Kafka topics are 1-249 letters, digits, '.', '_' or '-' ('/' in a channel becomes '.')"


def topic_to_channel(topic: str) -> str:
    return topic.replace(".", "/")


def channel_to_topic(channel: str) -> str:
    """The topic a channel publishes to; ``InvalidChannel`` when Kafka would refuse its name."""
    topic = channel.replace("/", ".")
    if not _LEGAL_TOPIC.fullmatch(topic) or topic in (".", ".."):
        raise InvalidChannel(channel, TOPIC_RULE)
    return topic


def header_text(value: bytes | None) -> str:
    if value is None:
        return ""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.hex()


class Incoming(NamedTuple):
    """What a record means for the mirror, besides its channel and payload."""

    headers: dict[str, str]
    kind: Kind
    content_type: str | None
    correlation_id: str | None
    reply_to: str | None


class Record(Protocol):
    """What the mirror reads of a consumed record (aiokafka's ``ConsumerRecord``)."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]]


def incoming(partition: int, record: Record) -> Incoming:
    fields = {PARTITION: str(partition), OFFSET: str(record.offset), TIMESTAMP: str(record.timestamp)}
    if record.key is not None:
        fields[KEY] = header_text(record.key)
    if record.value is None:  # a delete marker in a compacted topic, not an empty value
        fields[TOMBSTONE] = "yes"
    headers = record.headers
    for name, value in headers:
        fields[name] = header_text(value)
    if not headers:
        return Incoming(fields, Kind.EVENT, None, None, None)
    reply_topic = fields.get(REPLY_TOPIC)
    correlation = fields.get(CORRELATION_ID)
    if reply_topic is not None:
        kind = Kind.COMMAND
    elif correlation is not None:
        kind = Kind.REPLY
    else:
        kind = Kind.EVENT
    reply_to = topic_to_channel(reply_topic) if reply_topic is not None else None
    return Incoming(fields, kind, fields.get(CONTENT_TYPE), correlation, reply_to)


class Wire(NamedTuple):
    """The key and headers of a record to send."""

    key: bytes | None
    headers: list[tuple[str, bytes]]


def outgoing(options: Outgoing) -> Wire:
    """The key and headers a message goes out with (see the module docstring)."""
    given: Mapping[str, str] = options.headers or {}
    key = given.get(KEY)
    headers = [(name, value.encode()) for name, value in given.items() if name not in NOT_SENT]
    if CONTENT_TYPE not in given:
        headers.append((CONTENT_TYPE, options.content_type.encode()))
    if options.reply_to is not None:
        headers.append((REPLY_TOPIC, channel_to_topic(options.reply_to).encode()))
    if options.correlation_id is not None:
        headers.append((CORRELATION_ID, options.correlation_id.encode()))
    return Wire(key.encode() if key is not None else None, headers)
