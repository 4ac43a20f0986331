"""Channel faults: the broker drops, duplicates or delays the next messages of a channel, then publishes as before."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import Broker, BrokerEvent, EventKind, Kind, Message, Subscription
from eventdeck.core.broker.channel_faults import DUPLICATE_HEADER, FaultAction
from eventdeck.core.broker.mishaps import DROPPED_BY_FAULT


async def drain(sub: Subscription, count: int | None = None) -> list[Message]:
    """The next ``count`` messages of ``sub`` (all it holds by default)."""
    return [(await sub.get(1)).message for _ in range(sub.pending if count is None else count)]


async def test_a_drop_fault_loses_the_next_messages_before_any_subscription_and_the_tap_says_so() -> None:
    async with Broker() as broker:
        fridge = broker.subscribe("fridge/level", name="shopping-list")
        everything = broker.subscribe("#", name="everything")
        tap = broker.tap()
        fault = broker.channel_faults.add("fridge/level", FaultAction.DROP, 2)
        assert not broker._plain  # the fault needs the general path
        receipts = [await broker.publish("fridge/level", {"n": n}) for n in (1, 2, 3)]
        assert [r.queued for r in receipts] == [0, 0, 2]
        assert [m.json() for m in await drain(fridge)] == [{"n": 3}]
        assert everything.pending == 1
        events = tap.drain().events
        dropped = [e for e in events if isinstance(e, BrokerEvent) and e.kind is EventKind.MESSAGE_DROPPED]
        assert [(e.channel, e.detail) for e in dropped] == [("fridge/level", DROPPED_BY_FAULT)] * 2
        assert [e.message.json() for e in dropped if e.message is not None] == [{"n": 1}, {"n": 2}]
        assert fault.remaining == 0
        assert list(broker.channel_faults) == []
        assert broker._plain  # the last fault gone: the inlined fast path again
        assert broker.stats().dropped == 2


async def test_a_fault_only_catches_its_own_channel() -> None:
    async with Broker() as broker:
        users = broker.subscribe("user/#", name="analytics")
        broker.channel_faults.add("fridge/level", FaultAction.DROP, 1)
        assert (await broker.publish("user/signedup", {"name": "Ada"})).queued == 1
        assert users.pending == 1
        assert len(broker.channel_faults) == 1


async def test_a_duplicate_is_delivered_twice_the_copy_with_a_new_id_and_the_original_id_in_a_header() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("fridge/level", name="shopping-list")
        broker.channel_faults.add("fridge/level", FaultAction.DUPLICATE, 1)
        receipt = await broker.publish("fridge/level", {"percentage": 23}, headers={"trace": "t1"})
        assert receipt.queued == 1
        await broker.publish("fridge/level", {"percentage": 22})
        original, copy, after = await drain(sub, 3)
        assert original.id == receipt.id
        assert copy.id != original.id
        assert copy.payload == original.payload
        assert copy.headers == {"trace": "t1", DUPLICATE_HEADER: str(original.id)}
        assert after.json() == {"percentage": 22}
        assert DUPLICATE_HEADER not in after.headers


async def test_a_duplicated_command_is_answered_twice_and_the_requester_takes_the_first_reply() -> None:
    async with Broker() as broker:
        commands = broker.subscribe("svc/order", name="grocery")
        broker.channel_faults.add("svc/order", FaultAction.DUPLICATE, 1)

        async def answer_all() -> int:
            answered = 0
            while commands.pending or answered == 0:
                delivery = await commands.get(1)
                await broker.reply(delivery.message, {"id": answered})
                answered += 1
            return answered

        responder = asyncio.create_task(answer_all())
        reply = await broker.request("svc/order", {"items": ["milk"]}, timeout=1)
        assert reply.json() == {"id": 0}
        assert await responder == 2


async def test_a_delayed_message_is_routed_later_and_the_publisher_does_not_wait() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("fridge/level", name="shopping-list")
        broker.channel_faults.add("fridge/level", FaultAction.DELAY, 1, seconds=0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        receipt = await broker.publish("fridge/level", {"n": 1}, retain=True)
        assert loop.time() - started < 0.04
        assert receipt.queued == 0
        await broker.publish("fridge/level", {"n": 2})  # the count is spent: this one goes at once
        assert [m.json() for m in await drain(sub, 1)] == [{"n": 2}]
        assert broker.retained("fridge/level") is None
        late = await sub.get(1)
        assert late.message.json() == {"n": 1}
        assert late.message.id == receipt.id
        assert loop.time() - started >= 0.05
        retained = broker.retained("fridge/level")
        assert retained is not None
        assert retained.id == receipt.id


async def test_faults_on_one_channel_act_one_after_the_other_oldest_first() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("a", name="a")
        broker.channel_faults.add("a", FaultAction.DROP, 1)
        broker.channel_faults.add("a", FaultAction.DUPLICATE, 1)
        for payload in ("dropped", "twice", "once"):
            await broker.publish("a", payload, kind=Kind.EVENT)
        assert [m.text() for m in await drain(sub)] == ["twice", "twice", "once"]


async def test_on_change_hears_each_catch_and_the_end_and_armed_follows_the_first_and_last() -> None:
    async with Broker() as broker:
        heard: list[tuple[str, int]] = []
        broker.channel_faults.on_change.append(lambda fault: heard.append((fault.channel, fault.remaining)))
        drop = broker.channel_faults.add("a", FaultAction.DROP, 2)
        other = broker.channel_faults.add("b", FaultAction.DROP, 5)
        await broker.publish("a")
        await broker.publish("a")
        assert heard == [("a", 1), ("a", 0)]
        assert not broker._plain  # 'b' still has one
        assert broker.channel_faults.remove(other)
        assert not broker.channel_faults.remove(other)
        assert not broker.channel_faults.remove(drop)  # ended by itself already
        assert heard[-1] == ("b", 0)
        assert broker._plain


@pytest.mark.parametrize("count", [0, -1, 1.5, True, "3"])
async def test_a_fault_needs_a_whole_count_of_one_or_more(count: object) -> None:
    async with Broker() as broker:
        with pytest.raises(ValueError, match="count must be a whole number"):
            broker.channel_faults.add("a", FaultAction.DROP, count)  # type: ignore[arg-type]
        assert broker._plain


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan"), float("inf")])
async def test_a_delay_needs_a_positive_number_of_seconds(seconds: float) -> None:
    async with Broker() as broker:
        with pytest.raises(ValueError, match="positive number of seconds"):
            broker.channel_faults.add("a", FaultAction.DELAY, 1, seconds=seconds)


async def test_closing_the_broker_forgets_the_delayed_messages() -> None:
    broker = Broker()
    sub = broker.subscribe("a", name="a")
    broker.channel_faults.add("a", FaultAction.DELAY, 1, seconds=0.02)
    await broker.publish("a", b"late")
    await broker.close()
    await asyncio.sleep(0.05)
    assert sub.pending == 0
