"""A client's view of one MqttServerProtocol, for the sans-io tests (h11 style: bytes in, packets out)."""

from __future__ import annotations

from typing import Any

from eventdeck.core import Message
from eventdeck.core.gateways.mqtt.actions import Action, PublishMany, PublishToBroker, SubscribeInBroker
from eventdeck.core.gateways.mqtt.protocol import MqttServerProtocol
from eventdeck.core.gateways.mqtt.session import ClientSubscription, SessionState
from eventdeck.core.gateways.mqtt.translate import QOS_HEADER
from eventdeck.core.mqtt_codec import codes as c
from eventdeck.core.mqtt_codec import records as mqtt
from eventdeck.core.mqtt_codec.decode import PacketReader
from eventdeck.core.mqtt_codec.encode import encode


class Pair:
    """Send packets to a server protocol; get back its actions and its decoded replies."""

    def __init__(
        self,
        version: int = c.MQTT_311,
        sessions: dict[str, SessionState] | None = None,
        **options: Any,
    ) -> None:
        self.version = version
        self.sessions = {} if sessions is None else sessions
        self.server = MqttServerProtocol(self.sessions, **options)
        self.reader = PacketReader(version=version)

    def send_bytes(self, data: bytes) -> tuple[list[Action], list[mqtt.Packet]]:
        actions = self.server.receive_data(data)
        return actions, self.reader.feed(self.server.data_to_send())

    def send(self, *packets: mqtt.Packet) -> tuple[list[Action], list[mqtt.Packet]]:
        return self.send_bytes(b"".join(encode(p, self.version) for p in packets))

    def connect(self, client_id: str = "dev", **fields: Any) -> tuple[list[Action], list[mqtt.Packet]]:
        return self.send(mqtt.Connect(client_id, self.version, **fields))

    def received(self) -> list[mqtt.Packet]:
        return self.reader.feed(self.server.data_to_send())


def published(actions: list[Action]) -> list[Message]:
    """The messages ``actions`` publish, in order (batched or one by one)."""
    found: list[Message] = []
    for action in actions:
        if isinstance(action, PublishMany):
            found += action.messages
        elif isinstance(action, PublishToBroker):
            found.append(action.message)
    return found


def message(channel: str = "a/b", payload: bytes = b"x", qos: int | None = None, **fields: Any) -> Message:
    headers = dict(fields.pop("headers", {}))
    if qos is not None:
        headers[QOS_HEADER] = str(qos)
    return Message.build(channel, payload, headers=headers, **fields)


def subscribed(
    pair: Pair, topic_filter: str = "a/#", qos: int = 1, sub_id: int | None = None, **options: Any
) -> ClientSubscription:
    props = mqtt.Properties(subscription_ids=(sub_id,)) if sub_id is not None else mqtt.NO_PROPERTIES
    actions, _ = pair.send(mqtt.Subscribe(1, (mqtt.SubscriptionRequest(topic_filter, qos, **options),), props))
    action = actions[0]
    assert isinstance(action, SubscribeInBroker)
    return action.subscription
