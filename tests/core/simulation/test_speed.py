"""Speed: the whole simulation at 0.1x to 5x, taking effect at once on publishers, consumers and commands."""

from __future__ import annotations

import asyncio

import pytest

from eventdeck.core import Broker
from eventdeck.core.simulation.clock import SimClock
from eventdeck.core.simulation.simulation import Simulation


def events(sim: Simulation) -> int:
    return sum(n for channel, n in sim.published.items() if channel != "groceries/order")


async def count_over(sim: Simulation, seconds: float) -> int:
    before = events(sim)
    await asyncio.sleep(seconds)
    return events(sim) - before


async def test_the_publishers_rate_follows_the_speed_at_once(broker: Broker) -> None:
    async with Simulation(broker, speed=5, seed=21) as sim:  # the demo's events: 4.5 a second, x 5
        await asyncio.sleep(0.15)  # past every publisher's first tick
        fast = await count_over(sim, 0.6)
        sim.set_speed(0.5)
        slow = await count_over(sim, 0.6)
    assert fast >= 7  # about 13
    assert slow <= 4  # about 1: the waits in progress were rescaled, not finished at the old pace
    assert sim.speed == 0.5


async def test_consumer_delays_follow_the_speed(broker: Broker) -> None:
    async with Simulation(broker, speed=1, seed=22) as sim:
        heard: list[float] = []
        sim.on_speed.append(heard.append)
        sim.set_speed(4)
        delays = {c.name: c.delay for c in sim.responders + sim.subscribers}
        assert delays["grocery-service"] == pytest.approx(0.3 / 4)
        assert delays["notifications"] == pytest.approx(0.3 / 4)
        assert delays["analytics"] == 0
        assert heard == [4.0]


async def test_commands_get_the_timeout_of_the_speed_they_are_sent_at(broker: Broker) -> None:
    async with Simulation(broker, speed=5, seed=23) as sim:
        sim.stop_consumer("grocery-service")  # nobody answers: every command times out
        sim.set_speed(0.5)
        sim.set_speed(5)  # the workspace's 2 s timeout is 0.4 s at 5x
        await asyncio.sleep(1.2)  # the shopping app sends one a second at 5x
    assert sim.request_failures >= 1


@pytest.mark.parametrize("factor", [0.05, 5.5, 0, -1, float("nan"), float("inf"), True, "2"])
async def test_a_speed_outside_the_range_is_refused_saying_what_to_do(broker: Broker, factor: object) -> None:
    sim = Simulation(broker)
    with pytest.raises(ValueError, match=r"speed must be a number from 0.1 to 5 .*pause instead"):
        sim.set_speed(factor)  # type: ignore[arg-type]
    assert sim.speed == 1.0


async def test_the_clock_sleeps_scenario_seconds_and_rescales_a_sleep_in_progress() -> None:
    clock = SimClock(10.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await clock.sleep(1.0)  # 0.1 s at 10x
    assert 0.09 <= loop.time() - started < 0.3
    clock.speed = 1.0
    started = loop.time()
    sleeper = asyncio.create_task(clock.sleep(1.0))
    await asyncio.sleep(0.05)  # 0.05 scenario seconds gone at 1x
    clock.speed = 5.0  # the 0.95 left take 0.19 s
    await sleeper
    assert 0.2 <= loop.time() - started < 0.45


async def test_a_boost_speeds_one_sleeper_and_changed_applies_it() -> None:
    clock = SimClock(1.0)
    boost = [1.0]
    loop = asyncio.get_running_loop()
    started = loop.time()
    boosted = asyncio.create_task(clock.sleep(1.0, lambda: boost[0]))
    plain = asyncio.create_task(clock.sleep(0.3))
    await asyncio.sleep(0)
    boost[0] = 20.0
    clock.changed()
    await boosted
    assert loop.time() - started < 0.2
    assert not plain.done()
    await plain
