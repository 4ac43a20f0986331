"""Commands: ``request`` and ``reply``, the request/reply half of the broker's API, built on ``publish``.

``Broker`` inherits :class:`Commands`; it lives here to keep the broker's module about routing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from eventdeck.core.broker.channels import validate_channel
from eventdeck.core.broker.errors import NoResponderError
from eventdeck.core.broker.message import JSON, Kind, Message, PayloadLike
from eventdeck.core.broker.receipts import Receipt
from eventdeck.core.broker.requests import REPLY_PREFIX, PendingRequests, reply_address
from eventdeck.core.broker.tap import EventKind, EventLog

if TYPE_CHECKING:
    from eventdeck.core.broker.channel_state import ChannelState
    from eventdeck.core.broker.channels import PatternTrie
    from eventdeck.core.broker.subscription import Subscription


class Commands:
    """Send a command and wait for its reply; answer one. Needs the broker's ``publish`` and routing."""

    if TYPE_CHECKING:  # provided by Broker
        default_publisher: str
        _requests: PendingRequests
        _log: EventLog
        _channels: dict[str, ChannelState]
        _trie: PatternTrie[Subscription]
        publish: Callable[..., Awaitable[Receipt]]

        @property
        def closed(self) -> bool: ...

        def _subscribers_for_publish(self, channel: str) -> list[Subscription]: ...

    async def request(
        self,
        channel: str,
        payload: PayloadLike = b"",
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented request API
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        publisher: str = "",
    ) -> Message:
        """Send a command and wait for its reply.

        Raises ``NoResponderError`` at once if no subscription matches ``channel`` (leaving no new
        channel behind) and ``RequestTimeout`` (with the elapsed time) if no reply comes within ``timeout``.
        """
        if not self._responders(channel):
            self._log.record(EventKind.NO_RESPONDER, channel, detail="command sent to a channel nobody handles")
            raise NoResponderError(channel)
        sender = publisher or self.default_publisher
        correlation_id, future = self._requests.open(channel, timeout)
        try:
            await self.publish(
                channel,
                payload,
                kind=Kind.COMMAND,
                headers=headers,
                content_type=content_type,
                publisher=sender,
                correlation_id=correlation_id,
                reply_to=REPLY_PREFIX + sender,
            )
            return await future
        finally:
            self._requests.forget(correlation_id)

    def _responders(self, channel: str) -> list[Subscription]:
        """The subscriptions a command to ``channel`` would reach. An unknown channel is only created
        by the publish that follows: a command nobody handles must not leave an empty channel behind."""
        try:
            known = channel in self._channels
        except TypeError:  # unhashable: publishing's own checks name the problem
            known = True
        if known or self.closed:  # a closed broker refuses with BrokerClosed there
            return self._subscribers_for_publish(channel)
        return self._trie.match(validate_channel(channel))

    def claim_reply(self, correlation_id: str) -> bool:
        """True once while a command sent with ``request`` waits for a reply with ``correlation_id``:
        gateways let the first reply of a client through and refuse any other (late, second, forged)."""
        return self._requests.claim(correlation_id)

    async def reply(
        self,
        command: Message,
        payload: PayloadLike = b"",
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = JSON,
        publisher: str = "",
    ) -> Receipt:
        """Answer ``command``: publish a ``Kind.REPLY`` to its reply-to channel with its correlation id."""
        reply_to, correlation_id = reply_address(command)
        return await self.publish(
            reply_to,
            payload,
            kind=Kind.REPLY,
            headers=headers,
            content_type=content_type,
            publisher=publisher,
            correlation_id=correlation_id,
        )
