"""Publishing, fan-out, wildcards, overflow policies, pause/resume, retained values, close, introspection."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import (
    Broker,
    BrokerClosed,
    InvalidChannel,
    InvalidPayload,
    Kind,
    Overflow,
    PayloadTooLarge,
    PublishTimeout,
    State,
    Subscription,
    SubscriptionError,
)


async def take(sub: Subscription, count: int, wait: float = 1.0) -> list[bytes]:
    return [(await sub.get(wait)).message.payload for _ in range(count)]


def channels_of(sub: Subscription) -> list[str]:
    return [message.channel for message in sub.queue]


async def test_publish_receipt_and_delivery() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("fridge/level", name="shopping")
        receipt = await broker.publish("fridge/level", {"percent": 23}, headers={"unit": "%"})
        assert receipt.queued == 1
        assert receipt.id == receipt.message.id
        delivery = await sub.get(1)
        assert delivery.message == receipt.message
        assert delivery.message.json() == {"percent": 23}
        assert delivery.message.publisher == "local"
        assert delivery.attempt == 1
        assert not delivery.redelivered
        assert (await broker.publish("nobody/listens", "x")).queued == 0


async def test_publish_fields() -> None:
    async with Broker(default_publisher="me") as broker:
        receipt = await broker.publish(
            "a", b"\x00", kind=Kind.COMMAND, content_type="application/octet-stream", publisher="other"
        )
        message = receipt.message
        assert (message.kind, message.content_type, message.publisher) == (
            Kind.COMMAND,
            "application/octet-stream",
            "other",
        )
        assert (await broker.publish("a")).message.publisher == "me"


async def test_fan_out_to_every_matching_subscription() -> None:
    async with Broker() as broker:
        subs = [broker.subscribe("room/+/temp", name=f"s{i}") for i in range(5)]
        other = broker.subscribe("room/kitchen/humidity", name="other")
        receipt = await broker.publish("room/kitchen/temp", "21")
        assert receipt.queued == 5
        for sub in subs:
            assert await take(sub, 1) == [b"21"]
        assert other.pending == 0


async def test_wildcard_matching() -> None:
    async with Broker() as broker:
        plus = broker.subscribe("home/+/temp", name="plus")
        rest = broker.subscribe("home/#", name="rest")
        exact = broker.subscribe("home/attic/temp", name="exact")
        everything = broker.subscribe("#", name="all")
        for channel in ("home", "home/attic/temp", "home/cellar/temp", "home/a/b/temp", "garden/temp"):
            await broker.publish(channel, channel)
        assert channels_of(plus) == ["home/attic/temp", "home/cellar/temp"]
        assert channels_of(rest) == ["home", "home/attic/temp", "home/cellar/temp", "home/a/b/temp"]
        assert channels_of(exact) == ["home/attic/temp"]
        assert len(everything.queue) == 5


async def test_dollar_channels_kept_out_of_leading_wildcards() -> None:
    async with Broker() as broker:
        everything = broker.subscribe("#", name="all")
        plus = broker.subscribe("+/x", name="plus")
        dead = broker.subscribe("$dead/#", name="dead")
        await broker.publish("$dead/x", "d")
        await broker.publish("a/x", "a")
        assert channels_of(everything) == ["a/x"]
        assert channels_of(plus) == ["a/x"]
        assert channels_of(dead) == ["$dead/x"]


async def test_subscription_added_later_sees_new_messages() -> None:
    """The per-channel subscription cache is invalidated when subscriptions change."""
    async with Broker() as broker:
        first = broker.subscribe("a/#", name="first")
        await broker.publish("a/b", "1")
        second = broker.subscribe("a/+", name="second")
        assert (await broker.publish("a/b", "2")).queued == 2
        first.close()
        assert (await broker.publish("a/b", "3")).queued == 1
        assert channels_of(second) == ["a/b", "a/b"]


async def test_invalid_publish_and_subscribe() -> None:
    async with Broker(max_payload=10) as broker:
        with pytest.raises(InvalidChannel, match="wildcards"):
            await broker.publish("a/+", "x")
        with pytest.raises(InvalidChannel, match="empty"):
            await broker.publish("", "x")
        with pytest.raises(InvalidChannel, match="must be a str"):
            await broker.publish(["a"], "x")  # type: ignore[arg-type]
        with pytest.raises(InvalidChannel, match="last level"):
            broker.subscribe("a/#/b")
        with pytest.raises(InvalidChannel, match="NUL"):
            broker.subscribe("a\0")
        with pytest.raises(PayloadTooLarge) as caught:
            await broker.publish("a", b"x" * 11)
        assert (caught.value.size, caught.value.limit) == (11, 10)
        assert "11 bytes exceeds the limit of 10 bytes" in str(caught.value)
        await broker.publish("a", b"x" * 10)  # exactly at the limit is fine
        with pytest.raises(InvalidPayload):
            await broker.publish("a", object())  # type: ignore[arg-type]
        assert broker.published == 1


async def test_default_payload_limit_is_16_mib() -> None:
    async with Broker() as broker:
        assert broker.max_payload == 16 * 1024 * 1024
        await broker.publish("big", bytes(16 * 1024 * 1024))
        with pytest.raises(PayloadTooLarge):
            await broker.publish("big", bytes(16 * 1024 * 1024 + 1))


async def test_bad_subscription_options() -> None:
    async with Broker() as broker:
        with pytest.raises(SubscriptionError, match="overflow must be one of"):
            broker.subscribe("a", overflow="explode")
        with pytest.raises(SubscriptionError, match="ack must be one of"):
            broker.subscribe("a", ack="sometimes")
        with pytest.raises(SubscriptionError, match="max_pending"):
            broker.subscribe("a", max_pending=0)
        with pytest.raises(SubscriptionError, match="max_attempts"):
            broker.subscribe("a", max_attempts=0)
        with pytest.raises(SubscriptionError, match="needs a name"):
            broker.subscribe("a", durable=True)
        broker.subscribe("a", name="taken")
        with pytest.raises(SubscriptionError, match="already exists"):
            broker.subscribe("b", name="taken")
        assert broker.subscribe("a").name != broker.subscribe("a").name  # generated names


# -- overflow policies ------------------------------------------------------------


async def test_drop_oldest() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", max_pending=3, overflow="drop_oldest")
        receipts = [await broker.publish("a", str(i)) for i in range(5)]
        assert [r.queued for r in receipts] == [1, 1, 1, 1, 1]
        assert await take(sub, 3) == [b"2", b"3", b"4"]
        assert sub.info().dropped == 2
        assert broker.stats().dropped == 2


async def test_drop_newest() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", max_pending=3, overflow=Overflow.DROP_NEWEST)
        receipts = [await broker.publish("a", str(i)) for i in range(5)]
        assert [r.queued for r in receipts] == [1, 1, 1, 0, 0]
        assert await take(sub, 3) == [b"0", b"1", b"2"]
        assert sub.dropped == 2


async def test_block_times_out_with_clear_error() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="slow", max_pending=2, overflow="block")
        await broker.publish("a", "1")
        await broker.publish("a", "2")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(PublishTimeout) as caught:
            await broker.publish("a", "3", timeout=0.05)
        assert loop.time() - started >= 0.05
        assert caught.value.subscription == "slow"
        assert caught.value.waited >= 0.05
        assert "'slow' stayed full (2 pending)" in str(caught.value)
        assert isinstance(caught.value, TimeoutError)
        assert sub.pending == 2
        assert broker.channels()[0].messages == 2  # the timed-out message was not published
        assert not sub.space_waiters


async def test_block_uses_broker_default_timeout() -> None:
    async with Broker(publish_timeout=0.02) as broker:
        broker.subscribe("a", name="slow", max_pending=1, overflow="block")
        await broker.publish("a", "1")
        with pytest.raises(PublishTimeout):
            await broker.publish("a", "2")


async def test_block_unblocks_when_consumer_drains() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", max_pending=2, overflow="block")
        other = broker.subscribe("a", name="fast", max_pending=100)
        sent: list[int] = []

        async def producer() -> None:
            for i in range(10):
                await broker.publish("a", str(i), timeout=2)
                sent.append(i)

        task = asyncio.create_task(producer())
        await asyncio.sleep(0.01)
        assert sent == [0, 1]  # the third publish waits for room
        assert sub.pending == 2
        got = await take(sub, 10)
        await task
        assert got == [str(i).encode() for i in range(10)]
        assert sub.dropped == 0
        assert len(other.queue) == 10


async def test_blocked_publishers_resume_in_order_and_stay_within_bound() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", max_pending=1, overflow="block")
        tasks = [asyncio.create_task(broker.publish("a", str(i), timeout=2)) for i in range(5)]
        await asyncio.sleep(0.01)
        received = []
        for _ in range(5):
            received.append((await sub.get(1)).message.payload)
            assert sub.pending <= 1
        await asyncio.gather(*tasks)
        assert sorted(received) == [b"0", b"1", b"2", b"3", b"4"]
        assert sub.dropped == 0


async def test_block_released_when_subscription_removed() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", max_pending=1, overflow="block")
        await broker.publish("a", "1")
        task = asyncio.create_task(broker.publish("a", "2", timeout=2))
        await asyncio.sleep(0.01)
        sub.unsubscribe()
        assert (await task).queued == 0


async def test_close_fails_blocked_publishers() -> None:
    broker = Broker()
    broker.subscribe("a", name="s", max_pending=1, overflow="block")
    await broker.publish("a", "1")
    task = asyncio.create_task(broker.publish("a", "2", timeout=2))
    await asyncio.sleep(0.01)
    await broker.close()
    with pytest.raises(BrokerClosed):
        await task


# -- pause / resume -------------------------------------------------------------------


async def test_pause_and_resume() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        got: list[bytes] = []

        async def consume() -> None:
            async for delivery in sub:
                got.append(delivery.message.payload)  # noqa: PERF401 - the test watches it grow

        task = asyncio.create_task(consume())
        await broker.publish("a", "0")
        await asyncio.sleep(0)
        assert got == [b"0"]
        sub.pause()
        assert sub.state is State.PAUSED
        for i in range(1, 4):
            await broker.publish("a", str(i))
            await asyncio.sleep(0)
            assert sub.pending == i
        assert got == [b"0"]
        assert sub.info().state is State.PAUSED
        sub.resume()
        await asyncio.sleep(0)
        assert got == [b"0", b"1", b"2", b"3"]
        assert sub.pending == 0
        sub.close()
        await asyncio.wait_for(task, 1)


# -- retained -----------------------------------------------------------------------


async def test_retained_delivered_first_to_new_subscriptions() -> None:
    async with Broker() as broker:
        await broker.publish("home/door", "open", retain=True)
        await broker.publish("home/door", "closed", retain=True)
        await broker.publish("home/light", "on", retain=True)
        await broker.publish("home/light", "dim")  # not retained: does not replace
        assert broker.retained("home/door").payload == b"closed"  # type: ignore[union-attr]
        exact = broker.subscribe("home/door", name="exact")
        wild = broker.subscribe("home/+", name="wild")
        unrelated = broker.subscribe("garden/#", name="unrelated")
        await broker.publish("home/door", "ajar")
        assert await take(exact, 2) == [b"closed", b"ajar"]
        assert sorted(await take(wild, 2)) == [b"closed", b"on"]
        assert await take(wild, 1) == [b"ajar"]
        assert unrelated.pending == 0
        assert {info.name: info.retained for info in broker.channels()} == {"home/door": True, "home/light": True}


async def test_empty_retained_payload_clears() -> None:
    async with Broker() as broker:
        await broker.publish("a", "v", retain=True)
        await broker.publish("a", b"", retain=True)
        assert broker.retained("a") is None
        sub = broker.subscribe("a", name="s")
        assert sub.pending == 0
        await broker.publish("b", "v", retain=True)
        assert broker.clear_retained("b")
        assert not broker.clear_retained("b")


async def test_retained_not_leaked_to_leading_wildcards_on_dollar_channels() -> None:
    async with Broker() as broker:
        await broker.publish("$sys/uptime", "1", retain=True)
        assert broker.subscribe("#", name="all").pending == 0
        assert broker.subscribe("$sys/#", name="sys").pending == 1


# -- close and introspection -----------------------------------------------------


async def test_close_ends_consumers_iterators() -> None:
    broker = Broker()
    sub = broker.subscribe("a", name="s")
    durable = broker.subscribe("b", name="d", durable=True)

    async def drain(s: Subscription) -> int:
        return len([d async for d in s])

    tasks = [asyncio.create_task(drain(sub)), asyncio.create_task(drain(durable))]
    await broker.publish("a", "x")
    await asyncio.sleep(0)
    await broker.close()
    assert await asyncio.wait_for(asyncio.gather(*tasks), 1) == [1, 0]
    assert broker.closed
    with pytest.raises(BrokerClosed):
        await broker.publish("a", "x")
    with pytest.raises(BrokerClosed):
        broker.subscribe("a")
    with pytest.raises(BrokerClosed):
        await broker.request("a")
    await broker.close()  # idempotent


async def test_channels_snapshot() -> None:
    async with Broker() as broker:
        broker.subscribe("a/+", name="s1")
        broker.subscribe("a/b", name="s2")
        broker.declare_channel("declared/only", "made by a workspace")
        await broker.publish("a/b", b"12345")
        await broker.publish("a/b", b"123", retain=True)
        await broker.publish("a/c", b"1")
        infos = {info.name: info for info in broker.channels()}
        assert list(infos) == sorted(infos)
        ab = infos["a/b"]
        assert (ab.messages, ab.bytes, ab.retained, ab.subscribers) == (2, 8, True, 2)
        assert ab.last_time is not None
        assert infos["a/c"].subscribers == 1
        assert infos["a/c"].retained is False
        assert infos["declared/only"].declared
        assert infos["declared/only"].description == "made by a workspace"
        assert infos["declared/only"].messages == 0
        assert infos["declared/only"].last_time is None
        assert "a/+" not in infos  # patterns are not channels
        first = broker.channels()
        await broker.publish("a/b", b"x")
        assert {i.name: i.messages for i in broker.channels()}["a/b"] == 3  # snapshots, not live views
        assert {i.name: i.messages for i in first}["a/b"] == 2


async def test_subscriptions_snapshot_counters() -> None:
    async with Broker() as broker:
        auto = broker.subscribe("a", name="auto", max_pending=2, overflow="drop_newest")
        manual = broker.subscribe("a", name="manual", ack="manual", durable=True, max_attempts=2)
        for i in range(3):
            await broker.publish("a", str(i))
        await auto.get(1)
        first = await manual.get(1)
        await first.nack()
        second = await manual.get(1)  # redeliveries come first
        assert second.redelivered
        assert second.message == first.message
        await second.nack()  # attempt 2 of 2: dead-lettered
        third = await manual.get(1)
        assert third.message.payload == b"1"
        await third.ack()
        infos = {info.name: info for info in broker.subscriptions()}
        assert list(infos) == ["auto", "manual"]
        a = infos["auto"]
        assert (a.pattern, a.durable, a.state, a.pending, a.delivered, a.acked, a.dropped) == (
            "a",
            False,
            State.ACTIVE,
            1,
            1,
            1,
            1,
        )
        m = infos["manual"]
        assert m.durable
        assert (m.pending, m.unacked, m.delivered, m.acked, m.redelivered, m.dead_lettered) == (1, 0, 3, 1, 1, 1)
        stats = broker.stats()
        assert stats.published == 4  # three plus one dead letter
        assert stats.subscriptions == 2
        assert stats.delivered == 4
        assert stats.dropped == 1
