"""Hostile sockets on the gateways: idle and slow ones never lock a real client out."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from eventdeck.core import Broker
from eventdeck.core.gateways.http.server import HttpGateway


async def open_idle(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    for _ in range(count):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writers.append(writer)
    return writers


async def closed_by_server(writers: list[asyncio.StreamWriter]) -> int:
    """How many of these sockets the server has closed (a read returns EOF at once)."""
    closed = 0
    for writer in writers:
        reader = writer.transport.get_protocol()._stream_reader  # type: ignore[attr-defined]
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(0.01):
                if await reader.read(1) == b"":
                    closed += 1
    return closed


async def test_idle_http_sockets_cannot_lock_a_client_out(broker: Broker) -> None:
    async with HttpGateway(broker, port=0, max_waiting=20, waiting_timeout=30) as gateway:
        idle = await open_idle(gateway.port, 200)
        url = f"{gateway.url}/channels/legit"
        async with aiohttp.ClientSession() as session, session.post(url, data=b"{}") as reply:
            assert reply.status == 202
        await asyncio.sleep(0.1)
        assert await closed_by_server(idle) >= 180  # only the newest 20 idle ones are kept
        for writer in idle:
            writer.close()


async def test_a_slow_http_header_is_cut_off_after_the_waiting_timeout(broker: Broker) -> None:
    async with HttpGateway(broker, port=0, waiting_timeout=0.3) as gateway:
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(b"POST /channels/slow HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        await writer.drain()
        async with asyncio.timeout(5):
            assert await reader.read() == b""
        writer.close()


async def test_keep_alive_connections_serve_many_requests_and_then_wait_like_new_ones(broker: Broker) -> None:
    async with HttpGateway(broker, port=0, max_waiting=5, waiting_timeout=30) as gateway:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            for n in range(20):  # one connection, reused: busy during each request, waiting between
                async with session.post(f"{gateway.url}/channels/kept", json={"n": n}) as response:
                    assert response.status == 202
        assert broker.stats().published == 20
