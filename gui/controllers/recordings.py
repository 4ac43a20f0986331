"""Recordings in the window: export the stream's messages, replay a recording into the shown broker.

File work runs in a thread (a 100,000-row export or a large recording must not freeze the
window); the replay itself is a task on the loop, polled for progress like the composer's repeat.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import Message
from eventdeck.core.connectors.backend import Backend
from eventdeck.core.recording.errors import RecordingError
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.host import WindowHost
from eventdeck.gui.models.stream_model import MARKERS, StreamModel
from eventdeck.gui.widgets.small import plural

if TYPE_CHECKING:  # the file format and the replay load when first used: the first paint does not need them
    from eventdeck.core.recording import ReplayPlan, ReplayProgress

PROGRESS_MS = 200
RECORDING_FILTERS = ["Recordings (*.jsonl)", "All files (*)"]
WINDOW_MAX_RATE = 50_000.0  # msg/s the window absorbs without stalling (tests/benchmarks/gui_stream.py)
SPEEDS: tuple[tuple[str, float | None], ...] = (
    ("As recorded", 1.0),
    ("Twice as fast", 2.0),
    ("Ten times as fast", 10.0),
    (f"As fast as the window keeps up ({WINDOW_MAX_RATE:,.0f} msg/s)", None),
)


class RecordingController(QObject):
    """Exports what the stream shows and runs at most one replay at a time, with the window's actions for both
    and a status label that shows the replay's progress while one runs."""

    progress = Signal(str)  # a line for the status bar while a replay runs
    finished = Signal(str)  # the replay's summary once it is over (done, stopped or failed)

    def __init__(self, bridge: Bridge, model: StreamModel, host: WindowHost) -> None:
        super().__init__(host.window)
        self._bridge = bridge
        self._model = model
        self._host = host
        self.replay_dialog: ReplayDialog | None = None
        self._task: asyncio.Task[ReplayProgress] | None = None
        self._state: ReplayProgress | None = None
        self._stopped_because = ""
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_MS)
        self._timer.timeout.connect(self._report)
        bridge.backend_changed.connect(self._on_backend_changed)
        self.export_action = host.action("exportMessagesAction", "Export messages…", "copy", "Ctrl+S")
        self.export_action.setStatusTip("Save the messages the stream shows as a recording (JSON Lines)")
        self.export_action.triggered.connect(self.ask_export_file)
        self.replay_action = host.action("replayMessagesAction", "Replay messages…", "play", "Ctrl+R")
        self.replay_action.setStatusTip("Send the messages of a recording again, into the broker the window shows")
        self.replay_action.triggered.connect(self.ask_replay_file)
        self.stop_replay_action = host.action("stopReplayAction", "Stop replay", "stop")
        self.stop_replay_action.triggered.connect(self.stop)
        self.stop_replay_action.setVisible(False)
        self.label = QLabel()  # permanent in the status bar: passing status messages must not hide it
        self.label.setObjectName("status_replay")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.hide()
        self.progress.connect(self.label.setText)
        self.finished.connect(self._on_finished)

    @property
    def replaying(self) -> bool:
        return self._task is not None and not self._task.done()

    def shown_messages(self) -> list[Message]:
        """The stream's rows as they are shown (its filters apply), without marker rows (gaps, broker restarts)."""
        model = self._model
        rows = (model.message_at(row) for row in range(model.rowCount()))
        return [message for message in rows if message.channel not in MARKERS]

    async def export(self, path: str) -> int:
        """Write the shown messages to ``path`` (JSON Lines) and return how many; OSError on failure."""
        from eventdeck.core.recording import write_recording  # noqa: PLC0415 - see TYPE_CHECKING above

        return await asyncio.to_thread(write_recording, path, self.shown_messages())

    async def load(self, path: str) -> ReplayPlan:
        """What replaying the recording at ``path`` would send; RecordingError with file, line and reason."""
        from eventdeck.core.recording import plan_replay, read_recording  # noqa: PLC0415 - see TYPE_CHECKING above

        limit = self._bridge.broker.max_payload
        return await asyncio.to_thread(lambda: plan_replay(read_recording(path, max_payload=limit)))

    def start(self, plan: ReplayPlan, speed: float | None, target: Backend) -> asyncio.Task[ReplayProgress] | None:
        """Replay ``plan`` into ``target``; None if a replay runs already or the window shows another broker."""
        if self.replaying or target is not self._bridge.backend:
            return None
        from eventdeck.core.recording import replay  # noqa: PLC0415 - loaded with the plan

        state = plan.progress()
        running = replay(target, plan, state, speed=speed, max_rate=WINDOW_MAX_RATE)
        task = self._bridge.spawn(running, f"Replay into {target.name}")
        self._task, self._state, self._stopped_because = task, state, ""
        task.add_done_callback(self._on_done)
        self._timer.start()
        self._report()
        return task

    def stop(self, *, because: str = "") -> None:
        """Cancel the running replay (what was sent stays sent); ``because`` is added to the summary."""
        if self._task is not None and not self._task.done():
            self._stopped_because = because
            self._task.cancel()

    def ask_export_file(self) -> None:
        if not self.shown_messages():
            self._host.say("The stream shows no messages: nothing to export.", 5000)
            return
        self._host.ask_file(
            "exportMessagesDialog",
            "Export the messages the stream shows",
            self.export_messages,
            RECORDING_FILTERS,
            save_as="eventdeck-recording.jsonl",
        )

    def export_messages(self, path: str) -> asyncio.Task[None]:
        """Write the stream's shown messages to ``path`` in a thread; the status bar says how it went."""
        return self._bridge.spawn(self._export_messages(path), "Export messages")

    async def _export_messages(self, path: str) -> None:
        try:
            count = await self.export(path)
        except OSError as exc:
            self._host.problem("The messages were not exported", f"{path}: {exc.strerror or exc}")
            return
        self._host.say(f"{plural(count, 'message')} written to {path}", 10_000)

    def ask_replay_file(self) -> None:
        self._host.ask_file("replayFileDialog", "Replay a recording", self.open, RECORDING_FILTERS)

    def open(self, path: str) -> asyncio.Task[None]:
        """Read the recording at ``path`` (in a thread), then ask how fast to replay it."""
        return self._bridge.spawn(self._open(path), "Open recording")

    async def _open(self, path: str) -> None:
        try:
            plan = await self.load(path)
        except RecordingError as exc:
            self._host.problem("This recording cannot be replayed", str(exc))
            return
        target = self._bridge.backend  # the broker the dialog names is the one it replays into
        dialog = ReplayDialog(path, plan, target.name, self._host.window)
        dialog.replay_requested.connect(lambda speed: self.start_replay(plan, speed, target))
        dialog.open()
        self.replay_dialog = dialog

    def start_replay(self, plan: ReplayPlan, speed: float | None, target: Backend) -> None:
        """``start`` as the user asked for it: the status bar says why when it does not start."""
        if self.replaying:
            self._host.say("A replay is already running; stop it first.", 5000)
            return
        if self.start(plan, speed, target) is None:
            self._host.say(
                f"Not replayed: the window now shows {self._bridge.backend.name}; open the recording again.", 10_000
            )
            return
        self.replay_action.setEnabled(False)
        self.stop_replay_action.setVisible(True)
        self.label.show()

    def _on_finished(self, summary: str) -> None:
        self.replay_action.setEnabled(True)
        self.stop_replay_action.setVisible(False)
        self.label.hide()
        self._host.say(summary, 15_000)

    def _on_backend_changed(self, backend: Backend) -> None:
        self.stop(because=f"the window switched to {backend.name}")

    def _report(self) -> None:
        if self._state is not None and self.replaying:
            self.progress.emit(f"Replaying: {self._state.summary()}")

    def _on_done(self, task: asyncio.Task[ReplayProgress]) -> None:
        state = self._state
        if task is not self._task or state is None:
            return  # an earlier replay's late callback: leave the current one alone
        self._timer.stop()
        if task.cancelled():
            why = f" ({self._stopped_because})" if self._stopped_because else ""
            text = f"Replay stopped{why}: {state.summary()}"
        elif (error := task.exception()) is not None:
            text = f"Replay failed after {state.sent:,} sent: {error or repr(error)}"
        else:
            text = f"Replay done: {state.summary()}"
        self.finished.emit(text)


def describe(plan: ReplayPlan) -> str:
    """What a replay of ``plan`` will send and what it leaves out, in a sentence or two."""
    total, commands = len(plan.messages), plan.commands
    text = f"{plural(total, 'message')} to send: {plural(total - commands, 'event')}, {plural(commands, 'command')}."
    if plan.skipped:
        text += (
            f"\nLeft out: {plural(plan.skipped, 'reply or $-channel message')}; "
            "responders and failing subscribers make those again."
        )
    if plan.messages:
        text += f"\nRecorded over {plan.span:,.1f} s."
    return text


class ReplayDialog(QDialog):
    """Says what a recording holds and where it goes; the user picks the speed and starts it.

    Deleted when closed, so the recording it was opened with is freed with it.
    """

    replay_requested = Signal(object)  # the speed: a float, or None for as fast as possible

    def __init__(self, path: str, plan: ReplayPlan, target: str, parent: QWidget | None = None) -> None:
        import html  # noqa: PLC0415 - ~1.5 ms (html.entities): not before the first paint

        super().__init__(parent)
        self.setObjectName("replayDialog")
        self.setWindowTitle("Replay a recording")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        summary = QLabel(describe(plan))
        summary.setObjectName("replaySummary")
        summary.setTextFormat(Qt.TextFormat.PlainText)
        summary.setWordWrap(True)
        self.speed = QComboBox()
        self.speed.setObjectName("replaySpeed")
        for name, speed in SPEEDS:
            self.speed.addItem(name, speed)
        self.speed.setToolTip("How fast to send: keep the recorded gaps, shorten them, or send at once")
        form = QFormLayout()
        for label, text, tip in (
            ("File", Path(path).name, f"<qt>{html.escape(path)}</qt>"),
            ("Into", target, "The broker the window shows (File > Connections…)"),
        ):
            value = QLabel(text)
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setToolTip(tip)
            form.addRow(label, value)
        form.addRow("Speed", self.speed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        start = buttons.addButton("Replay", QDialogButtonBox.ButtonRole.AcceptRole)
        start.setObjectName("replayStart")
        start.setEnabled(bool(plan.messages))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.accepted.connect(lambda: self.replay_requested.emit(self.chosen_speed()))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(summary)
        layout.addWidget(buttons)

    def chosen_speed(self) -> float | None:
        value = self.speed.currentData()
        return None if value is None else float(value)
