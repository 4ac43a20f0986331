"""Publishers wait for full subscriber sockets only briefly, and for stuck ones only within a budget."""

from __future__ import annotations

import asyncio

from eventdeck.core.gateways.mqtt.backpressure import Backpressure


async def test_a_subscriber_that_drains_ends_the_wait_at_once() -> None:
    holds = Backpressure(hold=5.0, budget=5.0)
    holds.full("sub", asyncio.get_running_loop().time())
    asyncio.get_running_loop().call_later(0.05, holds.drained, "sub")
    async with asyncio.timeout(1):
        await holds.wait()
    assert not holds.holding


async def test_stuck_subscribers_arriving_one_after_another_cost_the_budget_once() -> None:
    loop = asyncio.get_running_loop()
    holds = Backpressure(hold=0.1, budget=0.15)
    started = loop.time()
    for n in range(6):  # a new stuck one every 0.05 s, two readers waiting for each
        holds.full(n, loop.time())
        await asyncio.gather(holds.wait(), holds.wait())
        await asyncio.sleep(0.05)
    waited = loop.time() - started - 6 * 0.05
    assert waited < 0.15 + 0.1  # one sequential hold each would be 6 x 0.1 s
    assert holds.stuck  # and they never hold anyone again until they drain


async def test_a_stuck_subscriber_that_drains_may_hold_again() -> None:
    loop = asyncio.get_running_loop()
    holds = Backpressure(hold=0.01, budget=1.0)
    holds.full("sub", loop.time())
    await holds.wait()
    assert "sub" in holds.stuck
    holds.full("sub", loop.time())
    assert not holds.holding  # stuck: publishers do not wait for it
    holds.drained("sub")
    holds.full("sub", loop.time())
    assert holds.holding
