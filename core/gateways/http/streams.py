"""Live streams of the HTTP gateway: Server-Sent Events and WebSockets, each backed by one subscription.

Every stream subscribes under a name like ``http:127.0.0.1:50312/sse-3`` (so the Subscribers
panel shows who is listening), consumes with ``Subscription.batch`` and removes its
subscription when the client goes away or the gateway stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NamedTuple

from aiohttp import WSCloseCode, WSMsgType, web

from eventdeck.core.broker.broker import Broker, Receipt
from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.broker.message import Kind, Message
from eventdeck.core.broker.subscription import Subscription
from eventdeck.core.gateways.http.envelope import (
    BadRequestError,
    decode_frame,
    dumps,
    envelope,
    error_body,
    frame_spec,
    send,
    sse_event,
    ws_message,
)
from eventdeck.core.gateways.http.masking import close_when_unmasked, masked_frames_only, refuse_unmasked
from eventdeck.core.gateways.policy import ClientPolicy, GatewayPolicy

log = logging.getLogger("eventdeck.http")
HEARTBEAT = 15.0  # seconds; keeps proxies from timing idle streams out and notices vanished peers
BATCH = 256


class StreamEvent(NamedTuple):
    """A stream opened or closed (what ``HttpGateway(on_stream=...)`` receives)."""

    opened: bool
    protocol: str  # "sse" or "ws"
    peer: str
    pattern: str | None
    subscription: str | None


def peer_of(request: web.BaseRequest) -> str:
    """``host:port`` of the client (``[v6]:port`` for IPv6)."""
    peername = request.transport.get_extra_info("peername") if request.transport else None
    if not peername:
        return request.remote or "unknown"
    host, port = peername[0], peername[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def publisher_of(request: web.BaseRequest) -> str:
    return f"http:{request.remote or 'unknown'}"


class StreamHub:
    """Opens, tracks and closes the gateway's SSE and WebSocket streams."""

    def __init__(
        self,
        broker: Broker,
        *,
        max_frame: int,
        default_timeout: float,
        max_timeout: float,
        on_stream: Callable[[StreamEvent], None] | None,
        policy: GatewayPolicy,
    ) -> None:
        self._broker = broker
        self._policy = policy
        self._max_frame = max_frame
        self._default_timeout = default_timeout
        self._max_timeout = max_timeout
        self.on_stream = on_stream
        self._closers: dict[int, Callable[[], Awaitable[None]]] = {}
        self._ids = itertools.count(1)
        self.opened = 0

    @property
    def count(self) -> int:
        """Streams open right now."""
        return len(self._closers)

    async def close_all(self) -> None:
        """End every open stream (SSE responses finish, WebSockets get 1001 "going away")."""
        await asyncio.gather(*(close() for close in list(self._closers.values())))

    @contextlib.contextmanager
    def _tracked(
        self, protocol: str, peer: str, sub: Subscription | None, close: Callable[[], Awaitable[None]]
    ) -> Iterator[None]:
        key = next(self._ids)
        self._closers[key] = close
        self.opened += 1
        pattern, name = (sub.pattern, sub.name) if sub else (None, None)
        self._notify(StreamEvent(True, protocol, peer, pattern, name))
        try:
            yield
        finally:
            del self._closers[key]
            if sub is not None:
                sub.unsubscribe()
            self._notify(StreamEvent(False, protocol, peer, pattern, name))

    def _notify(self, event: StreamEvent) -> None:
        if self.on_stream is None:
            return
        try:
            self.on_stream(event)
        except Exception:  # a faulty observer must not take streams down
            log.exception("on_stream observer failed for %s", event)

    def _subscribe(self, client: ClientPolicy, pattern: str, protocol: str, peer: str) -> Subscription:
        client.check_subscribe(pattern)
        return self._broker.subscribe(pattern, name=f"http:{peer}/{protocol}-{next(self._ids)}")

    # -- Server-Sent Events --------------------------------------------------

    async def sse(self, request: web.Request) -> web.StreamResponse:
        """``GET /subscribe[?pattern=...]``: one event per message (all without a pattern) until someone leaves.

        A pattern written ``?pattern=user/#`` reaches us as ``user/``: curl and browsers cut the ``#``
        as a URL fragment, so the endpoint list (``GET /``) and the README say to write ``%23``.
        """
        pattern = request.query.get("pattern", "#")
        if not pattern:
            raise BadRequestError("?pattern= is empty: leave it out for every channel, or write # as %23 in URLs")
        peer = peer_of(request)
        client = self._policy.client(None, peer)
        sub = self._subscribe(client, pattern, "sse", peer)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

        async def close() -> None:
            sub.unsubscribe()  # the loop below sees the end of the subscription and finishes the response

        with self._tracked("sse", peer, sub, close):
            try:
                await response.prepare(request)
                await response.write(b": subscribed\n\n")
                while True:
                    try:
                        async with asyncio.timeout(HEARTBEAT):
                            batch = await sub.batch(BATCH)
                    except TimeoutError:
                        await response.write(b": ping\n\n")
                        continue
                    except StopAsyncIteration:
                        break
                    if client.filters_deliveries:
                        batch = [d for d in batch if client.may_read(d.message.channel)]
                    await response.write("".join([sse_event(d.message) for d in batch]).encode())
                await response.write_eof()
            except ConnectionError:  # the client went away mid-write
                pass
        return response

    # -- WebSockets --------------------------------------------------------

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        """``GET /ws[?pattern=...]``: envelopes out (when a pattern is given), JSON publish frames in."""
        pattern = request.query.get("pattern")
        peer = peer_of(request)
        client = self._policy.client(None, peer)
        sub = self._subscribe(client, pattern, "ws", peer) if pattern else None
        socket = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=self._max_frame)

        async def close() -> None:
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"gateway stopping")

        tasks: set[asyncio.Task[None]] = set()
        unmasked = asyncio.Event()
        with self._tracked("ws", peer, sub, close):
            try:
                masked_frames_only(request, unmasked.set)
                await socket.prepare(request)
                if unmasked.is_set():  # in the bytes that came with the handshake
                    await refuse_unmasked(socket)
                else:
                    tasks.add(asyncio.create_task(close_when_unmasked(unmasked, socket), name=f"http ws mask {peer}"))
                if sub is not None:
                    tasks.add(asyncio.create_task(self._pump(socket, sub, client), name=f"http ws pump {peer}"))
                publisher = publisher_of(request)
                async for frame in socket:
                    if frame.type is WSMsgType.TEXT:
                        await self._on_frame(socket, frame.data, publisher, client, tasks)
                    elif frame.type is WSMsgType.BINARY:
                        await self._error(socket, BadRequestError("binary frames are not accepted; send JSON text"))
                    else:  # ERROR: the connection is broken
                        break
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        return socket

    async def _pump(self, socket: web.WebSocketResponse, sub: Subscription, client: ClientPolicy) -> None:
        try:
            while True:
                batch = await sub.batch(BATCH)
                for delivery in batch:
                    if client.filters_deliveries and not client.may_read(delivery.message.channel):
                        continue
                    await socket.send_str(ws_message(delivery.message))
        except StopAsyncIteration:  # the broker closed or the gateway is stopping
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"subscription ended")
        except ConnectionError:
            pass

    async def _on_frame(
        self,
        socket: web.WebSocketResponse,
        text: str,
        publisher: str,
        client: ClientPolicy,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        ref: Any = None
        try:
            frame = decode_frame(text)
            ref = frame.get("ref")
            spec = frame_spec(frame, publisher, self._default_timeout, self._max_timeout)
            client.check_publish(spec.channel, spec.kind, spec.correlation_id)
        except EventDeckError as exc:
            await self._error(socket, exc, ref)
            return
        sending = send(self._broker, spec)
        if spec.kind is not Kind.COMMAND:  # in order, and a full 'block' subscription slows this client down
            await self._answer(socket, sending, ref)
            return
        # A command waits for its reply in its own task so the socket keeps reading meanwhile.
        task = asyncio.create_task(self._answer(socket, sending, ref), name=f"http ws command {spec.channel}")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _answer(self, socket: web.WebSocketResponse, sending: Awaitable[Receipt | Message], ref: Any) -> None:
        try:
            result = await sending
        except EventDeckError as exc:
            await self._error(socket, exc, ref)
            return
        if isinstance(result, Receipt):
            answer = {"type": "published", "ref": ref, "id": str(result.id), "channel": result.message.channel}
            answer["queued"] = result.queued
        else:
            answer = {"type": "reply", "ref": ref, "message": envelope(result)}
        with contextlib.suppress(ConnectionError):
            await socket.send_str(dumps(answer))

    async def _error(self, socket: web.WebSocketResponse, exc: EventDeckError, ref: Any = None) -> None:
        _, body = error_body(exc)
        with contextlib.suppress(ConnectionError):
            await socket.send_str(dumps({"type": "error", "ref": ref, **body}))
