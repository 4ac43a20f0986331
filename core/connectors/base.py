"""What every connector shares: connect, mirror, lose the connection, retry with backoff, mark the gap.

A connector keeps a local ``Broker`` (the *mirror*) and publishes everything it sees on
the real broker into it, so the GUI's tap, stream and channel counters work unchanged.
When the connection drops it retries with exponential backoff (capped), tells its
status listeners each step, and once back publishes a marker on ``$eventdeck/gap``
(headers ``x-gap-seconds``, ``x-gap-reason``, ``x-gap-started``, ``x-gap-ended``) so the
stream can show where messages may be missing. The mirror is never cleared.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Hashable, Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from eventdeck.core.broker.broker import Broker, Receipt
from eventdeck.core.broker.errors import InvalidChannel, NoResponderError, PayloadTooLarge, RequestTimeout
from eventdeck.core.broker.message import JSON, Kind, Message, PayloadLike, to_payload
from eventdeck.core.broker.subscription import AckMode, Overflow, State, SubscriptionInfo
from eventdeck.core.connectors.address import Endpoint
from eventdeck.core.connectors.backend import (
    GAP_CHANNEL,
    Capabilities,
    ConnectionState,
    Outgoing,
    Status,
    StatusListener,
)
from eventdeck.core.connectors.errors import ConnectorError, describe_network_failure

if TYPE_CHECKING:  # only the connectors that have one import it (and aiohttp with it)
    from eventdeck.core.connectors.side_api import SideApi

log = logging.getLogger(__name__)

YIELD_EVERY = 64
OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain"


def sniff_content_type(payload: bytes) -> str:
    """A content type for payloads whose protocol does not carry one (cheap: looks at one byte)."""
    head = payload[:1]
    if head in (b"{", b"["):
        return JSON
    try:
        payload.decode()
    except UnicodeDecodeError:
        return OCTET_STREAM
    return TEXT


def escape_channel(name: str) -> str:
    """``name`` as a valid mirror channel: names the real broker allows but EventDeck does not
    (wildcards, NUL, empty) are percent-escaped; valid names are kept."""
    if not name:
        return "(empty)"
    if "+" not in name and "#" not in name and "\0" not in name:
        return name
    return name.replace("%", "%25").replace("+", "%2B").replace("#", "%23").replace("\0", "%00")


class StreamInfo(NamedTuple):
    """A persistent stream the broker reports (JetStream stream, Redis stream); None where it does not say."""

    name: str
    subjects: tuple[str, ...]
    messages: int
    bytes: int | None = None
    consumers: int | None = None


def remote_subscription(
    name: str,
    pattern: str,
    *,
    durable: bool = False,
    active: bool = True,
    pending: int = 0,
    unacked: int = 0,
    delivered: int = 0,
    acked: int = 0,
    redelivered: int = 0,
    dropped: int = 0,
) -> SubscriptionInfo:
    """A subscription on the real broker in the shape the GUI's subscriber table shows."""
    return SubscriptionInfo(
        name,
        pattern,
        durable,
        State.ACTIVE if active else State.AWAY,
        Overflow.DROP_NEWEST,
        AckMode.AUTO,
        0,  # the broker does not report a queue limit
        pending,
        unacked,
        delivered,
        acked,
        redelivered,
        0,
        dropped,
    )


class ConnectorBackend(abc.ABC):
    """Base of the MQTT, AMQP, NATS and Redis backends (see the module docstring).

    Subclasses implement ``_connect`` (open the client, register clean-up on the exit
    stack, subscribe to everything), ``_pump`` (move messages into the mirror until the
    connection is lost, handing replies to ``_answer``), ``_send``, ``_address`` (a command's
    reply address) and ``_refresh`` (channels and subscribers the broker reports); optionally
    ``_describe`` (protocol-specific failure words).
    """

    kind: ClassVar[str]
    # Why commands cannot be sent, for a connection without request/reply.
    no_commands: ClassVar[str] = "this broker does not carry commands with replies"
    # Options accepted in the URL query string, with their parsers (keyword options win).
    query_options: ClassVar[Mapping[str, Callable[[str], object]]] = {}

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        broker: Broker | None = None,
        connect_timeout: float = 10.0,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        refresh_interval: float = 5.0,
    ) -> None:
        self.endpoint = endpoint
        self.name = endpoint.display
        self.broker = broker or Broker(default_publisher=endpoint.kind)
        self.connect_timeout = connect_timeout
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.refresh_interval = refresh_interval
        self.capabilities = Capabilities(virtual_subscribers=False)  # each connector says what else it lacks
        self.gaps = 0
        self.skipped = 0  # messages the mirror could not take (larger than its max_payload)
        self._status = Status(ConnectionState.DISCONNECTED, "not connected")
        self._listeners: list[StatusListener] = []
        self._pending: dict[Hashable, asyncio.Future[Message | None]] = {}  # replies awaited, by _address's key
        self._stack: AsyncExitStack | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._subscriptions: list[SubscriptionInfo] | None = None
        self._streams: list[StreamInfo] | None = None
        self._burst = 0  # messages mirrored since the pump last yielded to the event loop
        # An HTTP API beside the broker that lists subscribers (RabbitMQ management, NATS monitoring), if any.
        self.side_api: SideApi | None = None

    # -- state ---------------------------------------------------------------

    @property
    def status(self) -> Status:
        return self._status

    def add_status_listener(self, listener: StatusListener) -> None:
        self._listeners.append(listener)

    def remove_status_listener(self, listener: StatusListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _set_status(self, state: ConnectionState, detail: str) -> None:
        self._status = Status(state, detail)
        for listener in list(self._listeners):
            try:
                listener(self._status)
            except Exception:  # a broken listener must not stop the connector
                log.exception("status listener %r failed", listener)

    @property
    def connected(self) -> bool:
        return self._status.state is ConnectionState.CONNECTED

    def subscriptions(self) -> list[SubscriptionInfo] | None:
        """Who subscribes to what as of the last refresh, or None when the broker does not expose it."""
        return self._subscriptions if self.capabilities.lists_subscribers else None

    def streams(self) -> list[StreamInfo] | None:
        """Persistent streams as of the last refresh (JetStream, Redis streams), or None when not exposed."""
        return self._streams

    # -- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        """Connect once; raise ``ConnectorError`` with a specific reason if that fails (no retry at start)."""
        if self._supervisor is not None:
            return
        self._set_status(ConnectionState.CONNECTING, f"connecting to {self.name}")
        try:
            await self._open()
        except Exception as exc:
            detail = self.describe(exc)
            self._set_status(ConnectionState.FAILED, detail)
            raise ConnectorError(detail) from exc
        self._set_status(ConnectionState.CONNECTED, f"connected to {self.name}")
        self._supervisor = asyncio.create_task(self._supervise(), name=f"eventdeck connector {self.name}")

    async def stop(self) -> None:
        """Disconnect, stop retrying and close the mirror.

        Each step waits at most ``connect_timeout`` for a broker that no longer answers (closing
        the window must never hang on a dead connection), and the connection is always closed.
        """
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            done, _pending = await asyncio.wait({supervisor}, timeout=self.connect_timeout)
            if not done:
                log.warning("%s: the connection task did not stop within %g s", self.name, self.connect_timeout)
            elif not supervisor.cancelled() and supervisor.exception() is not None:
                log.warning("%s: the connection task had failed: %r", self.name, supervisor.exception())
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._close()
        except TimeoutError:  # _close() swallows its own errors: this is our deadline
            log.warning("%s: disconnecting took over %g s; gave up waiting", self.name, self.connect_timeout)
        await self.broker.close()
        if self.side_api is not None:
            await self.side_api.close()
        self._set_status(ConnectionState.DISCONNECTED, f"disconnected from {self.name}")

    async def refresh(self) -> None:
        """Ask the broker now for the channels and subscribers it reports (also done every ``refresh_interval``)."""
        if self._stack is not None:
            await self._refresh()

    async def _ask_side_api(self, path: str) -> None:
        """Subscribers are listed (``capabilities.lists_subscribers``) while the side API answers ``path``;
        otherwise ``capabilities.why_no_subscribers`` says why (the Subscribers panel shows it)."""
        why = await self.side_api.check(path) if self.side_api is not None else None
        if why is not None:
            log.info("%s: subscribers not listed: %s", self.name, why)
        listed = self.side_api is not None and why is None
        self.capabilities = dataclasses.replace(
            self.capabilities, lists_subscribers=listed, why_no_subscribers=why or ""
        )

    async def _open(self) -> None:
        stack = AsyncExitStack()
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._connect(stack)
        except BaseException:
            await _close_quietly(stack)
            raise
        self._stack = stack

    async def _close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await _close_quietly(stack)

    async def _supervise(self) -> None:
        while True:
            reason = await self._watch()
            if self._supervisor is not asyncio.current_task():
                return  # stop() let go of us while a client library held up the cancellation
            lost_at = time.time()
            await self._close()
            await self._reconnect(reason)
            if self._supervisor is not asyncio.current_task():
                await self._close()  # stopped while reconnecting: the new connection is not wanted
                return
            await self._mark_gap(lost_at, reason)

    async def _watch(self) -> str:
        """Pump messages (and refresh the inventory) until the connection is lost; return why it was lost."""
        refresher = asyncio.create_task(self._refresh_loop(), name=f"eventdeck refresh {self.name}")
        try:
            await self._pump()
        except Exception as exc:
            return self.describe(exc)
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        return f"{self.endpoint.address} closed the connection"

    async def _reconnect(self, reason: str) -> None:
        delay = self.initial_backoff
        while True:
            self._set_status(
                ConnectionState.RECONNECTING, f"lost connection to {self.name} ({reason}); retrying in {delay:g} s"
            )
            await asyncio.sleep(delay)
            try:
                await self._open()
            except Exception as exc:
                _raise_if_cancelling(exc)
                reason = self.describe(exc)
                delay = min(delay * 2, self.max_backoff)
                continue
            _raise_if_cancelling()  # connected although stop() cancelled us: a library swallowed it
            return

    async def _mark_gap(self, lost_at: float, reason: str) -> None:
        ended = time.time()
        seconds = ended - lost_at
        self.gaps += 1
        headers = {
            "x-gap-seconds": f"{seconds:.3f}",
            "x-gap-reason": reason,
            "x-gap-started": f"{lost_at:.3f}",
            "x-gap-ended": f"{ended:.3f}",
        }
        marker = Message.build(
            GAP_CHANNEL,
            {"broker": self.name, "seconds": round(seconds, 3), "reason": reason, "started": lost_at, "ended": ended},
            headers=headers,
            publisher="eventdeck",
        )
        await self.broker.publish_message(marker)
        self._set_status(ConnectionState.CONNECTED, f"connected to {self.name} again after {seconds:.1f} s")

    async def _refresh_loop(self) -> None:
        # Runs beside the pump, so a slow inventory never delays connecting or the stream.
        while True:
            try:
                await self._refresh()
            except Exception as exc:  # the inventory is a bonus; the stream works without it
                _raise_if_cancelling(exc)
                log.info("%s: could not list channels/subscribers: %s", self.name, self.describe(exc))
            _raise_if_cancelling()
            await asyncio.sleep(self.refresh_interval)

    # -- the mirror ------------------------------------------------------------

    async def mirror(
        self,
        channel: str,
        payload: bytes,
        *,
        kind: Kind = Kind.EVENT,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        publisher: str = "",
        correlation_id: str | None = None,
        reply_to: str | None = None,
        retain: bool = False,
    ) -> Message | None:
        """Publish what the real broker carried into the mirror; returns the mirrored message.

        Names the mirror does not accept (wildcards, empty) are escaped; payloads larger
        than the mirror's ``max_payload`` are counted in ``skipped`` instead of failing the stream.
        """
        if content_type is None:
            content_type = sniff_content_type(payload)
        fields: dict[str, Any] = {
            "kind": kind,
            "content_type": content_type,
            "headers": headers,
            "publisher": publisher,
            "correlation_id": correlation_id,
            "reply_to": reply_to,
            "retain": retain,
        }
        self._burst += 1
        if self._burst >= YIELD_EVERY:
            # Client libraries hand over buffered messages without yielding; let the rest of the app run.
            self._burst = 0
            await asyncio.sleep(0)
        try:
            receipt = await self.broker.publish(channel, payload, **fields)
        except InvalidChannel:
            receipt = await self.broker.publish(escape_channel(channel), payload, **fields)
        except PayloadTooLarge:
            self.skipped += 1
            return None
        return receipt.message

    # -- sending -------------------------------------------------------------

    def _require_connection(self) -> None:
        if not self.connected:
            raise ConnectorError(f"not connected to {self.name}: {self._status.detail}")

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
    ) -> Receipt | None:
        """Publish on the real broker. Returns None: the message shows up in the mirror when the broker echoes it."""
        self._require_connection()
        options = Outgoing(kind, headers, content_type, retain, publisher)
        self._check_features(options)
        await self._send(channel, to_payload(payload), options)
        return None

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
        """Send a command with a reply address (``_address``), then wait for the reply the pump hands to ``_answer``.

        ``RequestTimeout`` with the elapsed time when no reply comes; ``NoResponderError`` when the broker
        says nobody listens.
        """
        self._require_connection()
        if not self.capabilities.request_reply:
            raise ConnectorError(self.no_commands)
        options = Outgoing(Kind.COMMAND, headers, content_type, publisher=publisher)
        self._check_features(options)
        key, options = self._address(options)
        future: asyncio.Future[Message | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        started = time.monotonic()
        try:
            await self._send(channel, to_payload(payload), options)
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError:
            raise RequestTimeout(channel, time.monotonic() - started) from None
        finally:
            self._pending.pop(key, None)
        if reply is None:
            raise NoResponderError(channel)
        return reply

    def _answer(self, key: Hashable, reply: Message | None) -> None:
        """Hand ``reply`` (as mirrored) to the request waiting under ``key``, if one is.

        None (a reply the mirror could not take) leaves the request to time out.
        """
        if reply is not None:
            self._settle(key, reply)

    def _no_responder(self, key: Hashable) -> None:
        """The broker says nobody listens to the command waiting under ``key``."""
        self._settle(key, None)

    def _settle(self, key: Hashable, reply: Message | None) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(reply)

    def _check_features(self, options: Outgoing) -> None:
        if options.retain and not self.capabilities.retained:
            raise ConnectorError(f"{self.name} does not keep retained messages")
        if options.headers and not self.capabilities.headers:
            raise ConnectorError(f"{self.name} cannot carry message headers")

    # -- for subclasses --------------------------------------------------------

    @abc.abstractmethod
    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        """Put one message on the wire (a command when ``options.reply_to`` is set)."""

    @abc.abstractmethod
    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        """A new command's reply address: the key its reply will be answered under, and ``options``
        with the correlation id and ``reply_to`` the broker carries."""

    @abc.abstractmethod
    async def _connect(self, stack: AsyncExitStack) -> None: ...

    @abc.abstractmethod
    async def _pump(self) -> None: ...

    @abc.abstractmethod
    async def _refresh(self) -> None:
        """Update ``_subscriptions`` and declare the channels the broker reports."""

    def _describe(self, exc: BaseException) -> str | None:
        """Protocol-specific words for ``exc`` (e.g. a refused login), or None."""
        return None

    def describe(self, exc: BaseException) -> str:
        """The most specific sentence we have for a failure talking to this broker."""
        return (
            self._describe(exc)
            or describe_network_failure(exc, self.endpoint.host, self.endpoint.port, self.connect_timeout)
            or f"{type(exc).__name__}: {exc}"
        )


def _raise_if_cancelling(exc: Exception | None = None) -> None:
    """Re-raise a cancellation that a client library swallowed or turned into an error of its own
    (redis-py does, mid-command): losing it would keep a stopped connector's tasks running."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc


async def _close_quietly(stack: AsyncExitStack) -> None:
    try:
        await stack.aclose()
    except Exception as exc:  # the connection is gone anyway; closing it may fail in many ways
        log.debug("closing a lost connection failed: %r", exc)
