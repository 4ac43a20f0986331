"""Every error the broker kernel raises, and ``EventDeckError``, the base of all of EventDeck's errors.

Each other package of ``eventdeck.core`` adds its own subclasses in its own ``errors.py``,
so callers that only want "EventDeck said no" catch one type; each message names what
was wrong and why.
"""

from __future__ import annotations


class EventDeckError(Exception):
    """Base class of every error raised by ``eventdeck.core``."""


class InvalidChannel(EventDeckError, ValueError):  # noqa: N818 - public API name
    """A channel name or subscription pattern breaks the naming rules."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid channel {_shorten(name)!r}: {reason}")
        self.name = name
        self.reason = reason


class InvalidPayload(EventDeckError, TypeError):  # noqa: N818 - public API name
    """A payload that cannot be turned into bytes (e.g. an object JSON cannot encode)."""


class PayloadTooLarge(EventDeckError, ValueError):  # noqa: N818 - public API name
    """A payload is larger than the broker's ``max_payload``."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"payload of {size:,} bytes exceeds the limit of {limit:,} bytes")
        self.size = size
        self.limit = limit


class ChannelLimitReached(EventDeckError, RuntimeError):  # noqa: N818 - named like PayloadTooLarge
    """Creating a channel would pass the broker's ``max_channels`` and no idle channel could be forgotten."""

    def __init__(self, channel: str, limit: int) -> None:
        super().__init__(
            f"cannot create channel {_shorten(channel)!r}: the broker already holds max_channels={limit:,} channels "
            "and none is idle (each has a subscriber, a retained message or a declaration)"
        )
        self.channel = channel
        self.limit = limit


class RetainedLimitReached(EventDeckError, RuntimeError):  # noqa: N818 - named like PayloadTooLarge
    """A retained publish would make the retained messages pass the broker's ``max_retained_bytes``."""

    def __init__(self, channel: str, size: int, total: int, limit: int) -> None:
        super().__init__(
            f"retained message of {size:,} bytes on {_shorten(channel)!r} refused: retained messages would hold "
            f"{total:,} bytes, over max_retained_bytes={limit:,}; message not published"
        )
        self.channel = channel
        self.size = size
        self.limit = limit


class PublishTimeout(EventDeckError, TimeoutError):  # noqa: N818 - public API name
    """A ``block`` subscription stayed full for longer than the publish timeout."""

    def __init__(self, subscription: str, max_pending: int, waited: float) -> None:
        super().__init__(
            f"subscription {subscription!r} stayed full ({max_pending:,} pending) "
            f"for {waited:.3g} s; message not published"
        )
        self.subscription = subscription
        self.waited = waited


class NoResponderError(EventDeckError, LookupError):
    """A command was sent to a channel that no subscription listens to."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"no handler for {channel!r}: no subscription matches this channel")
        self.channel = channel


class RequestTimeout(EventDeckError, TimeoutError):  # noqa: N818 - public API name
    """No reply to a command arrived in time."""

    def __init__(self, channel: str, elapsed: float) -> None:
        super().__init__(f"no reply from {channel!r}: timed out after {elapsed:.3g} s")
        self.channel = channel
        self.elapsed = elapsed


class SubscriptionError(EventDeckError, ValueError):
    """A subscription request conflicts with an existing one or has bad options."""


class DeliveryError(EventDeckError, RuntimeError):
    """A delivery was acked or nacked twice, or after its subscription closed."""


class BrokerClosed(EventDeckError, RuntimeError):  # noqa: N818 - public API name
    """The broker was used after it was closed."""


def _shorten(name: str) -> str:
    """``name`` cut to 80 characters for a message (names may be 65,535 bytes long)."""
    return name if len(name) <= 80 else name[:77] + "..."
