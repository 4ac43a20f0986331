"""VirtualSubscriber: consumes, fails at its rate, answers commands, pauses and stops cleanly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from eventdeck.core import Broker, Kind, Message, RequestTimeout, State, SubscriptionError
from eventdeck.core.simulation.virtual import VirtualSubscriber
from tests.core.simulation.waiting import loop_turns, other_tasks, stop_cleanly, wait_for


async def test_consumes_and_acks_everything(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "fridge/#", name="shopping-list") as vs:
        assert vs.name == "shopping-list"
        assert vs.running
        for percent in range(50):
            await broker.publish("fridge/level", {"percentage": percent})
        await wait_for(lambda: vs.processed == 50)
        info = vs.subscription.info()
        assert (info.delivered, info.acked, info.pending, info.unacked) == (50, 50, 0, 0)
        assert vs.failed == vs.errors == 0


async def test_name_and_pattern_errors_surface_at_construction(broker: Broker) -> None:
    VirtualSubscriber(broker, "a/b", name="taken")
    with pytest.raises(SubscriptionError, match="taken"):
        VirtualSubscriber(broker, "a/c", name="taken")
    with pytest.raises(SubscriptionError, match="failure rate"):
        VirtualSubscriber(broker, "a/c", failure_rate=1.5)
    with pytest.raises(SubscriptionError, match="delay"):
        VirtualSubscriber(broker, "a/c", delay=-1)


async def test_failure_rate_nacks_and_leads_to_redelivery(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "user/signedup", failure_rate=0.3, seed=7, max_attempts=10) as vs:
        for n in range(200):
            await broker.publish("user/signedup", {"n": n})
        await wait_for(lambda: vs.processed == 200)
        info = vs.subscription.info()
        # Every message eventually succeeds (10 attempts at 30 % failure), after redeliveries.
        assert 30 < vs.failed < 130  # about 0.3 / 0.7 * 200 = 86
        assert info.redelivered == vs.failed
        assert info.dead_lettered == 0
        assert info.delivered == 200 + vs.failed


async def test_certain_failure_dead_letters_after_max_attempts(broker: Broker) -> None:
    dead = broker.subscribe("$dead/#", name="dead-letters")
    async with VirtualSubscriber(broker, "user/signedup", name="flaky", failure_rate=1.0, max_attempts=3) as vs:
        await broker.publish("user/signedup", {"name": "Ada"})
        delivery = await dead.get(timeout=1)
        assert delivery.message.channel == "$dead/user/signedup"
        assert delivery.message.headers["x-dead-subscription"] == "flaky"
        assert delivery.message.headers["x-attempts"] == "3"
        assert "simulated failure" in delivery.message.headers["x-dead-reason"]
        assert vs.failed == 3
        assert vs.subscription.info().dead_lettered == 1


async def test_failures_are_deterministic_with_a_seed(broker: Broker) -> None:
    async def run(name: str) -> tuple[int, int]:
        async with VirtualSubscriber(broker, "x", name=name, failure_rate=0.5, seed=42, max_attempts=1) as vs:
            for n in range(40):
                await broker.publish("x", n)
            await wait_for(lambda: vs.processed + vs.failed == 40)
            return vs.processed, vs.failed

    first = await run("first")
    assert 5 < first[1] < 35
    assert await run("second") == first


async def test_auto_replies_to_commands(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "groceries/order", name="grocery-service", reply={"orderId": "ord-1"}) as vs:
        reply = await broker.request("groceries/order", {"items": ["milk"]}, timeout=1, publisher="shopping-app")
        assert reply.kind is Kind.REPLY
        assert reply.json() == {"orderId": "ord-1"}
        assert reply.publisher == "grocery-service"
        assert vs.replies == 1
        # Events on the same channel are just acked, never answered.
        await broker.publish("groceries/order", {"note": "an event"})
        await wait_for(lambda: vs.processed == 2)
        assert vs.replies == 1


async def test_reply_can_be_computed_from_the_command(broker: Broker) -> None:
    def answer(command: Message) -> dict[str, object]:
        return {"items": command.json()["items"], "orderId": "ord-2"}

    async with VirtualSubscriber(broker, "groceries/order", reply=answer):
        reply = await broker.request("groceries/order", {"items": ["eggs"]}, timeout=1)
        assert reply.json() == {"items": ["eggs"], "orderId": "ord-2"}


async def test_failed_command_gets_no_reply(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "groceries/order", failure_rate=1.0, max_attempts=1, reply={"ok": 1}) as vs:
        with pytest.raises(RequestTimeout):
            await broker.request("groceries/order", {"items": []}, timeout=0.1)
        assert vs.replies == 0
        assert vs.failed == 1


async def test_no_reply_payload_means_commands_go_unanswered(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "groceries/order") as vs:
        with pytest.raises(RequestTimeout):
            await broker.request("groceries/order", {}, timeout=0.05)
        assert vs.processed == 1


async def test_bad_message_is_logged_counted_and_dead_lettered(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(command: Message) -> bytes:
        raise ValueError(f"cannot parse {command.text()!r}")

    dead = broker.subscribe("$dead/#")
    async with VirtualSubscriber(broker, "cmd", name="fragile", reply=explode) as vs:
        # A command without reply-to (only possible by hand) cannot be answered either.
        await broker.publish("cmd", "no reply-to", kind=Kind.COMMAND)
        with (
            caplog.at_level(logging.WARNING, logger="eventdeck.core.simulation.virtual"),
            pytest.raises(RequestTimeout),
        ):
            await broker.request("cmd", "garbage", timeout=0.1)
        await broker.publish("cmd", "an event is fine")
        await wait_for(lambda: vs.processed == 1)
        assert vs.errors == 2
        assert vs.running
        reasons = [(await dead.get(timeout=1)).message.headers["x-dead-reason"] for _ in range(2)]
        assert any("cannot parse" in reason for reason in reasons)
        assert "fragile" in caplog.text
        assert "cannot parse" in caplog.text


async def test_pause_grows_pending_and_resume_drains(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "fridge/level") as vs:
        vs.subscription.pause()
        assert vs.subscription.state is State.PAUSED
        for n in range(100):
            await broker.publish("fridge/level", n)
        await asyncio.sleep(0.01)
        assert vs.subscription.pending == 100
        assert vs.processed == 0
        vs.subscription.resume()
        await wait_for(lambda: vs.subscription.pending == 0 and vs.processed == 100)


async def test_delay_slows_consumption_without_a_timer_per_message(broker: Broker) -> None:
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def counting_sleep(delay: float, result: object = None) -> object:
        task = asyncio.current_task()
        if task is not None and task.get_name().startswith("virtual-subscriber:"):
            sleeps.append(delay)
        return await real_sleep(delay, result)

    vs = VirtualSubscriber(broker, "load", delay=0.0005)
    for n in range(1000):
        await broker.publish("load", n)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("eventdeck.core.simulation.virtual.asyncio.sleep", counting_sleep)
        loop = asyncio.get_running_loop()
        started = loop.time()
        vs.start()
        await wait_for(lambda: vs.processed == 1000, limit=3)
        elapsed = loop.time() - started
    await vs.stop()
    assert elapsed >= 0.45  # 1000 x 0.5 ms of simulated work
    assert 25 <= len(sleeps) <= 100  # about one 10 ms sleep per 20 messages, not 1000 timers
    assert sum(sleeps) == pytest.approx(0.5, rel=0.01)


async def test_no_delay_floods_in_batches_and_keeps_the_loop_responsive(broker: Broker) -> None:
    vs = VirtualSubscriber(broker, "load", max_pending=100_000)
    for n in range(20_000):
        await broker.publish("load", n)
    async with loop_turns() as turns:
        vs.start()
        await wait_for(lambda: vs.processed == 20_000, limit=5)
    await vs.stop()
    assert turns[0] >= 20_000 // 256  # the consumer yielded at least once per batch


async def test_stop_is_clean(broker: Broker) -> None:
    before = other_tasks()
    vs = VirtualSubscriber(broker, "a/#", name="clean", delay=0.05)
    vs.start()
    assert any(t.get_name() == "virtual-subscriber:clean#1" for t in other_tasks())
    await broker.publish("a/b", 1)
    await asyncio.sleep(0.01)  # in the middle of the processing delay
    await stop_cleanly(vs.stop, before)
    assert not vs.running
    assert vs.subscription.state is State.CLOSED
    with pytest.raises(KeyError):
        broker.subscription("clean")
    await vs.stop()  # idempotent


async def test_durable_subscriber_keeps_queueing_while_stopped(broker: Broker) -> None:
    vs = VirtualSubscriber(broker, "orders", name="billing", durable=True)
    vs.start()
    await broker.publish("orders", 1)
    await wait_for(lambda: vs.processed == 1)
    await vs.stop()
    assert vs.subscription.state is State.AWAY
    for n in range(5):
        await broker.publish("orders", n)
    assert vs.subscription.pending == 5
    vs.start()  # comes back under the same name and drains the backlog
    await wait_for(lambda: vs.processed == 6)
    await vs.stop()


async def test_task_ends_when_the_broker_closes() -> None:
    broker = Broker()
    vs = VirtualSubscriber(broker, "x")
    vs.start()
    await asyncio.sleep(0)
    await broker.close()
    await wait_for(lambda: not vs.running)
    await vs.stop()


async def test_removed_while_working_ends_quietly(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    vs = VirtualSubscriber(broker, "slow", name="removed-by-hand", delay=0.05)
    vs.start()
    await broker.publish("slow", 1)
    await asyncio.sleep(0.01)  # the delivery is being "worked on"
    with caplog.at_level(logging.WARNING):
        vs.subscription.unsubscribe()  # the GUI's "remove"
        await wait_for(lambda: not vs.running)
    assert vs.errors == 0
    assert not caplog.records
    await vs.stop()
