"""Step mode: each new message waits at its channel until released, one hop per release, in order."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import Broker, BrokerClosed, Kind, Receipt, RequestTimeout
from eventdeck.core.broker.stepper import Stepper


async def settle() -> None:
    """Let every task that can run, run (held publishers stay parked)."""
    for _ in range(5):
        await asyncio.sleep(0)


def publish_later(broker: Broker, channel: str, payload: object = b"") -> asyncio.Task[Receipt]:
    return asyncio.create_task(broker.publish(channel, payload))  # type: ignore[arg-type]


async def test_a_publish_is_held_at_its_channel_until_released() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("user/#", name="analytics")
        stepper = Stepper()
        broker.step_mode(stepper)
        task = publish_later(broker, "user/signedup", {"n": 1})
        await settle()
        assert not task.done()  # the publisher's await lasts until the message is routed
        assert [m.channel for m in stepper.held] == ["user/signedup"]
        assert sub.pending == 0
        released = stepper.release()
        assert released is not None
        assert released.channel == "user/signedup"
        receipt = await task
        assert receipt.queued == 1
        assert sub.pending == 1
        assert stepper.held == []
        assert stepper.release() is None


async def test_one_release_routes_exactly_one_message_in_publish_order() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("#", name="all")
        stepper = Stepper()
        broker.step_mode(stepper)
        tasks = [publish_later(broker, channel) for channel in ("a", "b", "c")]
        await settle()
        assert [m.channel for m in stepper.held] == ["a", "b", "c"]
        for routed in (1, 2, 3):
            stepper.release()
            await settle()
            assert sub.pending == routed
            assert sum(task.done() for task in tasks) == routed
        assert [(await sub.get(1)).message.channel for _ in range(3)] == ["a", "b", "c"]


async def test_turning_step_mode_off_releases_everything_in_order_and_publish_is_fast_again() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("#", name="all")
        stepper = Stepper()
        broker.step_mode(stepper)
        tasks = [publish_later(broker, f"ch/{i}") for i in range(4)]
        await settle()
        broker.step_mode(None)
        await asyncio.gather(*tasks)
        assert stepper.held == []
        assert [(await sub.get(1)).message.channel for _ in range(4)] == [f"ch/{i}" for i in range(4)]
        assert broker._plain  # off: the inlined fast path again, nothing to pay
        await broker.publish("ch/0", b"x")
        assert sub.pending == 1


async def test_a_closed_broker_releases_held_publishers_with_broker_closed() -> None:
    broker = Broker()
    sub = broker.subscribe("#", name="all")
    stepper = Stepper()
    broker.step_mode(stepper)
    task = publish_later(broker, "a")
    await settle()
    await broker.close()
    with pytest.raises(BrokerClosed):
        await task
    assert stepper.held == []
    assert sub.pending == 0


async def test_a_cancelled_publisher_is_skipped_by_release() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("#", name="all")
        stepper = Stepper()
        broker.step_mode(stepper)
        first, second = publish_later(broker, "a"), publish_later(broker, "b")
        await settle()
        first.cancel()
        await settle()
        assert [m.channel for m in stepper.held] == ["b"]
        assert stepper.release() is not None
        await second
        assert (await sub.get(1)).message.channel == "b"


async def test_request_and_reply_go_hop_by_hop() -> None:
    async with Broker() as broker:
        commands = broker.subscribe("svc/echo", name="responder")

        async def respond() -> None:
            delivery = await commands.get(5)
            await broker.reply(delivery.message, b"re:" + delivery.message.payload)

        stepper = Stepper()
        broker.step_mode(stepper)
        responder = asyncio.create_task(respond())
        request = asyncio.create_task(broker.request("svc/echo", b"hi", timeout=5, publisher="ui"))
        await settle()
        assert [m.kind for m in stepper.held] == [Kind.COMMAND]
        stepper.release()  # the command reaches the responder, whose reply is held in turn
        await settle()
        assert [m.kind for m in stepper.held] == [Kind.REPLY]
        assert not request.done()
        stepper.release()
        reply = await request
        assert reply.payload == b"re:hi"
        await responder


async def test_a_command_held_longer_than_its_timeout_does_not_time_out_while_stepping() -> None:
    async with Broker() as broker:
        handler = broker.subscribe("lamp/switch")
        stepper = Stepper()
        broker.step_mode(stepper)
        asking = asyncio.create_task(broker.request("lamp/switch", timeout=0.1))
        await asyncio.sleep(0.3)  # the presenter talks: three timeouts' worth
        assert not asking.done()
        assert stepper.release() is not None  # the command goes on
        command = (await handler.get(1)).message
        replying = asyncio.create_task(broker.reply(command, {"on": True}))
        await settle()
        assert stepper.release() is not None  # and its reply comes back
        await replying
        assert (await asking).json() == {"on": True}


async def test_a_request_gets_the_time_it_had_left_when_stepping_stops() -> None:
    async with Broker() as broker:
        broker.subscribe("lamp/switch")  # a responder that never answers
        stepper = Stepper()
        broker.step_mode(stepper)
        asking = asyncio.create_task(broker.request("lamp/switch", timeout=0.2))
        await asyncio.sleep(0.3)
        broker.step_mode(None)  # the command is released; its 0.2 s start now
        started = asyncio.get_running_loop().time()
        with pytest.raises(RequestTimeout) as caught:
            await asking
        assert asyncio.get_running_loop().time() - started >= 0.15
        assert caught.value.elapsed < 0.3  # the time stepping stood still is not counted
