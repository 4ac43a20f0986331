"""Recordings in the window: export the stream's messages, replay a recording into the shown broker.

File work runs in a thread (a 100,000-row export or a large recording must not freeze the
window); the replay itself is a task on the loop, polled for progress like the composer's repeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget

from eventdeck.core import Kind, Message
from eventdeck.core.backend import GAP_CHANNEL
from eventdeck.core.recording import ReplayProgress, plan_replay, read_recording, replay, write_recording
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.models.stream_model import StreamModel
from eventdeck.gui.widgets import plural

PROGRESS_MS = 200
SPEEDS: tuple[tuple[str, float | None], ...] = (
    ("As recorded", 1.0),
    ("Twice as fast", 2.0),
    ("Ten times as fast", 10.0),
    ("As fast as possible", None),
)


class RecordingController(QObject):
    """Exports what the stream shows and runs at most one replay at a time."""

    progress = Signal(str)  # a line for the status bar while a replay runs
    finished = Signal(str)  # the replay's summary once it is over (done, stopped or failed)

    def __init__(self, bridge: Bridge, model: StreamModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._model = model
        self._task: asyncio.Task[ReplayProgress] | None = None
        self._state: ReplayProgress | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_MS)
        self._timer.timeout.connect(self._report)

    @property
    def replaying(self) -> bool:
        return self._task is not None and not self._task.done()

    def shown_messages(self) -> list[Message]:
        """The stream's rows as they are shown (its filters apply), without connection-gap markers."""
        model = self._model
        rows = (model.message_at(row) for row in range(model.rowCount()))
        return [message for message in rows if message.channel != GAP_CHANNEL]

    async def export(self, path: str) -> int:
        """Write the shown messages to ``path`` (JSON Lines) and return how many; OSError on failure."""
        return await asyncio.to_thread(write_recording, path, self.shown_messages())

    async def load(self, path: str) -> list[Message]:
        """The messages of the recording at ``path``; RecordingError with file, line and reason."""
        return await asyncio.to_thread(read_recording, path, max_payload=self._bridge.broker.max_payload)

    def start(self, messages: Sequence[Message], speed: float | None) -> asyncio.Task[ReplayProgress] | None:
        """Replay ``messages`` into the broker the window shows; None if a replay is already running."""
        if self.replaying:
            return None
        todo, state = plan_replay(messages)
        backend = self._bridge.backend
        task = self._bridge.spawn(replay(backend, todo, state, speed=speed), f"Replay into {backend.name}")
        self._task, self._state = task, state
        task.add_done_callback(self._on_done)
        self._timer.start()
        self._report()
        return task

    def stop(self) -> None:
        """Cancel the running replay (what was sent stays sent)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _report(self) -> None:
        if self._state is not None and self.replaying:
            self.progress.emit(f"Replaying: {self._state.summary()}")

    def _on_done(self, task: asyncio.Task[ReplayProgress]) -> None:
        self._timer.stop()
        state = self._state
        if task is not self._task or state is None:
            return
        if task.cancelled():
            text = f"Replay stopped: {state.summary()}"
        elif task.exception() is not None:
            text = f"Replay failed after {state.sent:,}: {task.exception()}"
        else:
            text = f"Replay done: {state.summary()}"
        self.finished.emit(text)


def describe(messages: Sequence[Message]) -> str:
    """What a replay of ``messages`` will send and what it leaves out, in a sentence or two."""
    todo, state = plan_replay(messages)
    commands = sum(1 for message in todo if message.kind is Kind.COMMAND)
    text = f"{plural(state.total, 'message')} to send: {plural(state.total - commands, 'event')}, "
    text += f"{plural(commands, 'command')}."
    if state.skipped:
        text += (
            f"\nLeft out: {plural(state.skipped, 'reply or $-channel message')}; "
            "responders and failing subscribers make those again."
        )
    if todo:
        span = todo[-1].timestamp - todo[0].timestamp
        text += f"\nRecorded over {span:,.1f} s."
    return text


class ReplayDialog(QDialog):
    """Says what a recording holds and where it goes; the user picks the speed and starts it."""

    replay_requested = Signal(float)  # the speed; 0.0 means as fast as possible

    def __init__(self, path: str, messages: Sequence[Message], target: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replayDialog")
        self.setWindowTitle("Replay a recording")
        self.messages = messages
        summary = QLabel(describe(messages))
        summary.setObjectName("replaySummary")
        summary.setTextFormat(Qt.TextFormat.PlainText)
        summary.setWordWrap(True)
        self.speed = QComboBox()
        self.speed.setObjectName("replaySpeed")
        for name, speed in SPEEDS:
            self.speed.addItem(name, speed)
        self.speed.setToolTip("How fast to send: keep the recorded gaps, shorten them, or send at once")
        form = QFormLayout()
        for label, text in (("File", Path(path).name), ("Into", target)):
            value = QLabel(text)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setToolTip(path if label == "File" else "The broker the window shows (File > Connections…)")
            form.addRow(label, value)
        form.addRow("Speed", self.speed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        start = buttons.addButton("Replay", QDialogButtonBox.ButtonRole.AcceptRole)
        start.setObjectName("replayStart")
        start.setEnabled(plan_replay(messages)[1].total > 0)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.accepted.connect(lambda: self.replay_requested.emit(self.chosen_speed() or 0.0))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(summary)
        layout.addWidget(buttons)

    def chosen_speed(self) -> float | None:
        value = self.speed.currentData()
        return None if value is None else float(value)
