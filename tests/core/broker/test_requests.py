"""Commands: request/reply, no responder, timeouts, concurrent requests matched by correlation id."""

from __future__ import annotations

import asyncio
import random

import pytest

from eventdeck.core import REPLY_PREFIX, Broker, BrokerClosed, DeliveryError, Kind, NoResponderError, RequestTimeout


async def echo(broker: Broker, pattern: str, delay: float = 0.0) -> None:
    async for delivery in broker.subscribe(pattern, name=f"responder-{pattern}"):
        if delay:
            await asyncio.sleep(delay * random.random())
        await broker.reply(delivery.message, b"re:" + delivery.message.payload, headers={"ok": "yes"})


async def test_request_reply() -> None:
    async with Broker() as broker:
        responder = asyncio.create_task(echo(broker, "svc/echo"))
        await asyncio.sleep(0)
        commands = broker.subscribe("svc/#", name="spy")
        reply = await broker.request("svc/echo", "hi", timeout=1, publisher="ui")
        assert reply.kind is Kind.REPLY
        assert reply.payload == b"re:hi"
        assert reply.headers["ok"] == "yes"
        command = (await commands.get(1)).message
        assert command.kind is Kind.COMMAND
        assert command.reply_to == REPLY_PREFIX + "ui"
        assert command.correlation_id is not None
        assert reply.correlation_id == command.correlation_id
        assert reply.channel == command.reply_to
        assert broker.stats().pending_requests == 0
        responder.cancel()


async def test_no_responder_fails_at_once_naming_channel() -> None:
    async with Broker() as broker:
        tap = broker.tap()
        broker.subscribe("other/+", name="elsewhere")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(NoResponderError) as caught:
            await broker.request("svc/missing", "x", timeout=5)
        assert loop.time() - started < 0.5
        assert caught.value.channel == "svc/missing"
        assert "'svc/missing'" in str(caught.value)
        assert "no responder" in [getattr(e, "kind", None) and e.kind.value for e in tap.drain().events]


async def test_request_timeout_reports_elapsed() -> None:
    async with Broker() as broker:
        sub = broker.subscribe("svc/slow", name="slow")  # never answers
        tap = broker.tap()
        with pytest.raises(RequestTimeout) as caught:
            await broker.request("svc/slow", "x", timeout=0.05)
        assert caught.value.elapsed >= 0.05
        assert caught.value.channel == "svc/slow"
        assert "timed out after 0.05" in str(caught.value)
        assert isinstance(caught.value, TimeoutError)
        assert broker.stats().pending_requests == 0
        kinds = [e.kind.value for e in tap.drain().events if hasattr(e, "detail")]
        assert "request timed out" in kinds
        late = (await sub.get(1)).message
        assert (await broker.reply(late, "too late")).queued == 0  # ignored, nobody waits


async def test_concurrent_requests_matched_by_correlation_id() -> None:
    async with Broker() as broker:
        responder = asyncio.create_task(echo(broker, "svc/+", delay=0.005))
        await asyncio.sleep(0)
        payloads = [f"req-{i}" for i in range(50)]
        replies = await asyncio.gather(*(broker.request(f"svc/{i % 3}", p, timeout=2) for i, p in enumerate(payloads)))
        assert [r.payload.decode() for r in replies] == [f"re:{p}" for p in payloads]
        assert len({r.correlation_id for r in replies}) == 50
        responder.cancel()


async def test_reply_needs_a_command() -> None:
    async with Broker() as broker:
        event = (await broker.publish("a", "x")).message
        with pytest.raises(DeliveryError, match="only commands can be answered"):
            await broker.reply(event, "no")


async def test_close_fails_pending_requests() -> None:
    broker = Broker()
    broker.subscribe("svc/slow", name="slow")
    task = asyncio.create_task(broker.request("svc/slow", "x", timeout=5))
    await asyncio.sleep(0)
    assert broker.stats().pending_requests == 1
    await broker.close()
    with pytest.raises(BrokerClosed, match="before the reply"):
        await task


async def test_durable_away_responder_still_counts() -> None:
    """A durable subscription whose consumer is away still queues the command (no NoResponderError)."""
    async with Broker() as broker:
        broker.subscribe("svc/x", name="d", durable=True).close()
        with pytest.raises(RequestTimeout):
            await broker.request("svc/x", timeout=0.01)
