"""What an MQTT session remembers between connections (sans-io, plain objects)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from eventdeck.core.broker.message import Message

if TYPE_CHECKING:
    from eventdeck.core.broker.subscription import Delivery, Subscription

BROKER_NAME_PREFIX = "mqtt:"
SHARE_PREFIX = "$share/"


def split_shared(topic_filter: str) -> tuple[str, str] | None:
    """``$share/{group}/{filter}`` -> (group's broker name ``$share/{group}/{filter}``, filter); None if not shared.

    A malformed one (empty group, a wildcard in the group, no filter) raises ``ValueError`` saying which.
    """
    if not topic_filter.startswith(SHARE_PREFIX):
        return None
    group, slash, pattern = topic_filter[len(SHARE_PREFIX) :].partition("/")
    if not group or "+" in group or "#" in group:
        raise ValueError(f"the share name of {topic_filter!r} must be non-empty and without + or #")
    if not slash or not pattern:
        raise ValueError(f"{topic_filter!r} names no topic filter after its share name")
    return topic_filter, pattern


class ClientSubscription:
    """One topic filter of a session, with its MQTT options and (set by the server) its broker subscription.

    ``filter`` is what the client subscribed (``$share/g/a/#`` for a shared one), ``pattern`` what the
    broker matches (``a/#``). A shared one has no broker subscription of its own: ``share`` names its group's.
    """

    __slots__ = (
        "filter",
        "ids",
        "name",
        "no_local",
        "overlaps",
        "pattern",
        "qos",
        "retain_as_published",
        "retain_handling",
        "retained_ids",
        "share",
        "since",
        "subscription",
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
        shared = split_shared(topic_filter)
        self.filter = topic_filter
        self.share = None if shared is None else shared[0]
        self.pattern = topic_filter if shared is None else shared[1]
        # How the Subscribers panel shows it: a client's own, or its group's broker subscription.
        self.name = f"{BROKER_NAME_PREFIX}{client_id} {topic_filter}" if shared is None else topic_filter
        self.qos = qos
        self.no_local = no_local
        self.retain_as_published = retain_as_published
        self.retain_handling = retain_handling
        self.ids: tuple[int, ...] = () if subscription_id is None else (subscription_id,)
        self.subscription: Subscription | None = None
        # Ids of the retained messages the broker queued when this subscription was made: they go
        # out with the retain flag set (or not at all with retain handling 2).
        self.retained_ids: set[int] = set()
        # MQTT 5: this session's other subscriptions whose filters can match the same channel (see outbox.py).
        self.overlaps: tuple[ClientSubscription, ...] = ()
        self.since = 0  # the last message id before its broker subscription began queueing

    def __repr__(self) -> str:
        return f"<ClientSubscription {self.name!r} qos={self.qos}>"


class Outgoing(NamedTuple):
    """A QoS 1/2 message on its way to the client; ``released`` once PUBREC came and PUBREL went out.

    ``shared``: the group's broker delivery (a shared subscription), settled once the client has it.
    """

    message: Message
    qos: int
    retain: bool
    subscription_ids: tuple[int, ...]
    released: bool = False
    shared: Delivery | None = None


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

    def take_shared(self) -> list[Delivery]:
        """Remove the shared subscriptions' messages the client has not taken yet; their broker deliveries.

        A QoS 2 message whose PUBREC came is the client's already (settled then), so it stays.
        """
        shared = [o.shared for o in self.pending if o.shared is not None]
        if shared:
            self.pending = deque(o for o in self.pending if o.shared is None)
        for packet_id, outgoing in list(self.inflight.items()):
            if outgoing.shared is not None and not outgoing.released:
                del self.inflight[packet_id]
                shared.append(outgoing.shared)
        return shared
