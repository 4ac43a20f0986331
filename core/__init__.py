"""EventDeck's broker core: asyncio only, never Qt.

``from eventdeck.core import Broker, Kind`` is all most callers need::

    async with Broker() as broker:
        sub = broker.subscribe("fridge/#", name="shopping-list")
        await broker.publish("fridge/level", {"percent": 23})
        delivery = await sub.get()
"""

from eventdeck.core.broker.broker import Broker, BrokerStats, Receipt
from eventdeck.core.broker.channel_state import ChannelInfo
from eventdeck.core.broker.channels import (
    is_broker_channel,
    is_pattern,
    matches,
    validate_channel,
    validate_pattern,
)
from eventdeck.core.broker.dead_letters import DEAD_PREFIX
from eventdeck.core.broker.errors import (
    BrokerClosed,
    DeliveryError,
    EventDeckError,
    InvalidChannel,
    InvalidPayload,
    NoResponderError,
    PayloadTooLarge,
    PublishTimeout,
    RequestTimeout,
    SubscriptionError,
)
from eventdeck.core.broker.message import JSON, Kind, Message, PayloadLike, new_id, to_payload
from eventdeck.core.broker.requests import REPLY_PREFIX
from eventdeck.core.broker.subscription import AckMode, Delivery, Overflow, State, Subscription, SubscriptionInfo
from eventdeck.core.broker.tap import BrokerEvent, EventKind, Tap, TapBatch, TapItem
from eventdeck.core.recording.errors import RecordingError

__all__ = [
    "DEAD_PREFIX",
    "JSON",
    "REPLY_PREFIX",
    "AckMode",
    "Broker",
    "BrokerClosed",
    "BrokerEvent",
    "BrokerStats",
    "ChannelInfo",
    "Delivery",
    "DeliveryError",
    "EventDeckError",
    "EventKind",
    "InvalidChannel",
    "InvalidPayload",
    "Kind",
    "Message",
    "NoResponderError",
    "Overflow",
    "PayloadLike",
    "PayloadTooLarge",
    "PublishTimeout",
    "Receipt",
    "RecordingError",
    "RequestTimeout",
    "State",
    "Subscription",
    "SubscriptionError",
    "SubscriptionInfo",
    "Tap",
    "TapBatch",
    "TapItem",
    "is_broker_channel",
    "is_pattern",
    "matches",
    "new_id",
    "to_payload",
    "validate_channel",
    "validate_pattern",
]
