"""Batch consumption: Subscription.take() and Subscription.batch()."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import Broker, SubscriptionError
from eventdeck.core.broker.journal import Outcome, open_journal


async def test_take_returns_what_is_ready_in_order_without_waiting() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a/#", name="s")
        assert sub.take() == []
        for i in range(5):
            await broker.publish("a/b", {"i": i})
        first = sub.take(3)
        assert [d.message.json()["i"] for d in first] == [0, 1, 2]
        assert [d.message.json()["i"] for d in sub.take(10)] == [3, 4]
        assert sub.delivered == 5
        assert sub.acked == 5
        assert sub.pending == 0


async def test_take_hands_out_redeliveries_first_and_tracks_unacked() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        await broker.publish("a", "one")
        await broker.publish("a", "two")
        one, two = sub.take()
        assert len(sub.unacked) == 2
        await one.nack()
        await broker.publish("a", "three")
        again = sub.take()
        assert [(d.message.text(), d.attempt) for d in again] == [("one", 2), ("three", 1)]
        assert sub.redelivered == 1
        await two.ack()
        for delivery in again:
            await delivery.ack()
        assert sub.acked == 3
        assert not sub.unacked


async def test_take_is_empty_while_paused() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        sub.pause()
        await broker.publish("a", "x")
        assert sub.take() == []
        assert sub.pending == 1
        sub.resume()
        assert len(sub.take()) == 1


async def test_batch_waits_for_the_first_message_then_takes_the_rest() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        waiting = asyncio.ensure_future(sub.batch(100))
        await asyncio.sleep(0)
        assert not waiting.done()
        for i in range(3):
            await broker.publish("a", {"i": i})
        batch = await asyncio.wait_for(waiting, 1)
        assert [d.message.json()["i"] for d in batch] == [0, 1, 2]


async def test_batch_ends_when_the_subscription_closes() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        waiting = asyncio.ensure_future(sub.batch())
        await asyncio.sleep(0)
        sub.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, 1)


async def test_taking_a_batch_wakes_as_many_blocked_publishers_as_there_is_room() -> None:
    async with Broker(publish_timeout=2) as broker:
        sub = broker.subscribe("a", name="s", max_pending=2, overflow="block")
        await broker.publish("a", "1")
        await broker.publish("a", "2")
        blocked = [asyncio.ensure_future(broker.publish("a", str(i))) for i in (3, 4)]
        await asyncio.sleep(0.01)
        assert not any(task.done() for task in blocked)
        assert len(sub.take()) == 2
        await asyncio.wait_for(asyncio.gather(*blocked), 1)
        assert [d.message.text() for d in sub.take()] == ["3", "4"]


async def test_take_messages_hands_out_bare_messages_with_the_same_counts_as_take() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        for i in range(5):
            await broker.publish("a", {"i": i})
        assert [m.json()["i"] for m in sub.take_messages(2)] == [0, 1]
        assert sub.pending_bytes == sum(len(m.payload) for m in sub.queue)
        assert [m.json()["i"] for m in sub.take_messages()] == [2, 3, 4]
        assert (sub.delivered, sub.acked, sub.pending, sub.pending_bytes) == (5, 5, 0, 0)
        sub.pause()
        await broker.publish("a", "while paused")
        assert sub.take_messages() == []


async def test_take_messages_leaves_the_journal_complete() -> None:
    async with Broker() as broker:
        journal = open_journal(broker)
        sub = broker.subscribe("a", name="s")
        message = (await broker.publish("a", "x")).message
        assert sub.take_messages() == [message]
        line = journal.timeline(message).of("s")
        assert line is not None
        assert line.outcome is Outcome.ACKED
        journal.close()


async def test_take_messages_is_for_auto_ack_subscriptions_only() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s", ack="manual")
        with pytest.raises(SubscriptionError, match="acks manually"):
            sub.take_messages()


async def test_batch_messages_waits_then_ends_when_the_subscription_closes() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="s")
        waiting = asyncio.ensure_future(sub.batch_messages())
        await asyncio.sleep(0)
        await broker.publish("a", "x")
        assert [m.text() for m in await asyncio.wait_for(waiting, 1)] == ["x"]
        waiting = asyncio.ensure_future(sub.batch_messages())
        await asyncio.sleep(0)
        sub.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, 1)
