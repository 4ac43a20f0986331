"""Server -> client: the PUBLISH flow of one MQTT connection (sans-io).

``Outbox`` turns broker messages into PUBLISH packets for one client: it keeps within the
client's Receive Maximum (queueing the rest in the session), never sends a packet larger than
the client's Maximum Packet Size, names channels by topic alias once the client allows aliases,
and (MQTT 5) sends one copy of a message that several of the client's subscriptions match,
carrying every matching subscription identifier at the highest of their QoS (MQTT 5 3.3.4).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from eventdeck.core.broker.channels import matches
from eventdeck.core.broker.message import Message
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.session import ClientSubscription, Outgoing, SessionState
from eventdeck.core.gateways.mqtt.translate import message_qos, publish_properties, remaining_expiry
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.encode import encode, encode_publish

if TYPE_CHECKING:
    from eventdeck.core.broker.subscription import Delivery

_PUBACK, _PUBREC, _PUBREL, _PUBCOMP = c.PUBACK, c.PUBREC, c.PUBREL, c.PUBCOMP
_tuple_new = tuple.__new__  # builds a NamedTuple without its Python-level constructor (per message)


def _rank(sub: ClientSubscription) -> tuple[int, int, str]:
    """Of overlapping subscriptions, the highest QoS sends the one copy; then the oldest, then by filter."""
    return sub.qos, -sub.since, sub.filter


class Outbox:
    """The PUBLISH packets of one connection, written into ``out`` (the connection's outgoing buffer)."""

    def __init__(self, out: list[bytes], limits: MqttLimits) -> None:
        self._out = out
        self._max_queued = limits.max_queued
        self._alias_limit = limits.topic_alias_maximum
        self.session: SessionState | None = None
        self.open = False  # connected: packets may go out now
        self.version = c.MQTT_311
        self._v5 = False
        self.window = limits.max_inflight  # the client's Receive Maximum
        self.max_size = c.MAX_VARINT + 5  # the client's Maximum Packet Size (the MQTT maximum until it says)
        self._aliases: dict[str, int] = {}  # channel -> topic alias the client knows it by
        self._alias_max = 0  # aliases the client accepts (and we keep): 0 sends none
        self.messages_out = 0
        self.settled: list[Delivery] = []  # shared subscriptions' deliveries the client now has, to ack

    def open_for(self, session: SessionState, version: int, client: mqtt.Properties) -> None:
        """CONNECT accepted: ``client`` are its MQTT 5 properties (limits on what it receives)."""
        self.session = session
        self.version = version
        self._v5 = version == c.MQTT_5
        if self._v5:
            if client.receive_maximum is not None:
                self.window = client.receive_maximum
            if client.maximum_packet_size is not None:
                self.max_size = client.maximum_packet_size
            self._alias_max = min(client.topic_alias_maximum or 0, self._alias_limit)
        self.open = True

    @property
    def send_quota(self) -> int:
        """QoS 1/2 messages this client can take now without queueing in the session."""
        session = self.session
        if session is None or not self.open:
            return 0
        return self.window - len(session.inflight) - len(session.pending)

    # -- what the broker routed -------------------------------------------------

    def deliver(self, message: Message, sub: ClientSubscription, retain: bool = False, live: bool = False) -> None:
        """Send ``message`` (matched by ``sub``), or queue it in the session if the window is full.

        ``live``: routed as it was published (not a retained copy sent for a new subscription), so
        the client's other subscriptions that match it share this one copy.
        """
        session = self.session
        if session is None:
            return
        if sub.no_local and message.publisher == session.client_id:
            return
        qos, ids = sub.qos, sub.ids
        if live and sub.overlaps:
            merged = self._one_copy(message, sub)
            if merged is None:
                return  # another subscription of this client sends it
            qos, ids = merged
        if qos:
            qos = min(qos, message_qos(message))
        if qos == 0:
            if self.open:
                self._send_publish(message, 0, retain, ids, packet_id=0, dup=False)
            return
        self._queue(_tuple_new(Outgoing, (message, qos, retain, ids, False, None)))

    def _one_copy(self, message: Message, sub: ClientSubscription) -> tuple[int, tuple[int, ...]] | None:
        """(QoS, subscription ids) of the one copy if ``sub`` sends it, None if another subscription does.

        Only subscriptions that queued ``message`` count (made before it was published, ``since``).
        """
        session = self.session
        assert session is not None
        ident, channel = message.id, message.channel
        own = message.publisher == session.client_id
        best, ids = sub, sub.ids
        for other in sub.overlaps:
            if other.since >= ident or (other.no_local and own) or not matches(other.pattern, channel):
                continue
            ids += other.ids
            if _rank(other) > _rank(best):
                best = other
        if best is not sub:
            return None
        return sub.qos, ids

    def deliver_batch(
        self,
        sub: ClientSubscription,
        messages: list[Message],
        retained_of: Callable[[str], Message | None],
    ) -> None:
        """Send what the broker routed to ``sub``, by its retain options.

        The retained messages the broker queued when ``sub`` was made (``sub.retained_ids``) go out
        with the retain flag, or not at all under Retain Handling 2. Live messages carry the flag
        only under Retain As Published, and only if ``retained_of(channel)`` (the broker's retained
        message of that channel) is this very message.
        """
        retained_ids = sub.retained_ids
        if not (self._v5 or sub.qos or retained_ids or sub.retain_as_published or sub.no_local) and self.open:
            # The hot path, MQTT 3.1.1 at QoS 0: nothing to decide per message but its bytes. The bytes
            # before the payload depend only on the channel and the payload's size: encoded once per run.
            out = self._out
            channel, size, head = "", -1, b""
            for message in messages:
                payload = message.payload
                if message.channel != channel or len(payload) != size:
                    channel, size = message.channel, len(payload)
                    head = encode_publish(channel, payload)
                    head = head[: len(head) - size]
                out += (head, payload)
            self.messages_out += len(messages)
            return
        deliver = self.deliver
        for message in messages:
            if retained_ids and message.id in retained_ids:
                retained_ids.discard(message.id)
                if sub.retain_handling != 2:
                    deliver(message, sub, True)
            elif sub.retain_as_published:
                deliver(message, sub, retained_of(message.channel) is message, True)
            else:
                deliver(message, sub, False, True)

    def deliver_retained(self, sub: ClientSubscription, messages: Iterable[Message]) -> None:
        """The broker's retained messages for a filter subscribed again that asked for them (``send_retained``)."""
        for message in messages:
            self.deliver(message, sub, True)

    def deliver_shared(self, message: Message, sub: ClientSubscription, delivery: Delivery, retain: bool) -> None:
        """A shared subscription's group picked this client for ``delivery``; it is settled once the client has it."""
        qos = min(sub.qos, message_qos(message))
        if qos == 0:
            if self.open:
                self._send_publish(message, 0, retain, sub.ids, packet_id=0, dup=False)
            self.settled.append(delivery)
            return
        self._queue(Outgoing(message, qos, retain, sub.ids, False, delivery))

    def _queue(self, outgoing: Outgoing) -> None:
        session = self.session
        assert session is not None
        if self.open and not session.pending and len(session.inflight) < self.window:
            self._send_outgoing(outgoing)
        elif len(session.pending) < self._max_queued:
            session.pending.append(outgoing)
        else:
            session.dropped += 1
            if outgoing.shared is not None:
                self.settled.append(outgoing.shared)

    # -- packets -----------------------------------------------------------------

    def _send_outgoing(self, outgoing: Outgoing, packet_id: int = 0, dup: bool = False) -> None:
        session = self.session
        assert session is not None
        if not packet_id:
            packet_id = session.next_packet_id()
        session.inflight[packet_id] = outgoing
        if not self._send_publish(
            outgoing.message, outgoing.qos, outgoing.retain, outgoing.subscription_ids, packet_id=packet_id, dup=dup
        ):
            self._finish(packet_id, outgoing)

    def _send_publish(
        self, message: Message, qos: int, retain: bool, ids: tuple[int, ...], *, packet_id: int, dup: bool
    ) -> bool:
        """Encode one PUBLISH; False if it was not sent (expired, or too big for the client)."""
        topic = name = message.channel
        alias = 0
        if self._v5:
            expiry = None
            if message.headers:
                expiry = remaining_expiry(message, time.time())
                if expiry is not None and expiry <= 0:
                    return False
            if self._alias_max:
                alias = self._aliases.get(topic, 0)
                if alias:
                    name = ""  # the client knows the channel by its alias
                elif len(self._aliases) < self._alias_max:
                    alias = len(self._aliases) + 1  # sent with the name this once
            props = publish_properties(message, expiry, ids, alias)
        else:
            props = b""
        data = encode_publish(name, message.payload, qos, retain, dup=dup, packet_id=packet_id, properties=props)
        if len(data) > self.max_size:
            return False  # MQTT 5: the server must not send a packet larger than the client allows
        if alias and name:
            self._aliases[topic] = alias
        self._out.append(data)
        self.messages_out += 1
        return True

    def fill_window(self) -> None:
        session = self.session
        assert session is not None
        pending = session.pending
        while pending and len(session.inflight) < self.window:
            self._send_outgoing(pending.popleft())

    def resend_inflight(self) -> None:
        """On session resume: PUBLISH again (DUP) or PUBREL again, with the original packet ids."""
        session = self.session
        assert session is not None
        for packet_id, outgoing in list(session.inflight.items()):
            if outgoing.released:
                self._out.append(encode(mqtt.Ack(_PUBREL, packet_id), self.version))
            elif not self._send_publish(
                outgoing.message,
                outgoing.qos,
                outgoing.retain,
                outgoing.subscription_ids,
                packet_id=packet_id,
                dup=True,
            ):
                self._finish(packet_id, outgoing)
        self.fill_window()

    def acknowledged(self, packet: mqtt.Ack) -> None:
        """PUBACK, PUBREC or PUBCOMP from the client for a message we sent."""
        session = self.session
        assert session is not None
        kind, packet_id = packet.kind, packet.packet_id
        outgoing = session.inflight.get(packet_id)
        if kind == _PUBREC:
            if outgoing is None or outgoing.qos != 2:
                if self._v5:
                    self._out.append(encode(mqtt.Ack(_PUBREL, packet_id, c.PACKET_ID_NOT_FOUND), self.version))
                return
            if packet.reason_code >= 0x80:  # the client refused it: the exchange ends here
                self._finish(packet_id, outgoing)
            else:  # the client has it: a shared group's copy is settled now
                if outgoing.shared is not None:
                    self.settled.append(outgoing.shared)
                session.inflight[packet_id] = outgoing._replace(released=True, shared=None)
                self._out.append(encode(mqtt.Ack(_PUBREL, packet_id), self.version))
                return
        else:
            expected_qos = 1 if kind == _PUBACK else 2
            if outgoing is None or outgoing.qos != expected_qos or (kind == _PUBCOMP) != outgoing.released:
                return  # an ack for nothing in flight: ignored, as the spec allows
            self._finish(packet_id, outgoing)
        if session.pending:
            self.fill_window()

    def _finish(self, packet_id: int, outgoing: Outgoing) -> None:
        session = self.session
        assert session is not None
        del session.inflight[packet_id]
        if outgoing.shared is not None:
            self.settled.append(outgoing.shared)
