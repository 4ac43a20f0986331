"""PUBLISH <-> Message: how MQTT fields map onto the broker's message record.

MQTT 5 user properties are headers, Content Type is ``content_type``, a Response Topic makes
a command (``reply_to``) and Correlation Data without one makes a reply (``correlation_id``).
The few MQTT facts a Message has no field for travel in ``mqtt-*`` headers, which are never
sent back out as user properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from eventdeck.core.broker.message import Kind, Message, new_id
from eventdeck.core.mqtt_codec.encode import encode_properties
from eventdeck.core.mqtt_codec.records import NO_PROPERTIES, Properties, Publish

QOS_HEADER = "mqtt-qos"
EXPIRY_HEADER = "mqtt-message-expiry"  # seconds, counted from the message timestamp
CORRELATION_ENCODING_HEADER = "mqtt-correlation-encoding"  # "hex" when correlation data was not UTF-8
RESERVED_HEADERS = frozenset({QOS_HEADER, EXPIRY_HEADER, CORRELATION_ENCODING_HEADER})
OCTET_STREAM = "application/octet-stream"  # MQTT payloads without a declared type
TEXT = "text/plain; charset=utf-8"  # MQTT 5 payload format indicator 1 without a content type

# Shared read-only header maps for the common case (no user properties): no allocation per message.
QOS_HEADERS = tuple(MappingProxyType({QOS_HEADER: str(qos)}) for qos in range(3))
_QOS_OF = {"0": 0, "1": 1, "2": 2}
_tuple_new = tuple.__new__
_EVENT, _COMMAND, _REPLY = Kind.EVENT, Kind.COMMAND, Kind.REPLY


def to_message(packet: Publish, topic: str, publisher: str) -> Message:
    """The broker message for a client's PUBLISH (``topic`` already resolved from any alias)."""
    ident = new_id()
    props = packet.properties
    if props is NO_PROPERTIES:
        return _tuple_new(
            Message,
            (
                ident,
                topic,
                _EVENT,
                packet.payload,
                OCTET_STREAM,
                QOS_HEADERS[packet.qos],
                ident / 1e9,
                publisher,
                None,
                None,
            ),
        )
    headers = dict(props.user_properties)
    headers[QOS_HEADER] = str(packet.qos)
    if props.message_expiry is not None:
        headers[EXPIRY_HEADER] = str(props.message_expiry)
    correlation_id = None
    if props.correlation_data is not None:
        correlation_id, hexed = _correlation_text(props.correlation_data)
        if hexed:
            headers[CORRELATION_ENCODING_HEADER] = "hex"
    if props.response_topic is not None:
        kind = _COMMAND
    elif correlation_id is not None:
        kind = _REPLY
    else:
        kind = _EVENT
    content_type = props.content_type or (TEXT if props.payload_format == 1 else OCTET_STREAM)
    return Message(
        ident,
        topic,
        kind,
        packet.payload,
        content_type,
        MappingProxyType(headers),
        ident / 1e9,
        publisher,
        correlation_id,
        props.response_topic,
    )


def _correlation_text(data: bytes) -> tuple[str, bool]:
    """Correlation data as text: UTF-8 when it is, else hex (and True to say so)."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return data.hex(), True
    if text.isprintable():
        return text, False
    return data.hex(), True


def message_qos(message: Message) -> int:
    """The QoS an MQTT publisher used; 2 (no cap) for messages from anywhere else."""
    return _QOS_OF.get(message.headers.get(QOS_HEADER, "2"), 2)


def remaining_expiry(message: Message, now: float) -> int | None:
    """Seconds left of an MQTT 5 message expiry; None if it never expires, negative once expired."""
    raw = message.headers.get(EXPIRY_HEADER)
    if raw is None:
        return None
    try:
        interval = int(raw)
    except ValueError:
        return None
    return interval - int(now - message.timestamp)


def publish_properties(message: Message, expiry: int | None, subscription_id: int | None) -> bytes:
    """Encoded MQTT 5 properties for delivering ``message`` (a single zero byte if it needs none)."""
    headers: Mapping[str, str] = message.headers
    plain = (
        (not headers or headers in QOS_HEADERS)
        and message.reply_to is None
        and message.correlation_id is None
        and message.content_type == OCTET_STREAM
        and expiry is None
        and subscription_id is None
    )
    if plain:
        return b"\x00"
    correlation = None
    if message.correlation_id is not None:
        if headers.get(CORRELATION_ENCODING_HEADER) == "hex":
            try:
                correlation = bytes.fromhex(message.correlation_id)
            except ValueError:
                correlation = message.correlation_id.encode()
        else:
            correlation = message.correlation_id.encode()
    return encode_properties(
        Properties(
            message_expiry=None if expiry is None else max(expiry, 1),
            content_type=None if message.content_type == OCTET_STREAM else message.content_type,
            response_topic=message.reply_to,
            correlation_data=correlation,
            subscription_ids=() if subscription_id is None else (subscription_id,),
            user_properties=tuple((k, v) for k, v in headers.items() if k not in RESERVED_HEADERS),
        )
    )


def will_message(topic: str, payload: bytes, qos: int, properties: Properties, publisher: str) -> Message:
    """The broker message a client's will becomes."""
    return to_message(Publish(topic, payload, qos, properties=properties), topic, publisher)
