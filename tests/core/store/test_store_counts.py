"""Store.counts: what the file holds, read beside the writer, after everything changed so far is committed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from eventdeck.core import Broker


async def test_counts_follow_what_was_kept_and_what_a_reset_forgot(tmp_path: Path) -> None:
    broker = await Broker.on_store(tmp_path)
    store = broker.store
    assert store is not None
    broker.subscribe("orders/#", name="audit", durable=True).close()
    broker.subscribe("orders/#", name="billing", durable=True).close()
    await broker.publish("orders/placed", {"n": 1})
    await broker.publish("lights/hall", "on", retain=True)
    counts = await store.counts()
    assert (counts.subscriptions, counts.queued, counts.retained, counts.sessions) == (2, 2, 1, 0)
    assert counts.file_bytes > 0
    broker.reset()
    await asyncio.sleep(0)  # the reset's changes are handed to the writer before they are counted
    counts = await store.counts()
    assert (counts.subscriptions, counts.queued, counts.retained) == (0, 0, 0)
    await broker.close()
