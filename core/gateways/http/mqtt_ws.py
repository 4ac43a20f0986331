"""MQTT over WebSocket on the HTTP gateway's ``/mqtt``, for browser clients (MQTT.js, MQTTX web, Paho JS).

The client opens a WebSocket offering the subprotocol ``mqtt`` (or the older ``mqttv3.1``) and
then speaks MQTT in binary frames (MQTT 5 section 6). Each such connection is served by the MQTT
gateway exactly as a TCP one (same sessions, limits, credentials and access rules), through a
``WebSocketLink``; the HTTP gateway only upgrades the request. With the MQTT gateway off, ``/mqtt``
answers 503 saying so. Each MQTT WebSocket counts against both gateways' connection limits (the
HTTP gateway's open requests and streams, the MQTT gateway's clients), and the HTTP bearer token,
when set, applies here too (browsers pass it as ``?access_token=``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from eventdeck.core.gateways.http.masking import close_when_unmasked, masked_frames_only, refuse_unmasked
from eventdeck.core.gateways.mqtt.limits import MqttLimits
from eventdeck.core.gateways.mqtt.link import Link

SUBPROTOCOLS = ("mqtt", "mqttv3.1")  # MQTT 5 6.0 names "mqtt"; older clients (Paho JS 1.0) offer "mqttv3.1"
CLOSE_WAIT = 2.0  # seconds the last bytes and the close frame get to go out once the MQTT connection ends


class MqttServer(Protocol):
    """What ``/mqtt`` needs of the MQTT gateway."""

    @property
    def limits(self) -> MqttLimits: ...

    async def serve(self, link: Link) -> None: ...


class WebSocketLink:
    """MQTT bytes over one aiohttp WebSocket: binary frames in, each batch written as one binary frame.

    Writes never wait (a ``Link`` contract): they are queued and sent by one task of their own.
    """

    def __init__(self, socket: web.WebSocketResponse, request: web.Request, address: str) -> None:
        self.address = f"{address} (WebSocket)"
        self._socket = socket
        self._transport = request.transport
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._sender = asyncio.create_task(self._send(), name=f"mqtt ws send {address}")

    async def read(self) -> bytes:
        frame = await self._socket.receive()
        if frame.type is WSMsgType.BINARY:
            return bytes(frame.data)
        if frame.type is WSMsgType.TEXT:  # MQTT 5 6.0: anything but binary data closes the connection
            await self._socket.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"MQTT travels in binary frames")
            raise ConnectionError("the client sent a text frame; MQTT over WebSocket takes binary frames only")
        return b""  # closing, closed, or broken

    def write(self, data: bytes) -> None:
        if self._closing:
            return
        self._pending.append(data)
        self._pending_size += len(data)
        self._idle.clear()
        self._wake.set()

    def buffered(self) -> int:
        transport = self._transport
        return self._pending_size + (transport.get_write_buffer_size() if transport is not None else 0)

    async def drain(self) -> None:
        await self._idle.wait()

    def closing(self) -> bool:
        return self._closing or self._socket.closed

    def close(self) -> None:
        self._closing = True
        self._wake.set()

    def abort(self) -> None:
        self._closing = True
        self._sender.cancel()
        self._idle.set()
        if self._transport is not None:
            self._transport.abort()

    async def finish(self) -> None:
        """After the MQTT connection ended: let the last bytes and the close frame go out (briefly)."""
        self.close()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(CLOSE_WAIT):
                await asyncio.shield(self._sender)
        self.abort()

    async def _send(self) -> None:
        socket = self._socket
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    data = b"".join(self._pending)
                    self._pending.clear()
                    await socket.send_bytes(data)  # waits while the socket's own buffer is full
                    self._pending_size -= len(data)
                self._idle.set()
                if self._closing:
                    await socket.close()
                    return
        except ConnectionError:  # the client went away mid-write: the reader sees the end too
            self._pending.clear()
            self._pending_size = 0
            self._idle.set()


class MqttOverWebSocket:
    """The ``/mqtt`` endpoint: upgrades the request and hands the WebSocket to the MQTT gateway."""

    def __init__(self, server: Callable[[], MqttServer | None]) -> None:
        self._server = server
        self._handlers: set[asyncio.Task[object]] = set()

    def refusal(self, request: web.Request) -> tuple[int, str] | None:
        """(HTTP status, reason) when ``request`` cannot become an MQTT connection; None when it can."""
        if self._server() is None:
            return 503, "the MQTT gateway is off: switch it on to take MQTT over WebSocket on /mqtt"
        offered = {p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")}
        if not offered & set(SUBPROTOCOLS):
            return 400, "MQTT over WebSocket needs the subprotocol 'mqtt' (Sec-WebSocket-Protocol: mqtt)"
        return None

    async def serve(self, request: web.Request, peer: str) -> web.StreamResponse:
        """Upgrade ``request`` (``refusal`` said it may) and run its MQTT connection until it ends."""
        server = self._server()
        assert server is not None
        # Frames may hold a packet and a bit more: twice the packet limit still bounds what one frame costs.
        socket = web.WebSocketResponse(
            protocols=SUBPROTOCOLS, max_msg_size=2 * server.limits.max_packet_size, compress=False
        )
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        unmasked = asyncio.Event()
        watcher: asyncio.Task[None] | None = None
        try:
            masked_frames_only(request, unmasked.set)
            await socket.prepare(request)
            if unmasked.is_set():  # in the bytes that came with the handshake
                await refuse_unmasked(socket)
                return socket
            watcher = asyncio.create_task(close_when_unmasked(unmasked, socket), name=f"mqtt ws mask {peer}")
            link = WebSocketLink(socket, request, peer)
            try:
                await server.serve(link)
            finally:
                await link.finish()
        finally:
            if watcher is not None:
                watcher.cancel()
            self._handlers.discard(task)
        return socket

    async def close_all(self) -> None:
        """The HTTP gateway stops: end every MQTT connection here (MQTT 5 clients hear "server shutting down")."""
        handlers = list(self._handlers)
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
