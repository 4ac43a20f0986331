"""What the benchmarks that run "with the window open" share: the window, the stall meter, and
the slow-callback report.

Imported by the benchmark scripts beside it (run as ``python tests/benchmarks/NAME.py``, so this
folder is on ``sys.path``). Qt is imported only when a window is asked for.

``run_with_qt(coro, slow_ms=10)`` (the scripts' ``--callbacks 10``) also samples the window
thread's stack every millisecond and prints to stderr, for the stall meter's periods, each stall
of ``slow_ms`` or more with the callbacks that ran in it, then each callback (a slot Qt called,
an asyncio callback) that ran 3 ms or more at a time: count, median, worst.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from types import FrameType
from typing import Any

from eventdeck.core import Broker
from eventdeck.core.connectors.backend import Backend

LONG_STALL_S = 0.010


class Stalls:
    """Lateness of a 5 ms timer on the running loop: how long the loop was too busy to answer."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.own_lateness: list[float] = []  # what the window thread's own CPU time explains of each lateness
        self._started = 0.0
        self._late: list[tuple[float, float, float]] = []  # (due, lateness, thread's CPU time) over SUMMARY_MS
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._started = time.perf_counter()
        self._task = asyncio.ensure_future(self._measure())

    async def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._task is not None:
            await self._task
        MEASURED.append((self._started, time.perf_counter()))
        LATE.extend((due, due + late, cpu) for due, late, cpu in self._late)
        ordered = sorted(self.lateness)
        p99 = _p99(ordered)
        long = [(late + 0.005, cpu) for _due, late, cpu in self._late if late >= LONG_STALL_S]
        spans = sum(span for span, _cpu in long)
        return {
            "p99_stall_ms": round(p99 * 1000, 2),
            "max_stall_ms": round(max(ordered, default=0.0) * 1000, 2),
            # the p99 had the thread had a CPU all along: lateness up to the CPU time it used beyond the 5 ms
            "p99_stall_own_cpu_ms": round(_p99(sorted(self.own_lateness)) * 1000, 2),
            "stalls_over_10ms": len(long),
            # of their time, the share the window thread was not running: waiting for a CPU (a loaded
            # machine) or for the GIL (another thread), not busy with a callback
            "off_cpu_in_them_pct": round(100 * (spans - sum(cpu for _span, cpu in long)) / (spans or 1)),
        }

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            due = loop.time() + 0.005
            cpu = time.thread_time()
            await asyncio.sleep(0.005)
            late = max(0.0, loop.time() - due)
            cpu = time.thread_time() - cpu
            self.lateness.append(late)
            self.own_lateness.append(min(late, max(0.0, cpu - 0.005)))
            if late * 1000 >= SUMMARY_MS:
                self._late.append((time.perf_counter() - late, late, cpu))


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0


@contextlib.asynccontextmanager
async def window_showing(source: Backend | Broker) -> AsyncIterator[None]:
    """The real main window, offscreen, showing ``source``, as the app runs it (heap keeper included)."""
    from PySide6.QtCore import QSettings  # noqa: PLC0415 - Qt only with a window

    from eventdeck.gui.bridge import Bridge  # noqa: PLC0415
    from eventdeck.gui.controllers.heap import HeapKeeper  # noqa: PLC0415
    from eventdeck.gui.main_window import MainWindow  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        bridge = Bridge(source)
        window = MainWindow(bridge, QSettings(os.path.join(folder, "bench.ini"), QSettings.Format.IniFormat))
        window.show()
        bridge.start()
        await asyncio.sleep(0.5)
        HeapKeeper(bridge).start()
        try:
            yield
        finally:
            bridge.stop()
            window.close()


CALLBACKS_HELP = "list the window thread's callbacks that take this many ms or more (stderr)"


def run_with_qt(coro: Coroutine[Any, Any, Any], slow_ms: float | None = None) -> Any:
    """Run ``coro`` on a qasync loop (offscreen), as the app does; with ``slow_ms``, report slow callbacks."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # closing a window must not stop the loop under the benchmark
    sampler = StackSampler() if slow_ms is not None else None
    try:
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            if sampler is not None:
                sampler.start()
            return runner.run(coro)
    finally:
        if sampler is not None and slow_ms is not None:
            sampler.stop()
            sampler.report(slow_ms, sys.stderr)


MEASURED: list[tuple[float, float]] = []
"""The stall meters' periods (``time.perf_counter``): the callback report keeps to them."""
LATE: list[tuple[float, float, float]] = []
"""(due, woke, CPU time) of the stall meters' late wake-ups over ``SUMMARY_MS``; the window thread's CPU time
from the timer's start to its late wake-up (5 ms + lateness at most): much less, the thread waited for a CPU."""
SAMPLE_S = 0.001
SUMMARY_MS = 3.0
LOOP_FILES = ("qasync", "asyncio", "bench_window", "threading")  # frames of the loop itself, not of a callback
PROJECT_FILES = ("eventdeck", "pyqtgraph", "benchmarks")  # the frames worth naming in a report
IN_QT = "(in Qt, no Python: painting, layout, or waiting)"
Stack = tuple[str, ...]


class StackSampler:
    """The window thread's Python stack every millisecond: what ran during each stall, and for how long.

    A callback is the outermost frame below the loop (a slot Qt called, an asyncio callback); a run of
    samples in the same one, without a gap, is one call of it. Nothing is hooked into Qt: wrapping Qt
    objects from ``QApplication.notify`` breaks the wrappers of widgets under construction.
    """

    def __init__(self) -> None:
        self.samples: list[tuple[float, str, Stack]] = []  # (time, callback, innermost frames)
        self._thread = threading.get_ident()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="stack-sampler", daemon=True)

    def start(self) -> None:
        sys.setswitchinterval(SAMPLE_S / 2)  # so that the sampler gets the GIL during a long callback
        self._sampler.start()

    def stop(self) -> None:
        self._stop.set()
        self._sampler.join()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            frame = sys._current_frames().get(self._thread)
            if frame is not None:
                callback, inside = _callback_of(frame)
                self.samples.append((time.perf_counter(), callback, inside))

    def calls(self) -> list[tuple[float, float, str]]:
        """(start, end, callback) of each run of samples in one callback."""
        calls: list[tuple[float, float, str]] = []
        for at, callback, _inside in self.samples:
            if callback == IN_QT:
                continue
            if calls and calls[-1][2] == callback and at - calls[-1][1] <= 2.5 * SAMPLE_S:
                calls[-1] = (calls[-1][0], at, callback)
            else:
                calls.append((at - SAMPLE_S, at, callback))
        return calls

    def report(self, slow_ms: float, out: Any) -> None:
        periods = MEASURED or [(0.0, float("inf"))]  # not start-up, nor what a script measures afterwards

        def measured(at: float) -> bool:
            return any(begin <= at <= end for begin, end in periods)

        samples = [sample for sample in self.samples if measured(sample[0])]
        stalls = [(due, woke, cpu) for due, woke, cpu in LATE if (woke - due) * 1000 >= slow_ms and measured(due)]
        print(f"-- stalls of {slow_ms:g} ms or more while measured: callbacks inside (ms sampled) --", file=out)
        for due, woke, cpu in stalls:
            span = (woke - due) * 1000 + 5  # the timer's 5 ms and its lateness
            print(f"{span - 5:7.1f} ms stall; the thread on a CPU {cpu * 1000:.1f} ms of the last {span:.1f}", file=out)
            inside = Counter((callback, stack) for at, callback, stack in samples if due <= at <= woke)
            for (callback, stack), count in inside.most_common(4):
                print(f"        {count:4d}  {callback}: {' < '.join(stack)}", file=out)
        durations: dict[str, list[float]] = {}
        for start, end, callback in self.calls():
            if (end - start) * 1000 >= SUMMARY_MS and measured(start):
                durations.setdefault(callback, []).append((end - start) * 1000)
        print(f"-- callbacks of {SUMMARY_MS:g} ms or more while measured: count, median, worst (ms) --", file=out)
        for callback, times in sorted(durations.items(), key=lambda item: -sum(item[1])):
            times.sort()
            print(f"{len(times):6d} {times[len(times) // 2]:7.1f} {times[-1]:7.1f}  {callback}", file=out)


def _callback_of(frame: FrameType) -> tuple[str, Stack]:
    """The callback a stack is in (its outermost frame below the loop) and its innermost frames worth naming."""
    frames = [summary for summary, _line in traceback.walk_stack(frame)]  # innermost first
    loop = next((n for n, f in enumerate(frames) if any(part in f.f_code.co_filename for part in LOOP_FILES)), 0)
    below_loop = frames[:loop]
    if not below_loop:
        return IN_QT, ()
    inside = [_name(frames[0])] if below_loop[0] is not frames[0] else []  # a library's frame, say json's
    inside += [_name(f) for f in below_loop if any(part in f.f_code.co_filename for part in PROJECT_FILES)][:4]
    return _name(below_loop[-1]), tuple(inside)


def _name(frame: FrameType) -> str:
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_code.co_name}"
