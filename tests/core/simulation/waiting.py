"""Watching the event loop in simulation tests: waiting for a condition or a clean stop, counting turns."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable


async def wait_for(condition: Callable[[], bool], limit: float = 1.0) -> None:
    """Poll ``condition`` on the event loop until it holds (fails the test after ``limit`` seconds)."""
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polling plain counters is the point
            await asyncio.sleep(0.002)


def other_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


async def stop_cleanly(stop: Callable[[], Awaitable[None]], before: set[asyncio.Task[object]]) -> None:
    """``await stop()`` with warnings as errors (no un-awaited coroutine), leaving only the tasks of ``before``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await stop()
        gc.collect()
    assert other_tasks() == before


@contextlib.asynccontextmanager
async def loop_turns() -> AsyncIterator[list[int]]:
    """Counts the event loop's turns while inside (``turns[0]``): a busy consumer must leave some."""
    turns = [0]

    async def tick() -> None:
        while True:
            turns[0] += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    try:
        yield turns
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
