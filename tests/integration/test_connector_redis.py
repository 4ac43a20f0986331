"""The Redis connector against the real Redis on 6379 (and a private one for reconnects)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from connector_support import (
    WAIT,
    PrivateServer,
    StatusLog,
    check_reconnect,
    free_port,
    next_message,
    require_binary,
    require_service,
    run,
    wait_until,
)

from eventdeck.core import Kind
from eventdeck.core.backend import ConnectionState
from eventdeck.core.connectors import ConnectorError, backend_from_url
from eventdeck.core.connectors.redis import RedisBackend

pytestmark = pytest.mark.services
URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def backend() -> AsyncIterator[RedisBackend]:
    require_service(6379, "Redis")
    connector = backend_from_url(URL)
    assert isinstance(connector, RedisBackend)
    await connector.start()
    yield connector
    await connector.stop()


@pytest.fixture
async def other() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(host="127.0.0.1", port=6379)
    yield client
    await client.aclose()


async def test_traffic_from_redis_cli_shows_in_the_mirror(backend: RedisBackend) -> None:
    cli = require_binary("redis-cli")
    message = await next_message(
        backend.broker, "edtest/redis/#", lambda: run(cli, "-p", "6379", "PUBLISH", "edtest/redis/temp", '{"c": 21}')
    )
    assert message.channel == "edtest/redis/temp"
    assert message.json() == {"c": 21}
    assert "edtest/redis/temp" in {info.name for info in backend.broker.channels()}
    assert backend.capabilities.headers is False


async def test_events_reach_an_independent_subscriber_and_counts_are_listed(
    backend: RedisBackend, other: aioredis.Redis
) -> None:
    pubsub = other.pubsub()
    await pubsub.subscribe("edtest:orders")
    try:
        await backend.refresh()
        subscriptions = backend.subscriptions()
        assert subscriptions is not None
        assert any(info.pattern == "edtest:orders" and info.name.startswith("1 subscriber") for info in subscriptions)
        assert "edtest:orders" in {info.name for info in backend.broker.channels() if info.declared}

        await backend.publish("edtest:orders", {"id": 7})
        async with asyncio.timeout(WAIT):
            while (item := await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)) is None:
                pass
        assert item["data"] == b'{"id":7}'
    finally:
        await pubsub.aclose()
    with pytest.raises(ConnectorError, match="cannot carry message headers"):
        await backend.publish("edtest:orders", {}, headers={"a": "b"})


async def test_command_envelope_gets_reply_from_an_independent_responder(
    backend: RedisBackend, other: aioredis.Redis
) -> None:
    pubsub = other.pubsub()
    await pubsub.subscribe("edtest:cmd")

    async def answer() -> dict[str, object]:
        while True:
            item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if item is not None:
                envelope: dict[str, object] = json.loads(item["data"])
                await other.publish(str(envelope["reply_to"]), b'{"ok":true}')
                return envelope

    try:
        task = asyncio.create_task(answer())
        reply = await backend.request("edtest:cmd", {"door": "front"}, timeout=WAIT)
        envelope = await task
    finally:
        await pubsub.aclose()
    assert envelope["payload"] == {"door": "front"}
    assert reply.kind is Kind.REPLY
    assert reply.json() == {"ok": True}
    assert reply.correlation_id == envelope["correlation_id"]
    await wait_until(lambda: "edtest:cmd" in {info.name for info in backend.broker.channels()}, "command mirrored")


async def test_streams_are_listed(backend: RedisBackend, other: aioredis.Redis) -> None:
    await other.xadd("edtest:stream", {"k": "v"})
    try:
        await backend.refresh()
        streams = backend.streams()
        assert streams is not None
        assert any(stream.name == "edtest:stream" and stream.messages >= 1 for stream in streams)
    finally:
        await other.delete("edtest:stream")


async def test_stream_entries_are_read_into_the_mirror(backend: RedisBackend, other: aioredis.Redis) -> None:
    old_key, new_key = f"edtest:orders:{uuid.uuid4().hex}", f"edtest:late:{uuid.uuid4().hex}"
    await other.xadd(old_key, {"item": "history"})  # there before: not replayed as if it were new
    try:
        await backend.refresh()  # the first listing: old_key is followed from its end
        fresh = await next_message(backend.broker, old_key, lambda: other.xadd(old_key, {"item": "milk", "qty": "2"}))
        assert fresh.json() == {"item": "milk", "qty": "2"}
        assert fresh.headers["redis-stream-id"]
        assert fresh.publisher == "redis-stream"

        async def appears_later() -> None:
            await other.xadd(new_key, {"n": "1"})  # a stream that appears after connecting...
            await backend.refresh()  # ...is read from its first entry once listed

        first = await next_message(backend.broker, new_key, appears_later)
        assert first.json() == {"n": "1"}
        mirrored = {info.name: info.messages for info in backend.broker.channels()}
        assert mirrored[old_key] == 1  # "milk" only: the entry from before the connection stays in Redis
    finally:
        await other.delete(old_key, new_key)


def redis_server(port: int) -> list[str]:
    return [require_binary("redis-server"), "--port", str(port), "--save", "", "--appendonly", "no"]


async def test_specific_errors() -> None:
    port = free_port()
    with pytest.raises(ConnectorError, match=f"nothing listens on 127.0.0.1:{port}"):
        await backend_from_url(f"redis://127.0.0.1:{port}").start()


async def test_wrong_password_is_named() -> None:
    port = free_port()
    server = PrivateServer([*redis_server(port), "--requirepass", "s3"], port)
    await server.start()
    try:
        with pytest.raises(ConnectorError, match=r"Redis at 127\.0\.0\.1:\d+ refused the default user"):
            await backend_from_url(f"redis://:wrong@127.0.0.1:{port}").start()
    finally:
        await server.stop()


async def test_reconnects_and_marks_the_gap() -> None:
    port = free_port()
    server = PrivateServer(redis_server(port), port)
    await server.start()
    connector = backend_from_url(f"redis://127.0.0.1:{port}", initial_backoff=0.2, max_backoff=1.0)
    try:
        await check_reconnect(connector, server, "edtest/reconnect")
    finally:
        await connector.stop()
        await server.stop()


async def test_stream_entries_survive_a_dropped_connection() -> None:
    port = free_port()
    server = PrivateServer(redis_server(port), port)
    await server.start()
    admin = aioredis.Redis(port=port)
    connector = backend_from_url(f"redis://127.0.0.1:{port}", initial_backoff=0.2, max_backoff=1.0)
    try:
        await admin.xadd("orders", {"n": "0"})
        await connector.start()
        await connector.refresh()
        statuses = StatusLog(connector)
        for kind in ("normal", "pubsub"):  # as if the network dropped every connection
            await admin.client_kill_filter(_type=kind, skipme=True)
        await wait_until(lambda: ConnectionState.RECONNECTING in statuses.states(), "RECONNECTING")
        entry = await next_message(connector.broker, "orders", lambda: admin.xadd("orders", {"n": "1"}))
        assert entry.json() == {"n": "1"}
        await wait_until(lambda: statuses.states()[-1] is ConnectionState.CONNECTED, "CONNECTED again")
    finally:
        await connector.stop()
        await admin.aclose()
        await server.stop()
