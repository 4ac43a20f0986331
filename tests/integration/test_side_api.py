"""SideApi against a real local HTTP server: answers, JSON with basic auth, and 'not there'."""

from __future__ import annotations

import socket

from aiohttp import web

from eventdeck.core.connectors.side_api import SideApi


async def test_side_api_answers_and_reads_json_with_basic_auth() -> None:
    seen: list[str] = []

    async def overview(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        return web.json_response([{"name": "orders", "consumers": 2}])

    app = web.Application()
    app.router.add_get("/api/queues", overview)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    api = SideApi(f"http://127.0.0.1:{port}/", username="guest", password="guest")
    try:
        assert await api.answers("/api/queues")
        assert await api.get_json("/api/queues") == [{"name": "orders", "consumers": 2}]
        assert not await api.answers("/nowhere")
        assert seen[0] == "Basic Z3Vlc3Q6Z3Vlc3Q="
    finally:
        await api.close()
        await runner.cleanup()


async def test_side_api_that_is_not_there_is_just_absent() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    api = SideApi(f"http://127.0.0.1:{port}")
    assert not await api.answers("/varz")
    await api.close()
