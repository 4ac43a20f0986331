"""What the durable store costs the broker; prints ONE JSON line.

Run from the repository root::

    .venv/bin/python tests/benchmarks/store_throughput.py

``plain_*``: one publisher, one non-durable consumer (``core_throughput``'s one-to-one run), on a
broker without a store and on one with a store open but no durable subscription, alternated, best of
``REPEATS``: the store must cost nothing then (ratio ~1). ``durable_*``: the same flood to a durable
subscription, each publish awaiting its receipt (committed to disk), with ``synchronous`` full and
normal, as a ratio to the same durable run in memory.

This is a script, not a pytest test: nothing here is named ``test_*``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from eventdeck.core import Broker
from eventdeck.core.store import Synchronous

REPEATS = 3
BATCH = 256
PLAIN_MESSAGES = 300_000
DURABLE_MESSAGES = 50_000
PAYLOAD = b"x" * 100
CHANNEL = "bench/sensor/temp"


async def _flood(broker: Broker, messages: int, *, durable: bool) -> float:
    sub = broker.subscribe(CHANNEL, name="c", durable=durable)
    messages -= messages % BATCH  # whole rounds of BATCH publishes

    async def consume() -> None:
        seen = 0
        while seen < messages:
            seen += len(await sub.batch(BATCH))

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)
    started = time.perf_counter()
    # Publishers that await their receipt one by one would see one commit each: like MQTT clients, many
    # publishes are in flight at once (here BATCH of them), so a commit covers a batch.
    for _ in range(messages // BATCH):
        await asyncio.gather(*(broker.publish(CHANNEL, PAYLOAD) for _ in range(BATCH)))
    await consumer
    return messages / (time.perf_counter() - started)


async def _run(store: Synchronous | None, messages: int, *, durable: bool) -> float:
    if store is None:
        async with Broker() as broker:
            return await _flood(broker, messages, durable=durable)
    with tempfile.TemporaryDirectory() as directory:
        async with await Broker.on_store(Path(directory), synchronous=store) as broker:
            return await _flood(broker, messages, durable=durable)


async def _main() -> dict[str, object]:
    best: dict[str, float] = {}
    runs: list[tuple[str, Synchronous | None, int, bool]] = [
        ("plain_memory", None, PLAIN_MESSAGES, False),
        ("plain_store_open", "full", PLAIN_MESSAGES, False),
        ("durable_memory", None, DURABLE_MESSAGES, True),
        ("durable_store_full", "full", DURABLE_MESSAGES, True),
        ("durable_store_normal", "normal", DURABLE_MESSAGES, True),
    ]
    for _ in range(REPEATS):  # alternated, so drift on a shared machine hits every run alike
        for name, store, messages, durable in runs:
            best[name] = max(best.get(name, 0.0), await _run(store, messages, durable=durable))
    return {
        **{f"{name}_per_s": round(rate) for name, rate in best.items()},
        "plain_store_open_ratio": round(best["plain_store_open"] / best["plain_memory"], 3),
        "durable_full_ratio": round(best["durable_store_full"] / best["durable_memory"], 3),
        "durable_normal_ratio": round(best["durable_store_normal"] / best["durable_memory"], 3),
    }


def main() -> None:
    print(json.dumps(asyncio.run(_main())))


if __name__ == "__main__":
    main()
