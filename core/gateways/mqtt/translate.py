"""PUBLISH <-> Message: how MQTT fields map onto the broker's message record.

MQTT 5 user properties are headers, Content Type is ``content_type``, a Response Topic makes
a command (``reply_to``) and Correlation Data without one makes a reply (``correlation_id``).
The few MQTT facts a Message has no field for travel in ``mqtt-*`` headers, which are never
sent back out as user properties.

The Payload Format Indicator and Content Type reach MQTT 5 subscribers as they were published.
Without a Content Type, indicator 1 makes the message's content type UTF-8 text (and indicator 0
or none, octet-stream), which is not sent back as a Content Type. Messages from elsewhere (the
composer, HTTP) go out with indicator 1 when their content type is UTF-8 text and the payload is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from eventdeck.core.broker.message import Kind, Message, new_id
from eventdeck.core.mqtt_codec.encode import encode_properties
from eventdeck.core.mqtt_codec.records import Properties, Publish

QOS_HEADER = "mqtt-qos"
EXPIRY_HEADER = "mqtt-message-expiry"  # seconds, counted from the message timestamp
CORRELATION_ENCODING_HEADER = "mqtt-correlation-encoding"  # "hex" when correlation data was not UTF-8
PAYLOAD_FORMAT_HEADER = "mqtt-payload-format"  # the publisher's Payload Format Indicator, "0" or "1"
RESERVED_HEADERS = frozenset({QOS_HEADER, EXPIRY_HEADER, CORRELATION_ENCODING_HEADER, PAYLOAD_FORMAT_HEADER})
OCTET_STREAM = "application/octet-stream"  # MQTT payloads without a declared type
TEXT = "text/plain; charset=utf-8"  # MQTT 5 payload format indicator 1 without a content type

# Shared read-only header maps for the common case (no user properties): no allocation per message.
QOS_HEADERS = tuple(MappingProxyType({QOS_HEADER: str(qos)}) for qos in range(3))
_QOS_OF = {"0": 0, "1": 1, "2": 2}
_FORMAT_OF = {"0": 0, "1": 1}
_ALIAS_ID = b"\x23"  # the Topic Alias property
_TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})
_EVENT, _COMMAND, _REPLY = Kind.EVENT, Kind.COMMAND, Kind.REPLY


def to_message(packet: Publish, topic: str, publisher: str) -> Message:
    """The broker message for a client's PUBLISH (``topic`` already resolved from any alias).

    The gateway's hot path makes the message of a PUBLISH without properties itself (protocol.py).
    """
    props = packet.properties
    ident = new_id()
    headers = dict(props.user_properties)
    headers[QOS_HEADER] = str(packet.qos)
    if props.message_expiry is not None:
        headers[EXPIRY_HEADER] = str(props.message_expiry)
    if props.payload_format is not None:
        headers[PAYLOAD_FORMAT_HEADER] = str(props.payload_format)
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


def publish_properties(message: Message, expiry: int | None, ids: tuple[int, ...], alias: int = 0) -> bytes:
    """Encoded MQTT 5 properties for delivering ``message`` (a single zero byte if it needs none).

    ``ids``: the matching subscriptions' identifiers; ``alias``: the topic alias to send (0: none).
    """
    headers: Mapping[str, str] = message.headers
    plain = (
        (not headers or headers in QOS_HEADERS)
        and message.reply_to is None
        and message.correlation_id is None
        and message.content_type == OCTET_STREAM
        and expiry is None
        and not ids
    )
    if plain:
        return b"\x03" + _ALIAS_ID + alias.to_bytes(2, "big") if alias else b"\x00"
    correlation = None
    if message.correlation_id is not None:
        if headers.get(CORRELATION_ENCODING_HEADER) == "hex":
            try:
                correlation = bytes.fromhex(message.correlation_id)
            except ValueError:
                correlation = message.correlation_id.encode()
        else:
            correlation = message.correlation_id.encode()
    payload_format, derived_type = _payload_format(message)
    return encode_properties(
        Properties(
            payload_format=payload_format,
            message_expiry=None if expiry is None else max(expiry, 1),
            content_type=None if message.content_type == derived_type else message.content_type,
            response_topic=message.reply_to,
            correlation_data=correlation,
            subscription_ids=ids,
            topic_alias=alias or None,
            user_properties=tuple((k, v) for k, v in headers.items() if k not in RESERVED_HEADERS),
        )
    )


def _payload_format(message: Message) -> tuple[int | None, str]:
    """The Payload Format Indicator to send, and the content type it implies (not sent as Content Type)."""
    headers = message.headers
    published = _FORMAT_OF.get(headers.get(PAYLOAD_FORMAT_HEADER, ""))
    if published is not None:
        return published, TEXT if published else OCTET_STREAM
    if QOS_HEADER in headers:  # from an MQTT publisher that gave no indicator: none goes out either
        return None, OCTET_STREAM
    return (1 if _is_utf8_text(message.content_type, message.payload) else None), OCTET_STREAM


def _is_utf8_text(content_type: str, payload: bytes) -> bool:
    """Whether ``content_type`` says UTF-8 text (text/*, JSON, or charset utf-8) and ``payload`` is."""
    kind, _, parameters = content_type.partition(";")
    kind = kind.strip().lower()
    charset = next(
        (value.strip().strip('"').lower() for name, _, value in (p.partition("=") for p in parameters.split(";"))
         if name.strip().lower() == "charset"),
        None,
    )  # fmt: skip
    if charset is not None:
        textual = charset in _TEXT_CHARSETS
    else:
        textual = kind.startswith("text/") or kind == "application/json" or kind.endswith("+json")
    return textual and is_utf8(payload)


def is_utf8(payload: bytes) -> bool:
    try:
        payload.decode()
    except UnicodeDecodeError:
        return False
    return True


def will_message(topic: str, payload: bytes, qos: int, properties: Properties, publisher: str) -> Message:
    """The broker message a client's will becomes."""
    return to_message(Publish(topic, payload, qos, properties=properties), topic, publisher)
