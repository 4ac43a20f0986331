"""Broker.reset: a restart without a durable store. Everything in memory is forgotten; attached consumers go on."""

from __future__ import annotations

import asyncio
import time

import pytest

from eventdeck.core import AckMode, Broker, BrokerClosed, Overflow, State
from eventdeck.core.broker.channel_faults import FaultAction
from eventdeck.core.broker.receipts import ResetReport
from eventdeck.core.broker.stepper import Stepper


async def test_reset_forgets_channels_retained_messages_and_counters() -> None:
    async with Broker() as broker:
        broker.declare_channel("fridge/level", "How full the fridge is")
        await broker.publish("fridge/level", {"percentage": 23}, retain=True)
        await broker.publish("user/signedup", {"name": "Ada"})
        report = broker.reset()
        assert report == ResetReport(queued=0, retained=1, requests=0, delayed=0, subscriptions=0)
        assert broker.channels() == []
        assert broker.retained("fridge/level") is None
        stats = broker.stats()
        assert (stats.published, stats.delivered, stats.dropped, stats.channels) == (0, 0, 0, 0)


async def test_an_attached_subscription_is_kept_emptied_and_zeroed_and_goes_on_working() -> None:
    async with Broker() as broker:
        gateway = broker.subscribe("fridge/level", name="mqtt:kitchen-display", max_pending=3)
        analytics = broker.subscribe("user/#", name="analytics")
        analytics.pause()
        for n in range(5):
            await broker.publish("fridge/level", {"n": n})  # two dropped (full), three queued
        await broker.publish("user/signedup", b"x")
        await gateway.get(1)
        report = broker.reset()
        assert report.queued == 3  # two left in the gateway's queue, one in the paused one's
        for sub in (gateway, analytics):
            info = sub.info()
            assert (info.pending, info.delivered, info.acked, info.dropped, info.pending_bytes) == (0, 0, 0, 0, 0)
        assert analytics.state is State.PAUSED  # its owner paused it; the restart does not change that
        assert [c.name for c in broker.channels()] == ["fridge/level"]  # listed again, as subscribing does
        await broker.publish("fridge/level", {"n": "after"})
        assert (await gateway.get(1)).message.json() == {"n": "after"}
        assert broker.stats().delivered == 1


async def test_a_durable_subscription_whose_consumer_is_away_is_forgotten_with_its_backlog() -> None:
    async with Broker() as broker:
        durable = broker.subscribe("fridge/level", name="shopping-list", durable=True)
        durable.close()
        for n in range(4):
            await broker.publish("fridge/level", n)
        report = broker.reset()
        assert (report.queued, report.subscriptions) == (4, 1)
        assert durable.state is State.CLOSED
        with pytest.raises(KeyError):
            broker.subscription("shopping-list")
        again = broker.subscribe("fridge/level", name="shopping-list", durable=True)
        assert again is not durable
        assert again.pending == 0


async def test_commands_waiting_for_a_reply_fail_saying_the_broker_restarted() -> None:
    async with Broker() as broker:
        broker.subscribe("svc/slow", name="never-answers")
        request = asyncio.create_task(broker.request("svc/slow", b"?", timeout=5))
        await asyncio.sleep(0)
        assert broker.stats().pending_requests == 1
        assert broker.reset().requests == 1
        with pytest.raises(BrokerClosed, match="broker restarted before the reply arrived"):
            await request
        assert broker.stats().pending_requests == 0


async def test_messages_a_delay_fault_holds_are_forgotten_but_the_fault_stays() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="a")
        broker.channel_faults.add("a", FaultAction.DELAY, 2, seconds=0.02)
        await broker.publish("a", b"held")
        assert broker.reset().delayed == 1
        await asyncio.sleep(0.05)
        assert sub.pending == 0
        assert [f.remaining for f in broker.channel_faults] == [1]  # the presenter's: cleared by the presenter


async def test_a_publisher_blocked_on_a_full_subscription_gets_its_room() -> None:
    async with Broker(publish_timeout=5) as broker:
        full = broker.subscribe("a", name="full", max_pending=1, overflow=Overflow.BLOCK)
        await broker.publish("a", b"first")
        blocked = asyncio.create_task(broker.publish("a", b"second"))
        await asyncio.sleep(0.01)
        assert not blocked.done()
        broker.reset()
        assert (await asyncio.wait_for(blocked, 1)).queued == 1
        assert [(await full.get(1)).message.payload] == [b"second"]
        assert [(c.name, c.messages) for c in broker.channels()] == [("a", 1)]  # counted in the fresh table


async def test_a_consumer_may_still_settle_what_it_held_and_step_mode_stays() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="manual", ack=AckMode.MANUAL)
        await broker.publish("a", b"x")
        held = await sub.get(1)
        stepper = Stepper()
        broker.step_mode(stepper)
        broker.reset()
        await held.ack()
        publish = asyncio.create_task(broker.publish("a", b"y"))
        await asyncio.sleep(0)
        assert [m.payload for m in stepper.held] == [b"y"]
        broker.step_mode(None)
        await publish


async def test_a_closed_broker_cannot_be_reset() -> None:
    broker = Broker()
    await broker.close()
    with pytest.raises(BrokerClosed, match="cannot reset"):
        broker.reset()


async def test_reset_with_a_100k_backlog_is_quick() -> None:
    async with Broker() as broker:
        backlog = broker.subscribe("bench/a", name="stuck", max_pending=200_000)
        durable = broker.subscribe("bench/#", name="away", durable=True, max_pending=200_000)
        durable.close()
        for _ in range(100_000):
            await broker.publish("bench/a", b"x" * 10)
        started = time.perf_counter()
        report = broker.reset()
        elapsed = time.perf_counter() - started
        assert report.queued == 200_000
        assert backlog.pending == 0
        assert elapsed < 0.5, f"reset took {elapsed:.3f} s"  # ~1 ms here; generous for a loaded machine
