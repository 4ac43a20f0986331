"""What the benchmarks that run "with the window open" share: the window and the stall meter.

Imported by the benchmark scripts beside it (run as ``python tests/benchmarks/NAME.py``, so this
folder is on ``sys.path``). Qt is imported only when a window is asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from eventdeck.core import Broker
from eventdeck.core.connectors.backend import Backend


class Stalls:
    """Lateness of a 5 ms timer on the running loop: how long the loop was too busy to answer."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._measure())

    async def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._task is not None:
            await self._task
        ordered = sorted(self.lateness)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0
        return {"p99_stall_ms": round(p99 * 1000, 2), "max_stall_ms": round(max(ordered, default=0.0) * 1000, 2)}

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            due = loop.time() + 0.005
            await asyncio.sleep(0.005)
            self.lateness.append(max(0.0, loop.time() - due))


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


def run_with_qt(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on a qasync loop (offscreen), as the app does."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)  # closing a window must not stop the loop under the benchmark
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        return runner.run(coro)
