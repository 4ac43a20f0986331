"""The window under load: 50,000 msg/s for 30 s over 10 channels. Prints one JSON line.

Runs the real main window (all panels visible, offscreen) on the qasync loop with
two virtual subscribers attached, publishes at the target rate in small chunks,
and measures the event loop's stall as the lateness of a 5 ms timer.
Goals: the full rate absorbed, p99 stall <= 20 ms, worst stall <= 100 ms,
rows held == ring size, resident memory <= 350 MB.

With ``--schema``, an AsyncAPI document describing the 10 channels is applied as the app does
(channels declared, every payload validated live, traffic recorded for an export) and the JSON
reports the validation counts.

    python tests/benchmarks/gui_stream.py [--rate 50000] [--seconds 30] [--schema]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from eventdeck.core import Broker
from eventdeck.core.asyncapi import parse_document
from eventdeck.core.simulation.virtual import VirtualSubscriber
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.asyncapi import AsyncApiController
from eventdeck.gui.controllers.heap import HeapKeeper
from eventdeck.gui.main_window import MainWindow, resident_memory_mb

CHANNELS = [f"bench/sensor{i}/reading" for i in range(10)]
PAYLOAD = b'{"sensor":"s1","value":21.5,"unit":"C","seq":123456}' + b" " * 48  # 100 bytes
CHUNK = 200  # messages per loop turn: keeps each turn well under a millisecond or two
SCHEMA_DOCUMENT = "\n".join(
    [
        "asyncapi: 3.0.0",
        "info: {title: Benchmark sensors, version: 1.0.0}",
        "channels:",
        *(
            f"  sensor{i}: {{address: {name}, messages: {{reading: {{$ref: '#/components/messages/reading'}}}}}}"
            for i, name in enumerate(CHANNELS)
        ),
        "components:",
        "  messages:",
        "    reading:",
        "      payload:",
        "        type: object",
        "        required: [sensor, value, unit, seq]",
        "        properties:",
        "          sensor: {type: string}",
        "          value: {type: number}",
        "          unit: {type: string}",
        "          seq: {type: integer}",
    ]
)


async def publish_at(broker: Broker, rate: float, seconds: float) -> int:
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    total = int(rate * seconds)
    publish = broker.publish
    while sent < total:
        due = min(total, int((loop.time() - start) * rate) + CHUNK) - sent
        for _ in range(min(due, CHUNK)):
            await publish(CHANNELS[sent % 10], PAYLOAD, publisher="bench")
            sent += 1
        await asyncio.sleep(0 if due > CHUNK else 0.002)
    return sent


async def measure_stalls(stop: asyncio.Event, lateness: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        expected = loop.time() + 0.005
        await asyncio.sleep(0.005)
        lateness.append(max(0.0, loop.time() - expected))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


async def run(rate: float, seconds: float, ring: int, schema: bool = False) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        settings = QSettings(os.path.join(folder, "bench.ini"), QSettings.Format.IniFormat)
        async with Broker() as broker:
            bridge = Bridge(broker)
            window = MainWindow(bridge, settings, ring)
            window.show()
            for key in filter(None, os.environ.get("BENCH_HIDE", "").split(",")):
                window.docks[key].hide()
            bridge.start()
            if schema:
                asyncapi = AsyncApiController(bridge)
                asyncapi.apply(parse_document(SCHEMA_DOCUMENT, "bench.yaml"))
            subscribers = [VirtualSubscriber(broker, "bench/#", name=f"virtual-{i}") for i in (1, 2)]
            for sub in subscribers:
                sub.start()
            await asyncio.sleep(1.0)  # let the window settle
            HeapKeeper(bridge).start()  # as the app does after its first paint
            memory_before = resident_memory_mb()
            stop = asyncio.Event()
            lateness: list[float] = []
            stalls = asyncio.ensure_future(measure_stalls(stop, lateness))
            started = time.perf_counter()
            sent = await publish_at(broker, rate, seconds)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(0.5)  # final flushes
            stop.set()
            await stalls
            result = {
                "benchmark": "gui_stream",
                "target_rate": rate,
                "seconds": round(elapsed, 2),
                "published": sent,
                "achieved_rate": round(sent / elapsed),
                "delivered_per_subscriber": [sub.subscription.delivered for sub in subscribers],
                "rows_held": window.stream_model.held,
                "rows_shown": window.stream_model.rowCount(),
                "ring_size": ring,
                "stall_ms": {
                    "p50": round(percentile(lateness, 0.50) * 1000, 2),
                    "p99": round(percentile(lateness, 0.99) * 1000, 2),
                    "worst": round(max(lateness, default=0.0) * 1000, 2),
                    "samples": len(lateness),
                },
                "memory_mb": {"before": round(memory_before), "after": round(resident_memory_mb())},
                "tap_lost": bridge._tap.lost_total,
            }
            if bridge.validator is not None:
                totals = bridge.validator.totals()
                result["validation"] = {
                    "checked": totals.checked,
                    "invalid": totals.invalid,
                    "skipped": totals.skipped,
                    "sampled": totals.sampled,
                    "channels": len(bridge.validator.counts()),
                }
            for sub in subscribers:
                await sub.stop()
            bridge.stop()
            window.close()
    stall = result["stall_ms"]
    assert isinstance(stall, dict)
    result["goals_met"] = {
        "rate_absorbed": sent / elapsed >= 0.98 * rate,
        "p99_stall_le_20ms": stall["p99"] <= 20,
        "worst_stall_le_100ms": stall["worst"] <= 100,
        "rows_held_eq_ring": result["rows_held"] == ring,
        "memory_le_350mb": resident_memory_mb() <= 350,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--ring", type=int, default=100_000)
    parser.add_argument("--schema", action="store_true", help="validate every payload against an AsyncAPI document")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        print(json.dumps(runner.run(run(args.rate, args.seconds, args.ring, args.schema))))


if __name__ == "__main__":
    main()
