"""The Redis connector against the real Redis on 6379 (and a private one for reconnects)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from eventdeck.core import Kind
from eventdeck.core.connectors import ConnectorBackend, ConnectorError, backend_from_url
from eventdeck.core.connectors.backend import ConnectionState
from eventdeck.core.connectors.redis import RedisBackend
from tests.integration import connector_support as support

pytestmark = pytest.mark.services
URL = "redis://127.0.0.1:6379/0"


backend = support.backend_fixture(URL, RedisBackend, "Redis")


@pytest.fixture
async def other() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(host="127.0.0.1", port=6379)
    yield client
    await client.aclose()


async def test_traffic_from_redis_cli_shows_in_the_mirror(backend: RedisBackend) -> None:
    cli = support.require_binary("redis-cli")
    message = await support.next_message(
        backend.broker,
        "edtest/redis/#",
        lambda: support.run(cli, "-p", "6379", "PUBLISH", "edtest/redis/temp", '{"c": 21}'),
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
        async with asyncio.timeout(support.WAIT):
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
        reply = await backend.request("edtest:cmd", {"door": "front"}, timeout=support.WAIT)
        envelope = await task
    finally:
        await pubsub.aclose()
    assert envelope["payload"] == {"door": "front"}
    assert reply.kind is Kind.REPLY
    assert reply.json() == {"ok": True}
    assert reply.correlation_id == envelope["correlation_id"]
    await support.wait_until(
        lambda: "edtest:cmd" in {info.name for info in backend.broker.channels()}, "command mirrored"
    )


async def test_streams_are_listed(backend: RedisBackend, other: aioredis.Redis) -> None:
    await other.xadd("edtest:stream", {"k": "v"})
    try:
        await backend.refresh()
        streams = backend.streams()
        assert streams is not None
        assert any(stream.name == "edtest:stream" and stream.messages >= 1 for stream in streams)
    finally:
        await other.delete("edtest:stream")


def redis_server(port: int) -> list[str]:
    return [support.require_binary("redis-server"), "--port", str(port), "--save", "", "--appendonly", "no"]


async def test_specific_errors() -> None:
    await support.check_network_failures_are_named("redis")


async def test_wrong_password_is_named() -> None:
    port = support.free_port()
    async with support.PrivateServer([*redis_server(port), "--requirepass", "s3"], port):
        with pytest.raises(ConnectorError, match=r"Redis at 127\.0\.0\.1:\d+ refused the default user"):
            await backend_from_url(f"redis://:wrong@127.0.0.1:{port}").start()


async def test_reconnects_and_marks_the_gap() -> None:
    port = support.free_port()
    await support.check_reconnect_to(support.PrivateServer(redis_server(port), port), f"redis://127.0.0.1:{port}")


@pytest.fixture
async def private_redis() -> AsyncIterator[tuple[int, aioredis.Redis]]:
    """A redis-server of our own (an empty keyspace, ours to drop connections on) and a client of it."""
    port = support.free_port()
    async with support.PrivateServer(redis_server(port), port):
        admin = aioredis.Redis(port=port)
        try:
            yield port, admin
        finally:
            await admin.aclose()


def mirrored(connector: ConnectorBackend, channel: str) -> int:
    return {info.name: info.messages for info in connector.broker.channels()}.get(channel, 0)


async def test_stream_entries_are_read_into_the_mirror_without_their_history(
    private_redis: tuple[int, aioredis.Redis],
) -> None:
    port, admin = private_redis
    await admin.xadd("orders", {"item": "history"})  # there before connecting: stays in Redis
    connector = backend_from_url(f"redis://127.0.0.1:{port}", refresh_interval=3600)  # we say when to list
    try:
        await connector.start()
        await support.wait_until(lambda: bool(connector.streams()), "the first listing")
        fresh = await support.next_message(
            connector.broker, "orders", lambda: admin.xadd("orders", {"item": "milk", "qty": "2"})
        )
        assert fresh.json() == {"item": "milk", "qty": "2"}
        assert fresh.headers["redis-stream-id"]
        assert fresh.publisher == "redis-stream"
        assert mirrored(connector, "orders") == 1

        await admin.xadd("late", {"n": "old"}, id="1-0")  # a stream that appears later with old entries...
        await admin.xadd("late", {"n": "new"})  # ...and one written since the last listing

        new = await support.next_message(connector.broker, "late", connector.refresh)
        assert new.json() == {"n": "new"}
        await asyncio.sleep(1.2)  # one more read: the old entry must not follow
        assert mirrored(connector, "late") == 1
    finally:
        await connector.stop()


async def test_a_key_that_stops_being_a_stream_is_dropped_without_reconnecting(
    private_redis: tuple[int, aioredis.Redis],
) -> None:
    port, admin = private_redis
    await admin.xadd("orders", {"n": "0"})
    connector = backend_from_url(f"redis://127.0.0.1:{port}", refresh_interval=3600)
    try:
        await connector.start()
        await support.wait_until(lambda: bool(connector.streams()), "the first listing")
        statuses = support.StatusLog(connector)
        await admin.delete("orders")
        await admin.set("orders", "now a string")  # the next XREAD says WRONGTYPE
        await asyncio.sleep(2.5)
        assert ConnectionState.RECONNECTING not in statuses.states()
        message = await support.next_message(
            connector.broker, "kitchen", lambda: admin.publish("kitchen", b"still here")
        )
        assert message.payload == b"still here"
    finally:
        await connector.stop()


async def test_stream_entries_survive_a_dropped_connection(private_redis: tuple[int, aioredis.Redis]) -> None:
    port, admin = private_redis
    connector = backend_from_url(f"redis://127.0.0.1:{port}", initial_backoff=0.2, max_backoff=1.0)
    try:
        await admin.xadd("orders", {"n": "0"})
        await connector.start()
        await connector.refresh()
        statuses = support.StatusLog(connector)
        for kind in ("normal", "pubsub"):  # as if the network dropped every connection
            await admin.client_kill_filter(_type=kind, skipme=True)
        await support.wait_until(lambda: ConnectionState.RECONNECTING in statuses.states(), "RECONNECTING")
        entry = await support.next_message(connector.broker, "orders", lambda: admin.xadd("orders", {"n": "1"}))
        assert entry.json() == {"n": "1"}
        await support.wait_until(lambda: statuses.states()[-1] is ConnectionState.CONNECTED, "CONNECTED again")
    finally:
        await connector.stop()
