"""Waiting on the event loop in simulation tests: for a condition, and for a clean stop."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Awaitable, Callable


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
