"""Recordings: write, read and replay speed, and the window while a replay runs flat out. ONE JSON line.

    .venv/bin/python tests/benchmarks/replay.py [--messages 200000] [--window]

A recording of ``--messages`` demo-sized events over 10 channels is written and read back, then
replayed "as fast as possible" into an embedded broker with one subscriber draining it. With
``--window`` the replay runs with the main window open (offscreen), paced as the window paces it
(at most ``WINDOW_MAX_RATE`` msg/s), and the event loop's stall is measured as in gui_stream.py.
Goals with the window: p99 stall <= 20 ms, worst <= 100 ms (a replay never freezes the window),
and every message delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench_window import Stalls, run_with_qt, window_showing

from eventdeck.core import Broker, Message
from eventdeck.core.connectors.backend import EmbeddedBackend
from eventdeck.core.recording import plan_replay, read_recording, replay, write_recording

CHANNELS = [f"home/room{i}/temperature" for i in range(10)]


def recorded(count: int) -> list[Message]:
    start = time.time()
    return [
        Message.build(CHANNELS[i % 10], {"celsius": 20 + i % 7, "sensor": f"t-{i % 10}"}, publisher="sensor")._replace(
            timestamp=start + i / 1000
        )
        for i in range(count)
    ]


async def drain(broker: Broker, total: int) -> None:
    sub = broker.subscribe("home/#", name="drain", max_pending=total)
    seen = 0
    while seen < total:
        seen += len(await sub.batch(1024))


async def measure(count: int, with_window: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.jsonl"
        messages = recorded(count)
        started = time.perf_counter()
        write_recording(path, messages)
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        plan = plan_replay(read_recording(path))
        read_s = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6

    async with Broker() as broker:
        drained = asyncio.create_task(drain(broker, count))
        await asyncio.sleep(0)
        progress = plan.progress()
        stalls = Stalls()
        if with_window:
            from eventdeck.gui.controllers.recordings import WINDOW_MAX_RATE  # noqa: PLC0415 - Qt only with a window

            async with window_showing(broker):
                stalls.start()
                started = time.perf_counter()
                # as the window replays "as fast as possible": at most WINDOW_MAX_RATE msg/s
                await replay(EmbeddedBackend(broker), plan, progress, speed=None, max_rate=WINDOW_MAX_RATE)
                await drained
                replay_s = time.perf_counter() - started
                stall = await stalls.stop()
        else:
            started = time.perf_counter()
            await replay(EmbeddedBackend(broker), plan, progress, speed=None)
            await drained
            replay_s = time.perf_counter() - started
            stall = {}
    figures: dict[str, object] = {
        "benchmark": "replay",
        "messages": count,
        "file_mb": round(size_mb, 1),
        "write_msgs_per_s": round(count / write_s),
        "read_msgs_per_s": round(count / read_s),
        "replay_msgs_per_s": round(count / replay_s),
        "sent": progress.sent,
        "failed": progress.failed,
        "window": with_window,
    }
    if with_window:
        figures["stall_ms"] = stall
        figures["goals_met"] = {
            "p99_stall_le_20ms": stall["p99_stall_ms"] <= 20,
            "worst_stall_le_100ms": stall["max_stall_ms"] <= 100,
            "all_delivered": progress.sent == count,
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--window", action="store_true", help="replay with the main window open (offscreen)")
    args = parser.parse_args()
    result = run_with_qt(measure(args.messages, True)) if args.window else asyncio.run(measure(args.messages, False))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
