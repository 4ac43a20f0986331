"""What an MQTT session remembers between connections (sans-io, plain objects)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from eventdeck.core.broker.message import Message

if TYPE_CHECKING:
    from eventdeck.core.broker.subscription import Subscription

BROKER_NAME_PREFIX = "mqtt:"


class ClientSubscription:
    """One topic filter of a session, with its MQTT options and (set by the server) its broker subscription."""

    __slots__ = (
        "filter",
        "name",
        "no_local",
        "qos",
        "retain_as_published",
        "retain_handling",
        "retained_ids",
        "subscription",
        "subscription_id",
    )

    def __init__(
        self,
        client_id: str,
        topic_filter: str,
        qos: int,
        *,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
        subscription_id: int | None = None,
    ) -> None:
        self.filter = topic_filter
        self.name = f"{BROKER_NAME_PREFIX}{client_id} {topic_filter}"  # how the Subscribers panel shows it
        self.qos = qos
        self.no_local = no_local
        self.retain_as_published = retain_as_published
        self.retain_handling = retain_handling
        self.subscription_id = subscription_id
        self.subscription: Subscription | None = None
        # Ids of the retained messages the broker queued when this subscription was made: they go
        # out with the retain flag set (or not at all with retain handling 2).
        self.retained_ids: set[int] = set()

    def __repr__(self) -> str:
        return f"<ClientSubscription {self.name!r} qos={self.qos}>"


class Outgoing(NamedTuple):
    """A QoS 1/2 message on its way to the client; ``released`` once PUBREC came and PUBREL went out."""

    message: Message
    qos: int
    retain: bool
    subscription_id: int | None
    released: bool = False


class SessionState:
    """Subscriptions, in-flight messages and packet ids of one client id; outlives connections if persistent."""

    def __init__(self, client_id: str, expiry: int) -> None:
        self.client_id = client_id
        self.expiry = expiry  # seconds the session outlives its connection; 0: ends with it
        self.subscriptions: dict[str, ClientSubscription] = {}
        self.inflight: dict[int, Outgoing] = {}  # server -> client, by packet id
        self.pending: deque[Outgoing] = deque()  # server -> client, waiting for a free in-flight slot
        self.inbound_qos2: set[int] = set()  # client -> server QoS 2 ids waiting for PUBREL
        self.owner: object | None = None  # the connection using this session, if any
        self.dropped = 0  # QoS 1/2 messages dropped because ``pending`` was full
        self._next_id = 0

    def __repr__(self) -> str:
        return f"<SessionState {self.client_id!r} subs={len(self.subscriptions)} inflight={len(self.inflight)}>"

    def next_packet_id(self) -> int:
        """A packet id (1..65535) not in flight."""
        inflight = self.inflight
        ident = self._next_id
        while True:
            ident = ident % 65_535 + 1
            if ident not in inflight:
                self._next_id = ident
                return ident
