"""The tap: ordered, bounded broker events; slow observers lose the oldest; the broker never waits."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import Broker, BrokerEvent, EventKind, Message, TapBatch


async def publish_numbers(broker: Broker, count: int) -> None:
    """Publish "0", "1", ... to channel ``a``."""
    for i in range(count):
        await broker.publish("a", str(i))


def kinds(batch: TapBatch) -> list[str]:
    return ["published" if isinstance(e, Message) else e.kind.value for e in batch.events]


async def test_events_in_order() -> None:
    async with Broker() as broker:
        tap = broker.tap()
        sub = broker.subscribe("a/#", name="s", max_pending=1, overflow="drop_newest", ack="manual")
        await broker.publish("a/b", "1")
        await broker.publish("a/b", "2")  # dropped
        sub.pause()
        sub.resume()
        sub.resume()  # no-op, no event
        delivery = await sub.get(1)
        await delivery.nack(requeue=False)
        sub.close()
        batch = tap.drain()
        assert batch.lost == 0
        assert kinds(batch) == [
            "subscription added",
            "channel created",
            "published",
            "published",
            "message dropped",
            "subscription paused",
            "subscription resumed",
            "dead-lettered",
            "channel created",
            "published",
            "subscription removed",
        ]
        events = batch.events
        assert isinstance(events[2], Message)
        assert events[2].payload == b"1"
        dropped = events[4]
        assert isinstance(dropped, BrokerEvent)
        assert (dropped.channel, dropped.subscription, dropped.detail) == ("a/b", "s", "queue full: dropped the newest")
        assert dropped.message is not None
        assert dropped.message.payload == b"2"
        assert dropped.timestamp > 0
        dead = events[9]
        assert isinstance(dead, Message)
        assert dead.channel == "$dead/a/b"
        assert tap.drain() == TapBatch([], 0)


async def test_durable_away_and_back_and_retained_cleared_events() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="d", durable=True)
        await broker.publish("a", "v", retain=True)
        tap = broker.tap()
        sub.close()
        broker.subscribe("a", name="d", durable=True)
        await broker.publish("a", "", retain=True)
        assert kinds(tap.drain()) == ["consumer away", "consumer back", "published", "retained cleared"]


async def test_bounded_and_reports_lost() -> None:
    async with Broker() as broker:
        tap = broker.tap(max_events=10)
        await publish_numbers(broker, 25)
        batch = tap.drain()
        assert batch.lost == 16  # 1 channel-created event + 15 oldest publishes
        assert [m.payload for m in batch.events] == [str(i).encode() for i in range(15, 25)]  # type: ignore[union-attr]
        assert tap.lost_total == 16
        await broker.publish("a", "x")
        assert tap.drain().lost == 0
        assert tap.lost_total == 16


async def test_broker_never_waits_for_a_slow_tap() -> None:
    async with Broker() as broker:
        tap = broker.tap(max_events=100)
        sub = broker.subscribe("a", name="s", max_pending=100_000)
        for i in range(10_000):
            await broker.publish("a", str(i))  # returns without ever awaiting the observer
        assert sub.pending == 10_000
        assert len(broker._log.ring) == 100
        batch = tap.drain()
        assert len(batch.events) == 100
        assert batch.lost == 10_002 - 100


async def test_multiple_taps_are_independent() -> None:
    async with Broker() as broker:
        fast = broker.tap(max_events=1000)
        slow = broker.tap(max_events=5)
        await publish_numbers(broker, 3)
        assert len(fast.drain().events) == 4  # channel created + 3
        await publish_numbers(broker, 10)
        assert len(fast.drain().events) == 10
        batch = slow.drain()
        assert (len(batch.events), batch.lost) == (5, 9)
        late = broker.tap(max_events=50)
        assert late.drain().events == []  # starts at "now"
        await broker.publish("a", "z")
        assert [len(t.drain().events) for t in (fast, slow, late)] == [1, 1, 1]


async def test_closed_tap_costs_nothing() -> None:
    async with Broker() as broker:
        with broker.tap(max_events=1000) as tap:
            await broker.publish("a", "x")
        assert tap.closed
        assert tap.drain() == TapBatch([], 0)
        log = broker._log
        count = log.count
        await publish_numbers(broker, 100)
        assert log.count == count  # nothing appended with no tap open
        assert log.ring.maxlen == 1
        other = broker.tap(max_events=3)
        other.close()
        other.close()


async def test_closing_the_larger_tap_shrinks_the_ring() -> None:
    async with Broker() as broker:
        big = broker.tap(max_events=1000)
        small = broker.tap(max_events=10)
        assert broker._log.ring.maxlen == 1000
        big.close()
        assert broker._log.ring.maxlen == 10
        await publish_numbers(broker, 20)
        assert len(small.drain().events) == 10


def test_max_events_must_be_positive() -> None:
    broker = Broker()
    with pytest.raises(ValueError, match="at least 1"):
        broker.tap(max_events=0)


async def test_request_timeout_and_subscription_events_carry_names() -> None:
    async with Broker() as broker:
        tap = broker.tap()
        sub = broker.subscribe("svc/x", name="never-answers")
        with pytest.raises(TimeoutError):
            await broker.request("svc/x", timeout=0.01)
        sub.unsubscribe()
        events = [e for e in tap.drain().events if isinstance(e, BrokerEvent)]
        by_kind = {e.kind: e for e in events}
        assert by_kind[EventKind.SUBSCRIPTION_ADDED].subscription == "never-answers"
        assert by_kind[EventKind.REQUEST_TIMED_OUT].channel == "svc/x"
        assert "no reply after" in by_kind[EventKind.REQUEST_TIMED_OUT].detail
        assert by_kind[EventKind.SUBSCRIPTION_REMOVED].subscription == "never-answers"


async def test_tap_drained_periodically_while_publishing() -> None:
    async with Broker() as broker:
        tap = broker.tap(max_events=100_000)
        seen = 0

        async def observer() -> None:
            nonlocal seen
            while True:
                await asyncio.sleep(0.001)
                seen += len(tap.drain().events)

        task = asyncio.create_task(observer())
        for i in range(5000):
            await broker.publish("a", str(i))
            if i % 100 == 0:
                await asyncio.sleep(0.0005)
        task.cancel()
        seen += len(tap.drain().events)
        assert seen == 5001


async def test_ring_forgets_what_every_tap_has_drained() -> None:
    async with Broker() as broker:
        fast = broker.tap(max_events=1000)
        slow = broker.tap(max_events=1000)
        await publish_numbers(broker, 10)
        fast.drain()
        assert len(broker._log.ring) == 11  # the slow tap still wants them
        assert len(slow.drain().events) == 11
        assert len(broker._log.ring) == 0  # nobody needs them: messages are no longer kept alive
        await broker.publish("a", "x")
        fast.drain()
        slow.close()  # closing the laggard releases what only it was holding
        assert len(broker._log.ring) == 0
        await broker.publish("a", "y")
        assert [m.payload for m in fast.drain().events] == [b"y"]  # type: ignore[union-attr]
