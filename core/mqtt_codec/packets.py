"""MQTT 3.1.1 and 5.0 packets: immutable records, an encoder and an incremental parser (sans-io).

Records are NamedTuples (frozen, slotted, cheap to build: one per PUBLISH on the hot path).
``PacketReader.feed`` takes whatever bytes arrived and returns every complete packet in them;
a length claim above ``max_packet_size`` is refused before anything is buffered for it, so a
bogus huge length never makes the process allocate that much.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec.errors import ProtocolError

MAX_VARINT = 268_435_455  # the largest value four varint bytes can hold


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

_BYTE, _U16, _U32, _VARINT, _STR, _BIN, _PAIR = range(7)
# property id -> (field, wire type); the two repeatable ones are accumulated into tuples.
_PROPERTY_SPECS: dict[int, tuple[str, int]] = {
    0x01: ("payload_format", _BYTE),
    0x02: ("message_expiry", _U32),
    0x03: ("content_type", _STR),
    0x08: ("response_topic", _STR),
    0x09: ("correlation_data", _BIN),
    0x0B: ("subscription_ids", _VARINT),
    0x11: ("session_expiry", _U32),
    0x12: ("assigned_client_id", _STR),
    0x13: ("server_keep_alive", _U16),
    0x15: ("auth_method", _STR),
    0x16: ("auth_data", _BIN),
    0x17: ("request_problem_info", _BYTE),
    0x18: ("will_delay", _U32),
    0x19: ("request_response_info", _BYTE),
    0x1A: ("response_info", _STR),
    0x1C: ("server_reference", _STR),
    0x1F: ("reason_string", _STR),
    0x21: ("receive_maximum", _U16),
    0x22: ("topic_alias_maximum", _U16),
    0x23: ("topic_alias", _U16),
    0x24: ("maximum_qos", _BYTE),
    0x25: ("retain_available", _BYTE),
    0x26: ("user_properties", _PAIR),
    0x27: ("maximum_packet_size", _U32),
    0x28: ("wildcard_available", _BYTE),
    0x29: ("subscription_ids_available", _BYTE),
    0x2A: ("shared_available", _BYTE),
}
_PROPERTY_IDS = {name: (ident, kind) for ident, (name, kind) in _PROPERTY_SPECS.items()}


class Will(NamedTuple):
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = NO_PROPERTIES


class Connect(NamedTuple):
    client_id: str
    version: int = c.MQTT_311
    clean_start: bool = True
    keep_alive: int = 60
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = NO_PROPERTIES


class ConnAck(NamedTuple):
    reason_code: int = c.SUCCESS
    session_present: bool = False
    properties: Properties = NO_PROPERTIES


class Publish(NamedTuple):
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
    filter: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


class Subscribe(NamedTuple):
    packet_id: int
    requests: tuple[SubscriptionRequest, ...]
    properties: Properties = NO_PROPERTIES


class SubAck(NamedTuple):
    packet_id: int
    reason_codes: tuple[int, ...]
    properties: Properties = NO_PROPERTIES


class Unsubscribe(NamedTuple):
    packet_id: int
    filters: tuple[str, ...]
    properties: Properties = NO_PROPERTIES


class UnsubAck(NamedTuple):
    packet_id: int
    reason_codes: tuple[int, ...] = ()
    properties: Properties = NO_PROPERTIES


class PingReq(NamedTuple):
    pass


class PingResp(NamedTuple):
    pass


class Disconnect(NamedTuple):
    reason_code: int = c.SUCCESS
    properties: Properties = NO_PROPERTIES


class Auth(NamedTuple):
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

_ACK_KINDS = (c.PUBACK, c.PUBREC, c.PUBREL, c.PUBCOMP)
# Fixed-header flags every packet type but PUBLISH must carry exactly.
_REQUIRED_FLAGS = dict.fromkeys(range(1, 16), 0) | {c.PUBREL: 2, c.SUBSCRIBE: 2, c.UNSUBSCRIBE: 2}


def _malformed(what: str) -> ProtocolError:
    return ProtocolError(c.MALFORMED_PACKET, f"malformed packet: {what}")


# -- decoding -------------------------------------------------------------


class _Cursor:
    """Reads MQTT data types from one packet body; every over-read is a malformed packet."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def left(self) -> int:
        return self.end - self.pos

    def byte(self) -> int:
        if self.pos >= self.end:
            raise _malformed("packet ends early")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u16(self) -> int:
        pos = self.pos
        if pos + 2 > self.end:
            raise _malformed("packet ends early")
        self.pos = pos + 2
        return (self.data[pos] << 8) | self.data[pos + 1]

    def u32(self) -> int:
        pos = self.pos
        if pos + 4 > self.end:
            raise _malformed("packet ends early")
        self.pos = pos + 4
        return int.from_bytes(self.data[pos : pos + 4], "big")

    def varint(self) -> int:
        value = 0
        for shift in (0, 7, 14, 21):
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
        raise _malformed("variable byte integer longer than 4 bytes")

    def binary(self) -> bytes:
        size = self.u16()
        pos = self.pos
        if pos + size > self.end:
            raise _malformed(f"a field claims {size} bytes but only {self.end - pos} remain")
        self.pos = pos + size
        return self.data[pos : pos + size]

    def text(self) -> str:
        raw = self.binary()
        try:
            value = raw.decode()
        except UnicodeDecodeError as exc:
            raise _malformed(f"string is not valid UTF-8 ({exc.reason})") from None
        if "\0" in value:
            raise _malformed("string contains U+0000")
        return value

    def rest(self) -> bytes:
        data = self.data[self.pos : self.end]
        self.pos = self.end
        return data

    def properties(self) -> Properties:
        size = self.varint()
        if size == 0:
            return NO_PROPERTIES
        end = self.pos + size
        if end > self.end:
            raise _malformed(f"properties claim {size} bytes but only {self.end - self.pos} remain")
        found: dict[str, Any] = {}
        outer_end, self.end = self.end, end
        try:
            while self.pos < end:
                ident = self.varint()
                spec = _PROPERTY_SPECS.get(ident)
                if spec is None:
                    raise _malformed(f"unknown property 0x{ident:02X}")
                name, kind = spec
                value = self._property_value(kind)
                if kind in (_PAIR, _VARINT):
                    found[name] = (*found.get(name, ()), value)
                elif name in found:
                    raise ProtocolError(c.PROTOCOL_ERROR, f"protocol error: property {name} given twice")
                else:
                    found[name] = value
        finally:
            self.end = outer_end
        return Properties(**found)

    def _property_value(self, kind: int) -> Any:
        if kind == _BYTE:
            return self.byte()
        if kind == _U16:
            return self.u16()
        if kind == _U32:
            return self.u32()
        if kind == _VARINT:
            return self.varint()
        if kind == _STR:
            return self.text()
        if kind == _BIN:
            return self.binary()
        return (self.text(), self.text())

    def done(self, what: str) -> None:
        if self.pos != self.end:
            raise _malformed(f"{self.end - self.pos} unexpected bytes at the end of {what}")


def _qos(value: int, what: str) -> int:
    if value > 2:
        raise _malformed(f"{what} QoS 3 is not allowed")
    return value


def _decode_connect(body: bytes) -> Connect:
    cur = _Cursor(body)
    name = cur.text()
    level = cur.byte()
    if name == "MQIsdp" or (name == "MQTT" and level not in (c.MQTT_311, c.MQTT_5)):
        raise ProtocolError(c.UNSUPPORTED_PROTOCOL_VERSION, f"unsupported protocol {name!r} level {level}")
    if name != "MQTT":
        raise ProtocolError(c.PROTOCOL_ERROR, f"protocol error: unknown protocol name {name!r}")
    flags = cur.byte()
    if flags & 0x01:
        raise _malformed("reserved CONNECT flag is set")
    has_will = bool(flags & 0x04)
    will_qos = _qos((flags >> 3) & 0x03, "will")
    will_retain = bool(flags & 0x20)
    if not has_will and (will_qos or will_retain):
        raise _malformed("will QoS or retain set without a will")
    has_password, has_username = bool(flags & 0x40), bool(flags & 0x80)
    if level == c.MQTT_311 and has_password and not has_username:
        raise _malformed("password without user name")
    keep_alive = cur.u16()
    v5 = level == c.MQTT_5
    properties = cur.properties() if v5 else NO_PROPERTIES
    client_id = cur.text()
    will = None
    if has_will:
        will_props = cur.properties() if v5 else NO_PROPERTIES
        will_topic = cur.text()
        will = Will(will_topic, cur.binary(), will_qos, will_retain, will_props)
    username = cur.text() if has_username else None
    password = cur.binary() if has_password else None
    cur.done("CONNECT")
    return Connect(client_id, level, bool(flags & 0x02), keep_alive, username, password, will, properties)


def _decode_publish(flags: int, body: bytes, v5: bool) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise _malformed("PUBLISH QoS 3 is not allowed")
    if qos == 0 and flags & 0x08:
        raise _malformed("DUP set on a QoS 0 PUBLISH")
    size = len(body)
    if size < 2:
        raise _malformed("packet ends early")
    end = 2 + ((body[0] << 8) | body[1])
    if end > size:
        raise _malformed("topic longer than the packet")
    try:
        topic = body[2:end].decode()
    except UnicodeDecodeError as exc:
        raise _malformed(f"topic is not valid UTF-8 ({exc.reason})") from None
    packet_id = 0
    if qos:
        if end + 2 > size:
            raise _malformed("packet ends early")
        packet_id = (body[end] << 8) | body[end + 1]
        if packet_id == 0:
            raise _malformed("packet identifier 0")
        end += 2
    properties = NO_PROPERTIES
    if v5:
        if end < size and body[end] == 0:  # the usual case: no properties
            end += 1
        else:
            cur = _Cursor(body, end)
            properties = cur.properties()
            end = cur.pos
    return Publish(topic, body[end:], qos, bool(flags & 0x01), bool(flags & 0x08), packet_id, properties)


def _decode_ack(kind: int, body: bytes, v5: bool) -> Ack:
    cur = _Cursor(body)
    packet_id = cur.u16()
    reason, properties = c.SUCCESS, NO_PROPERTIES
    if v5 and cur.left():
        reason = cur.byte()
        if cur.left():
            properties = cur.properties()
    cur.done("acknowledgement")
    return Ack(kind, packet_id, reason, properties)


def _decode_subscribe(body: bytes, v5: bool) -> Subscribe:
    cur = _Cursor(body)
    packet_id = cur.u16()
    properties = cur.properties() if v5 else NO_PROPERTIES
    requests = []
    while cur.left():
        topic_filter = cur.text()
        options = cur.byte()
        if options & (0xC0 if v5 else 0xFC):
            raise _malformed("reserved subscription option bits are set")
        retain_handling = (options >> 4) & 0x03
        if retain_handling == 3:
            raise ProtocolError(c.PROTOCOL_ERROR, "protocol error: retain handling 3 is not allowed")
        qos = _qos(options & 0x03, "subscription")
        requests.append(
            SubscriptionRequest(topic_filter, qos, bool(options & 0x04), bool(options & 0x08), retain_handling)
        )
    if not requests:
        raise ProtocolError(c.PROTOCOL_ERROR, "protocol error: SUBSCRIBE without a topic filter")
    return Subscribe(packet_id, tuple(requests), properties)


def _decode_suback(body: bytes, v5: bool) -> SubAck:
    cur = _Cursor(body)
    packet_id = cur.u16()
    properties = cur.properties() if v5 else NO_PROPERTIES
    return SubAck(packet_id, tuple(cur.rest()), properties)


def _decode_unsubscribe(body: bytes, v5: bool) -> Unsubscribe:
    cur = _Cursor(body)
    packet_id = cur.u16()
    properties = cur.properties() if v5 else NO_PROPERTIES
    filters = []
    while cur.left():
        filters.append(cur.text())
    if not filters:
        raise ProtocolError(c.PROTOCOL_ERROR, "protocol error: UNSUBSCRIBE without a topic filter")
    return Unsubscribe(packet_id, tuple(filters), properties)


def _decode_unsuback(body: bytes, v5: bool) -> UnsubAck:
    cur = _Cursor(body)
    packet_id = cur.u16()
    if not v5:
        cur.done("UNSUBACK")
        return UnsubAck(packet_id)
    properties = cur.properties()
    return UnsubAck(packet_id, tuple(cur.rest()), properties)


def _decode_connack(body: bytes, v5: bool) -> ConnAck:
    cur = _Cursor(body)
    flags = cur.byte()
    if flags & 0xFE:
        raise _malformed("reserved CONNACK flags are set")
    reason = cur.byte()
    properties = cur.properties() if v5 and cur.left() else NO_PROPERTIES
    cur.done("CONNACK")
    return ConnAck(reason, bool(flags & 1), properties)


def _decode_reason_only(kind: int, body: bytes, v5: bool) -> Disconnect | Auth:
    cur = _Cursor(body)
    reason, properties = c.SUCCESS, NO_PROPERTIES
    if v5 and cur.left():
        reason = cur.byte()
        if cur.left():
            properties = cur.properties()
    cur.done("DISCONNECT" if kind == c.DISCONNECT else "AUTH")
    return Disconnect(reason, properties) if kind == c.DISCONNECT else Auth(reason, properties)


def decode(first: int, body: bytes, version: int) -> Packet:
    """Decode one packet from its first byte and body; raises ``ProtocolError`` on anything malformed."""
    kind, flags = first >> 4, first & 0x0F
    v5 = version == c.MQTT_5
    if kind == c.PUBLISH:
        return _decode_publish(flags, body, v5)
    if kind == 0:
        raise _malformed("packet type 0 is reserved")
    if flags != _REQUIRED_FLAGS[kind]:
        raise _malformed(f"wrong fixed-header flags 0x{flags:X} for packet type {kind}")
    if kind in _ACK_KINDS:
        return _decode_ack(kind, body, v5)
    if kind == c.CONNECT:
        return _decode_connect(body)
    if kind == c.SUBSCRIBE:
        return _decode_subscribe(body, v5)
    if kind == c.UNSUBSCRIBE:
        return _decode_unsubscribe(body, v5)
    if kind == c.SUBACK:
        return _decode_suback(body, v5)
    if kind == c.UNSUBACK:
        return _decode_unsuback(body, v5)
    if kind == c.CONNACK:
        return _decode_connack(body, v5)
    if kind in (c.PINGREQ, c.PINGRESP):
        if body:
            raise _malformed("PINGREQ/PINGRESP with a body")
        return PingReq() if kind == c.PINGREQ else PingResp()
    if kind == c.AUTH and not v5:
        raise _malformed("AUTH exists only in MQTT 5")
    return _decode_reason_only(kind, body, v5)


class PacketReader:
    """Incremental parser: ``feed`` bytes as they arrive, get back the complete packets.

    It never raises: a broken stream stops parsing and leaves the reason in ``error`` (the
    packets before it are still returned, so they are handled in order first). ``version``
    (0 until known) selects MQTT 5 decoding; set it once CONNECT (or CONNACK) was seen.
    """

    __slots__ = ("_pending", "error", "max_packet_size", "version")

    def __init__(self, max_packet_size: int = 1024 * 1024, version: int = 0) -> None:
        self.max_packet_size = max_packet_size
        self.version = version
        self.error: ProtocolError | None = None
        self._pending = b""

    @property
    def buffered(self) -> int:
        """Bytes held back waiting for the rest of a packet (at most ``max_packet_size``)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[Packet]:
        if self.error is not None:
            return []
        if type(data) is not bytes:
            data = bytes(data)
        buf = self._pending + data if self._pending else data
        size = len(buf)
        limit = self.max_packet_size
        packets: list[Packet] = []
        pos = 0
        try:
            while size - pos >= 2:
                # Fixed header: type byte and a 1-4 byte "remaining length".
                length = buf[pos + 1]
                head = pos + 2
                if length & 0x80:
                    length &= 0x7F
                    shift = 7
                    complete = False
                    while head < size:
                        byte = buf[head]
                        head += 1
                        length |= (byte & 0x7F) << shift
                        if byte < 0x80:
                            complete = True
                            break
                        shift += 7
                        if shift > 21:
                            raise _malformed("remaining length longer than 4 bytes")
                    if not complete:
                        break  # the length itself has not fully arrived yet
                end = head + length
                if end - pos > limit:
                    raise ProtocolError(
                        c.PACKET_TOO_LARGE,
                        f"packet of {end - pos:,} bytes exceeds the maximum packet size of {limit:,} bytes",
                    )
                if end > size:
                    break
                version = self.version
                first = buf[pos]
                packets.append(decode(first, buf[head:end], version))
                pos = end
                if first >> 4 == c.CONNECT and not version:
                    self.version = packets[-1].version  # type: ignore[union-attr]
        except ProtocolError as exc:
            self.error = exc
            self._pending = b""
            return packets
        self._pending = bytes(buf[pos:]) if pos < size else b""
        return packets


# -- encoding -------------------------------------------------------------


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
        ident, kind = _PROPERTY_IDS[name]
        values: tuple[Any, ...] = value if kind in (_PAIR, _VARINT) else (value,)
        for item in values:
            out += varint(ident)
            if kind == _BYTE:
                out.append(item)
            elif kind == _U16:
                out += item.to_bytes(2, "big")
            elif kind == _U32:
                out += item.to_bytes(4, "big")
            elif kind == _VARINT:
                out += varint(item)
            elif kind == _STR:
                out += _text(item)
            elif kind == _BIN:
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
    if isinstance(packet, Publish):
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
    if isinstance(packet, Ack):
        body = packet.packet_id.to_bytes(2, "big")
        if v5 and (packet.reason_code or packet.properties is not NO_PROPERTIES):
            body += bytes((packet.reason_code,))
            if packet.properties is not NO_PROPERTIES:
                body += encode_properties(packet.properties)
        return _frame((packet.kind << 4) | (2 if packet.kind == c.PUBREL else 0), body)
    if isinstance(packet, ConnAck):
        body = bytes((int(packet.session_present), packet.reason_code))
        return _frame(0x20, body + encode_properties(packet.properties) if v5 else body)
    if isinstance(packet, SubAck):
        props = encode_properties(packet.properties) if v5 else b""
        return _frame(0x90, packet.packet_id.to_bytes(2, "big") + props + bytes(packet.reason_codes))
    if isinstance(packet, UnsubAck):
        body = packet.packet_id.to_bytes(2, "big")
        if v5:
            body += encode_properties(packet.properties) + bytes(packet.reason_codes)
        return _frame(0xB0, body)
    if isinstance(packet, PingReq):
        return b"\xc0\x00"
    if isinstance(packet, PingResp):
        return b"\xd0\x00"
    if isinstance(packet, Disconnect | Auth):
        kind = c.DISCONNECT if isinstance(packet, Disconnect) else c.AUTH
        body = b""
        if v5 and (packet.reason_code or packet.properties is not NO_PROPERTIES):
            body = bytes((packet.reason_code,)) + encode_properties(packet.properties)
        return _frame(kind << 4, body)
    if isinstance(packet, Subscribe):
        parts = [packet.packet_id.to_bytes(2, "big"), encode_properties(packet.properties) if v5 else b""]
        for req in packet.requests:
            options = req.qos | req.no_local << 2 | req.retain_as_published << 3 | req.retain_handling << 4
            parts.append(_text(req.filter) + bytes((options,)))
        return _frame(0x82, b"".join(parts))
    if isinstance(packet, Unsubscribe):
        parts = [packet.packet_id.to_bytes(2, "big"), encode_properties(packet.properties) if v5 else b""]
        parts.extend(_text(topic_filter) for topic_filter in packet.filters)
        return _frame(0xA2, b"".join(parts))
    return _encode_connect(packet)


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
