"""What the GUI talks to: the embedded broker, or a connector to a broker people already run.

Every backend owns a local ``Broker`` that everything it observes flows through: for
the embedded backend that *is* the broker; a connector publishes what it sees on the
real broker into its local mirror. So the tap, channel counters and the live stream
work the same for both, and ``capabilities`` says what a real broker cannot tell us
(panels then show "not exposed by this broker" instead of empty lists that look real).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from eventdeck.core.broker.broker import Broker, Receipt
from eventdeck.core.broker.message import JSON, Kind, Message, PayloadLike
from eventdeck.core.broker.subscription import SubscriptionInfo

GAP_CHANNEL = "$eventdeck/gap"  # where a connector marks a lost connection once it is back


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can show and do."""

    lists_channels: bool = True  # knows channels beyond those seen in traffic
    lists_subscribers: bool = True  # can say who subscribes to what
    why_no_subscribers: str = ""  # why lists_subscribers is False, when the backend knows
    request_reply: bool = True  # commands get replies with the broker's own mechanism
    retained: bool = True  # keeps a last value per channel
    headers: bool = True  # messages carry headers
    virtual_subscribers: bool = True  # can host simulated consumers (embedded only)


class ConnectionState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Status:
    """A backend's connection state in words a person can act on."""

    state: ConnectionState
    detail: str = ""


StatusListener = Callable[[Status], None]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """How a message goes out besides its channel and payload: ``Backend.publish``'s and ``request``'s
    keywords gathered once, plus the correlation id and reply address a command is sent with."""

    kind: Kind = Kind.EVENT
    headers: Mapping[str, str] | None = None
    content_type: str = JSON
    retain: bool = False
    publisher: str = ""
    correlation_id: str | None = None
    reply_to: str | None = None


class Backend(Protocol):
    """The interface the GUI uses for everything; see the module docstring."""

    name: str  # shown in the status bar, e.g. "embedded broker" or "mqtt://127.0.0.1:1883"
    capabilities: Capabilities
    broker: Broker  # the local broker everything observed flows through (tap, channel counters)

    @property
    def status(self) -> Status: ...

    def add_status_listener(self, listener: StatusListener) -> None: ...

    def remove_status_listener(self, listener: StatusListener) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(
        self,
        channel: str,
        payload: PayloadLike = b"",
        *,
        kind: Kind = Kind.EVENT,
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        retain: bool = False,
        publisher: str = "",
    ) -> Receipt | None: ...

    async def request(
        self,
        channel: str,
        payload: PayloadLike = b"",
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-request deadline is the API
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        publisher: str = "",
    ) -> Message: ...

    def subscriptions(self) -> list[SubscriptionInfo] | None:
        """Who subscribes to what, or None when the broker does not expose it."""
        ...


class EmbeddedBackend:
    """The in-process broker as a backend: everything is exposed, nothing to connect to."""

    capabilities = Capabilities()

    def __init__(self, broker: Broker | None = None, name: str = "embedded broker") -> None:
        self.broker = broker or Broker()
        self.name = name
        self._status = Status(ConnectionState.CONNECTED, "running in this process")

    @property
    def status(self) -> Status:
        return self._status

    def add_status_listener(self, listener: StatusListener) -> None:
        """The embedded broker never changes state while it runs; nothing to report."""

    def remove_status_listener(self, listener: StatusListener) -> None:
        """Nothing was kept by ``add_status_listener``."""

    async def start(self) -> None:
        """Nothing to connect: the broker runs on the caller's loop from the start."""

    async def stop(self) -> None:
        await self.broker.close()
        self._status = Status(ConnectionState.DISCONNECTED, "stopped")

    async def publish(
        self,
        channel: str,
        payload: PayloadLike = b"",
        *,
        kind: Kind = Kind.EVENT,
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        retain: bool = False,
        publisher: str = "",
    ) -> Receipt:
        return await self.broker.publish(
            channel, payload, kind=kind, headers=headers, content_type=content_type, retain=retain, publisher=publisher
        )

    async def request(
        self,
        channel: str,
        payload: PayloadLike = b"",
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-request deadline is the API
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        publisher: str = "",
    ) -> Message:
        return await self.broker.request(
            channel, payload, timeout=timeout, headers=headers, content_type=content_type, publisher=publisher
        )

    def subscriptions(self) -> list[SubscriptionInfo]:
        return self.broker.subscriptions()
