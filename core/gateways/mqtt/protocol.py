"""One MQTT connection as a sans-io state machine: bytes in, bytes and broker actions out.

``receive_data`` parses what arrived, answers what it can by itself (CONNACK, PUBACK, SUBACK,
PINGRESP ...) into the outgoing buffer and returns the actions the server must carry out on
the broker, in order (``actions.py``). ``outbox`` turns broker messages into PUBLISH packets for
this client (``outbox.py``). No sockets, no event loop: tests pump bytes through it.
"""

from __future__ import annotations

import enum
import hmac
import secrets
import time
from collections.abc import Mapping

from eventdeck.core.broker.channels import validate_channel, validate_pattern
from eventdeck.core.broker.errors import InvalidChannel
from eventdeck.core.broker.message import Kind, Message, last_id
from eventdeck.core.gateways.mqtt import overlap
from eventdeck.core.gateways.mqtt.actions import (
    Action,
    ConnectionClosed,
    PublishMany,
    PublishToBroker,
    SessionStarted,
    SubscribeInBroker,
    UnsubscribeInBroker,
)
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.outbox import Outbox
from eventdeck.core.gateways.mqtt.session import ClientSubscription, SessionState, split_shared
from eventdeck.core.gateways.mqtt.translate import OCTET_STREAM, QOS_HEADERS, is_utf8, to_message, will_message
from eventdeck.core.gateways.policy import GatewayPolicy
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode

_PUBACK, _PUBREC, _PUBREL = c.PUBACK, c.PUBREC, c.PUBREL
_WITH_REASON = (mqtt.ConnAck, mqtt.Ack, mqtt.SubAck, mqtt.UnsubAck, mqtt.Disconnect)  # may carry a Reason String


class ConnState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


_Publish, _Ack, _PingReq = mqtt.Publish, mqtt.Ack, mqtt.PingReq
_PUBACK_HEAD, _PUBREC_HEAD = b"\x40\x02", b"\x50\x02"  # a successful PUBACK/PUBREC before its packet id
_CONNECTED, _CLOSED = ConnState.CONNECTED, ConnState.CLOSED
_NO_PROPERTIES, _EVENT = mqtt.NO_PROPERTIES, Kind.EVENT
_tuple_new = tuple.__new__  # builds a NamedTuple without its Python-level constructor (per message)
_time_ns = time.time_ns


class MqttServerProtocol:
    """Server side of one MQTT 3.1.1 or 5.0 connection."""

    def __init__(
        self,
        sessions: dict[str, SessionState],
        limits: MqttLimits | None = None,
        *,
        credentials: Mapping[str, str] | None = None,
        policy: GatewayPolicy | None = None,
        busy: bool = False,
    ) -> None:
        self.limits = limits or MqttLimits()
        self.sessions = sessions
        self.credentials = credentials
        self._policies = policy or GatewayPolicy(lambda _correlation_id: False)
        self.policy = self._policies.client(None, "")  # the client's own, once CONNECT names it
        self.busy = busy
        self.state = ConnState.CONNECTING
        self.version = 0
        self.client_id = ""
        self.keep_alive = 0
        self.session: SessionState | None = None
        self.messages_in = 0
        self.close_reason = ""
        self._reader = PacketReader(self.limits.max_packet_size)
        self._out: list[bytes] = []
        self.outbox = Outbox(self._out, self.limits)
        self._actions: list[Action] = []
        self._will: mqtt.Will | None = None
        self._aliases: dict[int, str] = {}
        self._unflushed_acks = 0  # PUBACKs for QoS 1 PUBLISHes not yet handed to the socket
        # The last read held more than acks that end an exchange (PUBACK, PUBCOMP) and pings: its answers
        # (PUBACK, PUBREC, PUBREL, SUBACK ...) promise what a durable store must have committed first. Losing
        # the effect of the others to a crash only makes the server send again, which QoS 1 and 2 allow.
        self.promises = False
        self._clock = 0  # nanoseconds since the epoch when the bytes being handled arrived
        self._v5 = False

    def __repr__(self) -> str:
        return f"<MqttServerProtocol {self.client_id!r} {self.state.value} v{self.version}>"

    @property
    def closed(self) -> bool:
        return self.state is ConnState.CLOSED

    @property
    def messages_out(self) -> int:
        return self.outbox.messages_out

    # -- bytes in and out ------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Action]:
        """Handle bytes from the client; return what the broker must do, in order."""
        if self.state is ConnState.CLOSED:
            return []
        reader = self._reader
        on_publish = self._on_publish
        outbox = self.outbox
        self._clock = _time_ns()  # the time of arrival of every message in ``data``
        promises = False
        for packet in reader.feed(data):
            if type(packet) is _Publish and self.state is _CONNECTED:  # the hot paths
                on_publish(packet)
                promises = True
            elif type(packet) is _Ack and packet.kind != _PUBREL and self.state is _CONNECTED:
                outbox.acknowledged(packet)
                promises = promises or packet.kind == _PUBREC  # its PUBREL says the server stored it
            else:
                self._handle(packet)
                promises = promises or type(packet) is not _PingReq
            if self.state is _CLOSED:  # nothing after the packet that ended the connection counts
                break
        else:
            if reader.error is not None:
                self._fail(reader.error.reason_code, str(reader.error))
        self.promises = promises
        return self._take_actions()

    def data_to_send(self) -> bytes:
        """Everything encoded since the last call, as one write."""
        out = self._out
        self._unflushed_acks = 0
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def close(self, reason_code: int, detail: str = "") -> list[Action]:
        """The server ends the connection (shutdown, take-over, keep-alive timeout)."""
        if self.state is not ConnState.CLOSED:
            self._fail(reason_code, detail or c.reason_name(reason_code))
        return self._take_actions()

    def connection_lost(self, detail: str = "connection lost") -> list[Action]:
        """The socket closed without DISCONNECT: publish the will, as for any abnormal end."""
        if self.state is not ConnState.CLOSED:
            self._end(c.UNSPECIFIED_ERROR, detail, publish_will=True)
        return self._take_actions()

    def _take_actions(self) -> list[Action]:
        actions = self._actions
        self._actions = []
        return actions

    def _send(self, packet: mqtt.Packet) -> None:
        data = encode(packet, self.version)
        if len(data) > self.outbox.max_size and isinstance(packet, _WITH_REASON):
            # MQTT 5 3.1.2.11.4: drop the Reason String and User Properties rather than exceed the client's limit.
            props = packet.properties._replace(reason_string=None, user_properties=())
            data = encode(packet._replace(properties=props), self.version)
        self._out.append(data)

    # -- packets from the client --------------------------------------------------

    def _handle(self, packet: mqtt.Packet) -> None:
        if self.state is ConnState.CONNECTING:
            match packet:
                case mqtt.Connect():
                    self._on_connect(packet)
                case _:
                    self._end(c.PROTOCOL_ERROR, f"{type(packet).__name__} before CONNECT", publish_will=False)
            return
        match packet:
            case mqtt.Publish():
                self._on_publish(packet)
            case mqtt.Ack():
                if packet.kind == _PUBREL:
                    self._on_pubrel(packet.packet_id)
                else:
                    self.outbox.acknowledged(packet)
            case mqtt.PingReq():
                self._out.append(b"\xd0\x00")
            case mqtt.Subscribe():
                self._on_subscribe(packet)
            case mqtt.Unsubscribe():
                self._on_unsubscribe(packet)
            case mqtt.Disconnect():
                self._on_disconnect(packet)
            case mqtt.Connect():
                self._fail(c.PROTOCOL_ERROR, "second CONNECT on one connection")
            case mqtt.Auth():
                self._fail(c.PROTOCOL_ERROR, "enhanced authentication (AUTH) is not supported")
            case _:
                self._fail(c.PROTOCOL_ERROR, f"a client must not send {type(packet).__name__}")

    def _on_connect(self, packet: mqtt.Connect) -> None:
        self.version = packet.version
        self._reader.version = packet.version
        v5 = self._v5 = packet.version == c.MQTT_5
        props = packet.properties
        limits = self.limits
        if self.busy:
            return self._refuse(c.SERVER_BUSY, f"too many connections (limit {limits.max_connections})")
        if props.auth_method is not None:
            return self._refuse(c.BAD_AUTHENTICATION_METHOD, f"authentication method {props.auth_method!r}")
        if self.credentials is not None and not self._credentials_ok(packet):
            return self._refuse(c.BAD_USERNAME_OR_PASSWORD, f"bad user name or password for {packet.username!r}")
        if props.receive_maximum == 0 or props.maximum_packet_size == 0:
            return self._fail(c.PROTOCOL_ERROR, "Receive Maximum and Maximum Packet Size must not be 0")
        client_id = packet.client_id
        assigned = None
        if not client_id:
            if not v5 and not packet.clean_start:
                return self._refuse(c.CLIENT_ID_NOT_VALID, "an empty client id needs a clean session")
            client_id = assigned = f"auto-{secrets.token_hex(8)}"
        will = packet.will
        if will is not None:
            try:
                validate_channel(will.topic)
            except InvalidChannel as exc:
                return self._refuse(c.TOPIC_NAME_INVALID, f"will topic: {exc}")
        self.policy = self._policies.client(packet.username, client_id)
        if will is not None and (refusal := self.policy.publish_refusal(will.topic, Kind.EVENT, None)):
            return self._refuse(c.NOT_AUTHORIZED, f"will topic: {refusal}")
        self.client_id = client_id
        self._will = will
        # MQTT 3.1.1 has no expiry: a persistent session lasts as long as the server keeps any
        requested_expiry = (
            (props.session_expiry or 0) if v5 else (0 if packet.clean_start else limits.max_session_expiry)
        )
        expiry = min(requested_expiry, limits.max_session_expiry)
        self.keep_alive = packet.keep_alive
        server_keep_alive = None
        # MQTT 5 clients asking for a longer keep alive, or none (0), are told the server's (Server Keep Alive).
        if v5 and not 0 < packet.keep_alive <= limits.max_keep_alive:
            server_keep_alive = self.keep_alive = limits.max_keep_alive

        existing = self.sessions.get(client_id)
        replaced = existing.owner if existing is not None else None
        resumed = existing is not None and not packet.clean_start
        if resumed:
            assert existing is not None
            session = existing
            session.expiry = expiry
        else:
            session = SessionState(client_id, expiry)
            self.sessions[client_id] = session
        session.owner = self
        self.session = session
        self.state = ConnState.CONNECTED
        self.outbox.open_for(session, packet.version, props)
        self._actions.append(SessionStarted(session, resumed, replaced, None if resumed else existing))
        connack_props = mqtt.NO_PROPERTIES
        if v5:
            connack_props = mqtt.Properties(
                receive_maximum=limits.max_inflight,
                maximum_packet_size=limits.max_packet_size,
                topic_alias_maximum=limits.topic_alias_maximum,
                assigned_client_id=assigned,
                session_expiry=expiry if expiry != requested_expiry else None,
                server_keep_alive=server_keep_alive,
            )
        self._send(mqtt.ConnAck(c.SUCCESS, resumed, connack_props))
        if resumed:
            self.outbox.resend_inflight()
        return None

    def _credentials_ok(self, packet: mqtt.Connect) -> bool:
        assert self.credentials is not None
        expected = self.credentials.get(packet.username or "")
        if expected is None or packet.username is None or packet.password is None:
            return False
        return hmac.compare_digest(expected.encode(), packet.password)

    def _refuse(self, reason_code: int, detail: str) -> None:
        """Answer CONNECT with a failure CONNACK and close."""
        code = reason_code if self._v5 else c.V3_CONNACK_CODES.get(reason_code, c.V3_SERVER_UNAVAILABLE)
        self._send(mqtt.ConnAck(code))
        self._end(reason_code, detail, publish_will=False)

    def _on_publish(self, packet: mqtt.Publish) -> None:
        topic, payload, qos, retain, _dup, packet_id, props = packet
        v5 = self._v5
        if props is not _NO_PROPERTIES and props.topic_alias is not None:
            resolved = self._resolve_alias(topic, props.topic_alias)
            if resolved is None:
                return
            topic = resolved
        if "+" in topic or "#" in topic or not topic or "\0" in topic:
            self._fail(c.TOPIC_NAME_INVALID, f"invalid topic name {topic[:80]!r} in PUBLISH")
            return
        session = self.session
        assert session is not None
        if qos and packet_id not in session.inbound_qos2:  # a QoS 2 DUP is no new message in flight
            # QoS 1 counts until its PUBACK is handed to the socket: only MQTT 5 clients were told the limit.
            in_flight = len(session.inbound_qos2) + (self._unflushed_acks if v5 else 0)
            if in_flight >= self.limits.max_inflight:
                limit = self.limits.max_inflight
                self._fail(c.RECEIVE_MAXIMUM_EXCEEDED, f"more than {limit} QoS 1/2 PUBLISH unacknowledged")
                return
        self.messages_in += 1
        message: Message
        if props is _NO_PROPERTIES:  # the hot path: what to_message makes of it, without a call
            # new_id, with the clock read once for the whole read (receive_data): later, or one past the last id
            ident = last_id[0] = self._clock if self._clock > last_id[0] else last_id[0] + 1
            message = _tuple_new(
                Message,
                (
                    ident,
                    topic,
                    _EVENT,
                    payload,
                    OCTET_STREAM,
                    QOS_HEADERS[qos],
                    ident / 1e9,
                    self.client_id,
                    None,
                    None,
                ),
            )
        elif props.payload_format == 1 and not is_utf8(payload):
            self._refuse_payload(qos, packet_id, topic)
            return
        else:
            message = to_message(packet, topic, self.client_id)
        policy = self.policy
        if (topic[0] == "$" or policy.checks_writes) and policy.publish_refusal(
            topic, message.kind, message.correlation_id
        ):
            if qos:  # MQTT 3.1.1 has no way to say no: acknowledged and dropped, as Mosquitto does
                code = c.NOT_AUTHORIZED if v5 else c.SUCCESS
                self._send(mqtt.Ack(_PUBACK if qos == 1 else _PUBREC, packet_id, code))
            return
        if qos == 2:
            self._out.append(_PUBREC_HEAD + packet_id.to_bytes(2, "big"))
            if packet_id in session.inbound_qos2:  # a DUP of one we have is not published twice
                return
            session.inbound_qos2.add(packet_id)
        elif qos:
            self._unflushed_acks += 1
            self._out.append(_PUBACK_HEAD + packet_id.to_bytes(2, "big"))  # = encode(Ack(PUBACK, id))
        actions = self._actions
        if retain:
            actions.append(PublishToBroker(message, True))
        elif actions and type(actions[-1]) is PublishMany:  # the hot path: one broker call for the read
            actions[-1].messages.append(message)
        else:
            actions.append(PublishMany([message]))

    def _refuse_payload(self, qos: int, packet_id: int, topic: str) -> None:
        """Payload Format Indicator 1 on bytes that are not UTF-8 (MQTT 5 3.3.2.3.2): refused with 0x99."""
        detail = f"PUBLISH to {topic[:80]!r} says its payload is UTF-8 text (payload format 1), but it is not"
        if not qos:  # nothing to answer a QoS 0 message with: the connection ends, with the reason
            self._fail(c.PAYLOAD_FORMAT_INVALID, detail)
            return
        props = mqtt.Properties(reason_string=detail)
        self._send(mqtt.Ack(_PUBACK if qos == 1 else _PUBREC, packet_id, c.PAYLOAD_FORMAT_INVALID, props))

    def _resolve_alias(self, topic: str, alias: int) -> str | None:
        if not 0 < alias <= self.limits.topic_alias_maximum:
            self._fail(c.TOPIC_ALIAS_INVALID, f"topic alias {alias} outside 1..{self.limits.topic_alias_maximum}")
            return None
        if topic:
            self._aliases[alias] = topic
            return topic
        known = self._aliases.get(alias)
        if known is None:
            self._fail(c.PROTOCOL_ERROR, f"topic alias {alias} used before it was set")
        return known

    def _on_pubrel(self, packet_id: int) -> None:
        session = self.session
        assert session is not None
        found = packet_id in session.inbound_qos2
        session.inbound_qos2.discard(packet_id)
        reason = c.SUCCESS if found else c.PACKET_ID_NOT_FOUND
        self._send(mqtt.Ack(c.PUBCOMP, packet_id, reason if self._v5 else c.SUCCESS))

    def _on_subscribe(self, packet: mqtt.Subscribe) -> None:
        session = self.session
        assert session is not None
        v5 = self._v5
        ids = packet.properties.subscription_ids
        if 0 in ids or len(ids) > 1:
            self._fail(c.PROTOCOL_ERROR, "SUBSCRIBE with subscription identifier 0 or more than one")
            return
        sub_id = ids[0] if ids else None
        codes = []
        for request in packet.requests:
            topic_filter = request.filter
            failure = self._check_filter(topic_filter, session)
            if failure is not None:
                codes.append(failure if v5 else c.V3_SUBSCRIBE_FAILURE)
                continue
            existing = session.subscriptions.get(topic_filter)
            sub = ClientSubscription(
                session.client_id,
                topic_filter,
                request.qos,
                no_local=request.no_local,
                retain_as_published=request.retain_as_published,
                retain_handling=request.retain_handling,
                subscription_id=sub_id,
            )
            if sub.share is not None and request.no_local:
                self._fail(c.PROTOCOL_ERROR, f"No Local on the shared subscription {topic_filter!r} (MQTT-3.8.3-4)")
                return
            if existing is not None:  # same filter again: new options, same broker subscription
                sub.subscription, sub.since = existing.subscription, existing.since
            session.subscriptions[topic_filter] = sub
            if v5 and sub.share is None:
                overlap.link(sub, existing, session.subscriptions.values())
            new = existing is None
            # Shared subscriptions never get retained messages (MQTT 5 4.8.2).
            again = not new and request.retain_handling == 0 and sub.share is None
            self._actions.append(SubscribeInBroker(sub, new, send_retained=again))
            codes.append(request.qos)
        self._send(mqtt.SubAck(packet.packet_id, tuple(codes)))

    def _check_filter(self, topic_filter: str, session: SessionState) -> int | None:
        """The SUBACK failure code for ``topic_filter``, or None if it can be subscribed."""
        try:
            shared = split_shared(topic_filter)
            validate_pattern(topic_filter if shared is None else shared[1])
        except (ValueError, InvalidChannel):
            return c.TOPIC_FILTER_INVALID
        if self.policy.subscribe_refusal(topic_filter if shared is None else shared[1]):
            return c.NOT_AUTHORIZED
        if (
            topic_filter not in session.subscriptions
            and len(session.subscriptions) >= self.limits.max_subscriptions_per_client
        ):
            return c.QUOTA_EXCEEDED
        return None

    def _on_unsubscribe(self, packet: mqtt.Unsubscribe) -> None:
        session = self.session
        assert session is not None
        codes = []
        for topic_filter in packet.filters:
            sub = session.subscriptions.pop(topic_filter, None)
            if sub is None:
                codes.append(c.NO_SUBSCRIPTION_EXISTED)
            else:
                overlap.unlink(sub)
                self._actions.append(UnsubscribeInBroker(sub))
                codes.append(c.SUCCESS)
        self._send(mqtt.UnsubAck(packet.packet_id, tuple(codes)))

    def _on_disconnect(self, packet: mqtt.Disconnect) -> None:
        session = self.session
        assert session is not None
        expiry = packet.properties.session_expiry
        if expiry is not None:
            if session.expiry == 0 and expiry > 0:
                self._fail(c.PROTOCOL_ERROR, "session expiry set in DISCONNECT after CONNECT said 0")
                return
            session.expiry = min(expiry, self.limits.max_session_expiry)
        reason = packet.reason_code
        self._end(reason, c.reason_name(reason), publish_will=reason == c.DISCONNECT_WITH_WILL)

    # -- ending ----------------------------------------------------------------

    def _fail(self, reason_code: int, detail: str) -> None:
        """A protocol violation or a server decision: tell an MQTT 5 client why, then close."""
        if self.state is ConnState.CONNECTING:
            if self.version or reason_code == c.UNSUPPORTED_PROTOCOL_VERSION:
                self._refuse(reason_code, detail)
            else:
                self._end(reason_code, detail, publish_will=False)
            return
        if self._v5:
            self._send(mqtt.Disconnect(reason_code, mqtt.Properties(reason_string=detail[:200])))
        self._end(reason_code, detail, publish_will=True)

    def _end(self, reason_code: int, detail: str, *, publish_will: bool) -> None:
        was_connected = self.state is ConnState.CONNECTED
        self.state = ConnState.CLOSED
        self.outbox.open = False
        self.close_reason = detail
        session = self.session
        owned = session is not None and session.owner is self
        if owned:
            assert session is not None
            session.owner = None
        will_action, will_delay = None, 0
        will = self._will
        if publish_will and will is not None and was_connected:
            message = will_message(will.topic, will.payload, will.qos, will.properties, self.client_id)
            will_action = PublishToBroker(message, will.retain)
            will_delay = will.properties.will_delay or 0
        keep = owned and session is not None and session.expiry > 0
        self._actions.append(
            ConnectionClosed(reason_code, detail, will_action, will_delay, session if owned else None, keep)
        )
