"""What an MQTT connection runs over: a TCP socket, or a WebSocket of the HTTP gateway (``/mqtt``).

``Connection`` (connection.py) reads chunks of bytes and writes whole batches; a ``Link``
hides whether those bytes travel as a TCP stream or as WebSocket binary frames.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Link(Protocol):
    """A byte pipe to one client."""

    address: str  # for people: "127.0.0.1:50312", with " (WebSocket)" for a WebSocket

    async def read(self) -> bytes:
        """The next bytes from the client; b"" at the end (``ConnectionError`` if it broke)."""
        ...

    def write(self, data: bytes) -> None:
        """Queue ``data`` for the client (never waits; ``drain`` does)."""
        ...

    def buffered(self) -> int:
        """Bytes written but not yet taken by the client's side."""
        ...

    async def drain(self) -> None:
        """Wait until the client takes what is buffered (down to the transport's low-water mark)."""
        ...

    def closing(self) -> bool: ...

    def close(self) -> None:
        """Send what is buffered, then close."""
        ...

    def abort(self) -> None:
        """Close at once, dropping what is buffered."""
        ...


HIGH_WATER = 1024 * 1024  # bytes buffered for a client before what feeds it waits for the socket
# ~140 small PUBLISHes per loop turn, about 0.25 ms of work: keeps each turn short when a client floods
READ_SIZE = 16 * 1024


class TcpLink:
    """A TCP connection accepted by ``asyncio.start_server``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._transport = writer.transport
        peer = writer.get_extra_info("peername")
        self.address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    async def read(self) -> bytes:
        return await self._reader.read(READ_SIZE)

    def write(self, data: bytes) -> None:
        self._transport.write(data)

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    async def drain(self) -> None:
        await self._writer.drain()

    def closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._transport.close()

    def abort(self) -> None:
        self._transport.abort()
