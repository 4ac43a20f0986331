"""Faults on the demo household, on a real broker: each one visibly does its thing, is listed, and can be cleared."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventdeck.core import Broker, BrokerEvent, EventKind, InvalidChannel, Message, State, Subscription
from eventdeck.core.broker.channel_faults import DUPLICATE_HEADER
from eventdeck.core.broker.mishaps import DROPPED_BY_FAULT
from eventdeck.core.simulation.faults import ActiveFault, BrokerRestart, FaultKind, Faults
from eventdeck.core.simulation.simulation import Simulation, UnknownName
from eventdeck.core.simulation.virtual import VirtualSubscriber
from tests.core.simulation.waiting import other_tasks, stop_cleanly, wait_for

SPEED = 20.0  # the demo's rates x 20: fridge reports at 20 a second


@pytest.fixture
async def sim(broker: Broker) -> AsyncIterator[Simulation]:
    """The demo running fast, its own publishers quiet: the tests publish what they need (consumers run)."""
    simulation = Simulation(broker, speed=SPEED, seed=11)
    simulation.pause()
    simulation.start()
    yield simulation
    await simulation.stop()


@pytest.fixture
def faults(sim: Simulation) -> Faults:
    return Faults(sim)


def consumer(sim: Simulation, name: str) -> VirtualSubscriber:
    found = sim.consumer(name)
    assert found is not None
    return found


async def publish(broker: Broker, channel: str, count: int) -> list[int]:
    return [(await broker.publish(channel, {"n": n}, publisher="test")).id for n in range(count)]


async def drain(sub: Subscription) -> list[Message]:
    return [(await sub.get(1)).message for _ in range(sub.pending)]


# -- subscribers ---------------------------------------------------------------------


async def test_a_crashed_durable_subscriber_keeps_queueing_and_drains_its_backlog_after_restart(
    broker: Broker, sim: Simulation, faults: Faults
) -> None:
    fault = faults.crash("shopping-list")
    assert (fault.kind, fault.target) == (FaultKind.CRASH, "shopping-list")
    shopping = consumer(sim, "shopping-list")
    assert not shopping.running
    assert shopping.subscription.state is State.AWAY
    await publish(broker, "fridge/level", 6)
    assert shopping.subscription.pending == 6  # the queue grows while it is down
    (listed,) = faults.active
    assert listed.description == "crashed: its durable subscription keeps queueing (6 messages waiting)"
    faults.restart("shopping-list")
    assert faults.active == []
    assert shopping.running
    await wait_for(lambda: shopping.subscription.pending == 0 and not shopping.subscription.unacked)
    assert shopping.processed + shopping.failed >= 6  # it took its backlog


async def test_a_crashed_non_durable_subscriber_loses_its_queue(
    broker: Broker, sim: Simulation, faults: Faults
) -> None:
    mailer = consumer(sim, "welcome-mailer")
    mailer.subscription.pause()  # let a queue build up first
    await publish(broker, "user/signedup", 4)
    assert mailer.subscription.pending == 4
    fault = faults.crash("welcome-mailer")
    assert fault.description == "crashed: lost 4 queued messages; nothing queues for it until it restarts"
    with pytest.raises(KeyError):
        broker.subscription("welcome-mailer")
    await publish(broker, "user/signedup", 2)  # gone: nothing queues for it
    assert mailer.subscription.pending == 0
    faults.restart("welcome-mailer")
    assert broker.subscription("welcome-mailer").state is State.ACTIVE
    await publish(broker, "user/signedup", 1)
    await wait_for(lambda: mailer.processed == 1)  # only what came after the restart


async def test_crash_again_is_the_same_fault_and_restart_of_a_running_one_does_nothing(faults: Faults) -> None:
    first = faults.crash("notifications")
    assert faults.crash("notifications") == first
    faults.restart("analytics")  # not crashed: nothing to do
    faults.reconnect("notifications")  # crashed, not cut off: nothing to do
    assert faults.active == [first]


async def test_cut_off_durable_keeps_queueing_non_durable_ends_its_session_and_reconnect_ends_it(
    broker: Broker, sim: Simulation, faults: Faults
) -> None:
    shopping, analytics = consumer(sim, "shopping-list"), consumer(sim, "analytics")
    analytics.subscription.pause()
    await publish(broker, "user/followed", 3)
    durable = faults.cut_off("shopping-list")
    clean = faults.cut_off("analytics")
    await publish(broker, "fridge/level", 2)
    assert durable.kind is FaultKind.CUT_OFF
    assert [f.description for f in faults.active] == [
        "cut off from the broker: its durable subscription keeps queueing (2 messages waiting)",
        "cut off from the broker: its session ended, 3 queued messages lost (not durable); "
        "nothing queues for it until it reconnects",
    ]
    assert shopping.subscription.state is State.AWAY
    with pytest.raises(KeyError):
        broker.subscription("analytics")
    with pytest.raises(ValueError, match="'analytics' is cut off from the broker; reconnect it first"):
        faults.crash("analytics")
    faults.reconnect("shopping-list")
    faults.reconnect("analytics")
    assert faults.active == []
    assert clean.ident != durable.ident
    await wait_for(lambda: shopping.subscription.pending == 0)
    assert broker.subscription("analytics").state is State.ACTIVE


async def test_slow_and_flaky_change_the_consumer_and_clearing_restores_the_workspace_settings(
    sim: Simulation, faults: Faults
) -> None:
    notifications, mailer = consumer(sim, "notifications"), consumer(sim, "welcome-mailer")
    slow = faults.slow("notifications", 2.0)
    assert slow.description == "slow: takes 2 s per message (normally 0.3 s)"
    assert notifications.delay == pytest.approx(2.0 / SPEED)
    slower = faults.slow("notifications", 4.0)  # again: the same fault, new words
    assert (slower.ident, slower.description) == (slow.ident, "slow: takes 4 s per message (normally 0.3 s)")
    flaky = faults.flaky("welcome-mailer", 0.5)
    assert flaky.description == "flaky: fails 50% of its messages (normally 0%)"
    assert mailer.failure_rate == 0.5
    assert faults.clear(slow.ident)
    assert not faults.clear(slow.ident)  # already gone
    assert notifications.delay == pytest.approx(0.3 / SPEED)
    faults.clear_all()
    assert mailer.failure_rate == 0.0
    assert faults.active == []


async def test_a_slow_consumer_queue_grows(broker: Broker, sim: Simulation, faults: Faults) -> None:
    mailer = consumer(sim, "welcome-mailer")
    faults.slow("welcome-mailer", 20.0)  # one second per message at this speed
    await publish(broker, "user/signedup", 10)  # the batch it was waiting for goes at the old pace (4 at most)
    await asyncio.sleep(0.05)
    assert mailer.subscription.pending >= 4


# -- channels ------------------------------------------------------------------------


async def test_dropped_messages_reach_no_subscription_the_count_runs_down_and_the_fault_goes(
    broker: Broker, sim: Simulation, faults: Faults
) -> None:
    watcher = broker.subscribe("user/#", name="watcher")
    tap = broker.tap()
    changes: list[int] = []
    faults.on_change.append(lambda: changes.append(len(faults.active)))
    fault = faults.drop("user/signedup", 3)
    assert fault.description == "drops the next 3 messages on user/signedup (3 left)"
    ids = await publish(broker, "user/signedup", 2)
    assert [f.description for f in faults.active] == ["drops the next 3 messages on user/signedup (1 left)"]
    ids += await publish(broker, "user/signedup", 2)
    assert faults.active == []
    assert changes == [1, 1, 1, 0]  # added, two catches, gone
    assert [m.id for m in await drain(watcher)] == ids[3:]
    analytics, mailer = consumer(sim, "analytics"), consumer(sim, "welcome-mailer")
    await wait_for(lambda: analytics.processed == 1 and mailer.processed == 1)
    dropped = [e for e in tap.drain().events if isinstance(e, BrokerEvent) and e.kind is EventKind.MESSAGE_DROPPED]
    expected = [(ident, DROPPED_BY_FAULT) for ident in ids[:3]]
    assert [(e.message.id if e.message else None, e.detail) for e in dropped] == expected
    assert broker._plain  # no fault left: the broker publishes on its fast path again


async def test_the_same_channel_fault_again_goes_on_for_longer(broker: Broker, faults: Faults) -> None:
    first = faults.drop("fridge/level", 2)
    again = faults.drop("fridge/level", 3)
    assert again.ident == first.ident
    assert again.description == "drops the next 5 messages on fridge/level (5 left)"
    other = faults.duplicate("fridge/level", 1)
    assert [f.ident for f in faults.active] == [first.ident, other.ident]


async def test_duplicates_arrive_twice(broker: Broker, sim: Simulation, faults: Faults) -> None:
    watcher = broker.subscribe("user/followed", name="watcher")
    fault = faults.duplicate("user/followed", 2)
    assert fault.description == "delivers twice the next 2 messages on user/followed (2 left)"
    ids = await publish(broker, "user/followed", 3)
    seen = await drain(watcher)
    assert len(seen) == 5
    copies = [m for m in seen if DUPLICATE_HEADER in m.headers]
    assert [m.headers[DUPLICATE_HEADER] for m in copies] == [str(i) for i in ids[:2]]
    notifications = consumer(sim, "notifications")
    await wait_for(lambda: notifications.processed == 5, limit=2)
    assert faults.active == []


async def test_a_delayed_message_arrives_late_and_the_delay_follows_the_speed(
    broker: Broker, sim: Simulation, faults: Faults
) -> None:
    watcher = broker.subscribe("user/signedup", name="watcher")
    fault = faults.delay("user/signedup", 2, 2.0)  # 2 scenario seconds: 0.1 s at this speed
    assert fault.description == "delays by 2 s the next 2 messages on user/signedup (2 left)"
    assert [f.seconds for f in broker.channel_faults] == [pytest.approx(2.0 / SPEED)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    (late,) = await publish(broker, "user/signedup", 1)
    assert watcher.pending == 0
    delivered = await watcher.get(1)
    assert delivered.message.id == late
    assert loop.time() - started >= 2.0 / SPEED
    sim.set_speed(4)
    assert [f.seconds for f in broker.channel_faults] == [pytest.approx(0.5)]


# -- publishers and the broker -----------------------------------------------------------


async def test_a_burst_raises_the_rate_then_ends_by_itself(broker: Broker) -> None:
    sim = Simulation(broker, speed=5, seed=12)  # fridge reports at 5 a second
    faults = Faults(sim)
    async with sim:
        fault = faults.burst("fridge-sensor", factor=10, seconds=2)  # 0.4 s at this speed, at 50 a second
        assert fault.description == "fridge-sensor publishes 10x faster for 2 s"
        assert fault.target == "fridge-sensor"
        await asyncio.sleep(0.3)
        during = sim.published["fridge/level"]
        assert during >= 6  # about 15
        await wait_for(lambda: faults.active == [], limit=1)
        before = sim.published["fridge/level"]
        await asyncio.sleep(0.4)
        assert sim.published["fridge/level"] - before <= 6  # about 2 again
        everyone = faults.burst(None, factor=2, seconds=60)
        assert everyone.description == "every publisher publishes 2x faster for 60 s"
        assert everyone.target == ""
        faults.clear_all()


async def test_restart_broker_forgets_queues_and_retained_messages_but_crashed_ones_stay_down(
    broker: Broker, sim: Simulation, faults: Faults
) -> None:
    await broker.publish("fridge/level", {"percentage": 23}, retain=True)
    mailer = consumer(sim, "welcome-mailer")
    mailer.subscription.pause()
    await publish(broker, "user/signedup", 5)
    faults.crash("notifications")
    faults.slow("analytics", 1.0)
    heard: list[tuple[BrokerRestart, bool]] = []
    faults.on_restart.append(lambda restart: heard.append((restart, sim.running)))
    restart = await faults.restart_broker()
    assert restart.kind is FaultKind.BROKER_RESTART
    assert restart.target == ""
    ((told, running),) = heard
    assert not running  # told before the simulation publishes again
    assert (told.on_store, told.kept, told.retained, told.requests) == (False, {}, 1, 0)
    assert told.lost["welcome-mailer"] == 5  # although stopping the simulation had ended its subscription
    assert restart.description.startswith(
        "broker restarted: nothing survived (messages live in memory only); "
        f"lost {sum(told.lost.values())} queued messages, 1 retained message"
    )
    assert "retained message" in restart.description
    assert broker.retained("fridge/level") is None
    assert sim.running
    assert broker.subscription("welcome-mailer").pending == 0
    assert broker.subscription("shopping-list").pending == 0
    with pytest.raises(KeyError):
        broker.subscription("notifications")  # crashed before, still down
    assert consumer(sim, "analytics").delay == pytest.approx(1.0 / SPEED)
    assert {f.kind for f in faults.active} == {FaultKind.CRASH, FaultKind.SLOW, FaultKind.BROKER_RESTART}
    faults.clear(restart.ident)
    assert broker.subscription("shopping-list").state is State.ACTIVE


# -- the list, its changes, bad input ---------------------------------------------------------


async def test_on_change_hears_every_change(faults: Faults) -> None:
    heard: list[list[ActiveFault]] = []
    faults.on_change.append(lambda: heard.append(faults.active))
    faults.on_change.append(lambda: 1 / 0)  # a broken listener does not stop the others
    fault = faults.slow("notifications", 1)
    faults.clear(fault.ident)
    faults.crash("analytics")
    faults.clear_all()
    assert [len(active) for active in heard] == [1, 0, 1, 0]


async def test_unknown_names_are_refused_with_the_known_ones(faults: Faults) -> None:
    with pytest.raises(UnknownName, match=r"no subscriber or responder named 'mailer'; the simulation has: .*mailer"):
        faults.crash("mailer")
    with pytest.raises(KeyError):
        faults.slow("mailer", 1)
    with pytest.raises(UnknownName, match=r"no channel 'fridge/levle' .*known channels: .*fridge/level"):
        faults.drop("fridge/levle", 1)
    with pytest.raises(UnknownName, match=r"no publisher named 'fridge'; the simulation has: .*fridge-sensor"):
        faults.burst("fridge")
    with pytest.raises(InvalidChannel):
        faults.duplicate("fridge/#", 1)
    assert faults.active == []


@pytest.mark.parametrize(
    ("inject", "message"),
    [
        (lambda f: f.slow("notifications", -1), "a slow consumer's delay must be from 0 to 60 seconds per message"),
        (lambda f: f.flaky("notifications", 1.5), "a flaky consumer's failure rate must be from 0 to 1"),
        (lambda f: f.drop("fridge/level", 0), "count must be a whole number, got 0"),
        (lambda f: f.delay("fridge/level", 1, 0), "a delay must be more than 0 to 60 seconds, got 0"),
        (lambda f: f.burst(None, factor=1), "a burst's factor must be more than 1 to 100 times the normal rate"),
        (lambda f: f.burst(None, seconds=float("nan")), "a burst must be more than 0 seconds, got nan"),
        (lambda f: f.burst(None, seconds=float("inf")), "a burst must be more than 0 seconds, got inf"),
    ],
)
async def test_bad_values_are_refused_saying_what_is_allowed(faults: Faults, inject: object, message: str) -> None:
    assert callable(inject)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        inject(faults)
    assert faults.active == []


async def test_faults_cost_nothing_when_none_is_active_and_stop_cleanly(broker: Broker) -> None:
    before = other_tasks()
    sim = Simulation(broker, speed=SPEED, seed=13)
    faults = Faults(sim)
    sim.start()
    assert broker._plain
    faults.drop("fridge/level", 1)
    faults.burst("social-service", seconds=600)
    assert not broker._plain
    faults.clear_all()
    assert broker._plain
    assert broker.channel_faults.on_change == []
    await stop_cleanly(sim.stop, before)


async def test_restart_broker_on_a_store_keeps_durable_queues_and_retained_messages(tmp_path: Path) -> None:
    broker = await Broker.on_store(tmp_path)
    simulation = Simulation(broker, speed=SPEED, seed=11)
    simulation.pause()
    simulation.start()
    faults = Faults(simulation)
    try:
        consumer(simulation, "welcome-mailer").subscription.pause()
        consumer(simulation, "analytics").subscription.pause()
        await publish(broker, "user/signedup", 5)  # 5 each for the two paused non-durable subscribers: lost
        faults.crash("shopping-list")  # durable: away, queueing
        sent = await publish(broker, "fridge/level", 6)
        await broker.publish("house/mode", "eco", retain=True)
        heard: list[BrokerRestart] = []
        faults.on_restart.append(heard.append)
        restart = await faults.restart_broker()
        assert restart.description == (
            "broker restarted: kept 1 durable queue with 6 messages and 1 retained message (on disk); "
            "lost 10 queued messages of non-durable subscriptions, 0 pending commands"
        )
        assert heard == [BrokerRestart(True, {"shopping-list": 6}, {"welcome-mailer": 5, "analytics": 5}, 1, 0, 0)]
        assert broker.retained("house/mode") is not None
        assert broker.subscription("welcome-mailer").pending == 0
        shopping = broker.subscription("shopping-list")
        assert (shopping.state, shopping.pending) == (State.AWAY, 6)  # crashed before, still down, queue kept
        assert [message.id for message in shopping.queue] == sent
        faults.restart("shopping-list")
        await wait_for(lambda: shopping.pending == 0 and not shopping.unacked)  # it takes up its queue
    finally:
        await simulation.stop()
        await broker.close()
