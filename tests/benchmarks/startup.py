"""Cold start to the first painted main window, against a bare PySide6 + pyqtgraph window.

    python tests/benchmarks/startup.py [RUNS] [--binary dist/EventDeck/eventdeck]

Goal: EventDeck's first paint within 1.3x the bare window's (and within 1.5 s), from source and, with
``--binary``, from the built bundle too. Prints one JSON line.

Each run is a fresh interpreter, offscreen. EventDeck gets a fresh settings folder (so it is a
"first launch" with the demo running); the reference is a QMainWindow holding a pyqtgraph
PlotWidget, the least a plotting Qt app paints. They alternate run by run so that load from
other processes on the machine falls on all alike. The child records the wall-clock time of
its main window's first paint; the parent subtracts the time it spawned the child. The watcher
hooks in when the child imports Qt itself, so the child's modules load in the order they do for a
user (PySide6 reads the source of each module imported after its QtCore: the order counts). The bundle
runs the same watcher: its launcher runs the file ``EVENTDECK_STARTUP_PROBE`` names before the app.
``paired_ratio_to_bare`` is the median of each round's ratio (a run over the bare run just before it):
steadier than the ratio of the medians when the machine's speed drifts during the benchmark.

Python code is read from a bytecode cache, as an installed EventDeck's is (pip compiles it at
install, the bundle ships it compiled): the children share a cache folder of their own, filled by
the warm-up runs, whatever PYTHONDONTWRITEBYTECODE says (compiling EventDeck's modules would
add ~0.4 s to every run, which no user pays).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RUNS = 11
GOAL_S = 1.5
GOAL_RATIO = 1.3
PROBE_VARIABLE = "EVENTDECK_STARTUP_PROBE"

# Python source that calls on_first_paint() (defined by the source after it) when the main window first paints,
# then ends the process. tests/gui/test_lazy_start.py runs it with an on_first_paint() of its own.
FIRST_PAINT_WATCHER = r"""
import os, sys


def watch_first_paint():
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            # The first widget of the main window painted (a main window its central widget fills wholly
            # gets no paint event of its own; the rest of its widgets paint in the same pass).
            if event.type() == QEvent.Type.Paint and isinstance(obj, QWidget) and isinstance(obj.window(), QMainWindow):
                on_first_paint()
                os._exit(0)
            return False

    watcher = FirstPaint()
    show = QWidget.show

    def show_watched(self):
        # The watcher starts with the main window's show(): watching every event of its construction too
        # would cost a Python call per event (~7,000 for EventDeck's window, a few hundred for the bare one).
        if isinstance(self, QMainWindow):
            QApplication.instance().installEventFilter(watcher)
        show(self)

    QWidget.show = show_watched


def on_import(event, args, waiting=[True]):
    # Qt is loaded when the child loads it, not before: the order of its imports stays its own (PySide6 reads
    # the source of every module imported after its QtCore, so the order changes the time to the first paint).
    if waiting and event == "import" and "PySide6.QtWidgets" in sys.modules:
        waiting.clear()
        watch_first_paint()


sys.addaudithook(on_import)
"""

FIRST_PAINT_PROBE = (
    FIRST_PAINT_WATCHER
    + r"""
import resource, time


def on_first_paint():
    used = resource.getrusage(resource.RUSAGE_SELF)
    main = resource.getrusage(resource.RUSAGE_THREAD)
    cpu, main_cpu = used.ru_utime + used.ru_stime, main.ru_utime + main.ru_stime
    print(f"FIRST_PAINT {time.time():.6f} {cpu:.6f} {main_cpu:.6f}", flush=True)
"""
)

EVENTDECK = (
    FIRST_PAINT_PROBE
    + r"""
from eventdeck.gui.app import main
sys.exit(main(sys.argv[1:]))
"""
)

BARE_WINDOW = (
    FIRST_PAINT_PROBE
    + r"""
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
import pyqtgraph
window = QMainWindow()
window.setCentralWidget(pyqtgraph.PlotWidget())
window.resize(1200, 800)
window.show()
sys.exit(app.exec())
"""
)

Child = Callable[[dict[str, str]], list[str]]


def one_run(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Seconds from spawning ``command`` to its first paint, and the CPU seconds it had used by then: all its
    threads', and its main thread's."""
    with tempfile.TemporaryDirectory() as config:
        env = dict(env, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=config, XDG_DATA_HOME=config)  # not the user's
        started = time.time()
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("FIRST_PAINT "):
            _, painted, cpu, main_cpu = line.split()
            return float(painted) - started, float(cpu), float(main_cpu)
    raise RuntimeError(f"the window never painted: {' '.join(command)}\n{out.stdout}\n{out.stderr}")


def python_env(bytecode: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = bytecode
    return env


def bundle_env(probe: Path) -> dict[str, str]:
    """As packaging/smoke_bundle.py runs the bundle: none of this Python's variables leak into it."""
    unwanted = {"PYTHONPATH", "PYTHONHOME", "PYTHONPYCACHEPREFIX", "DISPLAY", "WAYLAND_DISPLAY", "QT_PLUGIN_PATH"}
    env = {key: value for key, value in os.environ.items() if key not in unwanted}
    env[PROBE_VARIABLE] = str(probe)
    return env


def summary(times: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(times), 3),
        "min": round(min(times), 3),
        "max": round(max(times), 3),
    }


def run_benchmark(runs: int = RUNS, binary: Path | None = None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="eventdeck-startup-") as scratch:
        env = python_env(str(Path(scratch) / "bytecode"))
        children: dict[str, tuple[list[str], dict[str, str]]] = {
            "bare": ([sys.executable, "-c", BARE_WINDOW], env),
            "source": ([sys.executable, "-c", EVENTDECK], env),
        }
        if binary is not None:
            probe = Path(scratch) / "first_paint_probe.py"
            probe.write_text(FIRST_PAINT_PROBE, encoding="utf-8")
            children["bundle"] = ([str(binary)], bundle_env(probe))
        # Warm the OS file cache and the bytecode cache once for each, as a second launch on a desktop would be.
        for command, child_env in children.values():
            one_run(command, child_env)
        times: dict[str, list[float]] = {name: [] for name in children}
        cpu: dict[str, list[float]] = {name: [] for name in children}
        main_cpu: dict[str, list[float]] = {name: [] for name in children}
        for _ in range(runs):
            for name, (command, child_env) in children.items():
                wall, used, main_used = one_run(command, child_env)
                times[name].append(wall)
                cpu[name].append(used)
                main_cpu[name].append(main_used)
    bare = statistics.median(times["bare"])
    median = statistics.median(times["source"])
    ratio = median / bare

    def paired(name: str) -> float:
        rounds = zip(times[name], times["bare"], strict=True)
        return round(statistics.median(run / reference for run, reference in rounds), 2)

    report: dict[str, object] = {
        "benchmark": "startup",
        "runs": runs,
        "first_paint_s": summary(times["source"]),
        "bare_window_first_paint_s": summary(times["bare"]),
        "ratio_to_bare": round(ratio, 2),
        "paired_ratio_to_bare": paired("source"),
        "goal_s": GOAL_S,
        "goal_ratio": GOAL_RATIO,
        # The CPU time each had used by its first paint: steadier than wall time on a machine others load too.
        "cpu_s": {name: round(statistics.median(used), 3) for name, used in cpu.items()},
        "cpu_ratio_to_bare": round(statistics.median(cpu["source"]) / statistics.median(cpu["bare"]), 2),
        # The main thread's alone: the first paint's own path. The process's counts threads beside it too, such as
        # the one numpy's OpenBLAS starts and spins in the bare window while a core is free (EventDeck caps it).
        "main_thread_cpu_s": {name: round(statistics.median(used), 3) for name, used in main_cpu.items()},
        "main_thread_cpu_ratio_to_bare": round(
            statistics.median(main_cpu["source"]) / statistics.median(main_cpu["bare"]), 2
        ),
    }
    goals = {"first_paint_median_le_1_5_s": median <= GOAL_S, "ratio_to_bare_le_1_3": ratio <= GOAL_RATIO}
    if binary is not None:
        bundle_ratio = statistics.median(times["bundle"]) / bare
        report["bundle"] = str(binary)
        report["bundle_first_paint_s"] = summary(times["bundle"])
        report["bundle_ratio_to_bare"] = round(bundle_ratio, 2)
        report["bundle_paired_ratio_to_bare"] = paired("bundle")
        report["bundle_cpu_ratio_to_bare"] = round(statistics.median(cpu["bundle"]) / statistics.median(cpu["bare"]), 2)
        report["bundle_main_thread_cpu_ratio_to_bare"] = round(
            statistics.median(main_cpu["bundle"]) / statistics.median(main_cpu["bare"]), 2
        )
        goals["bundle_ratio_to_bare_le_1_3"] = bundle_ratio <= GOAL_RATIO
    report["goals_met"] = goals
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=RUNS, help=f"runs of each (default {RUNS})")
    parser.add_argument("--binary", type=Path, help="also time this built bundle's binary (dist/EventDeck/eventdeck)")
    args = parser.parse_args()
    if args.binary is not None and not args.binary.is_file():
        parser.error(f"--binary {args.binary}: no such file (build it with packaging/build-bundle)")
    print(json.dumps(run_benchmark(args.runs, args.binary)))


if __name__ == "__main__":
    main()
