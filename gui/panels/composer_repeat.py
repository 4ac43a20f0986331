"""The composer's Repeat row: send the composed message N times, M ms apart, with Stop and a progress bar.

The sending and counting is a Qt-free ``RepeatRunner``; this row only shows it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import shiboken6
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QProgressBar, QPushButton, QSpinBox, QWidget

from eventdeck.core.connectors.backend import Backend
from eventdeck.gui.models.composed import Composed
from eventdeck.gui.models.repeat_runner import RepeatEnd, RepeatRunner
from eventdeck.gui.widgets.icons import icon
from eventdeck.gui.widgets.small import hbox, shrinkable, tool_button

PROGRESS_MS = 50  # repeat progress: at most 20 updates a second
REPEAT_TIP = "Send this message N times, every M milliseconds"


class RepeatRow(QWidget):
    """Repeat, how many times, how often, Stop, and the progress of the running repeat."""

    progressed = Signal(str)  # "Repeating: …", at most every PROGRESS_MS while it runs
    finished = Signal(str, bool)  # the final line and whether it is an error; every count is final by then

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner: RepeatRunner | None = None
        self.repeat_button = QPushButton(icon("play"), "Repeat")
        self.repeat_button.setObjectName("composerRepeat")
        self.repeat_button.setToolTip(REPEAT_TIP)
        self.count = _spin("composerRepeatCount", 1_000_000, 10, "How many times to send (up to 1,000,000)")
        self.count.setMinimum(1)
        self.count.setSuffix(" times")
        self.interval = _spin(
            "composerRepeatInterval", 600_000, 100, "Pause between two sends; 0 sends as fast as the broker takes them"
        )
        self.interval.setPrefix("every ")
        self.interval.setSuffix(" ms")
        self.stop_button = tool_button("composerStop", "Stop", "stop", "Stop repeating")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setObjectName("composerProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setMinimumWidth(48)
        self.progress.setTextVisible(False)  # no "0%" before anything was repeated
        self.progress.setToolTip("Repeat progress")
        self.progress.hide()  # an empty bar before any repeat looks like a field to type in
        self.setLayout(
            hbox(self.repeat_button, self.count, self.interval, self.stop_button, self.progress, stretch=self.progress)
        )
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_MS)
        self._timer.timeout.connect(self._show_progress)

    @property
    def running(self) -> bool:
        """True from ``start`` until ``finished`` was emitted."""
        return self.runner is not None and self.runner.running

    def start(
        self, backend: Backend, message: Composed, spawn: Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]
    ) -> asyncio.Task[None]:
        """Repeat ``message`` through ``backend`` as set in the row, as a task made by ``spawn``."""
        total = self.count.value()
        runner = RepeatRunner(
            backend, message, total=total, interval_ms=self.interval.value(), on_finished=self._on_finished
        )
        self.runner = runner
        task = runner.start(spawn)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.show()
        self._timer.start()
        self.progressed.emit(runner.report())
        return task

    def stop(self) -> None:
        """Cancel the running repeat (what was sent stays sent)."""
        if self.runner is not None:
            self.runner.stop()

    def allow(self, *, may_repeat: bool, why_not: str | None = None) -> None:
        """Enable Repeat when the message ``may_repeat`` and none runs; ``why_not`` goes in its tooltip."""
        running = self.running
        self.repeat_button.setEnabled(may_repeat and not running)
        self.repeat_button.setToolTip(f"Cannot repeat:\n{why_not}" if why_not else REPEAT_TIP)
        self.stop_button.setEnabled(running)

    def _show_progress(self) -> None:
        if self.runner is not None and self.running:
            self.progress.setValue(self.runner.progress.done)
            self.progressed.emit(self.runner.report())

    def _on_finished(self, runner: RepeatRunner) -> None:
        """Called by the runner inside its task, after its last count."""
        if not shiboken6.isValid(self):
            return  # the dock went away while it repeated
        self._timer.stop()
        self.progress.setValue(runner.progress.done)
        self.finished.emit(runner.report(), runner.end is RepeatEnd.FAILED)


def _spin(name: str, maximum: int, value: int, tip: str) -> QSpinBox:
    """A spin box from 0 to ``maximum`` with thousands separators that can shrink in a narrow dock."""
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(0, maximum)
    spin.setValue(value)
    spin.setGroupSeparatorShown(True)
    spin.setToolTip(tip)
    shrinkable(spin, 64)
    return spin
