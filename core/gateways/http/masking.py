"""RFC 6455 section 5.1: a server must close the connection when a client sends an unmasked frame.

aiohttp reads unmasked client frames without complaint, so the WebSocket endpoint puts
``MaskedFramesOnly`` between the socket and aiohttp: it follows the frame headers in the byte
stream (sans-io, ``MaskCheck``) and hands the bytes on only while every frame is masked.
``masked_frames_only`` installs it for a request; both WebSocket endpoints (``/ws``, ``/mqtt``) do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiohttp import WSCloseCode, web

_LONGEST_HEADER = 14  # 2 bytes, 8 of extended length, 4 of mask


class MaskCheck:
    """Follows WebSocket frame headers across chunks; ``feed`` is False once a frame is unmasked."""

    def __init__(self) -> None:
        self._header = b""  # the start of a header split across chunks
        self._skip = 0  # payload bytes still to pass over

    def feed(self, data: bytes) -> bool:
        pos, size = 0, len(data)
        while pos < size:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                continue
            header = self._header + data[pos : pos + _LONGEST_HEADER - len(self._header)]
            if len(header) >= 2 and not header[1] & 0x80:
                return False
            length = header[1] & 0x7F if len(header) >= 2 else 0
            extended = 2 if length == 126 else 8 if length == 127 else 0
            full = 2 + extended + 4
            if len(header) < full:  # the rest of the header comes in the next chunk
                self._header = header
                return True
            if extended:
                length = int.from_bytes(header[2 : 2 + extended], "big")
            pos += full - len(self._header)
            self._header = b""
            self._skip = length
        return True


class MaskedFramesOnly(asyncio.Protocol):
    """Stands between a transport and aiohttp's protocol; calls ``refuse`` once, at the first unmasked frame."""

    def __init__(self, inner: asyncio.Protocol, check: MaskCheck, refuse: Callable[[], None]) -> None:
        self._inner = inner
        self._check = check
        self._refuse: Callable[[], None] | None = refuse

    def data_received(self, data: bytes) -> None:
        if self._refuse is None:
            return  # refused: nothing more reaches the WebSocket
        if self._check.feed(data):
            self._inner.data_received(data)
        else:
            refuse, self._refuse = self._refuse, None
            refuse()

    def connection_lost(self, exc: Exception | None) -> None:
        self._inner.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def masked_frames_only(request: web.Request, refuse: Callable[[], None]) -> None:
    """Check every frame the client sends from here on, and the ones that came with its handshake."""
    transport = request.transport
    if transport is None:
        return
    check = MaskCheck()
    # Frames sent right behind the handshake wait in aiohttp's buffer until the upgrade: check them too.
    if not check.feed(getattr(request.protocol, "_message_tail", b"")):
        refuse()
    transport.set_protocol(MaskedFramesOnly(transport.get_protocol(), check, refuse))  # type: ignore[arg-type]


async def close_when_unmasked(unmasked: asyncio.Event, socket: web.WebSocketResponse) -> None:
    await unmasked.wait()
    await refuse_unmasked(socket)


async def refuse_unmasked(socket: web.WebSocketResponse) -> None:
    # The client's answer to our close frame is not read (nothing more is), so wait for it only briefly.
    with contextlib.suppress(ConnectionError, TimeoutError):
        async with asyncio.timeout(1.0):
            await socket.close(code=WSCloseCode.PROTOCOL_ERROR, message=b"client frames must be masked (RFC 6455 5.1)")
