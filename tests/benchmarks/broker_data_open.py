"""What opening the window's broker on its store adds before the first paint. Prints one JSON line.

The window opens its store (lock, check, read back) before it builds itself, in worker threads, so the
loop never blocks on SQLite; the time it takes still comes before the first paint. Measured here against
building the main window itself (the bulk of the first paint's own work), in the same process, warm:
an empty store (a first launch, or after Clear) and a store holding a durable backlog.

    PYTHONPATH=... python tests/benchmarks/broker_data_open.py [BACKLOG]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from eventdeck.core import Broker
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.broker_data import open_broker_data
from eventdeck.gui.main_window import MainWindow

RUNS = 5
BACKLOG = 20_000
GOAL_RATIO = 0.1  # an empty store: under a tenth of building the window


async def timed(action: Callable[[], Awaitable[None]], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(folder: Path, backlog: int) -> dict[str, object]:
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)

    async def build_window() -> None:
        broker = Broker()
        bridge = Bridge(broker)
        window = MainWindow(bridge, settings)
        window.deleteLater()
        bridge.stop()
        await broker.close()

    def open_close(directory: Path) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            data = await open_broker_data(directory)
            assert data.on_disk, data.problem
            await data.broker.close()

        return run

    await build_window()  # warm: imports, fonts, icons
    window_s = await timed(build_window)
    empty_s = await timed(open_close(folder / "empty"))
    full = folder / "backlog"
    broker = await Broker.on_store(full, synchronous="normal")
    broker.subscribe("orders/#", name="audit", durable=True, max_pending=backlog).close()
    for start in range(0, backlog, 1000):  # a thousand receipts per commit
        await asyncio.gather(
            *(broker.publish("orders/placed", {"n": n, "item": "teapot"}) for n in range(start, start + 1000))
        )
    await broker.close()
    backlog_s = await timed(open_close(full), runs=3)
    ratio = empty_s / window_s
    return {
        "benchmark": "broker_data_open",
        "build_window_s": round(window_s, 4),
        "open_empty_store_s": round(empty_s, 4),
        "open_backlog_store_s": round(backlog_s, 4),
        "backlog_messages": backlog,
        "empty_ratio_to_window": round(ratio, 3),
        "backlog_ratio_to_window": round(backlog_s / window_s, 3),
        "goal_ratio": GOAL_RATIO,
        "goals_met": {"empty_store_le_0_1_of_window": ratio <= GOAL_RATIO},
    }


def main() -> None:
    backlog = int(sys.argv[1]) if len(sys.argv) > 1 else BACKLOG
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder, asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as run:
        print(json.dumps(run.run(measure(Path(folder), backlog))))


if __name__ == "__main__":
    main()
