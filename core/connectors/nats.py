"""NATS connector (nats-py): subscribes to ``>``, publishes, native request/reply, JetStream stream list.

NATS subjects use ``.`` between tokens; the mirror shows them with ``/`` (``a.b`` <->
``a/b``; wildcards ``*``/``>`` <-> ``+``/``#``), so a subject that itself holds ``/``
cannot be told apart from a dotted one. Commands use NATS requests: the command
carries a fresh reply inbox, the mirror links command and reply by that inbox (their
correlation id), and the connector's own ``>`` subscription receives the reply. A server's
"no responders" status cannot come (that ``>`` always listens) but is a ``NoResponderError``
where it does. Subscribers are listed only when the server's monitoring endpoint
(``http://host:8222`` unless ``monitor=`` says otherwise; an ``https://`` one is reached with
the connection's TLS options) answers; otherwise they are "not exposed" and the Subscribers
panel says why. It is asked without credentials unless ``monitor=`` holds ``user:password@``,
which never go over plain HTTP off loopback unless ``monitor_insecure=yes`` says so.
The connector's own JetStream inventory requests are visible in the stream as
``$JS/API/...`` traffic, like any other client's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Hashable
from contextlib import AsyncExitStack
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client as NatsClient
from nats.aio.subscription import Subscription as NatsSubscription

from eventdeck.core.broker.message import Kind
from eventdeck.core.connectors.address import Endpoint, parse_bool
from eventdeck.core.connectors.backend import Outgoing
from eventdeck.core.connectors.base import ConnectorBackend, StreamInfo, remote_subscription
from eventdeck.core.connectors.errors import ConnectorError, causes, describe_network_failure
from eventdeck.core.connectors.side_api import SideApi

INBOX_PREFIX = "_INBOX."
NO_RESPONDERS = "503"  # the status a server answers a request with when no subscription matches
# Deep enough that a burst at tens of thousands of messages a second never counts as a slow consumer.
PENDING_MESSAGES = 1_000_000
PENDING_BYTES = 512 * 1024 * 1024
JETSTREAM_TIMEOUT = 2.0
log = logging.getLogger(__name__)


def subject_to_channel(subject: str) -> str:
    return subject.replace(".", "/")


def channel_to_subject(channel: str) -> str:
    return channel.replace("/", ".")


def pattern_to_channel(subject: str) -> str:
    """A NATS subscription subject (``a.*.>``) as a mirror pattern (``a/+/#``)."""
    return "/".join("+" if token == "*" else "#" if token == ">" else token for token in subject.split("."))


class NatsBackend(ConnectorBackend):
    kind = "nats"
    query_options = {"monitor": str, "monitor_insecure": parse_bool, "jetstream": parse_bool}

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        monitor: str | None = None,
        monitor_insecure: bool = False,
        jetstream: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(endpoint, **options)
        self.jetstream = jetstream
        # Subscribers are listed once the monitoring endpoint answers (the side API, see _connect).
        self.capabilities = dataclasses.replace(
            self.capabilities, lists_channels=False, lists_subscribers=False, retained=False
        )
        self._client: NatsClient | None = None
        self._subscription: NatsSubscription | None = None
        self.side_api = self._monitoring = SideApi(
            monitor or f"http://{endpoint.address.rsplit(':', 1)[0]}:8222",
            name="NATS monitoring endpoint",
            option="monitor",
            tls=endpoint.tls,
            cleartext=monitor_insecure,
        )
        self.monitor_url = self._monitoring.url
        self._last_error: BaseException | None = None

    async def _connect(self, stack: AsyncExitStack) -> None:
        endpoint = self.endpoint
        self._last_error = None

        async def remember(error: Exception) -> None:
            self._last_error = error

        client = await nats.connect(
            servers=[f"nats://{endpoint.address}"],
            user=endpoint.username,
            password=endpoint.password,
            tls=endpoint.tls.context() if endpoint.tls.enabled else None,
            tls_hostname=endpoint.host if endpoint.tls.enabled else None,
            name="eventdeck",
            allow_reconnect=False,  # the connector reconnects itself and says so
            max_reconnect_attempts=1,  # 0 would mean "forever" for the first connect
            reconnect_time_wait=0.1,
            connect_timeout=max(1, int(self.connect_timeout)),
            error_cb=remember,
        )
        stack.push_async_callback(client.close)
        self._client = client
        self._subscription = await client.subscribe(
            ">", pending_msgs_limit=PENDING_MESSAGES, pending_bytes_limit=PENDING_BYTES
        )
        await self._ask_side_api("/varz")

    async def _pump(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        mirror = self.mirror
        async for msg in subscription.messages:
            subject = msg.subject
            headers = msg.headers
            reply = msg.reply
            if reply:
                await mirror(
                    subject_to_channel(subject),
                    msg.data,
                    kind=Kind.COMMAND,
                    headers=headers,
                    content_type=headers.get("Content-Type") if headers else None,
                    correlation_id=reply,
                    reply_to=subject_to_channel(reply),
                )
            elif subject.startswith(INBOX_PREFIX):
                await self._mirror_reply(subject, msg.data, headers)
            elif headers:
                await mirror(
                    subject_to_channel(subject), msg.data, headers=headers, content_type=headers.get("Content-Type")
                )
            else:
                await mirror(subject_to_channel(subject), msg.data)
        if self._last_error is not None:
            raise self._last_error

    async def _mirror_reply(self, inbox: str, data: bytes, headers: dict[str, str] | None) -> None:
        """A reply (its inbox is its correlation id); if it answers our request, hand it over."""
        if headers and headers.get("Status") == NO_RESPONDERS:
            self._no_responder(inbox)
        reply = await self.mirror(
            subject_to_channel(inbox),
            data,
            kind=Kind.REPLY,
            headers=headers,
            content_type=headers.get("Content-Type") if headers else None,
            correlation_id=inbox,
        )
        self._answer(inbox, reply)

    async def _refresh(self) -> None:
        client = self._client
        assert client is not None
        if self.jetstream:
            try:
                infos = await client.jsm(timeout=JETSTREAM_TIMEOUT).streams_info()
            except nats.errors.Error as exc:
                # No JetStream here: our own '>' subscription swallows "no responders", so the ask times out.
                log.info("%s: no JetStream stream list (%s); not asking again", self.name, exc)
                self.jetstream = False
                self._streams = None
            else:
                self._streams = sorted(
                    StreamInfo(
                        info.config.name or "",
                        tuple(info.config.subjects or ()),
                        info.state.messages,
                        info.state.bytes,
                        info.state.consumer_count,
                    )
                    for info in infos
                )
        if self.capabilities.lists_subscribers:
            self._subscriptions = await self._monitored_subscriptions()

    async def _monitored_subscriptions(self) -> list[Any]:
        report = await self._monitoring.get_json("/connz", {"subs": "detail", "limit": "1024"})
        listed = []
        for connection in report.get("connections") or []:
            who = connection.get("name") or f"client {connection.get('cid')}"
            for sub in connection.get("subscriptions_list_detail") or []:
                subject = str(sub.get("subject", ""))
                queue = f" (queue {sub['qgroup']})" if sub.get("qgroup") else ""
                listed.append(
                    remote_subscription(
                        f"{who} #{sub.get('sid')}{queue}",
                        pattern_to_channel(subject),
                        delivered=int(sub.get("msgs", 0)),
                    )
                )
        return listed

    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        client = self._client
        assert client is not None
        headers = dict(options.headers or {})
        headers.setdefault("Content-Type", options.content_type)
        try:
            await client.publish(channel_to_subject(channel), payload, reply=options.reply_to or "", headers=headers)
        except nats.errors.Error as exc:
            raise ConnectorError(f"could not publish to {channel!r} on {self.name}: {self.describe(exc)}") from exc

    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        """A NATS request: a fresh reply inbox, which is also the correlation id (our ``>`` sees the reply)."""
        client = self._client
        assert client is not None
        inbox = client.new_inbox()
        return inbox, dataclasses.replace(options, correlation_id=inbox, reply_to=inbox)

    def _describe(self, exc: BaseException) -> str | None:
        # nats-py reports a failed connect as "no servers available"; the reason went to error_cb.
        last = self._last_error
        if last is not None and any(
            isinstance(c, nats.errors.NoServersError | nats.errors.ConnectionClosedError) for c in causes(exc)
        ):
            exc = last
        for cause in causes(exc):
            if isinstance(cause, nats.errors.AuthorizationError) or "authorization violation" in str(cause).lower():
                who = self.endpoint.username or "an anonymous login"
                return f"NATS server {self.endpoint.address} refused {who}: authorization violation"
        if exc is last:
            return describe_network_failure(exc, self.endpoint.host, self.endpoint.port, self.connect_timeout)
        return None
