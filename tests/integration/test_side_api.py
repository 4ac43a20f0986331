"""SideApi against a real local HTTP(S) server: answers, JSON with basic auth, TLS options, and why not."""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from eventdeck.core.connectors.address import TLSOptions
from eventdeck.core.connectors.side_api import SideApi
from tests.integration.connector_support import self_signed

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(routes: dict[str, Handler], context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """An HTTP(S) server on a spare loopback port with ``routes`` (GET); yields the port."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


side_api = functools.partial(SideApi, name="test API", option="management")


async def test_side_api_answers_and_reads_json_with_basic_auth() -> None:
    seen: list[str] = []

    async def overview(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response([{"name": "orders", "consumers": 2}])

    async with serving({"/api/queues": overview}) as port:
        api = side_api(f"http://127.0.0.1:{port}/", username="guest", password="guest")
        try:
            assert await api.check("/api/queues") is None
            assert await api.get_json("/api/queues") == [{"name": "orders", "consumers": 2}]
            assert await api.check("/nowhere") == f"the test API at http://127.0.0.1:{port} answered HTTP 404 Not Found"
            assert seen[0] == "Basic Z3Vlc3Q6Z3Vlc3Q="
        finally:
            await api.close()


async def test_side_api_that_is_not_there_is_just_absent() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    api = side_api(f"http://127.0.0.1:{port}")
    why = await api.check("/varz")
    assert why is not None
    assert why.startswith(f"the test API at http://127.0.0.1:{port} did not answer")
    await api.close()


async def test_https_uses_the_connections_tls_options_and_carries_basic_auth(tmp_path: Path) -> None:
    key, cert = await self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    seen: list[str] = []

    async def overview(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response({})

    async with serving({"/api/overview": overview}, context) as port:
        url = f"https://localhost:{port}"
        trusted = side_api(url, username="guest", password="guest", tls=TLSOptions(True, ca_file=str(cert)))
        untrusted = side_api(url, username="guest", password="guest")
        unverified = side_api(url, tls=TLSOptions(True, verify=False))
        try:
            assert await trusted.check("/api/overview") is None
            assert seen == ["Basic Z3Vlc3Q6Z3Vlc3Q="]
            why = await untrusted.check("/api/overview")
            assert why is not None
            assert "certificate verify failed" in why
            assert await unverified.check("/api/overview") is None
        finally:
            for api in (trusted, untrusted, unverified):
                await api.close()


async def test_redirects_are_not_followed_with_the_credentials() -> None:
    followed: list[str] = []

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.headers.get("Authorization", ""))
        return web.json_response({})

    async with serving({"/api/overview": moved, "/elsewhere": elsewhere}) as port:
        api = side_api(f"http://127.0.0.1:{port}", username="guest", password="guest")
        try:
            why = await api.check("/api/overview")
            assert why is not None
            assert "answered HTTP 302" in why
            assert followed == []
        finally:
            await api.close()
