"""Manual acks, nacks with redelivery and dead letters, durable subscriptions, closing, several consumers."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import DEAD_PREFIX, Broker, DeliveryError, State, SubscriptionError


async def test_manual_ack() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        await broker.publish("a", "x")
        delivery = await sub.get(1)
        assert sub.info().unacked == 1
        await delivery.ack()
        assert (sub.info().unacked, sub.info().acked) == (0, 1)
        with pytest.raises(DeliveryError, match="already acked or nacked"):
            await delivery.ack()
        with pytest.raises(DeliveryError, match="already acked or nacked"):
            await delivery.nack()


async def test_auto_ack_ack_is_noop_and_nack_refused() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        await broker.publish("a", "x")
        delivery = await sub.get(1)
        await delivery.ack()
        assert sub.info().acked == 1
        with pytest.raises(DeliveryError, match="acks automatically"):
            await delivery.nack()


async def test_nack_redelivers_with_attempt_count_then_dead_letters() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("orders/new", name="worker", ack="manual", max_attempts=3)
        dead = broker.subscribe("$dead/#", name="dead")
        original = (await broker.publish("orders/new", {"n": 1}, headers={"trace": "t1"})).message
        attempts = []
        for _ in range(3):
            delivery = await sub.get(1)
            assert delivery.message == original
            attempts.append(delivery.attempt)
            await delivery.nack(reason="boom")
        assert attempts == [1, 2, 3]
        assert sub.info().redelivered == 2
        assert sub.info().dead_lettered == 1
        assert sub.pending == 0
        letter = (await dead.get(1)).message
        assert letter.channel == DEAD_PREFIX + "orders/new" == "$dead/orders/new"
        assert letter.payload == original.payload
        assert letter.id != original.id
        assert letter.headers["trace"] == "t1"
        assert letter.headers["x-dead-reason"] == "boom; gave up after 3 attempts (max_attempts=3)"
        assert letter.headers["x-attempts"] == "3"
        assert letter.headers["x-original-channel"] == "orders/new"
        assert letter.headers["x-original-id"] == str(original.id)
        assert letter.headers["x-dead-subscription"] == "worker"


async def test_default_max_attempts_is_five() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        await broker.publish("a", "x")
        seen = []
        for _ in range(5):
            delivery = await sub.get(1)
            seen.append(delivery.attempt)
            await delivery.nack()
        assert seen == [1, 2, 3, 4, 5]
        assert sub.pending == 0
        assert {info.name: info.messages for info in broker.channels()}["$dead/a"] == 1


async def test_nack_without_requeue_dead_letters_at_once() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        dead = broker.subscribe("$dead/a", name="dead")
        await broker.publish("a", "x")
        await (await sub.get(1)).nack(requeue=False)
        letter = (await dead.get(1)).message
        assert letter.headers["x-dead-reason"] == "rejected"
        assert letter.headers["x-attempts"] == "1"
        await broker.publish("a", "y")
        await (await sub.get(1)).nack(requeue=False, reason="schema mismatch")
        assert (await dead.get(1)).message.headers["x-dead-reason"] == "schema mismatch"
        assert sub.info().redelivered == 0


async def test_redeliveries_go_before_new_messages() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        for i in range(3):
            await broker.publish("a", str(i))
        first = await sub.get(1)
        await first.nack()
        order = []
        for _ in range(3):
            delivery = await sub.get(1)
            order.append((delivery.message.payload, delivery.attempt))
            await delivery.ack()
        assert order == [(b"0", 2), (b"1", 1), (b"2", 1)]


async def test_waiting_consumer_woken_by_nack() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        await broker.publish("a", "x")
        delivery = await sub.get(1)
        waiting = asyncio.create_task(sub.get(1))
        await asyncio.sleep(0)
        await delivery.nack()
        assert (await waiting).attempt == 2


async def test_durable_queues_while_away_and_delivers_backlog() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("jobs/#", name="billing", durable=True)
        await broker.publish("jobs/1", "one")
        assert (await sub.get(1)).message.payload == b"one"
        sub.close()
        assert sub.state is State.AWAY
        with pytest.raises(StopAsyncIteration):
            await sub.get(1)
        for i in range(2, 5):
            assert (await broker.publish(f"jobs/{i}", str(i))).queued == 1
        info = {i.name: i for i in broker.subscriptions()}["billing"]
        assert (info.state, info.pending) == (State.AWAY, 3)
        again = broker.subscribe("jobs/#", name="billing", durable=True)
        assert again is sub
        assert again.state is State.ACTIVE
        got = [(await again.get(1)).message.payload for _ in range(3)]
        assert got == [b"2", b"3", b"4"]


async def test_durable_returns_unacked_to_next_consumer() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="d", durable=True, ack="manual")
        await broker.publish("a", "x")
        delivery = await sub.get(1)
        sub.close()
        with pytest.raises(DeliveryError, match="left subscription"):
            await delivery.ack()
        back = broker.subscribe("a", name="d", durable=True, ack="manual")
        redelivered = await back.get(1)
        assert redelivered.message == delivery.message
        assert redelivered.attempt == 2


async def test_durable_name_conflicts() -> None:
    async with Broker() as broker:
        broker.subscribe("a", name="d", durable=True)
        with pytest.raises(SubscriptionError, match="already exists"):
            broker.subscribe("a", name="d", durable=True)  # still attached
        broker.subscription("d").close()
        with pytest.raises(SubscriptionError, match="already exists"):
            broker.subscribe("b", name="d", durable=True)  # a different pattern


async def test_durable_unsubscribe_removes() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="d", durable=True)
        sub.close()
        sub.unsubscribe()
        assert broker.subscriptions() == []
        assert (await broker.publish("a", "x")).queued == 0


async def test_non_durable_close_removes() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        await broker.publish("a", "x")
        delivery = await sub.get(1)
        async with sub:
            pass
        assert sub.state is State.CLOSED
        assert broker.subscriptions() == []
        with pytest.raises(KeyError):
            broker.subscription("s")
        assert (await broker.publish("a", "y")).queued == 0
        with pytest.raises(DeliveryError, match="left subscription"):
            await delivery.ack()
        with pytest.raises(StopAsyncIteration):
            await sub.get(1)
        broker.subscribe("a", name="s")  # the name is free again


async def test_close_wakes_waiting_iterator() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")

        async def consume() -> list[bytes]:
            return [d.message.payload async for d in sub]

        task = asyncio.create_task(consume())
        await broker.publish("a", "1")
        await asyncio.sleep(0)
        sub.close()
        assert await asyncio.wait_for(task, 1) == [b"1"]


async def test_get_timeout() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        with pytest.raises(TimeoutError):
            await sub.get(0.01)
        assert sub.waiter is None or sub.waiter.done()
        await broker.publish("a", "x")
        assert (await sub.get(0.01)).message.payload == b"x"


async def test_two_consumers_share_one_subscription() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        got: list[tuple[int, bytes]] = []

        async def worker(n: int) -> None:
            async for delivery in sub:
                got.append((n, delivery.message.payload))
                await asyncio.sleep(0)

        workers = [asyncio.create_task(worker(n)) for n in range(2)]
        await asyncio.sleep(0)
        workers[0].cancel()  # cancelling one waiting consumer must not strand the other
        await asyncio.sleep(0)
        for i in range(4):
            await broker.publish("a", str(i))
        await asyncio.sleep(0.01)
        assert sorted(p for _, p in got) == [b"0", b"1", b"2", b"3"]
        assert {n for n, _ in got} == {1}
        sub.close()
        await asyncio.wait_for(workers[1], 1)


async def test_consumer_woken_once_per_batch() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        wakeups = 0
        received = 0

        async def consume() -> None:
            nonlocal wakeups, received
            while True:
                waiting = sub.pending == 0
                await sub.get()
                received += 1
                wakeups += waiting

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        for _ in range(3):
            for i in range(100):
                await broker.publish("a", str(i))
            await asyncio.sleep(0.001)
        assert received == 300
        assert wakeups == 3
        task.cancel()
