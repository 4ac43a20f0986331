"""A command nobody handles is refused without leaving a new, empty channel behind."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import Broker, BrokerClosed, InvalidChannel, NoResponderError
from eventdeck.core.broker.tap import BrokerEvent, EventKind


def names(broker: Broker) -> list[str]:
    return [info.name for info in broker.channels()]


async def test_a_refused_command_creates_no_channel() -> None:
    async with Broker() as broker:
        tap = broker.tap()
        broker.subscribe("other/+", name="elsewhere")
        with pytest.raises(NoResponderError):
            await broker.request("svc/missing", {"n": 1}, timeout=5)
        assert "svc/missing" not in names(broker)
        kinds = [event.kind for event in tap.drain().events if isinstance(event, BrokerEvent)]
        assert EventKind.NO_RESPONDER in kinds
        assert EventKind.CHANNEL_CREATED not in kinds


async def test_a_declared_or_used_channel_stays_when_a_command_to_it_is_refused() -> None:
    async with Broker() as broker:
        broker.declare_channel("svc/declared", "a service that is down")
        await broker.publish("svc/used", {"n": 1})
        for channel in ("svc/declared", "svc/used"):
            with pytest.raises(NoResponderError):
                await broker.request(channel, {"n": 2}, timeout=5)
        assert names(broker) == ["svc/declared", "svc/used"]


async def test_a_handled_command_creates_its_channel_as_before() -> None:
    async with Broker() as broker:
        handler = broker.subscribe("svc/+", name="svc")

        async def answer() -> None:
            delivery = await handler.get()
            await broker.reply(delivery.message, {"ok": True})

        server = asyncio.create_task(answer())
        reply = await broker.request("svc/sum", {"n": 1}, timeout=5)
        await server
        assert reply.json() == {"ok": True}
        assert "svc/sum" in names(broker)


async def test_a_bad_name_or_a_closed_broker_is_still_named_first() -> None:
    async with Broker() as broker:
        with pytest.raises(InvalidChannel):
            await broker.request("svc/+", "x")
        assert names(broker) == []
    with pytest.raises(BrokerClosed):
        await broker.request("svc/missing", "x")
