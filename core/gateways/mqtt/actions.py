"""What a connection's protocol asks the asyncio shell to do on the broker, in order (sans-io records)."""

from __future__ import annotations

from typing import NamedTuple

from eventdeck.core.broker.message import Message
from eventdeck.core.gateways.mqtt.session import ClientSubscription, SessionState


class PublishToBroker(NamedTuple):
    message: Message
    retain: bool


class PublishMany(NamedTuple):
    """Messages to publish in this order, none retained: the PUBLISHes of one read that follow each other."""

    messages: list[Message]


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


Action = PublishToBroker | PublishMany | SessionStarted | SubscribeInBroker | UnsubscribeInBroker | ConnectionClosed
