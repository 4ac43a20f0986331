"""The HTTP gateway: publish, send commands, list and subscribe to the embedded broker over HTTP.

Endpoints (all answers are JSON unless noted; errors are ``{"error", "status", ...}``)::

    POST /channels/{channel}   publish the body; 202 {"id", "channel", "queued"}
    GET  /channels             the channels, as the Channels panel shows them, sorted by name, paged:
                               ``?limit=N`` (default 1,000, at most 10,000) after ``?after=NAME``;
                               ``X-Total-Count`` and, while more remain, ``Link: <...>; rel="next"``
    GET  /subscriptions        the subscriptions, as the Subscribers panel shows them
    GET  /stats                broker-wide totals
    GET  /                     this list of endpoints, as JSON
    GET  /subscribe[?pattern=P] Server-Sent Events, one ``event: <kind>`` per message (envelope in ``data:``)
    GET  /ws[?pattern=P]       WebSocket: envelopes out, JSON publish frames in (see ``http_envelope``)
    GET  /mqtt                 MQTT over WebSocket (subprotocol ``mqtt``), served by the MQTT gateway

WebSocket frames from the server carry a ``type``: ``message`` (an envelope), ``published``
(``id``, ``channel``, ``queued``), ``reply`` (the reply's envelope under ``message``) or
``error`` (as the HTTP errors); answers echo the ``ref`` the client put in its frame.

Publishing takes the body as a CloudEvent in binary mode (``ce-*`` headers), in structured
mode (``Content-Type: application/cloudevents+json``), or as a plain body with its
Content-Type. Options come from the query string or from ``X-EventDeck-*`` headers:
``kind`` (event | command | reply), ``retain`` (true/false), ``timeout`` (seconds a command
waits), ``correlation_id`` (a reply must name the command it answers) and ``publisher``.

Commands use the same endpoint: ``POST /channels/fridge/defrost?kind=command`` waits for the
reply and returns its payload with its content type (200), its ``ce-*`` headers and
``X-EventDeck-Id``/``-Correlation-Id``/``-Publisher``; 404 names the channel when nothing
handles it, 504 gives the seconds waited.

Safety: binds loopback by default and will not listen elsewhere without a bearer token
(``Authorization: Bearer <token>``, or ``?access_token=`` for browsers' EventSource);
bodies over ``max_body`` get 413; at most ``max_connections`` requests and streams at
once (503 beyond); every response forbids sniffing and scripts, so nothing a message
carries is ever run or rendered as a page.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from eventdeck.core.broker.broker import Broker
from eventdeck.core.broker.errors import EventDeckError, PayloadTooLarge
from eventdeck.core.broker.message import Message, media_type
from eventdeck.core.gateways.acl import AccessRules
from eventdeck.core.gateways.admission import Admission
from eventdeck.core.gateways.errors import GatewayError
from eventdeck.core.gateways.http.cloudevents import (
    BATCH,
    Inbound,
    binary_headers,
    from_binary,
    from_structured,
    has_binary_attributes,
    header_value,
    is_structured,
)
from eventdeck.core.gateways.http.envelope import (
    BadRequestError,
    PublishSpec,
    check_reply,
    error_body,
    parse_bool,
    parse_kind,
    parse_timeout,
    send,
)
from eventdeck.core.gateways.http.mqtt_ws import MqttOverWebSocket, MqttServer
from eventdeck.core.gateways.http.streams import StreamEvent, StreamHub, peer_of, publisher_of
from eventdeck.core.gateways.policy import GatewayPolicy
from eventdeck.core.gateways.service import Service

__all__ = ["HttpGateway", "HttpGatewayStats", "StreamEvent"]

MAX_TIMEOUT = 300.0  # longest a command may ask to wait, in seconds
SHUTDOWN_GRACE = 2.0  # seconds in-flight requests get to finish on stop before they are cancelled
PAGE_DEFAULT = 1_000  # channels per GET /channels page: ~170 KB of JSON, a few ms of the loop
PAGE_MAX = 10_000  # the most a client may ask for in one page
ENDPOINTS = {
    "POST /channels/{channel}": "publish the body (Content-Type says what it is); ?kind=command waits for the reply",
    "GET /channels": "the channels, paged: ?limit=N&after=NAME",
    "GET /subscriptions": "the subscriptions and their queues",
    "GET /stats": "broker-wide totals",
    "GET /subscribe": "Server-Sent Events of every message; ?pattern=user/%23 for some (%23 is #, + is one level)",
    "GET /ws": "WebSocket: JSON publish frames in; ?pattern=P sends the matching messages out",
    "GET /mqtt": "MQTT over WebSocket (subprotocol mqtt) for browser MQTT clients; needs the MQTT gateway on",
}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
}
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _BodyTimeout(Exception):  # noqa: N818 - internal signal, answered with 408
    """The client is too slow sending its body."""


class HttpGatewayStats(NamedTuple):
    """Counters since start, for logs and summaries."""

    requests: int
    published: int
    commands: int
    rejected: int  # requests answered with an error status
    open_streams: int
    streams_opened: int


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


class HttpGateway(Service):
    """Serves the broker over HTTP. ``async with HttpGateway(broker, port=0) as gateway:`` then ``gateway.port``.

    ``request_timeout`` is how long a command waits for its reply unless the request says
    otherwise, and how long a client may take to send its body. ``on_stream`` is called
    with a ``StreamEvent`` whenever an SSE or WebSocket stream opens or closes. ``mqtt``
    gives the MQTT gateway that serves ``/mqtt`` (None while it is off).
    """

    def __init__(
        self,
        broker: Broker,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        token: str | None = None,
        max_body: int = 1024 * 1024,
        request_timeout: float = 5.0,
        max_connections: int = 256,
        max_waiting: int = 512,
        waiting_timeout: float = 10.0,
        rules: AccessRules | None = None,
        on_stream: Callable[[StreamEvent], None] | None = None,
        mqtt: Callable[[], MqttServer | None] = lambda: None,
    ) -> None:
        self.broker = broker
        self.host = host
        self._port = port
        self.token = token
        self.max_body = max_body
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        # Sockets with no request in progress (new, slow to send headers, idle between requests).
        self._waiting: Admission[RequestHandler] = Admission(
            budget=max_waiting, timeout=waiting_timeout, close=RequestHandler.force_close
        )
        self.max_timeout = max(MAX_TIMEOUT, request_timeout)
        self.policy = GatewayPolicy(broker.claim_reply, rules)  # HTTP clients get the rules for no user name
        self.streams = StreamHub(
            broker,
            max_frame=max_body,
            default_timeout=request_timeout,
            max_timeout=self.max_timeout,
            on_stream=on_stream,
            policy=self.policy,
        )
        self.mqtt = MqttOverWebSocket(mqtt)
        self._runner: web.AppRunner | None = None
        self._active = 0
        self._requests = 0
        self._published = 0
        self._commands = 0
        self._rejected = 0

    @property
    def port(self) -> int:
        """The port listened on (the real one once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def open_streams(self) -> int:
        return self.streams.count

    @property
    def running(self) -> bool:
        return self._runner is not None

    def stats(self) -> HttpGatewayStats:
        return HttpGatewayStats(
            self._requests, self._published, self._commands, self._rejected, self.streams.count, self.streams.opened
        )

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Listen; raises ``GatewayError`` with a one-line reason when that is not possible."""
        if self._runner is not None:
            return
        if not is_loopback(self.host) and not self.token:
            raise GatewayError(
                f"refusing to serve HTTP on {self.host}, which is not a loopback address, without a bearer "
                "token: anyone who can reach it could publish and read every message; set a token"
            )
        app = web.Application(middlewares=[self._guard], client_max_size=self.max_body)
        app.router.add_get("/", self._index)
        app.router.add_get("/channels", self._channels)
        app.router.add_get("/subscriptions", self._subscriptions)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/channels/{channel:.*}", self._publish)
        app.router.add_get("/subscribe", self.streams.sse)
        app.router.add_get("/ws", self.streams.ws)
        app.router.add_get("/mqtt", self._mqtt)
        app.on_response_prepare.append(_secure)
        # handler_cancellation: a client that hangs up cancels its handler, ending its stream or command.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        self._admit(runner)
        site = web.TCPSite(runner, self.host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise GatewayError(self._bind_problem(exc)) from None
        self._runner = runner
        self._port = runner.addresses[0][1]

    def _admit(self, runner: web.AppRunner) -> None:
        """Put every new connection in the waiting budget, and take closed ones out."""
        server = runner.server
        assert server is not None
        made, lost = server.connection_made, server.connection_lost
        waiting = self._waiting

        def connection_made(handler: RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            waiting.waiting(handler)

        def connection_lost(handler: RequestHandler, exc: BaseException | None = None) -> None:
            waiting.left(handler)
            lost(handler, exc)

        # aiohttp's connection manager has no hook of its own for this: wrap this server's two callbacks.
        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

    def _bind_problem(self, exc: OSError) -> str:
        where = f"port {self._port} on {self.host}"
        if exc.errno == errno.EADDRINUSE:
            return f"{where} is already in use; choose another port or stop what is using it"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return f"{where} needs privileges this process does not have; choose a port above 1023"
        return f"cannot listen on {where}: {exc.strerror or exc}"

    async def stop(self) -> None:
        """Close every stream, then the listener; in-flight requests get a short grace period."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.streams.close_all()
        await self.mqtt.close_all()
        self._waiting.close_all()
        await runner.cleanup()

    # -- the gate every request passes --------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        self._requests += 1
        connection = request.protocol
        self._waiting.busy(connection)
        try:
            return await self._serve(request, handler)
        finally:
            if request.transport is not None and not request.transport.is_closing():
                self._waiting.waiting(connection)

    async def _serve(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        response = self._refusal(request)
        if response is None:
            self._active += 1
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                if exc.status < 400:
                    raise
                response = _json_error(exc.status, f"{exc.reason}: {request.method} {request.path}")
            except EventDeckError as exc:
                status, body = error_body(exc)
                response = _json_response(body, status=status)
            except _BodyTimeout:
                response = _json_error(408, f"the request body did not arrive within {self.request_timeout:g} s")
            finally:
                self._active -= 1
        if response.status >= 400:
            self._rejected += 1
        return response

    def _refusal(self, request: web.Request) -> web.StreamResponse | None:
        if self.token is not None:
            given = _bearer(request)
            if given is None:
                return _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return _unauthorized("wrong bearer token")
        if self._active >= self.max_connections:
            return _json_error(503, f"too many open requests and streams (limit {self.max_connections}); retry later")
        return None

    # -- endpoints ---------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        """``GET /``: what this gateway offers, so a curious ``curl`` finds its way."""
        return _json_response({"service": "EventDeck HTTP gateway", "endpoints": ENDPOINTS})

    async def _mqtt(self, request: web.Request) -> web.StreamResponse:
        refusal = self.mqtt.refusal(request)
        if refusal is not None:
            return _json_error(*refusal)
        return await self.mqtt.serve(request, peer_of(request))

    async def _channels(self, request: web.Request) -> web.Response:
        after = request.query.get("after")
        try:
            limit = _page_limit(request.query.get("limit"))
        except ValueError as exc:
            return _json_error(400, str(exc))
        infos = self.broker.channels(after=after, limit=limit + 1)  # one more tells whether a next page exists
        headers = {"X-Total-Count": str(self.broker.channel_count)}
        if len(infos) > limit:
            del infos[limit:]
            query = urlencode({"after": infos[-1].name, "limit": limit})
            headers["Link"] = f'<{request.path}?{query}>; rel="next"'
        return _json_response([info._asdict() for info in infos], headers=headers)

    async def _subscriptions(self, request: web.Request) -> web.Response:
        return _json_response([_plain(info._asdict()) for info in self.broker.subscriptions()])

    async def _stats(self, request: web.Request) -> web.Response:
        return _json_response(self.broker.stats()._asdict())

    async def _publish(self, request: web.Request) -> web.Response:
        body = await self._read_body(request)
        spec = self._spec(request, request.match_info["channel"], body)
        self.policy.client(None, peer_of(request)).check_publish(spec.channel, spec.kind, spec.correlation_id)
        result = await send(self.broker, spec)
        if isinstance(result, Message):
            self._commands += 1
            return _reply_response(result)
        self._published += 1
        return _json_response({"id": str(result.id), "channel": spec.channel, "queued": result.queued}, status=202)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.max_body
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(request.content_length, limit)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.request_timeout):
                async for chunk in request.content.iter_any():
                    size += len(chunk)
                    if size > limit:  # chunked bodies announce no length: stop reading at the limit
                        raise PayloadTooLarge(size, limit)
                    chunks.append(chunk)
        except TimeoutError:
            raise _BodyTimeout from None
        return b"".join(chunks)

    def _spec(self, request: web.Request, channel: str, body: bytes) -> PublishSpec:
        content_type = request.headers.get("Content-Type")
        if is_structured(content_type):
            inbound = from_structured(body)
        elif media_type(content_type) == BATCH:
            raise BadRequestError("CloudEvents batch mode is not supported; send one event per request")
        elif has_binary_attributes(request.headers.items()):
            inbound = from_binary(request.headers.items(), body, content_type)
        else:
            inbound = Inbound(body, content_type or "application/octet-stream", {}, "")

        def option(name: str) -> str | None:
            header = "X-EventDeck-" + name.replace("_", "-")
            return request.query.get(name, request.headers.get(header))

        kind = parse_kind(option("kind") or "event")
        correlation_id = option("correlation_id")
        check_reply(kind, correlation_id)
        timeout = option("timeout")
        return PublishSpec(
            channel,
            inbound.payload,
            inbound.content_type,
            kind,
            inbound.headers,
            option("publisher") or inbound.publisher or publisher_of(request),
            parse_bool("retain", option("retain") or ""),
            correlation_id,
            parse_timeout(timeout, self.max_timeout) if timeout else self.request_timeout,
        )


def _reply_response(reply: Message) -> web.Response:
    headers = binary_headers(reply.headers)
    headers.update(
        {
            "Content-Type": header_value(reply.content_type),
            "X-EventDeck-Id": str(reply.id),
            "X-EventDeck-Publisher": header_value(reply.publisher),
            "X-EventDeck-Correlation-Id": header_value(reply.correlation_id or ""),
        }
    )
    return web.Response(body=reply.payload, status=200, headers=headers)


def _bearer(request: web.Request) -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.query.get("access_token")


def _unauthorized(reason: str) -> web.Response:
    response = _json_error(401, reason)
    response.headers["WWW-Authenticate"] = 'Bearer realm="eventdeck"'
    return response


def _page_limit(text: str | None) -> int:
    """The ``limit`` of a page of ``GET /channels``; ``ValueError`` saying what is allowed."""
    if text is None:
        return PAGE_DEFAULT
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= PAGE_MAX:
        raise ValueError(f"limit must be a whole number from 1 to {PAGE_MAX:,}, got {text!r}")
    return int(text)


def _json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON with a final newline, so ``curl`` leaves the shell prompt on a line of its own."""
    return web.json_response(data, status=status, headers=headers, dumps=lambda value: json.dumps(value) + "\n")


def _json_error(status: int, message: str) -> web.Response:
    return _json_response({"error": message, "status": status}, status=status)


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value.value if isinstance(value, enum.Enum) else value for key, value in fields.items()}


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_SECURITY_HEADERS)
