"""MQTT numbers: packet types, property ids, reason codes and protocol levels."""

from __future__ import annotations

MQTT_311 = 4
MQTT_5 = 5

MAX_VARINT = 268_435_455  # the largest value four varint bytes can hold (lengths, ids, sizes)

CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PUBREC = 5
PUBREL = 6
PUBCOMP = 7
SUBSCRIBE = 8
SUBACK = 9
UNSUBSCRIBE = 10
UNSUBACK = 11
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14
AUTH = 15

# MQTT 5 reason codes (the ones this gateway sends or checks).
SUCCESS = 0x00
GRANTED_QOS_1 = 0x01
GRANTED_QOS_2 = 0x02
DISCONNECT_WITH_WILL = 0x04
NO_MATCHING_SUBSCRIBERS = 0x10
NO_SUBSCRIPTION_EXISTED = 0x11
UNSPECIFIED_ERROR = 0x80
MALFORMED_PACKET = 0x81
PROTOCOL_ERROR = 0x82
IMPLEMENTATION_SPECIFIC_ERROR = 0x83
UNSUPPORTED_PROTOCOL_VERSION = 0x84
CLIENT_ID_NOT_VALID = 0x85
BAD_USERNAME_OR_PASSWORD = 0x86
NOT_AUTHORIZED = 0x87
SERVER_BUSY = 0x89
SERVER_SHUTTING_DOWN = 0x8B
BAD_AUTHENTICATION_METHOD = 0x8C
KEEP_ALIVE_TIMEOUT = 0x8D
SESSION_TAKEN_OVER = 0x8E
TOPIC_FILTER_INVALID = 0x8F
TOPIC_NAME_INVALID = 0x90
PACKET_ID_IN_USE = 0x91
PACKET_ID_NOT_FOUND = 0x92
RECEIVE_MAXIMUM_EXCEEDED = 0x93
TOPIC_ALIAS_INVALID = 0x94
PACKET_TOO_LARGE = 0x95
QUOTA_EXCEEDED = 0x97
PAYLOAD_FORMAT_INVALID = 0x99
SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E

# MQTT 3.1.1 CONNACK return codes.
V3_UNACCEPTABLE_PROTOCOL = 0x01
V3_IDENTIFIER_REJECTED = 0x02
V3_SERVER_UNAVAILABLE = 0x03
V3_BAD_CREDENTIALS = 0x04
V3_NOT_AUTHORIZED = 0x05
V3_SUBSCRIBE_FAILURE = 0x80

# What an MQTT 5 CONNACK refusal means for a 3.1.1 client.
V3_CONNACK_CODES = {
    UNSUPPORTED_PROTOCOL_VERSION: V3_UNACCEPTABLE_PROTOCOL,
    CLIENT_ID_NOT_VALID: V3_IDENTIFIER_REJECTED,
    BAD_USERNAME_OR_PASSWORD: V3_BAD_CREDENTIALS,
    NOT_AUTHORIZED: V3_NOT_AUTHORIZED,
    SERVER_BUSY: V3_SERVER_UNAVAILABLE,
}

REASON_NAMES = {
    SUCCESS: "normal disconnection",
    DISCONNECT_WITH_WILL: "disconnect with will message",
    UNSPECIFIED_ERROR: "unspecified error",
    MALFORMED_PACKET: "malformed packet",
    PROTOCOL_ERROR: "protocol error",
    IMPLEMENTATION_SPECIFIC_ERROR: "implementation specific error",
    UNSUPPORTED_PROTOCOL_VERSION: "unsupported protocol version",
    CLIENT_ID_NOT_VALID: "client identifier not valid",
    BAD_USERNAME_OR_PASSWORD: "bad user name or password",
    NOT_AUTHORIZED: "not authorized",
    SERVER_BUSY: "server busy",
    SERVER_SHUTTING_DOWN: "server shutting down",
    BAD_AUTHENTICATION_METHOD: "bad authentication method",
    KEEP_ALIVE_TIMEOUT: "keep alive timeout",
    SESSION_TAKEN_OVER: "session taken over",
    TOPIC_NAME_INVALID: "topic name invalid",
    RECEIVE_MAXIMUM_EXCEEDED: "receive maximum exceeded",
    TOPIC_ALIAS_INVALID: "topic alias invalid",
    PACKET_TOO_LARGE: "packet too large",
    QUOTA_EXCEEDED: "quota exceeded",
}


def reason_name(code: int) -> str:
    """A readable name for a reason code, e.g. for log lines."""
    return REASON_NAMES.get(code, f"reason code 0x{code:02X}")
