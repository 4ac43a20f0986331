"""The presenter under load, and its layout at scale. Prints one JSON line.

1. The real window at 1920x1080 (offscreen) in the presenter view, the demo running, plus a
   background 50,000 msg/s over 10 channels with two virtual subscribers: the animation's
   frames per second (median over 1 s windows) and the loop's stall (lateness of a 5 ms timer).
   Goals: median >= 30 fps, p99 stall <= 20 ms, worst <= 100 ms. With ``--follow`` the window
   follows one of the flood's messages all along (its path drawn, its outcomes asked for).
2. 1,000 channels and 1,000 subscriptions: one layout pass (graph + placement) and one full
   redraw of the still picture. Goal: layout <= 50 ms.

    python tests/benchmarks/presenter.py [--rate 50000] [--seconds 20] [--follow] [--callbacks 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time

from eventdeck.core import Broker, BrokerStats, ChannelInfo, Kind, Message, State, SubscriptionInfo
from eventdeck.core.broker.subscription import AckMode, Overflow
from eventdeck.core.simulation.virtual import VirtualSubscriber
from eventdeck.gui.bridge import Snapshot
from eventdeck.gui.models.topology import EdgeKey, build_graph
from eventdeck.gui.presenter.layout import CHANNEL_LINES, body_unit, capacity, place

WIDTH, HEIGHT = 1920, 1080


async def under_load(rate: float, seconds: float, follow: bool = False) -> dict[str, object]:
    from bench_window import Stalls  # noqa: PLC0415 - beside this script, which tests also import
    from gui_stream import publish_at  # noqa: PLC0415
    from PySide6.QtCore import QSettings  # noqa: PLC0415 - Qt once the loop runs

    from eventdeck.gui.bridge import Bridge  # noqa: PLC0415
    from eventdeck.gui.controllers.heap import HeapKeeper  # noqa: PLC0415
    from eventdeck.gui.main_window import MainWindow  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        async with Broker() as broker:
            bridge = Bridge(broker)
            window = MainWindow(bridge, QSettings(os.path.join(folder, "b.ini"), QSettings.Format.IniFormat))
            window.resize(WIDTH, HEIGHT)
            window.show()
            window.present()
            bridge.start()
            demo = window.scenarios.start("household")  # the demo, as --demo runs it
            assert demo is not None
            await demo
            HeapKeeper(bridge).start()  # as the app runs the window: no full collections under traffic
            subscribers = [VirtualSubscriber(broker, "bench/#", name=f"virtual-{i}") for i in (1, 2)]
            for sub in subscribers:
                sub.start()
            if follow:

                def follow_the_first(batch: list[Message]) -> None:  # of the flood's messages the bridge sees
                    if bridge.followed_message is None:
                        bridge.follow(next((m for m in batch if m.channel.startswith("bench/")), None))

                bridge.messages.connect(follow_the_first)
            await asyncio.sleep(2.0)  # the demo's first messages, the first layouts
            stalls = Stalls()
            stalls.start()
            per_second: list[int] = []

            async def count_frames() -> None:
                while True:
                    before = window.presenter.frames
                    await asyncio.sleep(1.0)
                    per_second.append(window.presenter.frames - before)

            counter = asyncio.ensure_future(count_frames())
            started = time.perf_counter()
            sent = await publish_at(broker, rate, seconds)
            elapsed = time.perf_counter() - started
            counter.cancel()
            stall = await stalls.stop()
            dots = len(window.presenter.flow.dots)
            for sub in subscribers:
                await sub.stop()
            await window.scenarios.stop()
            bridge.stop()
            window.close()
    fps = statistics.median(per_second) if per_second else 0.0
    return {
        "following": follow,
        "target_rate": rate,
        "achieved_rate": round(sent / elapsed),
        "seconds": round(elapsed, 1),
        "median_fps": fps,
        "fps_per_second": per_second,
        "dots_in_flight_at_end": dots,
        **stall,
    }


def scale_snapshot(channels: int, subscriptions: int) -> Snapshot:
    """A snapshot of ``channels`` channels and ``subscriptions`` subscriptions, each to one channel's subtree."""
    names = [f"site/{i}/sensor/reading" for i in range(channels)]
    infos = [ChannelInfo(name, i + 1, 100, None, False, 1, True, "") for i, name in enumerate(names)]
    subs = [
        SubscriptionInfo(
            f"consumer-{i}", f"site/{i % channels}/#", False, State.ACTIVE, Overflow.DROP_OLDEST, AckMode.AUTO,
            10_000, i % 50, 0, i, i, 0, 0, 0,
        )
        for i in range(subscriptions)
    ]  # fmt: skip
    return Snapshot(time.monotonic(), infos, subs, BrokerStats(0.0, 0, 0, 0, channels, subscriptions, 0))


def scale_counts(channels: int) -> dict[EdgeKey, int]:
    """Ledger counts of a hundred publishers spread over the channels of ``scale_snapshot``."""
    return {(f"publisher-{i % 100}", f"site/{i}/sensor/reading", Kind.EVENT): i + 1 for i in range(channels)}


def layout_at_scale(channels: int, subscriptions: int, passes: int = 20) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415 - Qt pixmaps need the app

    from eventdeck.gui.presenter.canvas import StillLayer  # noqa: PLC0415

    snapshot = scale_snapshot(channels, subscriptions)
    counts = scale_counts(channels)
    height = HEIGHT - 50  # the control bar
    unit = body_unit(WIDTH, height)
    layout_ms, paint_ms = [], []
    by_name = {info.name: info for info in snapshot.subscriptions}
    for _ in range(passes):
        started = time.perf_counter()
        graph = build_graph(counts, {}, snapshot, capacity(height, unit, CHANNEL_LINES))
        placement = place(graph, WIDTH, height, unit)
        laid = time.perf_counter()
        StillLayer(QApplication.palette(), dark=False).paint(placement, graph, by_name, 1.0)  # a fresh layer: all of it
        layout_ms.append((laid - started) * 1000)
        paint_ms.append((time.perf_counter() - laid) * 1000)
    return {
        "layout_ms_median": round(statistics.median(layout_ms), 2),
        "layout_ms_worst": round(max(layout_ms), 2),
        "still_paint_ms_median": round(statistics.median(paint_ms), 2),
    }


async def run(rate: float, seconds: float, follow: bool) -> dict[str, object]:
    load = await under_load(rate, seconds, follow)
    scale = layout_at_scale(1_000, 1_000)
    return {
        "benchmark": "presenter",
        "under_load": load,
        "at_scale": {"channels": 1_000, "subscriptions": 1_000, **scale},
        "goals_met": {
            "median_fps_ge_30": float(load["median_fps"]) >= 30,  # type: ignore[arg-type]
            "p99_stall_le_20ms": float(load["p99_stall_ms"]) <= 20,  # type: ignore[arg-type]
            "worst_stall_le_100ms": float(load["max_stall_ms"]) <= 100,  # type: ignore[arg-type]
            "layout_le_50ms": scale["layout_ms_median"] <= 50,
        },
    }


def main() -> None:
    from bench_window import CALLBACKS_HELP, run_with_qt  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--follow", action="store_true", help="follow one of the flood's messages all along")
    parser.add_argument("--callbacks", type=float, metavar="MS", help=CALLBACKS_HELP)
    args = parser.parse_args()
    print(json.dumps(run_with_qt(run(args.rate, args.seconds, args.follow), slow_ms=args.callbacks)))


if __name__ == "__main__":
    main()
