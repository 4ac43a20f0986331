"""``Broker.publish`` and ``publish_ready`` inline the hot path for speed; they must do exactly what the
general route does.

The same publishes go once through ``publish`` (the inlined path on known channels, its
fallback otherwise), once through ``publish_ready`` (a gateway's batch: the general path for
what it leaves) and once through ``publish_message`` (always the general ``_route``);
everything observable afterwards must be equal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from eventdeck.core import Broker, BrokerEvent, EventKind, Kind, Message, Overflow, PayloadLike, PublishTimeout

Publish = Callable[[Broker, str, PayloadLike, Kind, bool], Awaitable[int | str]]
TIMEOUT = 0.02  # a full 'block' subscription gives up this fast


async def through_publish(broker: Broker, channel: str, payload: PayloadLike, kind: Kind, retain: bool) -> int | str:
    try:
        receipt = await broker.publish(channel, payload, kind=kind, retain=retain, correlation_id="c1", timeout=TIMEOUT)
    except PublishTimeout:
        return "timed out"
    return receipt.queued


async def through_route(broker: Broker, channel: str, payload: PayloadLike, kind: Kind, retain: bool) -> int | str:
    message = Message.build(channel, payload, kind=kind, publisher=broker.default_publisher, correlation_id="c1")
    try:
        receipt = await broker.publish_message(message, retain=retain, timeout=TIMEOUT)
    except PublishTimeout:
        return "timed out"
    return receipt.queued


async def through_ready(broker: Broker, channel: str, payload: PayloadLike, kind: Kind, retain: bool) -> int | str:
    message = Message.build(channel, payload, kind=kind, publisher=broker.default_publisher, correlation_id="c1")
    if not retain and broker.publish_ready([message]) == 1:
        return "routed in a batch"  # publish_ready gives no receipt
    return await through_route(broker, channel, payload, kind, retain)


def observable(item: Message | BrokerEvent) -> tuple[Any, ...]:
    """A tap item without what differs between runs (ids, timestamps)."""
    if isinstance(item, Message):
        return ("published", item.channel, item.kind, item.payload, item.publisher, item.correlation_id)
    payload = None if item.message is None else item.message.payload
    return (item.kind, item.channel, item.subscription, item.detail, payload)


async def scenario(publish: Publish, overflow: Overflow, declare: bool) -> dict[str, Any]:
    async with Broker() as broker:
        tap = broker.tap()
        if declare:  # known channels: every publish may take the inlined path
            for name in ("a/b", "a/c", "x/y", "$dead/a/b", "$reply/ui"):
                broker.declare_channel(name)
        full = broker.subscribe("a/b", name="full", max_pending=2, overflow=overflow)
        broker.subscribe("a/+", name="wildcard")
        broker.subscribe("#", name="everything")  # not '$dead/...' nor '$reply/...'
        broker.subscribe("x/#", name="paused").pause()
        leaving = broker.subscribe("a/c", name="leaving")
        queued = [await publish(broker, "a/b", {"n": n}, Kind.EVENT, False) for n in range(4)]
        queued.append(await publish(broker, "a/c", "kept", Kind.EVENT, True))
        leaving.unsubscribe()
        queued.append(await publish(broker, "a/c", "after one left", Kind.EVENT, False))
        queued.append(await publish(broker, "x/y", b"\x00\xff", Kind.EVENT, False))
        queued.append(await publish(broker, "$dead/a/b", "nobody listens", Kind.EVENT, False))
        queued.append(await publish(broker, "$reply/ui", "no request waits", Kind.REPLY, False))
        late = broker.subscribe("a/+", name="late")  # gets the retained message first
        queued.append(await publish(broker, "a/c", b"", Kind.EVENT, True))  # clears it
        full.pause()
        queued.append(await publish(broker, "a/b", "while paused", Kind.EVENT, False))
        return {
            "queued": queued,
            "queues": {sub.name: [m.payload for m in sub.queue] for sub in (full, late)},
            "subscriptions": broker.subscriptions(),
            "channels": [info._replace(last_time=None) for info in broker.channels()],
            "stats": broker.stats()._replace(time=0.0),
            "retained": broker.retained("a/c"),
            "tap": [observable(item) for item in tap.drain().events],
        }


@pytest.mark.parametrize("declare", [True, False], ids=["known channels", "new channels"])
@pytest.mark.parametrize("overflow", list(Overflow), ids=lambda policy: policy.value)
async def test_inlined_publish_matches_the_general_route(overflow: Overflow, declare: bool) -> None:
    inlined = await scenario(through_publish, overflow, declare)
    routed = await scenario(through_route, overflow, declare)
    batched = await scenario(through_ready, overflow, declare)
    assert inlined == routed
    assert batched | {"queued": None} == routed | {"queued": None}
    # 'block' subscriptions take every publish off the batch path; otherwise known channels take it.
    took_batch = "routed in a batch" in batched["queued"]
    assert took_batch == (overflow is not Overflow.BLOCK)
    # The scenario reaches what it claims to: a full queue, a retained value cleared, a late subscriber.
    expected = {Overflow.DROP_OLDEST: 3, Overflow.DROP_NEWEST: 2, Overflow.BLOCK: "timed out"}[overflow]
    assert inlined["queued"][2:4] == [expected, expected]
    assert inlined["retained"] is None
    assert inlined["queues"]["late"][:2] == [b"kept", b""]  # the retained message first, then the clear


async def test_publish_ready_routes_in_order_and_stops_where_the_general_path_must_decide() -> None:
    async with Broker(max_payload=10) as broker:
        tap = broker.tap()
        broker.declare_channel("a")
        everything = broker.subscribe("#", name="everything")
        waiting = asyncio.ensure_future(everything.batch_messages())
        await asyncio.sleep(0)
        batch = [Message.build(channel, payload) for channel, payload in [("a", "1"), ("a", "2"), ("new", "3")]]
        batch += [Message.build("a", "too large!!"), Message.build("a", "5")]
        assert broker.publish_ready(batch) == 2  # a channel it has not seen: publish_message creates it
        assert broker.publish_ready(batch, 3) == 3  # over max_payload: publish_message raises PayloadTooLarge
        assert broker.publish_ready(batch, 4) == 5
        assert broker.publish_ready(batch, 5) == 5
        assert [m.text() for m in await asyncio.wait_for(waiting, 1)] == ["1", "2", "5"]
        assert [m.text() for m in tap.drain().events if isinstance(m, Message)] == ["1", "2", "5"]
        assert next(info.messages for info in broker.channels() if info.name == "a") == 3
        broker.subscribe("b", name="blocking", overflow="block")
        assert broker.publish_ready(batch, 4) == 4  # a 'block' subscription: only publish_message may wait


async def overflowing_run(batched: bool) -> tuple[list[Any], list[bytes], list[bytes]]:
    """Four messages to a channel one subscription has room for two of: (tap, its queue, a roomy one's)."""
    async with Broker() as broker:
        tap = broker.tap()
        broker.declare_channel("a")
        small = broker.subscribe("a", name="small", max_pending=2)
        roomy = broker.subscribe("a", name="roomy")
        batch = [Message.build("a", str(n)) for n in range(4)]
        if batched:
            assert broker.publish_ready(batch) == 4
        else:
            for message in batch:
                await broker.publish_message(message)
        queues = [[m.payload for m in sub.take_messages()] for sub in (small, roomy)]
        return [observable(item) for item in tap.drain().events], *queues


async def test_publish_ready_lets_an_overflow_policy_decide_message_by_message() -> None:
    batched, routed = await overflowing_run(True), await overflowing_run(False)
    assert batched == routed
    tap, small, roomy = batched
    assert (small, roomy) == ([b"2", b"3"], [b"0", b"1", b"2", b"3"])
    assert [event[0] for event in tap].count(EventKind.MESSAGE_DROPPED) == 2  # each after the one that caused it


async def test_publish_ready_leaves_a_reply_to_publish_message() -> None:
    async with Broker() as broker:
        broker.declare_channel("a")
        batch = [Message.build("a", "1"), Message.build("a", "2", kind=Kind.REPLY, correlation_id="c1")]
        assert broker.publish_ready(batch) == 1
