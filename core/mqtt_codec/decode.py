"""Bytes -> packet records: an incremental MQTT 3.1.1/5.0 parser (sans-io).

``PacketReader.feed`` takes whatever bytes arrived and returns every complete packet in them;
a length claim above ``max_packet_size`` is refused before anything is buffered for it, so a
bogus huge length never makes the process allocate that much.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec.errors import ProtocolError
from eventdeck.core.mqtt_codec.records import (
    BIN,
    BYTE,
    NO_PROPERTIES,
    PAIR,
    PROPERTY_SPECS,
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
    SubscriptionRequest,
    UnsubAck,
    Unsubscribe,
    Will,
)

_tuple_new = tuple.__new__
# Fixed-header flags every packet type but PUBLISH must carry exactly.
_REQUIRED_FLAGS = dict.fromkeys(range(1, 16), 0) | {c.PUBREL: 2, c.SUBSCRIBE: 2, c.UNSUBSCRIBE: 2}


def _malformed(what: str) -> ProtocolError:
    return ProtocolError(c.MALFORMED_PACKET, f"malformed packet: {what}")


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

    def _advance(self, size: int) -> int:
        """Consume ``size`` bytes; returns where they start."""
        pos = self.pos
        if pos + size > self.end:
            raise _malformed("packet ends early")
        self.pos = pos + size
        return pos

    def u16(self) -> int:
        pos = self._advance(2)
        return (self.data[pos] << 8) | self.data[pos + 1]

    def u32(self) -> int:
        pos = self._advance(4)
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

    def properties(self, packet: str) -> Properties:
        """The properties of ``packet`` (a key of ``ALLOWED``); one that packet may not carry is a protocol error."""
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
                spec = PROPERTY_SPECS.get(ident)
                if spec is None:
                    raise _malformed(f"unknown property 0x{ident:02X}")
                name, kind = spec
                if name not in ALLOWED[packet]:
                    raise ProtocolError(c.PROTOCOL_ERROR, f"protocol error: property {name} is not allowed in {packet}")
                value = _VALUE_READERS[kind](self)
                if kind in (PAIR, VARINT):
                    found[name] = (*found.get(name, ()), value)
                elif name in found:
                    raise ProtocolError(c.PROTOCOL_ERROR, f"protocol error: property {name} given twice")
                else:
                    found[name] = value
        finally:
            self.end = outer_end
        return Properties(**found)

    def pair(self) -> tuple[str, str]:
        return (self.text(), self.text())

    def id_and_properties(self, v5: bool, packet: str) -> tuple[int, Properties]:
        """How SUBSCRIBE, SUBACK and UNSUBSCRIBE start: a non-zero packet id, then (MQTT 5) properties."""
        packet_id = self.u16()
        if packet_id == 0:
            raise _malformed(f"{packet} with packet identifier 0")
        return packet_id, self.properties(packet) if v5 else NO_PROPERTIES

    def reason_and_properties(self, v5: bool, packet: str) -> tuple[int, Properties]:
        """The optional MQTT 5 tail of acks, DISCONNECT and AUTH: a reason code, then properties."""
        reason, properties = c.SUCCESS, NO_PROPERTIES
        if v5 and self.left():
            reason = self.byte()
            if self.left():
                properties = self.properties(packet)
        return reason, properties

    def done(self, what: str) -> None:
        if self.pos != self.end:
            raise _malformed(f"{self.end - self.pos} unexpected bytes at the end of {what}")


_MESSAGE = frozenset({"payload_format", "message_expiry", "content_type", "response_topic", "correlation_data"})
_TO_CONNECT = frozenset({"session_expiry", "auth_method", "auth_data", "receive_maximum", "topic_alias_maximum"})
_REPLY = frozenset({"reason_string", "user_properties"})
# Which properties each packet may carry (MQTT 5.0, table 2-4); any other is a protocol error.
ALLOWED: dict[str, frozenset[str]] = {
    "CONNECT": _TO_CONNECT
    | {"request_problem_info", "request_response_info", "maximum_packet_size", "user_properties"},
    "will": _MESSAGE | {"will_delay", "user_properties"},
    "CONNACK": _TO_CONNECT
    | _REPLY
    | {"assigned_client_id", "server_keep_alive", "response_info", "server_reference", "maximum_qos"}
    | {"retain_available", "maximum_packet_size", "wildcard_available", "subscription_ids_available"}
    | {"shared_available"},
    "PUBLISH": _MESSAGE | {"topic_alias", "subscription_ids", "user_properties"},
    "acknowledgement": _REPLY,  # PUBACK, PUBREC, PUBREL, PUBCOMP
    "SUBSCRIBE": frozenset({"subscription_ids", "user_properties"}),
    "SUBACK": _REPLY,
    "UNSUBSCRIBE": frozenset({"user_properties"}),
    "UNSUBACK": _REPLY,
    "DISCONNECT": _REPLY | {"session_expiry", "server_reference"},
    "AUTH": _REPLY | {"auth_method", "auth_data"},
}


# How each property wire type is read.
_VALUE_READERS: dict[int, Callable[[_Cursor], Any]] = {
    BYTE: _Cursor.byte,
    U16: _Cursor.u16,
    U32: _Cursor.u32,
    VARINT: _Cursor.varint,
    STR: _Cursor.text,
    BIN: _Cursor.binary,
    PAIR: _Cursor.pair,
}


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
    properties = cur.properties("CONNECT") if v5 else NO_PROPERTIES
    client_id = cur.text()
    will = None
    if has_will:
        will_props = cur.properties("will") if v5 else NO_PROPERTIES
        will_topic = cur.text()
        will = Will(will_topic, cur.binary(), will_qos, will_retain, will_props)
    username = cur.text() if has_username else None
    password = cur.binary() if has_password else None
    cur.done("CONNECT")
    return Connect(client_id, level, bool(flags & 0x02), keep_alive, username, password, will, properties)


def _decode_publish(flags: int, data: bytes, start: int, end: int, v5: bool) -> Publish:
    """The PUBLISH whose body is ``data[start:end]`` (read in place: the hot path copies no body)."""
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise _malformed("PUBLISH QoS 3 is not allowed")
    if qos == 0 and flags & 0x08:
        raise _malformed("DUP set on a QoS 0 PUBLISH")
    if end - start < 2:
        raise _malformed("packet ends early")
    pos = start + 2 + ((data[start] << 8) | data[start + 1])
    if pos > end:
        raise _malformed("topic longer than the packet")
    try:
        topic = data[start + 2 : pos].decode()
    except UnicodeDecodeError as exc:
        raise _malformed(f"topic is not valid UTF-8 ({exc.reason})") from None
    packet_id = 0
    if qos:
        if pos + 2 > end:
            raise _malformed("packet ends early")
        packet_id = (data[pos] << 8) | data[pos + 1]
        if packet_id == 0:
            raise _malformed("packet identifier 0")
        pos += 2
    properties = NO_PROPERTIES
    if v5:
        if pos < end and data[pos] == 0:  # the usual case: no properties
            pos += 1
        else:
            cur = _Cursor(data, pos, end)
            properties = cur.properties("PUBLISH")
            pos = cur.pos
    payload = data[pos:end]
    # tuple.__new__: a NamedTuple's own constructor is a Python function, and this runs per message
    return _tuple_new(Publish, (topic, payload, qos, bool(flags & 0x01), bool(flags & 0x08), packet_id, properties))


def _decode_ack(kind: int, body: bytes, v5: bool) -> Ack:
    if len(body) == 2:  # the usual case, one per QoS 1/2 message: just the packet id
        return _tuple_new(Ack, (kind, (body[0] << 8) | body[1], c.SUCCESS, NO_PROPERTIES))
    cur = _Cursor(body)
    packet_id = cur.u16()
    reason, properties = cur.reason_and_properties(v5, "acknowledgement")
    cur.done("acknowledgement")
    return Ack(kind, packet_id, reason, properties)


def _decode_subscribe(body: bytes, v5: bool) -> Subscribe:
    cur = _Cursor(body)
    packet_id, properties = cur.id_and_properties(v5, "SUBSCRIBE")
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
    packet_id, properties = cur.id_and_properties(v5, "SUBACK")
    return SubAck(packet_id, tuple(cur.rest()), properties)


def _decode_unsubscribe(body: bytes, v5: bool) -> Unsubscribe:
    cur = _Cursor(body)
    packet_id, properties = cur.id_and_properties(v5, "UNSUBSCRIBE")
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
    properties = cur.properties("UNSUBACK")
    return UnsubAck(packet_id, tuple(cur.rest()), properties)


def _decode_connack(body: bytes, v5: bool) -> ConnAck:
    cur = _Cursor(body)
    flags = cur.byte()
    if flags & 0xFE:
        raise _malformed("reserved CONNACK flags are set")
    reason = cur.byte()
    properties = cur.properties("CONNACK") if v5 and cur.left() else NO_PROPERTIES
    cur.done("CONNACK")
    return ConnAck(reason, bool(flags & 1), properties)


def _decode_disconnect(body: bytes, v5: bool) -> Disconnect:
    cur = _Cursor(body)
    reason, properties = cur.reason_and_properties(v5, "DISCONNECT")
    cur.done("DISCONNECT")
    return Disconnect(reason, properties)


def _decode_auth(body: bytes, v5: bool) -> Auth:
    if not v5:
        raise _malformed("AUTH exists only in MQTT 5")
    cur = _Cursor(body)
    reason, properties = cur.reason_and_properties(v5, "AUTH")
    cur.done("AUTH")
    return Auth(reason, properties)


def _decode_ping(kind: int, body: bytes) -> PingReq | PingResp:
    if body:
        raise _malformed("PINGREQ/PINGRESP with a body")
    return PingReq() if kind == c.PINGREQ else PingResp()


def decode(first: int, body: bytes, version: int) -> Packet:
    """Decode one packet from its first byte and body; raises ``ProtocolError`` on anything malformed."""
    kind, flags = first >> 4, first & 0x0F
    v5 = version == c.MQTT_5
    if kind == c.PUBLISH:
        return _decode_publish(flags, body, 0, len(body), v5)
    if kind == 0:
        raise _malformed("packet type 0 is reserved")
    if flags != _REQUIRED_FLAGS[kind]:
        raise _malformed(f"wrong fixed-header flags 0x{flags:X} for packet type {kind}")
    match kind:
        case c.PUBACK | c.PUBREC | c.PUBREL | c.PUBCOMP:
            return _decode_ack(kind, body, v5)
        case c.CONNECT:
            return _decode_connect(body)
        case c.SUBSCRIBE:
            return _decode_subscribe(body, v5)
        case c.UNSUBSCRIBE:
            return _decode_unsubscribe(body, v5)
        case c.SUBACK:
            return _decode_suback(body, v5)
        case c.UNSUBACK:
            return _decode_unsuback(body, v5)
        case c.CONNACK:
            return _decode_connack(body, v5)
        case c.PINGREQ | c.PINGRESP:
            return _decode_ping(kind, body)
        case c.DISCONNECT:
            return _decode_disconnect(body, v5)
        case _:
            return _decode_auth(body, v5)


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
                packet: Packet
                if first >> 4 == c.PUBLISH:  # the hot path: straight to the PUBLISH decoder
                    packet = _decode_publish(first & 0x0F, buf, head, end, version == c.MQTT_5)
                else:
                    packet = decode(first, buf[head:end], version)
                packets.append(packet)
                pos = end
                if not version and isinstance(packet, Connect):  # the CONNECT says how to read the rest
                    self.version = packet.version
        except ProtocolError as exc:
            self.error = exc
            self._pending = b""
            return packets
        self._pending = bytes(buf[pos:]) if pos < size else b""
        return packets
