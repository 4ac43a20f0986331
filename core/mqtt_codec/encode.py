"""Packet records -> bytes: the MQTT 3.1.1/5.0 encoder (sans-io).

``encode`` takes any record; ``encode_publish`` is the hot path, called with the fields and
the already encoded properties so that a delivery builds no intermediate record.
"""

from __future__ import annotations

from typing import Any

from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec.records import (
    BIN,
    BYTE,
    NO_PROPERTIES,
    PAIR,
    PROPERTY_IDS,
    STR,
    U16,
    U32,
    VARINT,
    Ack,
    Auth,
    ConnAck,
    Connect,
    Disconnect,
    Packet,
    PingReq,
    PingResp,
    Properties,
    Publish,
    SubAck,
    Subscribe,
    UnsubAck,
    Unsubscribe,
)


def varint(value: int) -> bytes:
    """The MQTT variable byte integer encoding of ``value`` (0 .. 268,435,455)."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _text(value: str) -> bytes:
    raw = value.encode()
    return len(raw).to_bytes(2, "big") + raw


def _binary(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def encode_properties(properties: Properties) -> bytes:
    """Properties with their length prefix (a single zero byte when there are none)."""
    if properties is NO_PROPERTIES:
        return b"\x00"
    out = bytearray()
    value: Any
    for name, value in zip(Properties._fields, properties, strict=True):
        if value is None or value == ():
            continue
        ident, kind = PROPERTY_IDS[name]
        values: tuple[Any, ...] = value if kind in (PAIR, VARINT) else (value,)
        for item in values:
            out += varint(ident)
            if kind == BYTE:
                out.append(item)
            elif kind == U16:
                out += item.to_bytes(2, "big")
            elif kind == U32:
                out += item.to_bytes(4, "big")
            elif kind == VARINT:
                out += varint(item)
            elif kind == STR:
                out += _text(item)
            elif kind == BIN:
                out += _binary(item)
            else:
                out += _text(item[0]) + _text(item[1])
    return varint(len(out)) + bytes(out)


def _frame(first: int, body: bytes) -> bytes:
    return bytes((first,)) + varint(len(body)) + body


def encode_publish(
    topic: str,
    payload: bytes,
    qos: int = 0,
    retain: bool = False,
    *,
    dup: bool = False,
    packet_id: int = 0,
    properties: bytes = b"",
) -> bytes:
    """The hot-path PUBLISH encoder; ``properties`` is ``encode_properties(...)`` on MQTT 5, else empty."""
    name = topic.encode()
    head = len(name).to_bytes(2, "big") + name
    if qos:
        head += packet_id.to_bytes(2, "big")
    size = len(head) + len(properties) + len(payload)
    first = 0x30 | (qos << 1) | retain | (dup << 3)
    if size < 0x80:
        return bytes((first, size)) + head + properties + payload
    return bytes((first,)) + varint(size) + head + properties + payload


def encode(packet: Packet, version: int = c.MQTT_311) -> bytes:
    """Encode any packet for ``version`` (MQTT 5 fields are left out on 3.1.1)."""
    v5 = version == c.MQTT_5
    match packet:
        case Publish():
            props = encode_properties(packet.properties) if v5 else b""
            return encode_publish(
                packet.topic,
                packet.payload,
                packet.qos,
                packet.retain,
                dup=packet.dup,
                packet_id=packet.packet_id,
                properties=props,
            )
        case Ack():
            body = packet.packet_id.to_bytes(2, "big") + _reason_tail(packet.reason_code, packet.properties, v5)
            return _frame((packet.kind << 4) | (2 if packet.kind == c.PUBREL else 0), body)
        case ConnAck():
            body = bytes((int(packet.session_present), packet.reason_code))
            return _frame(0x20, body + encode_properties(packet.properties) if v5 else body)
        case SubAck():
            props = encode_properties(packet.properties) if v5 else b""
            return _frame(0x90, packet.packet_id.to_bytes(2, "big") + props + bytes(packet.reason_codes))
        case UnsubAck():
            body = packet.packet_id.to_bytes(2, "big")
            if v5:
                body += encode_properties(packet.properties) + bytes(packet.reason_codes)
            return _frame(0xB0, body)
        case PingReq():
            return b"\xc0\x00"
        case PingResp():
            return b"\xd0\x00"
        case Disconnect():
            return _frame(c.DISCONNECT << 4, _reason_tail(packet.reason_code, packet.properties, v5))
        case Auth():
            return _frame(c.AUTH << 4, _reason_tail(packet.reason_code, packet.properties, v5))
        case Subscribe():
            parts = [packet.packet_id.to_bytes(2, "big"), encode_properties(packet.properties) if v5 else b""]
            for req in packet.requests:
                options = req.qos | req.no_local << 2 | req.retain_as_published << 3 | req.retain_handling << 4
                parts.append(_text(req.filter) + bytes((options,)))
            return _frame(0x82, b"".join(parts))
        case Unsubscribe():
            parts = [packet.packet_id.to_bytes(2, "big"), encode_properties(packet.properties) if v5 else b""]
            parts.extend(_text(topic_filter) for topic_filter in packet.filters)
            return _frame(0xA2, b"".join(parts))
        case Connect():
            return _encode_connect(packet)


def _reason_tail(reason_code: int, properties: Properties, v5: bool) -> bytes:
    """The optional MQTT 5 tail of acks, DISCONNECT and AUTH: left out when it says nothing."""
    if not v5 or (reason_code == c.SUCCESS and properties is NO_PROPERTIES):
        return b""
    if properties is NO_PROPERTIES:
        return bytes((reason_code,))
    return bytes((reason_code,)) + encode_properties(properties)


def _encode_connect(packet: Connect) -> bytes:
    v5 = packet.version == c.MQTT_5
    will = packet.will
    flags = packet.clean_start << 1
    if will is not None:
        flags |= 0x04 | will.qos << 3 | will.retain << 5
    if packet.password is not None:
        flags |= 0x40
    if packet.username is not None:
        flags |= 0x80
    body = bytearray(_text("MQTT") + bytes((packet.version, flags)) + packet.keep_alive.to_bytes(2, "big"))
    if v5:
        body += encode_properties(packet.properties)
    body += _text(packet.client_id)
    if will is not None:
        if v5:
            body += encode_properties(will.properties)
        body += _text(will.topic) + _binary(will.payload)
    if packet.username is not None:
        body += _text(packet.username)
    if packet.password is not None:
        body += _binary(packet.password)
    return _frame(0x10, bytes(body))
