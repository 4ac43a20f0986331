"""The broker's limits: a byte bound per subscription queue, a cap on channels and on retained bytes."""

from __future__ import annotations

import pytest

from eventdeck.core import Broker, EventKind, Kind, Overflow, PublishTimeout, SubscriptionError
from eventdeck.core.broker.channel_state import ChannelState
from eventdeck.core.broker.errors import ChannelLimitReached, RetainedLimitReached
from tests.core.broker.test_publish_paths import Publish, through_publish, through_route

MiB = 1024 * 1024
PATHS = pytest.mark.parametrize("publish", [through_publish, through_route], ids=["inlined", "routed"])


@PATHS
@pytest.mark.parametrize(("overflow", "first_kept"), [(Overflow.DROP_OLDEST, 36), (Overflow.DROP_NEWEST, 0)])
async def test_non_reading_subscriber_never_holds_more_than_its_byte_bound(
    publish: Publish, overflow: Overflow, first_kept: int
) -> None:
    async with Broker() as broker:  # default bound: 64 MiB
        stuck = broker.subscribe("big/#", overflow=overflow)
        for n in range(100):
            await publish(broker, "big/x", n.to_bytes(4, "big") * (MiB // 4), Kind.EVENT, False)
        info = stuck.info()
        assert info.max_pending_bytes == 64 * MiB
        assert info.pending_bytes == 64 * MiB
        assert (info.pending, info.dropped) == (64, 36)
        assert [message.payload[:4] for message in stuck.queue] == [
            n.to_bytes(4, "big") for n in range(first_kept, first_kept + 64)
        ]


async def test_pending_bytes_follow_take_nack_close_and_unsubscribe() -> None:
    async with Broker(max_pending_bytes=1_000) as broker:
        sub = broker.subscribe("a", name="d", durable=True, ack="manual")
        for size in (100, 200, 300):
            await broker.publish("a", b"x" * size)
        assert sub.info().pending_bytes == 600
        first = await sub.get()
        assert sub.pending_bytes == 500
        taken = sub.take(1)
        assert sub.pending_bytes == 300
        await first.nack()  # redelivery counts again
        assert sub.pending_bytes == 400
        await taken[0].ack()
        assert sub.pending_bytes == 400
        rest = sub.take()
        assert [len(d.message.payload) for d in rest] == [100, 300]
        assert sub.pending_bytes == 0
        sub.close()  # the unacked go back to the queue of redeliveries
        assert sub.pending_bytes == 400
        sub.unsubscribe()
        assert sub.pending_bytes == 0


@PATHS
async def test_a_message_larger_than_the_bound_is_dropped_alone(publish: Publish) -> None:
    async with Broker() as broker:
        tap = broker.tap()
        for policy in Overflow:
            broker.subscribe("a", name=policy.value, overflow=policy, max_pending_bytes=10)
        await publish(broker, "a", b"small", Kind.EVENT, False)
        assert await publish(broker, "a", b"x" * 11, Kind.EVENT, False) == 0  # even 'block' does not wait
        for policy in Overflow:
            info = broker.subscription(policy.value).info()
            assert (info.pending, info.pending_bytes, info.dropped) == (1, 5, 1)
        drops = [item for item in tap.drain().events if getattr(item, "kind", None) is EventKind.MESSAGE_DROPPED]
        assert {drop.detail for drop in drops} == {"11 bytes exceed max_pending_bytes (10): dropped"}


async def test_block_waits_for_bytes_to_drain() -> None:
    async with Broker(publish_timeout=0.05) as broker:
        sub = broker.subscribe("a", overflow="block", max_pending_bytes=10)
        await broker.publish("a", b"x" * 8)
        with pytest.raises(PublishTimeout):
            await broker.publish("a", b"y" * 8)
        assert sub.take()
        assert sub.pending_bytes == 0
        assert (await broker.publish("a", b"y" * 8)).queued == 1


async def test_retained_messages_respect_a_new_subscribers_byte_bound() -> None:
    async with Broker() as broker:
        for name in ("r/1", "r/2", "r/3"):
            await broker.publish(name, b"x" * 6, retain=True)
        sub = broker.subscribe("r/+", max_pending_bytes=12)
        assert (sub.pending, sub.pending_bytes, sub.dropped) == (2, 12, 1)


async def test_bad_bounds_are_refused() -> None:
    async with Broker() as broker:
        with pytest.raises(SubscriptionError, match="max_pending_bytes must be at least 1, got 0"):
            broker.subscribe("a", max_pending_bytes=0)
    for option in ("max_pending_bytes", "max_channels", "max_retained_bytes"):
        with pytest.raises(ValueError, match=f"{option} must be at least 1, got -1"):
            Broker(**{option: -1})


async def test_idle_channels_are_forgotten_at_the_cap_oldest_first() -> None:
    async with Broker(max_channels=32) as broker:
        tap = broker.tap()
        broker.subscribe("kept/#")
        broker.declare_channel("declared")
        await broker.publish("retained", b"r", retain=True)
        await broker.publish("kept/one", b"k")
        for n in range(1_000):
            await broker.publish(f"unique/{n}", b"u")
        names = [info.name for info in broker.channels()]
        assert len(names) <= 32
        assert {"declared", "retained", "kept/one", "unique/999"} <= set(names)
        assert broker.published == 1_002  # the forgotten channels' counts stay in the total
        assert any(getattr(item, "kind", None) is EventKind.CHANNELS_FORGOTTEN for item in tap.drain().events)


async def test_channel_cap_refuses_when_nothing_is_idle() -> None:
    async with Broker(max_channels=3) as broker:
        subs = [broker.subscribe(name) for name in ("a", "b", "c")]
        with pytest.raises(ChannelLimitReached, match=r"'d'.*max_channels=3 channels and none is idle") as caught:
            await broker.publish("d", b"x")
        assert caught.value.limit == 3
        assert broker.channel_count == 3
        broker.subscribe("d")  # a subscription needs no channel: it is listed once there is room
        assert broker.channel_count == 3
        subs[0].unsubscribe()  # 'a' is idle now
        assert (await broker.publish("d", b"x")).queued == 1
        assert [info.name for info in broker.channels()] == ["b", "c", "d"]


async def test_a_nack_at_the_channel_cap_drops_the_dead_letter_with_a_reason_instead_of_failing() -> None:
    async with Broker(max_channels=2) as broker:
        tap = broker.tap()
        failing = broker.subscribe("orders", ack="manual", max_attempts=1)
        broker.subscribe("busy")  # both channels have a subscriber: nothing is idle, $dead/orders has no room
        await broker.publish("orders", b"{}")
        delivery = await failing.get()
        await delivery.nack("payment service down")  # must not raise
        dropped = [e for e in tap.drain().events if e.kind is EventKind.MESSAGE_DROPPED]
        assert [(e.channel, e.subscription) for e in dropped] == [("$dead/orders", failing.name)]
        assert "max_channels=2" in dropped[0].detail


@PATHS
async def test_retained_bytes_are_capped_and_a_refused_message_is_not_delivered(publish: Publish) -> None:
    async with Broker(max_retained_bytes=10) as broker:
        broker.declare_channel("a")
        broker.declare_channel("b")
        sub = broker.subscribe("#")
        await publish(broker, "a", b"x" * 6, Kind.EVENT, True)
        await publish(broker, "a", b"x" * 10, Kind.EVENT, True)  # replaces: 10 in total
        with pytest.raises(RetainedLimitReached, match=r"1 bytes on 'b' refused.*11 bytes, over max_retained_bytes=10"):
            await publish(broker, "b", b"y", Kind.EVENT, True)
        assert sub.pending == 2
        assert broker.retained("b") is None
        await publish(broker, "b", b"y", Kind.EVENT, False)  # not retained: no limit
        broker.clear_retained("a")
        await publish(broker, "b", b"y" * 10, Kind.EVENT, True)
        assert broker.retained("b") is not None


async def test_channels_page_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Broker() as broker:
        for n in range(20_000):
            broker.declare_channel(f"c/{n:05d}")
        everything = broker.channels()
        assert [info.name for info in everything] == sorted(f"c/{n:05d}" for n in range(20_000))
        built = 0
        original = ChannelState.info

        def counting(state: ChannelState, retained: bool) -> object:
            nonlocal built
            built += 1
            return original(state, retained)

        monkeypatch.setattr(ChannelState, "info", counting)
        page = broker.channels(after="c/00999", limit=3)
        assert [info.name for info in page] == ["c/01000", "c/01001", "c/01002"]
        assert built == 3  # one page builds its own entries only
        assert broker.channels(after="c/19998", limit=3) == everything[-1:]
        assert broker.channels(limit=0) == []
        with pytest.raises(ValueError, match="limit must not be negative"):
            broker.channels(limit=-1)
