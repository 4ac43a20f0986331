"""Redis connector (redis.asyncio): pattern-subscribes to ``*``, publishes, reports channels and subscriber counts.

Redis pub/sub has no headers, no retained values and no request/reply, so commands
use a documented convention. A command is published as a JSON *envelope*::

    {"eventdeck": "command", "correlation_id": "…", "reply_to": "eventdeck:reply:<id>",
     "content_type": "application/json", "payload": <the command's JSON value or text>}

and a responder publishes its reply (any payload) to ``reply_to``; each request has
its own reply channel, so replies need no envelope. The mirror shows envelopes
unwrapped: kind ``command`` with their correlation id and reply-to.
Channels come from traffic plus ``PUBSUB CHANNELS``; subscribers are reported as
counts per channel (``PUBSUB NUMSUB``) and of pattern subscribers (``PUBSUB NUMPAT``).
Streams (``SCAN TYPE stream`` + ``XLEN``) are listed by ``streams()`` when ``streams=True``,
and their new entries are read (``XREAD``) into the mirror: channel = the stream's key, payload =
the entry's fields as a JSON object, header ``redis-stream-id``. Streams there at connect time are
read from then on; streams that appear later from the listing before (a few seconds of history,
not all of it). Entries added while the connection was lost are read once it is back. A key that
stops being a stream is dropped; if Redis refuses XREAD, streams are listed but not read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Hashable
from contextlib import AsyncExitStack
from dataclasses import replace
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ResponseError

from eventdeck.core.broker.message import JSON, Kind, to_payload
from eventdeck.core.connectors.address import Endpoint, parse_bool
from eventdeck.core.connectors.backend import Outgoing
from eventdeck.core.connectors.base import ConnectorBackend, StreamInfo, escape_channel, remote_subscription
from eventdeck.core.connectors.errors import causes

log = logging.getLogger(__name__)
ENVELOPE_MARK = b'{"eventdeck":'
REPLY_PREFIX = "eventdeck:reply:"
MAX_LISTED_STREAMS = 200
STREAM_BLOCK_MS = 1000  # how long one XREAD waits for new entries
STREAM_BATCH = 500  # entries per stream per XREAD


class RedisBackend(ConnectorBackend):
    kind = "redis"
    query_options = {"streams": parse_bool}

    def __init__(self, endpoint: Endpoint, *, streams: bool = True, **options: Any) -> None:
        super().__init__(endpoint, **options)
        self.list_streams = streams
        self.capabilities = replace(self.capabilities, retained=False, headers=False)
        self._client: aioredis.Redis | None = None
        self._pubsub: aioredis.client.PubSub | None = None
        self._stream_ids: dict[str, str] | None = None  # stream key -> last entry id read; None: not listed yet
        self._listed_at = "0-0"  # the server's clock at the previous listing, as a stream entry id
        self._streams_refused: str | None = None  # why Redis will not let us read streams, once it said so

    async def _connect(self, stack: AsyncExitStack) -> None:
        endpoint = self.endpoint
        tls = endpoint.tls
        client = aioredis.Redis(
            host=endpoint.host,
            port=endpoint.port,
            db=int(endpoint.path or 0),
            username=endpoint.username,
            password=endpoint.password,
            socket_connect_timeout=self.connect_timeout,
            retry=Retry(NoBackoff(), 0),  # the connector reconnects itself and says so
            ssl=tls.enabled,
            ssl_ca_certs=tls.ca_file,
            ssl_certfile=tls.cert_file,
            ssl_keyfile=tls.key_file,
            ssl_cert_reqs="required" if tls.verify else "none",
            ssl_check_hostname=tls.verify,
        )
        stack.push_async_callback(client.aclose)
        await client.ping()
        pubsub = client.pubsub()
        stack.push_async_callback(pubsub.aclose)
        await pubsub.psubscribe("*")
        self._client = client
        self._pubsub = pubsub

    async def _pump(self) -> None:
        """Pub/sub messages and stream entries side by side; the first to stop (a lost connection) stops both."""
        pumps = [asyncio.create_task(self._pump_channels())]
        if self.list_streams:
            pumps.append(asyncio.create_task(self._pump_streams()))
        try:
            done, _running = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in done:
                pump.result()  # its error says why the connection is gone
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def _pump_streams(self) -> None:
        """Read new stream entries into the mirror, on a connection of their own (XREAD blocks).

        Only a lost (or frozen) connection ends it: what Redis refuses is dealt with here.
        """
        client = self._client
        assert client is not None
        while True:
            ids = self._stream_ids
            if not ids:
                await asyncio.sleep(STREAM_BLOCK_MS / 1000)  # nothing to read until the next listing
                continue
            streams: dict[Any, Any] = dict(ids)
            try:
                async with asyncio.timeout(STREAM_BLOCK_MS / 1000 + self.connect_timeout):  # a broker that froze
                    reply = await client.xread(streams, count=STREAM_BATCH, block=STREAM_BLOCK_MS)
            except ResponseError as exc:
                await self._stream_refused(client, exc)
                continue
            batches = cast("list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] | None", reply)  # RESP2
            for key, entries in batches or ():
                name = _text(key)
                for entry_id, fields in entries:
                    ident = _text(entry_id)
                    ids[name] = ident
                    record = {_text(field): _text(value) for field, value in fields.items()}
                    await self.mirror(
                        escape_channel(name),
                        to_payload(record),
                        content_type=JSON,
                        headers={"redis-stream-id": ident},
                        publisher="redis-stream",
                    )

    async def _stream_refused(self, client: aioredis.Redis, exc: ResponseError) -> None:
        """XREAD failed for a reason of Redis's: a key that is no longer a stream, or no permission."""
        ids = self._stream_ids or {}
        if str(exc).startswith("WRONGTYPE"):
            for name in list(ids):
                if _text(await client.type(name)) not in ("stream", "none"):
                    del ids[name]  # deleted and reused for another type: stop asking for it
            return
        self._streams_refused = str(exc)
        ids.clear()
        log.warning("%s: not reading streams: %s", self.name, exc)

    async def _pump_channels(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        mirror = self.mirror
        pending = self._pending
        async for item in pubsub.listen():
            if item["type"] != "pmessage":
                continue
            channel = item["channel"].decode(errors="replace")
            data: bytes = item["data"]
            if data.startswith(ENVELOPE_MARK):
                await self._mirror_envelope(channel, data)
            elif channel in pending:
                await self._mirror_reply(channel, data)
            else:
                await mirror(channel, data)

    async def _mirror_envelope(self, channel: str, data: bytes) -> None:
        try:
            envelope = json.loads(data)
            kind = Kind(envelope["eventdeck"])
            content_type = str(envelope.get("content_type", JSON))
            inner = envelope.get("payload")
            payload = to_payload(inner) if content_type == JSON or not isinstance(inner, str) else inner.encode()
            correlation = envelope.get("correlation_id")
            reply_to = envelope.get("reply_to")
        except (ValueError, KeyError, TypeError, AttributeError):
            await self.mirror(channel, data)  # looked like an envelope but is not one: show it as it is
            return
        await self.mirror(
            channel,
            payload,
            kind=kind,
            content_type=content_type,
            correlation_id=str(correlation) if correlation is not None else None,
            reply_to=str(reply_to) if reply_to is not None else None,
        )

    async def _mirror_reply(self, channel: str, data: bytes) -> None:
        correlation = channel.removeprefix(REPLY_PREFIX)
        self._answer(channel, await self.mirror(channel, data, kind=Kind.REPLY, correlation_id=correlation))

    async def _refresh(self) -> None:
        client = self._client
        assert client is not None
        if self.list_streams:
            try:
                await self._refresh_streams(client)
            except ResponseError as exc:  # no right to SCAN/XLEN, say: channels are listed all the same
                log.info("%s: cannot list streams: %s", self.name, exc)
        names = sorted(_text(name) for name in await client.pubsub_channels())
        counts = dict(await client.pubsub_numsub(*names)) if names else {}
        patterns = int(await client.pubsub_numpat()) - 1  # not counting our own '*'
        for name in names:
            if not name.startswith(REPLY_PREFIX):
                self.broker.declare_channel(escape_channel(name), "reported by Redis (PUBSUB CHANNELS)")
        listed = []
        for raw, count in counts.items():
            name = _text(raw)
            if count:
                listed.append(remote_subscription(f"{count} subscriber{_s(count)} of {name}", name))
        if patterns > 0:
            listed.append(remote_subscription(f"{patterns} pattern subscriber{_s(patterns)}", "(patterns not exposed)"))
        self._subscriptions = listed

    async def _refresh_streams(self, client: aioredis.Redis) -> None:
        seconds, micros = await client.time()
        now = f"{seconds * 1000 + micros // 1000}-0"  # entry ids are the server's clock in ms
        streams = await self._list_streams(client)
        self._streams = streams
        complete = len(streams) < MAX_LISTED_STREAMS
        if not complete and self._stream_ids is None:
            log.info(
                "%s: more than %d streams; only the first %d are followed",
                self.name,
                MAX_LISTED_STREAMS,
                MAX_LISTED_STREAMS,
            )
        await self._follow(client, [stream.name for stream in streams], complete=complete)
        self._listed_at = now

    async def _follow(self, client: aioredis.Redis, names: list[str], *, complete: bool) -> None:
        """Read the listed streams: those there at the first listing from their newest entry on, later ones
        from the previous listing's time (not their whole history). ``complete``: the listing was not cut
        short, so streams missing from it are gone and no longer asked for."""
        if self._streams_refused is not None:
            return
        first = self._stream_ids is None
        found: dict[str, str] = {}
        for name in names:
            newest = cast("list[tuple[bytes, object]]", await client.xrevrange(name, count=1)) if first else []
            found[name] = _text(newest[0][0]) if newest else self._listed_at
        if self._stream_ids is None:
            self._stream_ids = {}
        ids = self._stream_ids
        for name, ident in found.items():  # another listing may have finished while we asked: it wins
            ids.setdefault(name, ident)
        if complete:
            for gone in set(ids) - set(names):
                del ids[gone]

    async def _list_streams(self, client: aioredis.Redis) -> list[StreamInfo]:
        streams = []
        async for key in client.scan_iter(_type="stream", count=500):
            name = _text(key)
            streams.append(StreamInfo(name, (name,), int(await client.xlen(key))))
            if len(streams) >= MAX_LISTED_STREAMS:
                break
        return sorted(streams)

    async def _send(self, channel: str, payload: bytes, options: Outgoing) -> None:
        client = self._client
        assert client is not None
        if options.reply_to is not None:
            payload = _envelope(payload, options)
        await client.publish(channel, payload)

    def _address(self, options: Outgoing) -> tuple[Hashable, Outgoing]:
        """A reply channel of the command's own (its key), named after a fresh correlation id."""
        correlation = uuid.uuid4().hex
        reply_to = REPLY_PREFIX + correlation
        return reply_to, replace(options, correlation_id=correlation, reply_to=reply_to)

    def _describe(self, exc: BaseException) -> str | None:
        for cause in causes(exc):
            if isinstance(cause, AuthenticationError) or (
                isinstance(cause, ResponseError) and str(cause).startswith(("NOAUTH", "WRONGPASS"))
            ):
                who = self.endpoint.username or "the default user"
                return f"Redis at {self.endpoint.address} refused {who}: {cause}"
        return None


def _envelope(payload: bytes, command: Outgoing) -> bytes:
    """A command as the JSON envelope described in the module docstring."""
    inner: Any = payload.decode(errors="replace")
    if command.content_type == JSON:
        inner = json.loads(payload) if payload else None
    envelope = {
        "eventdeck": Kind.COMMAND.value,
        "correlation_id": command.correlation_id,
        "reply_to": command.reply_to,
        "content_type": command.content_type,
        "payload": inner,
    }
    return to_payload(envelope)


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _text(name: bytes | str) -> str:
    return name.decode(errors="replace") if isinstance(name, bytes) else name
