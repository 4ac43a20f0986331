"""Simulation: publishes on every demo channel, pauses and resumes, answers its command, consumes, stops cleanly."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from eventdeck.core import Broker, Kind, Message, State, SubscriptionError
from eventdeck.core.simulation.catalogue import load_scenario
from eventdeck.core.simulation.simulation import Simulation
from eventdeck.core.simulation.workspace import parse_workspace
from tests.core.simulation.waiting import other_tasks, stop_cleanly, wait_for

SPEED = 20.0  # demo rates x 20: every channel, the command included, fires within about 0.3 s
SUBSCRIBERS = {"welcome-mailer", "notifications", "shopping-list", "analytics"}


def events_published(sim: Simulation) -> int:
    return sum(n for channel, n in sim.published.items() if channel != "groceries/order")


async def test_publishes_on_every_demo_channel(broker: Broker) -> None:
    seen = broker.subscribe("#", name="everything")
    async with Simulation(broker, speed=SPEED, seed=1) as sim:
        assert sim.running
        assert set(sim.publisher_names) == {"signup-service", "social-service", "fridge-sensor", "shopping-app"}
        await wait_for(lambda: len(sim.published) == 4 and sim.replies >= 1)
    messages: list[Message] = []
    while seen.pending:
        messages.append((await seen.get(timeout=1)).message)
    by_channel = {m.channel: m for m in messages if m.kind is Kind.EVENT}
    assert set(by_channel) == {"user/signedup", "user/followed", "fridge/level"}
    signed_up = by_channel["user/signedup"]
    assert signed_up.publisher == "signup-service"
    assert set(signed_up.json()) == {"name", "email", "age"}
    assert by_channel["user/followed"].publisher == "social-service"
    assert set(by_channel["user/followed"].json()) == {"username", "name", "picture"}
    fridge = by_channel["fridge/level"].json()
    assert 0 <= fridge["percentage"] <= 100
    assert fridge["status"] in {"empty", "almost empty", "half full", "full"}
    commands = [m for m in messages if m.kind is Kind.COMMAND]
    assert commands
    assert commands[0].channel == "groceries/order"
    assert commands[0].publisher == "shopping-app"


async def test_channels_are_declared_with_descriptions(broker: Broker) -> None:
    sim = Simulation(broker, speed=SPEED)
    sim.start()
    declared = {c.name: c.description for c in broker.channels() if c.declared}
    await sim.stop()
    assert set(declared) == {"user/signedup", "user/followed", "fridge/level", "groceries/order"}
    assert declared["user/signedup"] == "A new user created an account."


async def test_payloads_vary(broker: Broker) -> None:
    seen = broker.subscribe("user/signedup")
    async with Simulation(broker, speed=SPEED, seed=3):
        await wait_for(lambda: seen.pending >= 8)
    payloads = [(await seen.get(timeout=1)).message.json() for _ in range(8)]
    assert len({p["name"] for p in payloads}) > 1
    assert len({p["age"] for p in payloads}) > 1
    for p in payloads:
        assert re.fullmatch(r"[a-z.]+@example\.com", p["email"]), p
        assert p["email"].split("@")[0] == ".".join(re.findall(r"[a-z]+", p["name"].lower()))


async def test_command_gets_replies_from_the_grocery_service(broker: Broker) -> None:
    async with Simulation(broker, speed=SPEED, seed=2) as sim:
        (responder,) = sim.responders
        assert responder.name == "grocery-service"
        await wait_for(lambda: sim.replies >= 2)
        reply = sim.last_reply
        assert reply is not None
        assert reply.kind is Kind.REPLY
        assert reply.publisher == "grocery-service"
        assert reply.channel == "$reply/shopping-app"
        body = reply.json()
        assert re.fullmatch(r"ord-[0-9a-f]{6}", body["orderId"])
        assert body["status"] == "accepted"
        assert body["items"]  # copied from the order it answers
        assert sim.request_failures == 0


async def test_reply_items_echo_the_order(broker: Broker) -> None:
    listener = broker.subscribe("$reply/#")
    orders = broker.subscribe("groceries/order", name="watch-orders")
    async with Simulation(broker, speed=SPEED, seed=4) as sim:
        await wait_for(lambda: sim.replies >= 1)
    reply = (await listener.get(timeout=1)).message
    command = next(
        d.message
        for d in [await orders.get(timeout=1) for _ in range(orders.pending)]
        if d.message.correlation_id == reply.correlation_id
    )
    assert reply.json()["items"] == command.json()["items"]


async def test_pause_stops_publishing_and_resume_restarts(broker: Broker) -> None:
    async with Simulation(broker, speed=SPEED, seed=5) as sim:
        await wait_for(lambda: events_published(sim) >= 5)
        sim.pause()
        assert sim.paused
        at_pause = events_published(sim)
        await asyncio.sleep(0.2)  # about 18 events at these rates if it were still running
        assert events_published(sim) == at_pause
        assert sim.toggle() is False  # the toolbar button: resume
        assert not sim.paused
        await wait_for(lambda: events_published(sim) >= at_pause + 3)


async def test_stop_is_clean(broker: Broker) -> None:
    before = other_tasks()
    sim = Simulation(broker, speed=SPEED, seed=6)
    sim.start()
    names = {t.get_name() for t in other_tasks() - before}
    assert "simulation:signup-service:publishUserSignedUp" in names
    assert "virtual-subscriber:grocery-service#1" in names
    await wait_for(lambda: sim.requests >= 1)  # a command may be in flight when it stops
    await stop_cleanly(sim.stop, before)
    assert not sim.running
    assert sim.responders == sim.subscribers == []
    # Only the durable subscriber's subscription is left: away, still queueing for it.
    (left,) = broker.subscriptions()
    assert (left.name, left.state, left.unacked) == ("shopping-list", State.AWAY, 0)
    published = broker.published
    await asyncio.sleep(0.1)
    assert broker.published == published
    await sim.stop()  # idempotent
    sim.start()  # and it can start again
    assert {s.name for s in broker.subscriptions()} == SUBSCRIBERS | {"grocery-service"}
    await wait_for(lambda: broker.published > published)
    await sim.stop()


async def test_subscribers_start_and_receive(broker: Broker) -> None:
    async with Simulation(broker, speed=SPEED, seed=7) as sim:
        assert set(sim.subscriber_names) == SUBSCRIBERS
        by_name = {s.name: s for s in sim.subscribers}
        assert set(by_name) == SUBSCRIBERS
        assert all(s.running for s in sim.subscribers)
        infos = {info.name: info for info in broker.subscriptions()}
        assert set(infos) == SUBSCRIBERS | {"grocery-service"}
        assert {name: infos[name].pattern for name in SUBSCRIBERS} == {
            "welcome-mailer": "user/signedup",
            "notifications": "user/followed",
            "shopping-list": "fridge/level",
            "analytics": "user/#",
        }
        assert [name for name in SUBSCRIBERS if infos[name].durable] == ["shopping-list"]
        subscribers = {c.name: c.subscribers for c in broker.channels()}
        assert subscribers["user/signedup"] == subscribers["user/followed"] == 2  # its service and analytics
        assert subscribers["fridge/level"] == 1
        await wait_for(lambda: all(s.processed >= 2 for s in sim.subscribers))
        # analytics hears both user/ channels, so it outgrows what was signed up alone
        await wait_for(lambda: by_name["analytics"].processed > sim.published["user/signedup"] + 2)
        assert by_name["welcome-mailer"].failed == by_name["analytics"].failed == 0
        assert sim.request_failures == 0


async def test_failing_subscriber_is_redelivered_then_dead_lettered(broker: Broker) -> None:
    dead = broker.subscribe("$dead/#", name="dead-letters")
    async with Simulation(broker, speed=100, seed=8) as sim:
        shopping = next(s for s in sim.subscribers if s.name == "shopping-list")
        await wait_for(lambda: shopping.subscription.dead_lettered >= 2, limit=5)
        assert shopping.failed >= 2
        assert shopping.subscription.redelivered >= 1
        assert shopping.processed >= 1
        others = [s for s in sim.subscribers if s is not shopping]
        assert all(s.failed == 0 and s.subscription.dead_lettered == 0 for s in others)
    letter = (await dead.get(timeout=1)).message
    assert letter.channel == "$dead/fridge/level"
    assert letter.headers["x-dead-subscription"] == "shopping-list"
    assert letter.headers["x-original-channel"] == "fridge/level"
    assert letter.headers["x-attempts"] == "2"  # maxAttempts in demo.yaml
    assert "simulated failure" in letter.headers["x-dead-reason"]
    assert set(letter.json()) == {"fridge", "percentage", "status"}


async def test_durable_subscriber_gets_what_was_queued_while_stopped(broker: Broker) -> None:
    sim = Simulation(broker, speed=SPEED, seed=9)
    sim.start()
    await sim.stop()
    for percentage in (40, 30, 20):
        await broker.publish("fridge/level", {"fridge": "kitchen", "percentage": percentage, "status": "half full"})
    (away,) = broker.subscriptions()
    assert (away.name, away.state, away.pending) == ("shopping-list", State.AWAY, 3)
    sim.start()
    shopping = next(s for s in sim.subscribers if s.name == "shopping-list")
    assert shopping.subscription.state is State.ACTIVE
    await wait_for(lambda: shopping.processed + shopping.subscription.dead_lettered >= 3)
    await sim.stop()


async def test_pause_leaves_the_subscribers_consuming(broker: Broker) -> None:
    async with Simulation(broker, speed=SPEED, seed=10) as sim:
        await wait_for(lambda: all(s.processed >= 1 for s in sim.subscribers))
        sim.pause()
        assert all(s.running for s in sim.subscribers + sim.responders)
        # what was queued when the publishers stopped still drains
        await wait_for(lambda: all(s.subscription.pending == 0 for s in sim.subscribers))
        assert all(s.running for s in sim.subscribers)


async def test_a_taken_subscriber_name_starts_nothing(broker: Broker) -> None:
    mine = broker.subscribe("stats/#", name="analytics")
    before = other_tasks()
    sim = Simulation(broker, speed=SPEED)
    with pytest.raises(SubscriptionError, match="'analytics' already exists"):
        sim.start()
    assert not sim.running
    assert sim.responders == sim.subscribers == []
    assert [info.name for info in broker.subscriptions()] == ["analytics"]  # the durable one is not left behind
    await asyncio.sleep(0.01)
    assert other_tasks() == before
    mine.unsubscribe()


async def test_broker_closing_ends_the_simulation_quietly(caplog: pytest.LogCaptureFixture) -> None:
    broker = Broker()
    sim = Simulation(broker, speed=SPEED)
    sim.start()
    await wait_for(lambda: events_published(sim) >= 3)
    with caplog.at_level(logging.ERROR):
        await broker.close()
        await asyncio.sleep(0.1)
        await sim.stop()
    assert not caplog.records


NO_RESPONDER = """\
asyncapi: 3.0.0
info: {title: lonely, version: '1'}
channels:
  ask: {address: ask}
  answer: {address: null}
  events: {address: ticks, messages: {tick: {examples: [{payload: {n: 1}}]}}}
operations:
  ask:
    action: send
    channel: {$ref: '#/channels/ask'}
    reply: {channel: {$ref: '#/channels/answer'}}
    x-eventdeck-publisher: {name: asker, rate: 50, timeout: 0.05}
  tick:
    action: send
    channel: {$ref: '#/channels/events'}
    x-eventdeck-publisher: {name: ticker, rate: 50}
"""


async def test_command_without_responder_is_logged_not_fatal(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="eventdeck.core.simulation.simulation"):
        async with Simulation(broker, parse_workspace(NO_RESPONDER)) as sim:
            await wait_for(lambda: sim.request_failures >= 2 and sim.published["ticks"] >= 2)
            assert sim.running
            assert sim.replies == 0
    assert "no handler for 'ask'" in caplog.text


async def test_command_timeout_is_logged_not_fatal(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    silent = broker.subscribe("ask", name="silent")  # takes commands, never answers
    with caplog.at_level(logging.WARNING, logger="eventdeck.core.simulation.simulation"):
        async with Simulation(broker, parse_workspace(NO_RESPONDER)) as sim:
            await wait_for(lambda: sim.request_failures >= 2)
            assert sim.running
    assert "timed out after" in caplog.text
    assert silent.pending >= 2
    assert sim.published["ask"] >= 2


def test_bad_speed() -> None:
    with pytest.raises(ValueError, match="speed"):
        Simulation(Broker(), speed=0)


async def test_a_retaining_publisher_leaves_its_last_value_for_newcomers(broker: Broker) -> None:
    fleet = load_scenario("iot-fleet")
    retaining = [op.channel.address for op in fleet.publishers if op.publisher and op.publisher.retain]
    assert retaining
    async with Simulation(broker, fleet, speed=SPEED, seed=5):
        await wait_for(lambda: all(broker.retained(address) is not None for address in retaining if address))
