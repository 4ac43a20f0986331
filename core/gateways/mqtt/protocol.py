"""One MQTT connection as a sans-io state machine: bytes in, bytes and broker actions out.

``receive_data`` parses what arrived, answers what it can by itself (CONNACK, PUBACK, SUBACK,
PINGRESP ...) into the outgoing buffer and returns the actions the server must carry out on
the broker, in order. ``deliver`` turns a broker message into a PUBLISH for this client,
respecting its in-flight window. No sockets, no event loop: tests pump bytes through it.
"""

from __future__ import annotations

import enum
import hmac
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from eventdeck.core.broker.channels import validate_channel, validate_pattern
from eventdeck.core.broker.errors import InvalidChannel
from eventdeck.core.broker.message import Kind, Message
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.session import ClientSubscription, Outgoing, SessionState
from eventdeck.core.gateways.mqtt.translate import (
    message_qos,
    publish_properties,
    remaining_expiry,
    to_message,
    will_message,
)
from eventdeck.core.gateways.policy import GatewayPolicy
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode, encode_publish

_PUBACK, _PUBREC, _PUBREL, _PUBCOMP = c.PUBACK, c.PUBREC, c.PUBREL, c.PUBCOMP


class ConnState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


# -- actions for the server ---------------------------------------------------------


class PublishToBroker(NamedTuple):
    message: Message
    retain: bool


class SessionStarted(NamedTuple):
    """CONNECT accepted: attach ``session``; close ``replaced`` (another connection with this client id)
    and drop ``discarded`` (its old session, on clean start)."""

    session: SessionState
    resumed: bool
    replaced: object | None
    discarded: SessionState | None


class SubscribeInBroker(NamedTuple):
    subscription: ClientSubscription
    new: bool  # False: the filter was subscribed again (options replaced, same broker subscription)
    # Subscribed again with Retain Handling 0: pass the broker's retained messages to ``deliver_retained``.
    send_retained: bool = False


class UnsubscribeInBroker(NamedTuple):
    subscription: ClientSubscription


class ConnectionClosed(NamedTuple):
    """The connection is over: flush, close the socket, publish ``will`` (after ``will_delay`` s) if set,
    and keep or drop ``session`` as ``keep_session`` says (None: it belongs to another connection now)."""

    reason_code: int
    detail: str
    will: PublishToBroker | None
    will_delay: int
    session: SessionState | None
    keep_session: bool


Action = PublishToBroker | SessionStarted | SubscribeInBroker | UnsubscribeInBroker | ConnectionClosed


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
        self.messages_out = 0
        self.close_reason = ""
        self._reader = PacketReader(self.limits.max_packet_size)
        self._out: list[bytes] = []
        self._actions: list[Action] = []
        self._will: mqtt.Will | None = None
        self._window = self.limits.max_inflight  # client's Receive Maximum
        self._max_out = c.MAX_VARINT + 5  # client's Maximum Packet Size (the MQTT maximum until it says)
        self._aliases: dict[int, str] = {}
        self._v5 = False

    def __repr__(self) -> str:
        return f"<MqttServerProtocol {self.client_id!r} {self.state.value} v{self.version}>"

    @property
    def closed(self) -> bool:
        return self.state is ConnState.CLOSED

    # -- bytes in and out ------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Action]:
        """Handle bytes from the client; return what the broker must do, in order."""
        if self.state is ConnState.CLOSED:
            return []
        reader = self._reader
        for packet in reader.feed(data):
            self._handle(packet)
            if self.closed:  # nothing after the packet that ended the connection counts
                break
        else:
            if reader.error is not None:
                self._fail(reader.error.reason_code, str(reader.error))
        return self._take_actions()

    def data_to_send(self) -> bytes:
        """Everything encoded since the last call, as one write."""
        out = self._out
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

    def connection_lost(self) -> list[Action]:
        """The socket closed without DISCONNECT: publish the will, as for any abnormal end."""
        if self.state is not ConnState.CLOSED:
            self._end(c.UNSPECIFIED_ERROR, "connection lost", publish_will=True)
        return self._take_actions()

    def _take_actions(self) -> list[Action]:
        actions = self._actions
        self._actions = []
        return actions

    def _send(self, packet: mqtt.Packet) -> None:
        self._out.append(encode(packet, self.version))

    # -- delivery to the client --------------------------------------------------

    @property
    def send_quota(self) -> int:
        """QoS 1/2 messages this client can take now without queueing in the session."""
        session = self.session
        if session is None or self.state is not ConnState.CONNECTED:
            return 0
        return self._window - len(session.inflight) - len(session.pending)

    def deliver(self, message: Message, sub: ClientSubscription, retain: bool = False) -> None:
        """Send ``message`` (matched by ``sub``) to the client, or queue it in the session if the window is full."""
        session = self.session
        if session is None:
            return
        if sub.no_local and message.publisher == session.client_id:
            return
        qos = sub.qos
        if qos:
            qos = min(qos, message_qos(message))
        if qos == 0:
            if self.state is ConnState.CONNECTED:
                self._send_publish(message, 0, retain, sub.subscription_id, packet_id=0, dup=False)
            return
        outgoing = Outgoing(message, qos, retain, sub.subscription_id)
        if self.state is ConnState.CONNECTED and not session.pending and len(session.inflight) < self._window:
            self._send_outgoing(outgoing)
        elif len(session.pending) < self.limits.max_queued:
            session.pending.append(outgoing)
        else:
            session.dropped += 1

    def deliver_batch(
        self,
        sub: ClientSubscription,
        messages: Iterable[Message],
        retained_of: Callable[[str], Message | None],
    ) -> None:
        """Send what the broker routed to ``sub``, by its retain options.

        The retained messages the broker queued when ``sub`` was made (``sub.retained_ids``) go out
        with the retain flag, or not at all under Retain Handling 2. Live messages carry the flag
        only under Retain As Published, and only if ``retained_of(channel)`` (the broker's retained
        message of that channel) is this very message.
        """
        deliver = self.deliver
        retained_ids = sub.retained_ids
        for message in messages:
            if retained_ids and message.id in retained_ids:
                retained_ids.discard(message.id)
                if sub.retain_handling != 2:
                    deliver(message, sub, True)
            elif sub.retain_as_published:
                deliver(message, sub, retained_of(message.channel) is message)
            else:
                deliver(message, sub, False)

    def deliver_retained(self, sub: ClientSubscription, messages: Iterable[Message]) -> None:
        """The broker's retained messages for a filter subscribed again that asked for them (``send_retained``)."""
        for message in messages:
            self.deliver(message, sub, retain=True)

    def _send_outgoing(self, outgoing: Outgoing, packet_id: int = 0, dup: bool = False) -> None:
        session = self.session
        assert session is not None
        if not packet_id:
            packet_id = session.next_packet_id()
        session.inflight[packet_id] = outgoing
        if not self._send_publish(
            outgoing.message, outgoing.qos, outgoing.retain, outgoing.subscription_id, packet_id=packet_id, dup=dup
        ):
            del session.inflight[packet_id]

    def _send_publish(
        self, message: Message, qos: int, retain: bool, subscription_id: int | None, *, packet_id: int, dup: bool
    ) -> bool:
        """Encode one PUBLISH; False if it was not sent (expired, or too big for the client)."""
        if self._v5:
            expiry = None
            if message.headers:
                expiry = remaining_expiry(message, time.time())
                if expiry is not None and expiry <= 0:
                    return False
            props = publish_properties(message, expiry, subscription_id)
        else:
            props = b""
        data = encode_publish(
            message.channel, message.payload, qos, retain, dup=dup, packet_id=packet_id, properties=props
        )
        if len(data) > self._max_out:
            return False  # MQTT 5: the server must not send a packet larger than the client allows
        self._out.append(data)
        self.messages_out += 1
        return True

    def _fill_window(self) -> None:
        session = self.session
        assert session is not None
        pending = session.pending
        while pending and len(session.inflight) < self._window:
            self._send_outgoing(pending.popleft())

    def _resend_inflight(self) -> None:
        """On session resume: PUBLISH again (DUP) or PUBREL again, with the original packet ids."""
        session = self.session
        assert session is not None
        for packet_id, outgoing in list(session.inflight.items()):
            if outgoing.released:
                self._send(mqtt.Ack(_PUBREL, packet_id))
            elif not self._send_publish(
                outgoing.message, outgoing.qos, outgoing.retain, outgoing.subscription_id, packet_id=packet_id, dup=True
            ):
                del session.inflight[packet_id]
        self._fill_window()

    # -- packets from the client --------------------------------------------------

    def _handle(self, packet: mqtt.Packet) -> None:
        if self.state is ConnState.CONNECTING:
            match packet:
                case mqtt.Connect():
                    self._on_connect(packet)
                case mqtt.Publish():
                    self._end(c.PROTOCOL_ERROR, "PUBLISH before CONNECT", publish_will=False)
                case _:
                    self._end(c.PROTOCOL_ERROR, f"{type(packet).__name__} before CONNECT", publish_will=False)
            return
        match packet:
            case mqtt.Publish():
                self._on_publish(packet)
            case mqtt.Ack():
                self._on_ack(packet)
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
        if v5:
            requested_expiry = props.session_expiry or 0
            if props.receive_maximum is not None:
                self._window = props.receive_maximum
            if props.maximum_packet_size is not None:
                self._max_out = props.maximum_packet_size
        else:
            requested_expiry = 0 if packet.clean_start else limits.max_session_expiry
        expiry = min(requested_expiry, limits.max_session_expiry)
        self.keep_alive = packet.keep_alive
        server_keep_alive = None
        if v5 and packet.keep_alive > limits.max_keep_alive:
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
        self._actions.append(SessionStarted(session, resumed, replaced, None if resumed else existing))
        connack_props = mqtt.NO_PROPERTIES
        if v5:
            connack_props = mqtt.Properties(
                receive_maximum=limits.max_inflight,
                maximum_packet_size=limits.max_packet_size,
                topic_alias_maximum=limits.topic_alias_maximum,
                assigned_client_id=assigned,
                shared_available=0,
                session_expiry=expiry if expiry != requested_expiry else None,
                server_keep_alive=server_keep_alive,
            )
        self._send(mqtt.ConnAck(c.SUCCESS, resumed, connack_props))
        if resumed:
            self._resend_inflight()
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
        topic = packet.topic
        if self._v5 and packet.properties.topic_alias is not None:
            resolved = self._resolve_alias(topic, packet.properties.topic_alias)
            if resolved is None:
                return
            topic = resolved
        if "+" in topic or "#" in topic or not topic or "\0" in topic:
            self._fail(c.TOPIC_NAME_INVALID, f"invalid topic name {topic[:80]!r} in PUBLISH")
            return
        session = self.session
        assert session is not None
        qos = packet.qos
        self.messages_in += 1
        message = to_message(packet, topic, self.client_id)
        if self.policy.publish_refusal(topic, message.kind, message.correlation_id):
            if qos:  # MQTT 3.1.1 has no way to say no: acknowledged and dropped, as Mosquitto does
                code = c.NOT_AUTHORIZED if self._v5 else c.SUCCESS
                self._send(mqtt.Ack(_PUBACK if qos == 1 else _PUBREC, packet.packet_id, code))
            return
        if qos == 0:
            self._actions.append(PublishToBroker(message, packet.retain))
        elif qos == 1:
            self._actions.append(PublishToBroker(message, packet.retain))
            self._out.append(encode(mqtt.Ack(_PUBACK, packet.packet_id)))
        else:
            packet_id = packet.packet_id
            if packet_id not in session.inbound_qos2:  # a DUP of one we have is not published twice
                if len(session.inbound_qos2) >= self.limits.max_inflight:
                    self._fail(c.RECEIVE_MAXIMUM_EXCEEDED, f"more than {self.limits.max_inflight} QoS 2 in flight")
                    return
                session.inbound_qos2.add(packet_id)
                self._actions.append(PublishToBroker(message, packet.retain))
            self._out.append(encode(mqtt.Ack(_PUBREC, packet_id)))

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

    def _on_ack(self, packet: mqtt.Ack) -> None:
        session = self.session
        assert session is not None
        kind, packet_id = packet.kind, packet.packet_id
        if kind == _PUBREL:
            found = packet_id in session.inbound_qos2
            session.inbound_qos2.discard(packet_id)
            reason = c.SUCCESS if found else c.PACKET_ID_NOT_FOUND
            self._send(mqtt.Ack(_PUBCOMP, packet_id, reason if self._v5 else c.SUCCESS))
            return
        outgoing = session.inflight.get(packet_id)
        if kind == _PUBREC:
            if outgoing is None or outgoing.qos != 2:
                if self._v5:
                    self._send(mqtt.Ack(_PUBREL, packet_id, c.PACKET_ID_NOT_FOUND))
                return
            if packet.reason_code >= 0x80:  # the client refused it: the exchange ends here
                del session.inflight[packet_id]
            else:
                session.inflight[packet_id] = outgoing._replace(released=True)
                self._send(mqtt.Ack(_PUBREL, packet_id))
                return
        else:
            expected_qos = 1 if kind == _PUBACK else 2
            if outgoing is None or outgoing.qos != expected_qos or (kind == _PUBCOMP) != outgoing.released:
                return  # an ack for nothing in flight: ignored, as the spec allows
            del session.inflight[packet_id]
        if session.pending:
            self._fill_window()

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
            if existing is not None:  # same filter again: new options, same broker subscription
                sub.subscription = existing.subscription
            session.subscriptions[topic_filter] = sub
            new = existing is None
            self._actions.append(SubscribeInBroker(sub, new, send_retained=not new and request.retain_handling == 0))
            codes.append(request.qos)
        self._send(mqtt.SubAck(packet.packet_id, tuple(codes)))

    def _check_filter(self, topic_filter: str, session: SessionState) -> int | None:
        """The SUBACK failure code for ``topic_filter``, or None if it can be subscribed."""
        if topic_filter.startswith("$share/"):
            return c.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
        try:
            validate_pattern(topic_filter)
        except InvalidChannel:
            return c.TOPIC_FILTER_INVALID
        if self.policy.subscribe_refusal(topic_filter):
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
