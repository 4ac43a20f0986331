"""The rates dock's cost per bridge snapshot with ten about equally busy channels. Prints one JSON line.

Ten channels at 5,000 msg/s each (2 % noise): which eight get a line would change nearly every
snapshot without the panel's hysteresis. Per snapshot, ``apply_snapshot`` and the paint it causes,
hidden (a tab behind Topology, under the presenter) and shown; the reference, measured in the same
run, is one legend rebuild: what a change of the chosen channels costs. Goals: hidden p90 <= 0.1 of a
rebuild (nothing chosen nor drawn), shown p90 <= 1 rebuild (the legend is not rebuilt every snapshot).

    python tests/benchmarks/rates_panel.py [--snapshots 240]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

SAMPLES_SKIPPED = 20  # the first snapshots fill the window: channels arrive, lines are handed out


def per_snapshot_ms(shown: bool, snapshots: int) -> tuple[list[float], float]:
    """Each snapshot's cost (ms), and then one legend rebuild's (ms, the median of 20)."""
    import numpy as np  # noqa: PLC0415 - after the Qt platform is chosen
    from PySide6.QtCore import QObject, Signal  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from eventdeck.core import BrokerStats  # noqa: PLC0415
    from eventdeck.gui.bridge import Snapshot  # noqa: PLC0415
    from eventdeck.gui.panels.rates_panel import RatesPanel  # noqa: PLC0415

    class Snapshots(QObject):  # the one signal of the bridge the panel listens to
        snapshot = Signal(object)

    app = QApplication.instance() or QApplication([])
    panel = RatesPanel(Snapshots())  # type: ignore[arg-type]
    panel.resize(700, 320)
    if shown:
        panel.show()
    app.processEvents()
    noise = np.random.default_rng(1)
    costs = []
    for tick in range(snapshots):
        rates = {f"bench/c{n}": 5000 + noise.normal(0, 100) for n in range(10)}
        snapshot = Snapshot(1000 + tick / 2, [], [], BrokerStats(0.0, 0, 0, 0, 0, 0, 0), channel_rates=rates)
        started = time.perf_counter()
        panel.apply_snapshot(snapshot)
        app.processEvents()
        costs.append((time.perf_counter() - started) * 1000)
    rebuilds = []
    for _ in range(20):
        started = time.perf_counter()
        panel._rebuild_legend()
        app.processEvents()
        rebuilds.append((time.perf_counter() - started) * 1000)
    panel.close()
    return costs[SAMPLES_SKIPPED:], statistics.median(rebuilds)


def summary(costs: list[float], reference_ms: float) -> dict[str, float]:
    ordered = sorted(costs)
    p90 = ordered[int(0.9 * len(ordered))]
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p90_ms": round(p90, 2),
        "worst_ms": round(ordered[-1], 2),
        "p90_per_reference": round(p90 / reference_ms, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=240)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    hidden, _ = per_snapshot_ms(False, args.snapshots)
    shown, rebuild_ms = per_snapshot_ms(True, args.snapshots)
    reference_ms = statistics.median(shown)
    result = {"hidden": summary(hidden, reference_ms), "shown": summary(shown, reference_ms)}
    print(
        json.dumps(
            {
                "benchmark": "rates_panel",
                "reference_ms": round(reference_ms, 2),
                "legend_rebuild_ms": round(rebuild_ms, 2),
                **result,
                "goals_met": {
                    "hidden_p90_le_0.1": result["hidden"]["p90_per_reference"] <= 0.1,
                    "shown_p90_le_1.25": result["shown"]["p90_per_reference"] <= 1.25,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
