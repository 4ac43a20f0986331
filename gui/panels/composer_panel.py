"""The composer dock: write an event or a command by hand, check it as you type, send it (or repeat it).

With an AsyncAPI document loaded, the channel's messages are offered as templates and the payload
is checked against their schema as you type: a mismatch is a warning (amber), never a reason not
to send, since sending a bad payload on purpose is how consumers get tested. Send and Repeat both
go through the backend the window shows, so under a connector they reach the real broker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import Kind, Message, is_broker_channel
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.models.composed import Composed
from eventdeck.gui.models.payload_check import Verdict, check, pretty_json
from eventdeck.gui.panels.composer_history import HistoryCombo
from eventdeck.gui.panels.composer_repeat import RepeatRow
from eventdeck.gui.panels.composer_templates import TemplatePicker, schema_warning, template_text
from eventdeck.gui.widgets.channel_combo import ChannelCombo
from eventdeck.gui.widgets.headers_editor import HeadersEditor
from eventdeck.gui.widgets.icons import icon, kind_icon
from eventdeck.gui.widgets.json_highlighter import JsonHighlighter
from eventdeck.gui.widgets.small import hbox, shrinkable, stretchy_combo, text_label, tool_button

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableWidget

    from eventdeck.core.asyncapi import MessageSpec, ValidationIssue


CHECK_DELAY_MS = 150  # validate once the user pauses typing
CONTENT_TYPES = (
    "application/json",
    "text/plain",
    "application/octet-stream",
    "application/cloudevents+json",
    "application/xml",
)
PAYLOAD_PLACEHOLDER = (
    'Type the payload, for example:\n\n{"name": "Ada", "email": "ada@example.com", "age": 36}\n\nCtrl+Enter sends it.'
)
SEND_TIP = "Send this message (Ctrl+Enter)"
RETAIN_TIP = "Keep this as the channel's last value: new subscribers get it first"
EMPTY_CHANNEL_HINT = "Pick or type a channel to send to."
_ERROR = {False: "#dc2626", True: "#f87171"}  # light, dark
_HINT = {False: "#6b7280", True: "#9ca3af"}
_WARNING = {False: "#b45309", True: "#fbbf24"}  # amber: the schema disagrees, but it may still be sent


class ComposerPanel(QWidget):
    """Compose events and commands by hand; nothing invalid is ever published."""

    sent = Signal(str)  # a short description of what was just sent, for the status bar
    repeat_finished = Signal(str)  # the final result line of a repeat, emitted once it is shown

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerPanel")
        self._bridge = bridge
        self._verdict: Verdict | None = None
        self._dark = False
        self._send_seq = 0
        self._result_for: tuple[str, Kind, str] | None = None  # what the result line speaks of
        self._template_picker = TemplatePicker()
        self.template_combo = self._template_picker.combo
        self.template_label = self._template_picker.label
        self.template_combo.activated.connect(self.load_template)
        self._headers_editor = HeadersEditor("composer")
        self.headers_toggle = self._headers_editor.toggle
        self._repeat_row = RepeatRow()
        self.repeat_button = self._repeat_row.repeat_button
        self.repeat_count = self._repeat_row.count
        self.repeat_interval = self._repeat_row.interval
        self.stop_button = self._repeat_row.stop_button
        self.progress = self._repeat_row.progress
        self.repeat_button.clicked.connect(self._repeat_clicked)
        self._repeat_row.progressed.connect(self._set_result)
        self._repeat_row.finished.connect(self._on_repeat_finished)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(self._build_target())
        layout.addLayout(self._build_payload_row())
        layout.addWidget(self.payload_edit, 1)
        self.error_label = text_label("composerError", selectable=True)
        self.error_label.hide()
        self.schema_label = text_label("composerSchemaIssues", selectable=True)
        self.schema_label.hide()
        layout.addWidget(self.error_label)
        layout.addWidget(self.schema_label)
        layout.addWidget(self._headers_editor)
        layout.addLayout(self._build_send_row())
        layout.addWidget(self._repeat_row)
        self._connect(bridge)
        self._on_kind_changed()
        self.validate()

    # The headers table and its buttons are built when first opened (or asked for here).
    @property
    def headers_table(self) -> QTableWidget:
        return self._headers_editor.table

    @property
    def headers_box(self) -> QWidget:
        return self._headers_editor.box

    @property
    def add_header_button(self) -> QToolButton:
        return self._headers_editor.add_button

    @property
    def remove_header_button(self) -> QToolButton:
        return self._headers_editor.remove_button

    # -- building --------------------------------------------------------------

    def _build_target(self) -> QLayout:
        """Channel, kind, content type, retain or timeout, and the AsyncAPI template row."""
        self.channel_combo = ChannelCombo(
            "composerChannel", "The channel to send to: '/'-separated levels, no wildcards"
        )

        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("composerKind")
        self.kind_combo.setToolTip("Event: tell whoever listens. Command: ask a handler and wait for its reply")
        self.kind_combo.addItem(kind_icon(Kind.EVENT), "Event", Kind.EVENT)
        self.kind_combo.addItem(kind_icon(Kind.COMMAND), "Command", Kind.COMMAND)
        tip = Qt.ItemDataRole.ToolTipRole
        self.kind_combo.setItemData(0, "A fact that happened; every subscriber gets a copy", tip)
        self.kind_combo.setItemData(1, "A request to do something; waits for one reply", tip)

        self.content_type_combo = stretchy_combo(
            "composerContentType", "Content type of the payload; JSON types are checked as you type", 12
        )
        self.content_type_combo.setEditable(True)
        self.content_type_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.content_type_combo.addItems(CONTENT_TYPES)

        self.retain_check = QCheckBox("Retain")
        self.retain_check.setObjectName("composerRetain")
        self.retain_check.setIcon(icon("retained"))
        self.retain_check.setToolTip(RETAIN_TIP)

        self.timeout_spin = QDoubleSpinBox()
        self.timeout_spin.setObjectName("composerTimeout")
        self.timeout_spin.setRange(0.1, 3600.0)
        self.timeout_spin.setDecimals(1)
        self.timeout_spin.setSingleStep(1.0)
        self.timeout_spin.setValue(5.0)
        self.timeout_spin.setPrefix("timeout ")
        self.timeout_spin.setSuffix(" s")
        self.timeout_spin.setToolTip("How long a command waits for its reply")
        shrinkable(self.timeout_spin, 64)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        channel_label = QLabel("&Channel")
        channel_label.setBuddy(self.channel_combo)
        type_label = QLabel("&Type")
        type_label.setBuddy(self.content_type_combo)
        grid.addWidget(channel_label, 0, 0)
        grid.addWidget(self.channel_combo, 0, 1)
        grid.addWidget(self.kind_combo, 0, 2)
        grid.addWidget(type_label, 1, 0)
        grid.addWidget(self.content_type_combo, 1, 1)
        grid.addWidget(self.retain_check, 1, 2)
        grid.addWidget(self.timeout_spin, 1, 2)  # shares the cell: retain for events, timeout for commands
        grid.addWidget(self.template_label, 2, 0)
        grid.addWidget(self.template_combo, 2, 1, 1, 2)
        grid.setColumnStretch(1, 1)
        return grid

    def _build_payload_row(self) -> QLayout:
        """The payload label, history and Format above the editor (``self.payload_edit``)."""
        payload_label = QLabel("&Payload")
        self.history_combo = HistoryCombo()
        self.history_combo.activated.connect(self._on_history_picked)
        self.format_button = tool_button(
            "composerFormat", "Format", "format", "Pretty-print the JSON payload (indent 2)"
        )
        self.format_button.clicked.connect(self._format_clicked)
        payload_row = hbox(payload_label, self.history_combo, self.format_button, stretch=self.history_combo)

        self.payload_edit = QPlainTextEdit()
        self.payload_edit.setObjectName("composerPayload")
        self.payload_edit.setPlaceholderText(PAYLOAD_PLACEHOLDER)
        self.payload_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.payload_edit.setTabStopDistance(self.payload_edit.fontMetrics().horizontalAdvance(" ") * 2)
        self.payload_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.payload_edit.setMinimumHeight(72)
        self.payload_edit.setToolTip("The payload, sent as UTF-8 text. Ctrl+Enter sends")
        payload_label.setBuddy(self.payload_edit)
        self.highlighter = JsonHighlighter(self.payload_edit.document(), dark=self._dark)
        return payload_row

    def _build_send_row(self) -> QLayout:
        self.send_button = QPushButton(icon("send"), "Send")
        self.send_button.setObjectName("composerSend")
        self.send_button.setDefault(True)
        self.send_button.setMinimumWidth(84)
        self.send_button.setToolTip(SEND_TIP)
        self.send_button.clicked.connect(self._send_clicked)
        self.result_label = text_label("composerResult", selectable=True)
        self.result_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        return hbox(self.send_button, self.result_label, stretch=self.result_label)

    def _connect(self, bridge: Bridge) -> None:
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.validate)
        self.payload_edit.textChanged.connect(self._check_timer.start)
        self.channel_combo.editTextChanged.connect(self._check_timer.start)
        self.content_type_combo.editTextChanged.connect(self._check_timer.start)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        for keys in (Qt.Modifier.CTRL | Qt.Key.Key_Return, Qt.Modifier.CTRL | Qt.Key.Key_Enter):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._send_clicked)
        bridge.snapshot.connect(self._on_snapshot)
        bridge.validator_changed.connect(self._on_validator_changed)
        if bridge.last_snapshot is not None:
            self._on_snapshot(bridge.last_snapshot)

    # -- what is composed --------------------------------------------------------

    def channel(self) -> str:
        return self.channel_combo.currentText().strip()

    def kind(self) -> Kind:
        kind = self.kind_combo.currentData()
        return kind if isinstance(kind, Kind) else Kind.EVENT

    def set_kind(self, kind: Kind) -> None:
        """Event or Command (a reply is composed as an event)."""
        self.kind_combo.setCurrentIndex(1 if kind is Kind.COMMAND else 0)

    def content_type(self) -> str:
        return self.content_type_combo.currentText().strip() or "application/octet-stream"

    def payload_text(self) -> str:
        return self.payload_edit.toPlainText()

    def headers(self) -> dict[str, str]:
        """The headers table as a dict (rows without a name are skipped; a later row wins)."""
        return self._headers_editor.headers()

    def set_headers(self, headers: Mapping[str, str]) -> None:
        self._headers_editor.set_headers(headers)

    def add_header_row(self) -> None:
        self._headers_editor.add_row()

    def _take(self, verdict: Verdict) -> Composed:
        """What is composed now, as it will be sent; it goes into the channel's history."""
        channel, kind, text = self.channel(), self.kind(), self.payload_text()
        self.history_combo.record(channel, text)
        return Composed(
            channel,
            verdict.payload if text.strip() else b"",
            kind=kind,
            headers=self.headers(),
            # An empty body is no JSON document: say it is bytes, so no consumer tries to parse it.
            content_type=self.content_type() if text.strip() else "application/octet-stream",
            retain=kind is Kind.EVENT and self.retain_check.isChecked(),
            reply_timeout=self.timeout_spin.value(),
        )

    # -- public actions ------------------------------------------------------------

    def set_channel(self, channel: str) -> None:
        """Compose for ``channel`` (the Channels panel's "Publish to…"); the payload editor gets the focus."""
        self.channel_combo.setEditText(channel)
        self.validate()
        self.payload_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def load_message(self, message: Message) -> None:
        """Fill every field from ``message`` ("edit and send again"); a reply is loaded as an event."""
        self.channel_combo.setEditText(message.channel)
        self.set_kind(message.kind)
        self.content_type_combo.setEditText(message.content_type)
        self.set_headers(message.headers)
        text = message.text()
        pretty = pretty_json(text) if text.strip() else None
        self.payload_edit.setPlainText(pretty if pretty is not None else text)
        self.retain_check.setChecked(False)
        self.validate()
        self.payload_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_dark(self, dark: bool) -> None:
        """Switch the JSON colours and the message colours to the dark (or light) palette."""
        self._dark = dark
        self.highlighter.set_dark(dark)
        if self._verdict is not None:
            self._show_verdict(self._verdict)
            self._show_schema_issues(self.schema_issues())

    def format_payload(self) -> bool:
        """Pretty-print the payload as JSON (indent 2), undoably; False if it is not JSON."""
        pretty = pretty_json(self.payload_text())
        if pretty is None:
            self.validate()
            return False
        if pretty != self.payload_text():
            cursor = self.payload_edit.textCursor()
            cursor.beginEditBlock()
            cursor.select(QTextCursor.SelectionType.Document)
            cursor.insertText(pretty)
            cursor.endEditBlock()
            self.payload_edit.moveCursor(QTextCursor.MoveOperation.Start)
        self.validate()
        return True

    def validate(self) -> Verdict:
        """Check the composed message now; Send and Repeat are enabled only if it may be sent."""
        self._check_timer.stop()
        limit = self._bridge.backend.broker.max_payload  # the shown backend's limit
        verdict = check(self.channel(), self.payload_text(), self.content_type(), limit)
        self._verdict = verdict
        self._show_verdict(verdict)
        if self.channel() != self.history_combo.channel:
            self.history_combo.show_channel(self.channel())
        self._template_picker.refresh(self.channel(), self._bridge.validator)
        self._show_schema_issues(self.schema_issues(verdict))
        if self._result_for is not None and self._result_for != self._composing() and not self.repeating:
            self._result_for = None  # the result spoke of another message: it must not look like this one's
            self._set_result("")
        return verdict

    def _composing(self) -> tuple[str, Kind, str]:
        return self.channel(), self.kind(), self.payload_text()

    def templates(self) -> tuple[MessageSpec, ...]:
        """The current channel's messages in the loaded AsyncAPI document (empty without one)."""
        return self._template_picker.templates

    def load_template(self, index: int) -> None:
        """Start from the ``index``-th template: its example (or one made from its schema) and content type."""
        spec = self._template_picker.pick(index)
        if spec is None:
            return
        self.content_type_combo.setEditText(spec.content_type)
        self.payload_edit.setPlainText(template_text(spec))
        self.validate()
        self.payload_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def schema_issues(self, verdict: Verdict | None = None) -> tuple[ValidationIssue, ...]:
        """Why the payload fits none of the chosen (else the channel's) messages; empty if it fits or is not JSON."""
        verdict = verdict or self._verdict
        if verdict is None or not verdict.json_ok:
            return ()
        return self._template_picker.issues(self._bridge.validator, self.payload_text(), self.content_type())

    def send(self) -> asyncio.Task[None] | None:
        """Send what is composed (the Send button, Ctrl+Enter); None if it is invalid and nothing was sent."""
        verdict = self.validate()
        if not verdict.ok:
            return None
        composed = self._take(verdict)
        self._send_seq += 1
        self._result_for = self._composing()
        what = "Command to" if composed.kind is Kind.COMMAND else "Publish to"
        task = self._bridge.spawn(self._send(self._send_seq, composed), f"{what} {composed.channel}")
        return cast("asyncio.Task[None]", task)

    def start_repeat(self) -> asyncio.Task[None] | None:
        """Send what is composed N times, every M ms, as one task; None if invalid or already repeating.

        ``repeat_finished`` is emitted once the final counts are shown.
        """
        verdict = self.validate()
        if not verdict.ok or self.repeating:
            return None
        composed = self._take(verdict)
        what = f"Repeat to {composed.channel}"
        task = self._repeat_row.start(self._bridge.backend, composed, lambda coro: self._bridge.spawn(coro, what))
        self._update_buttons()
        return task

    def stop_repeat(self) -> None:
        """Cancel the running repeat (what was sent stays sent)."""
        self._repeat_row.stop()

    @property
    def repeating(self) -> bool:
        """True from Repeat until its final counts are shown."""
        return self._repeat_row.running

    # Slots for buttons and shortcuts return nothing; the public methods return the task for callers.
    def _send_clicked(self) -> None:
        self.send()

    def _repeat_clicked(self) -> None:
        self.start_repeat()

    def _format_clicked(self) -> None:
        self.format_payload()

    # -- sending ---------------------------------------------------------------------

    async def _send(self, seq: int, composed: Composed) -> None:
        if composed.kind is Kind.COMMAND:
            self._set_result("Waiting for reply…", seq=seq)
        outcome = await composed.send(self._bridge.backend)
        self._set_result(outcome.result, seq=seq, error=outcome.error)
        if outcome.status is not None:
            self._emit_sent(outcome.status)

    def _on_repeat_finished(self, text: str, error: bool) -> None:
        self._set_result(text, error=error)
        runner = self._repeat_row.runner
        if runner is not None:
            self._emit_sent(f"Repeat to {runner.progress.channel}: {runner.progress.summary()}")
        self._update_buttons()
        self.repeat_finished.emit(text)

    # -- showing -----------------------------------------------------------------------

    def _set_result(self, text: str, *, seq: int | None = None, error: bool = False) -> None:
        """Show ``text`` as the result (only if ``seq`` is still the latest send, when given)."""
        if not shiboken6.isValid(self.result_label) or (seq is not None and seq != self._send_seq):
            return
        self.result_label.setText(text)
        self.result_label.setToolTip(text)
        self.result_label.setStyleSheet(f"color: {_ERROR[self._dark]};" if error else "")

    def _emit_sent(self, text: str) -> None:
        if shiboken6.isValid(self):
            self.sent.emit(text)

    def _show_verdict(self, verdict: Verdict) -> None:
        if verdict.ok:
            self.error_label.hide()
            self.error_label.clear()
        else:
            # Nothing typed yet is not a mistake: say what to do, in grey.
            hint_only = verdict.channel_empty and len(verdict.problems) == 1
            colour = (_HINT if hint_only else _ERROR)[self._dark]
            self.error_label.setStyleSheet(f"color: {colour};")
            self.error_label.setText(EMPTY_CHANNEL_HINT if hint_only else verdict.reason())
            self.error_label.show()
        self.send_button.setToolTip(SEND_TIP if verdict.ok else f"Cannot send:\n{verdict.reason()}")
        self.format_button.setEnabled(verdict.json_ok)
        self._update_buttons()

    def _show_schema_issues(self, issues: tuple[ValidationIssue, ...]) -> None:
        if not issues:
            self.schema_label.hide()
            self.schema_label.clear()
            return
        self.schema_label.setText(schema_warning(issues))
        self.schema_label.setStyleSheet(f"color: {_WARNING[self._dark]};")
        self.schema_label.show()

    def _update_buttons(self) -> None:
        verdict = self._verdict
        ok = verdict is not None and verdict.ok
        self.send_button.setEnabled(ok)
        self._repeat_row.allow(may_repeat=ok, why_not=verdict.reason() if verdict is not None and not ok else None)

    def _on_kind_changed(self) -> None:
        command = self.kind() is Kind.COMMAND
        if command:
            self.retain_check.setChecked(False)
        self.retain_check.setEnabled(not command)
        self.retain_check.setToolTip("Commands are never retained" if command else RETAIN_TIP)
        self.timeout_spin.setVisible(command)
        self.retain_check.setVisible(not command)

    def _on_validator_changed(self, _validator: object) -> None:
        self._template_picker.forget()  # look the channel up again in the new document
        self.validate()

    # -- channels and history -----------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        # a refused update (the user is choosing) comes again with the next snapshot
        self.channel_combo.set_channels([info.name for info in snapshot.channels if not is_broker_channel(info.name)])

    def history(self, channel: str | None = None) -> list[str]:
        """Payloads sent to ``channel`` (default: the current one), most recent first."""
        return self.history_combo.history.for_channel(self.channel() if channel is None else channel)

    def load_history(self, index: int) -> None:
        """Load the ``index``-th history entry of the current channel into the editor."""
        text = self.history_combo.take(index)
        if text is not None:
            self.payload_edit.setPlainText(text)
            self.validate()

    def _on_history_picked(self, index: int) -> None:
        self.load_history(index)
        self.payload_edit.setFocus(Qt.FocusReason.OtherFocusReason)
