"""MQTT 3.1.1 and 5.0 packets as records: what the decoder returns and the encoder takes.

Records are NamedTuples (frozen, slotted, cheap to build: one per PUBLISH on the hot path).
``decode`` turns bytes into them, ``encode`` turns them into bytes.
"""

from __future__ import annotations

from typing import NamedTuple

from eventdeck.core.mqtt_codec import codes as c


class Properties(NamedTuple):
    """MQTT 5 properties; ``None`` (or empty) means absent."""

    payload_format: int | None = None
    message_expiry: int | None = None
    content_type: str | None = None
    response_topic: str | None = None
    correlation_data: bytes | None = None
    subscription_ids: tuple[int, ...] = ()
    session_expiry: int | None = None
    assigned_client_id: str | None = None
    server_keep_alive: int | None = None
    auth_method: str | None = None
    auth_data: bytes | None = None
    request_problem_info: int | None = None
    will_delay: int | None = None
    request_response_info: int | None = None
    response_info: str | None = None
    server_reference: str | None = None
    reason_string: str | None = None
    receive_maximum: int | None = None
    topic_alias_maximum: int | None = None
    topic_alias: int | None = None
    maximum_qos: int | None = None
    retain_available: int | None = None
    user_properties: tuple[tuple[str, str], ...] = ()
    maximum_packet_size: int | None = None
    wildcard_available: int | None = None
    subscription_ids_available: int | None = None
    shared_available: int | None = None


NO_PROPERTIES = Properties()

# Wire types of property values (plain ints: compared once per property on the decode path).
BYTE, U16, U32, VARINT, STR, BIN, PAIR = range(7)
# property id -> (field, wire type); the two repeatable ones are accumulated into tuples.
PROPERTY_SPECS: dict[int, tuple[str, int]] = {
    0x01: ("payload_format", BYTE),
    0x02: ("message_expiry", U32),
    0x03: ("content_type", STR),
    0x08: ("response_topic", STR),
    0x09: ("correlation_data", BIN),
    0x0B: ("subscription_ids", VARINT),
    0x11: ("session_expiry", U32),
    0x12: ("assigned_client_id", STR),
    0x13: ("server_keep_alive", U16),
    0x15: ("auth_method", STR),
    0x16: ("auth_data", BIN),
    0x17: ("request_problem_info", BYTE),
    0x18: ("will_delay", U32),
    0x19: ("request_response_info", BYTE),
    0x1A: ("response_info", STR),
    0x1C: ("server_reference", STR),
    0x1F: ("reason_string", STR),
    0x21: ("receive_maximum", U16),
    0x22: ("topic_alias_maximum", U16),
    0x23: ("topic_alias", U16),
    0x24: ("maximum_qos", BYTE),
    0x25: ("retain_available", BYTE),
    0x26: ("user_properties", PAIR),
    0x27: ("maximum_packet_size", U32),
    0x28: ("wildcard_available", BYTE),
    0x29: ("subscription_ids_available", BYTE),
    0x2A: ("shared_available", BYTE),
}
PROPERTY_IDS = {name: (ident, kind) for ident, (name, kind) in PROPERTY_SPECS.items()}


class Will(NamedTuple):
    """The message CONNECT asks the server to publish if the client goes away without DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = NO_PROPERTIES


class Connect(NamedTuple):
    """CONNECT: the first packet of a client; ``version`` is the protocol level (4: 3.1.1, 5: 5.0)."""

    client_id: str
    version: int = c.MQTT_311
    clean_start: bool = True
    keep_alive: int = 60
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = NO_PROPERTIES


class ConnAck(NamedTuple):
    """CONNACK: the server's answer to CONNECT."""

    reason_code: int = c.SUCCESS
    session_present: bool = False
    properties: Properties = NO_PROPERTIES


class Publish(NamedTuple):
    """PUBLISH, either way; ``packet_id`` is 0 at QoS 0."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int = 0
    properties: Properties = NO_PROPERTIES


class Ack(NamedTuple):
    """PUBACK, PUBREC, PUBREL or PUBCOMP (``kind``): the same shape on the wire."""

    kind: int
    packet_id: int
    reason_code: int = c.SUCCESS
    properties: Properties = NO_PROPERTIES


class SubscriptionRequest(NamedTuple):
    """One topic filter of a SUBSCRIBE, with its MQTT 5 subscription options."""

    filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


class Subscribe(NamedTuple):
    """SUBSCRIBE: one or more topic filters."""

    packet_id: int
    requests: tuple[SubscriptionRequest, ...]
    properties: Properties = NO_PROPERTIES


class SubAck(NamedTuple):
    """SUBACK: the granted QoS or a failure code per requested filter."""

    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = NO_PROPERTIES


class Unsubscribe(NamedTuple):
    """UNSUBSCRIBE: one or more topic filters."""

    packet_id: int
    filters: tuple[str, ...]
    properties: Properties = NO_PROPERTIES


class UnsubAck(NamedTuple):
    """UNSUBACK: a reason code per filter on MQTT 5, none on 3.1.1."""

    packet_id: int
    reason_codes: tuple[int, ...] = ()
    properties: Properties = NO_PROPERTIES


class PingReq(NamedTuple):
    """PINGREQ: the client is alive."""


class PingResp(NamedTuple):
    """PINGRESP: the answer to PINGREQ."""


class Disconnect(NamedTuple):
    """DISCONNECT, either way (the server sends one only on MQTT 5)."""

    reason_code: int = c.SUCCESS
    properties: Properties = NO_PROPERTIES


class Auth(NamedTuple):
    """AUTH (MQTT 5 enhanced authentication, which the gateway refuses)."""

    reason_code: int = c.SUCCESS
    properties: Properties = NO_PROPERTIES


Packet = (
    Connect
    | ConnAck
    | Publish
    | Ack
    | Subscribe
    | SubAck
    | Unsubscribe
    | UnsubAck
    | PingReq
    | PingResp
    | Disconnect
    | Auth
)
