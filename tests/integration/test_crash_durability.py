"""The crash harness, short: five rounds of ``kill -9`` of ``eventdeck serve --data`` lose no acknowledged message."""

from __future__ import annotations

from tests.benchmarks.crash_durability import run


async def test_kill_9_loses_no_acknowledged_message_nor_the_retained_one() -> None:
    figures = await run(rounds=5, seed=16)
    assert figures["acked"], figures  # the publisher got acknowledgements before each kill
    assert (figures["lost"], figures["retained_lost"], figures["sessions_lost"]) == (0, 0, 0), figures


async def test_kill_9_loses_no_acknowledged_message_in_flight_to_a_connected_subscriber() -> None:
    figures = await run(rounds=5, seed=17, online=True)
    assert figures["acked"], figures
    assert (figures["lost"], figures["retained_lost"], figures["sessions_lost"]) == (0, 0, 0), figures
