"""Competing consumers: N simulated consumers share one subscription (one queue), each message handled once.

On the real broker: the work is spread over the pool, the queue drains N times faster, the pool scales out
and in while it runs (nothing left unsettled), a crash stops every consumer, and the simulation, its faults,
its story and a scenario's reset reach the pool by its name.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from eventdeck.core import Broker, State, SubscriptionError
from eventdeck.core.simulation.catalogue import load_scenario
from eventdeck.core.simulation.faults import Faults
from eventdeck.core.simulation.scenario import Scenario
from eventdeck.core.simulation.simulation import Simulation, UnknownName
from eventdeck.core.simulation.virtual import VirtualSubscriber
from eventdeck.core.simulation.workspace import parse_workspace
from tests.core.simulation.waiting import other_tasks, stop_cleanly, wait_for

DELAY = 0.02
"""Seconds of work per message: long enough to time, short enough for a fast test."""


def pool_tasks(name: str) -> list[str]:
    return sorted(t.get_name() for t in other_tasks() if t.get_name().startswith(f"virtual-subscriber:{name}#"))


async def queue_up(broker: Broker, pool: VirtualSubscriber, count: int) -> None:
    """``count`` jobs waiting in the pool's queue (paused), ready to go at ``resume()``."""
    pool.subscription.pause()
    for n in range(count):
        await broker.publish("jobs", {"n": n})
    assert pool.subscription.pending == count


async def drain_seconds(broker: Broker, consumers: int, jobs: int) -> float:
    async with VirtualSubscriber(broker, "jobs", name=f"pool-of-{consumers}", delay=DELAY, consumers=consumers) as pool:
        await queue_up(broker, pool, jobs)
        started = time.perf_counter()
        pool.subscription.resume()
        await wait_for(lambda: pool.processed == jobs, limit=5)
        return time.perf_counter() - started


# -- the pool on its own ---------------------------------------------------------


async def test_the_consumers_share_one_queue_each_message_handled_once_the_work_spread(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "jobs", name="workers", delay=DELAY, consumers=3) as pool:
        assert [info.name for info in broker.subscriptions()] == ["workers"]  # one subscription, one queue
        assert pool_tasks("workers") == [f"virtual-subscriber:workers#{n}" for n in (1, 2, 3)]
        await queue_up(broker, pool, 30)
        pool.subscription.resume()
        await wait_for(lambda: pool.processed == 30, limit=5)
        info = pool.subscription.info()
        assert (info.delivered, info.acked, info.redelivered, info.pending, info.unacked) == (30, 30, 0, 0, 0)
        assert set(pool.processed_by) == {"workers#1", "workers#2", "workers#3"}
        assert sum(pool.processed_by.values()) == 30
        assert min(pool.processed_by.values()) >= 7  # about 10 each: whoever is free takes the next one


async def test_n_consumers_drain_the_queue_n_times_faster(broker: Broker) -> None:
    alone = await drain_seconds(broker, 1, 24)  # 24 x 20 ms = about 0.48 s
    four = await drain_seconds(broker, 4, 24)  # about 0.12 s
    assert alone > 0.4
    assert four < alone / 2.5


async def test_scaling_out_at_run_time_drains_faster(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "jobs", name="workers", delay=DELAY) as pool:
        await queue_up(broker, pool, 40)  # one consumer alone: about 0.8 s
        started = time.perf_counter()
        pool.subscription.resume()
        await asyncio.sleep(0.1)
        pool.set_consumers(4)
        assert pool.consumers == 4
        assert len(pool_tasks("workers")) == 4  # the new ones start at once
        await wait_for(lambda: pool.processed == 40, limit=5)
        assert time.perf_counter() - started < 0.55  # about 0.1 + 35 x 20 ms / 4 = 0.28 s
        assert set(pool.processed_by) == {f"workers#{n}" for n in (1, 2, 3, 4)}
        assert pool.subscription.info().delivered == 40


async def test_scaling_in_lets_busy_consumers_finish_and_loses_nothing(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "jobs", name="workers", delay=DELAY, consumers=4) as pool:
        await queue_up(broker, pool, 40)
        pool.subscription.resume()
        await asyncio.sleep(0.05)  # every consumer is in the middle of a job
        pool.set_consumers(1)
        await wait_for(lambda: pool_tasks("workers") == ["virtual-subscriber:workers#1"], limit=1)
        await wait_for(lambda: pool.processed == 40, limit=5)
        info = pool.subscription.info()
        assert (info.delivered, info.acked, info.redelivered, info.unacked) == (40, 40, 0, 0)
        assert repr(pool).startswith("<VirtualSubscriber 'workers' 'jobs' running processed=")
        pool.set_consumers(2)  # and out again
        assert pool_tasks("workers") == ["virtual-subscriber:workers#1", "virtual-subscriber:workers#2"]


async def test_scaling_while_stopped_takes_effect_at_start(broker: Broker) -> None:
    pool = VirtualSubscriber(broker, "jobs", name="workers", consumers=2)
    pool.set_consumers(5)
    assert not pool.running
    assert pool_tasks("workers") == []
    pool.start()
    assert len(pool_tasks("workers")) == 5
    await pool.stop()


async def test_a_crash_stops_every_consumer_and_a_durable_queue_waits_for_them(broker: Broker) -> None:
    async with VirtualSubscriber(broker, "jobs", name="workers", delay=DELAY, consumers=3, durable=True) as pool:
        await queue_up(broker, pool, 12)
        pool.subscription.resume()
        await asyncio.sleep(0.03)  # three jobs in hand
        assert pool.kill() == 0  # durable: nothing lost
        await asyncio.sleep(0)
        assert not pool.running
        assert pool_tasks("workers") == []
        assert pool.subscription.state is State.AWAY
        assert pool.subscription.pending + pool.processed == 12  # the jobs in hand went back to the queue
        pool.start()
        assert len(pool_tasks("workers")) == 3
        await wait_for(lambda: pool.processed == 12, limit=5)


async def test_a_pool_stops_cleanly(broker: Broker) -> None:
    before = other_tasks()
    pool = VirtualSubscriber(broker, "jobs", name="workers", delay=0.05, consumers=5)
    pool.start()
    for n in range(5):
        await broker.publish("jobs", n)
    await asyncio.sleep(0.01)  # all five at work
    await stop_cleanly(pool.stop, before)
    assert pool.subscription.state is State.CLOSED


@pytest.mark.parametrize("count", [0, 21, -1, 1.5, True, "3"])
async def test_a_pool_size_outside_1_to_20_is_refused(broker: Broker, count: object) -> None:
    with pytest.raises(SubscriptionError, match=r"whole number from 1 to 20, got"):
        VirtualSubscriber(broker, "jobs", consumers=count)  # type: ignore[arg-type]
    pool = VirtualSubscriber(broker, "jobs", name="workers")
    with pytest.raises(SubscriptionError, match=r"whole number from 1 to 20"):
        pool.set_consumers(count)  # type: ignore[arg-type]
    assert pool.consumers == 1


# -- the pool in the simulation ----------------------------------------------------------

POOL_DOCUMENT = """\
asyncapi: 3.0.0
info: {title: A pool, version: '1'}
channels:
  jobs:
    address: jobs
    messages:
      job: {payload: {type: object}, examples: [{payload: {n: 1}}]}
operations:
  queueJobs:
    action: send
    channel: {$ref: '#/channels/jobs'}
    x-eventdeck-publisher: {name: job-queue, rate: 1}
  work:
    action: receive
    channel: {$ref: '#/channels/jobs'}
    x-eventdeck-subscriber: {name: workers, delay: 0.5, consumers: 3, durable: true}
  watch:
    action: receive
    channel: {$ref: '#/channels/jobs'}
    x-eventdeck-subscriber: {name: watcher}
x-eventdeck-story:
  title: Scale out
  steps:
    - title: More workers
      caption: Two more workers join the pool.
      actions:
        - consumers: {subscriber: workers, count: 5}
"""


async def test_the_simulation_runs_the_pool_and_scales_it_by_name(broker: Broker) -> None:
    async with Simulation(broker, parse_workspace(POOL_DOCUMENT), speed=5, seed=3) as sim:
        workers = sim.consumer("workers")
        assert workers is not None
        assert (sim.consumer_count("workers"), workers.consumers, sim.consumer_count("watcher")) == (3, 3, 1)
        sim.set_consumers("workers", 6)
        assert (sim.consumer_count("workers"), workers.consumers) == (6, 6)
        assert len(pool_tasks("workers")) == 6
        with pytest.raises(ValueError, match=r"cannot scale 'workers': .* from 1 to 20, got 0"):
            sim.set_consumers("workers", 0)
        with pytest.raises(UnknownName, match="no subscriber or responder named 'nobody'"):
            sim.set_consumers("nobody", 2)
        sim.set_speed(2)
        assert workers.delay == pytest.approx(0.25)  # every consumer of the pool takes the pace
        sim.restore_consumers()
        assert (sim.consumer_count("workers"), workers.consumers) == (3, 3)
    sim.set_consumers("workers", 4)  # stopped: kept for the next start
    async with sim:
        workers = sim.consumer("workers")
        assert workers is not None
        assert workers.consumers == 4


async def test_crash_stops_the_whole_pool_slow_applies_to_each_and_restart_brings_them_back(broker: Broker) -> None:
    async with Simulation(broker, parse_workspace(POOL_DOCUMENT), speed=5, seed=4) as sim:
        faults = Faults(sim)
        slow = faults.slow("workers", 2)
        assert slow.description == "slow: each of its 3 consumers takes 2 s per message (normally 0.5 s)"
        flaky = faults.flaky("watcher", 0.5)
        assert flaky.description == "flaky: fails 50% of its messages (normally 0%)"  # a lone consumer
        crash = faults.crash("workers")
        assert crash.description.startswith("crashed (all 3 of its consumers): its durable subscription keeps")
        await asyncio.sleep(0)
        assert pool_tasks("workers") == []
        assert broker.subscription("workers").state is State.AWAY
        faults.restart("workers")
        assert len(pool_tasks("workers")) == 3


async def test_a_story_scales_the_pool_and_reset_restores_the_document_s_size(broker: Broker) -> None:
    async with Scenario(broker, parse_workspace(POOL_DOCUMENT), seed=5, speed=5) as scenario:
        workers = scenario.simulation.consumer("workers")
        assert workers is not None
        assert workers.consumers == 3  # as the document says, until the story begins
        assert scenario.player is not None
        await scenario.player.next()
        assert workers.consumers == 5  # step 1 scaled it out
        assert scenario.player.errors == []
        scenario.simulation.set_consumers("workers", 2)
        await scenario.reset()  # reset: as the document says, then step 0 again
        workers = scenario.simulation.consumer("workers")
        assert workers is not None
        assert workers.consumers == 5
        scenario.simulation.restore_consumers()
        assert workers.consumers == 3


async def test_the_delivery_patterns_story_contrasts_fan_out_with_a_pool_and_scales_it(broker: Broker) -> None:
    async with Scenario(broker, load_scenario("delivery-patterns"), seed=6, speed=5) as scenario:
        player, sim = scenario.player, scenario.simulation
        assert player is not None
        fan_out = ("search-indexer", "activity-feed", "storage-auditor")
        await wait_for(lambda: all(broker.subscription(name).info().acked == 1 for name in fan_out))  # a copy each
        workers = sim.consumer("thumbnail-workers")
        assert workers is not None
        assert workers.consumers == 3
        await player.go_to(2)  # the work queue: one job by hand (and the publishers' jobs)
        await wait_for(lambda: workers.processed >= 1, limit=2)
        info = workers.subscription.info()
        assert info.delivered == info.acked + info.unacked  # each job handed to one worker, never copied
        await player.next()
        assert sim.consumer_count("thumbnail-workers") == 1
        await wait_for(lambda: len(pool_tasks("thumbnail-workers")) == 1, limit=2)  # the busy ones finish first
        await player.next()
        assert len(pool_tasks("thumbnail-workers")) == 5
        await player.go_to(6)
        await asyncio.sleep(0)
        assert pool_tasks("thumbnail-workers") == []  # the whole pool crashed
        assert broker.subscription("thumbnail-workers").state is State.AWAY  # durable: its jobs wait
        await player.next()
        assert len(pool_tasks("thumbnail-workers")) == 5  # all five back
        assert player.errors == []
