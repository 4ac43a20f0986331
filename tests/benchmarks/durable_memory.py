"""A million queued durable messages stay on disk, not in RAM; prints ONE JSON line.

Run from the repository root::

    .venv/bin/python tests/benchmarks/durable_memory.py [--messages 1000000]

A broker on a store in a temp dir has one durable subscription whose consumer is away (``max_pending``
2,000,000, ``max_pending_bytes`` 1 GiB); ``--messages`` ~100-byte messages are published to it (a commit
per ``CHUNK``, as the MQTT gateway acknowledges a read of publishes). ``rss_growth_mb`` is the resident
memory grown by that (goal < 100 MB). The broker is then closed and started again on the same store
(``reopen_s``, and the memory after it), and a consumer drains the whole queue: every message must
arrive once, in order (``in_order``, ``first_ok``/``last_ok`` against the published ids).
``reference_rss_growth_mb`` is the same publishing to a non-durable subscription of a broker without a
store (everything in memory), in a fresh interpreter: what paging saves.

This is a script, not a pytest test: nothing here is named ``test_*``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventdeck.core import Broker, Message, Subscription

CHANNEL = "bench/durable"
CHUNK = 10_000  # publishes per commit
MAX_PENDING = 2_000_000
MAX_PENDING_BYTES = 1024**3  # the default 64 MiB would drop the oldest past ~670,000 messages of this size
GOAL_MB = 100


def _subscribe(broker: Broker, name: str, *, durable: bool) -> Subscription:
    return broker.subscribe(
        CHANNEL, name=name, durable=durable, max_pending=MAX_PENDING, max_pending_bytes=MAX_PENDING_BYTES
    )


def _rss_mb() -> float:
    gc.collect()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _publish(broker: Broker, messages: int) -> tuple[int, int]:
    """Publish ``messages`` numbered ~100-byte messages; the first and last ids."""
    first = last = 0
    for start in range(0, messages, CHUNK):
        for n in range(start, min(start + CHUNK, messages)):
            message = Message.build(CHANNEL, b"%010d" % n + b"x" * 90)
            await broker.publish_message(message, wait_durable=False)
            first, last = first or message.id, message.id
        await broker.durable_commit()
    return first, last


async def _durable(messages: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as directory:
        broker = await Broker.on_store(Path(directory))
        _subscribe(broker, "durable", durable=True).close()
        before = _rss_mb()
        started = time.perf_counter()
        first, last = await _publish(broker, messages)
        publish_s = time.perf_counter() - started
        after = _rss_mb()
        queued = broker.subscription("durable").pending
        await broker.close()

        started = time.perf_counter()
        broker = await Broker.on_store(Path(directory))
        reopen_s = time.perf_counter() - started
        reopened = _rss_mb()
        sub = _subscribe(broker, "durable", durable=True)
        started = time.perf_counter()
        got, previous, in_order, first_got, last_got = 0, 0, True, 0, 0
        while got < messages:
            for delivery in await asyncio.wait_for(sub.batch(1_000), 30):
                ident = delivery.message.id
                in_order = in_order and ident > previous and delivery.message.payload[:10] == b"%010d" % got
                previous, got = ident, got + 1
                first_got = first_got or ident
                last_got = ident
        drain_s = time.perf_counter() - started
        drained = _rss_mb()
        await broker.close()
    return {
        "messages": messages,
        "queued_before_restart": queued,
        "rss_before_mb": round(before, 1),
        "rss_after_publish_mb": round(after, 1),
        "rss_growth_mb": round(after - before, 1),
        "rss_after_reopen_mb": round(reopened, 1),
        "rss_after_drain_mb": round(drained, 1),
        "publish_per_s": round(messages / publish_s),
        "reopen_s": round(reopen_s, 2),
        "drain_per_s": round(messages / drain_s),
        "received": got,
        "in_order": in_order,
        "first_ok": first_got == first,
        "last_ok": last_got == last,
    }


async def _in_memory(messages: int) -> float:
    async with Broker() as broker:
        _subscribe(broker, "memory", durable=False)
        before = _rss_mb()
        await _publish(broker, messages)
        return _rss_mb() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)  # the in-memory run's process
    args = parser.parse_args()
    if args.reference:
        print(asyncio.run(_in_memory(args.messages)))
        return
    result = asyncio.run(_durable(args.messages))
    reference = subprocess.run(
        [sys.executable, __file__, "--messages", str(args.messages), "--reference"],
        capture_output=True,
        text=True,
        check=True,
    )
    growth = float(result["rss_growth_mb"])  # type: ignore[arg-type]
    result["reference_rss_growth_mb"] = round(float(reference.stdout), 1)
    result["goal_rss_growth_mb"] = GOAL_MB
    result["goal_met"] = growth < GOAL_MB and result["received"] == args.messages and bool(result["in_order"])
    print(json.dumps({"benchmark": "durable_memory", **result}))


if __name__ == "__main__":
    main()
