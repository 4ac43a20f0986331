"""Cold start to the first painted main window, against a bare PySide6 + pyqtgraph window.

Goal: EventDeck's first paint within 1.3x the bare window's (and within 1.5 s). Prints one JSON line.

Each run is a fresh interpreter, offscreen. EventDeck gets a fresh settings folder (so it is a
"first launch" with the demo running); the reference is a QMainWindow holding a pyqtgraph
PlotWidget, the least a plotting Qt app paints. The two alternate run by run so that load from
other processes on the machine falls on both alike. The child records the wall-clock time of
its main window's first paint; the parent subtracts the time it spawned the child.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 5
GOAL_S = 1.5
GOAL_RATIO = 1.3

FIRST_PAINT_WATCHER = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

app = QApplication(sys.argv[:1])

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        # The first widget of the main window painted (a main window its central widget fills wholly
        # gets no paint event of its own; the rest of its widgets paint in the same pass).
        if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) and isinstance(obj.window(), QMainWindow):
            print(f"FIRST_PAINT {time.time():.6f}", flush=True)
            os._exit(0)
        return False

watcher = FirstPaint()
app.installEventFilter(watcher)
"""

EVENTDECK = (
    FIRST_PAINT_WATCHER
    + r"""
from eventdeck.gui.app import main
sys.exit(main(sys.argv[1:]))
"""
)

BARE_WINDOW = (
    FIRST_PAINT_WATCHER
    + r"""
import pyqtgraph
window = QMainWindow()
window.setCentralWidget(pyqtgraph.PlotWidget())
window.resize(1200, 800)
window.show()
sys.exit(app.exec())
"""
)


def one_run(child: str) -> float:
    with tempfile.TemporaryDirectory() as config:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=config)
        started = time.time()
        out = subprocess.run(
            [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    for line in out.stdout.splitlines():
        if line.startswith("FIRST_PAINT "):
            return float(line.split()[1]) - started
    raise RuntimeError(f"the window never painted:\n{out.stdout}\n{out.stderr}")


def summary(times: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(times), 3),
        "min": round(min(times), 3),
        "max": round(max(times), 3),
    }


def run_benchmark(runs: int = RUNS) -> dict[str, object]:
    # Warm the OS file cache once for each, as a second launch on a desktop would be.
    one_run(BARE_WINDOW)
    one_run(EVENTDECK)
    eventdeck: list[float] = []
    bare: list[float] = []
    for _ in range(runs):
        bare.append(one_run(BARE_WINDOW))
        eventdeck.append(one_run(EVENTDECK))
    median = statistics.median(eventdeck)
    ratio = median / statistics.median(bare)
    return {
        "benchmark": "startup",
        "runs": runs,
        "first_paint_s": summary(eventdeck),
        "bare_window_first_paint_s": summary(bare),
        "ratio_to_bare": round(ratio, 2),
        "goal_s": GOAL_S,
        "goal_ratio": GOAL_RATIO,
        "goals_met": {
            "first_paint_median_le_1_5_s": median <= GOAL_S,
            "ratio_to_bare_le_1_3": ratio <= GOAL_RATIO,
        },
    }


if __name__ == "__main__":
    print(json.dumps(run_benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)))
