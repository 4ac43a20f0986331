"""The composer dock: write an event or a command by hand, check it as you type, send it (or repeat it).

With an AsyncAPI document loaded, the channel's messages are offered as templates and the payload
is checked against their schema as you type: a mismatch is a warning (amber), never a reason not
to send, since sending a bad payload on purpose is how consumers get tested.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import shiboken6
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import EventDeckError, Kind, Message, NoResponderError, RequestTimeout
from eventdeck.core.broker.message import is_json_type
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.models.payload_check import History, Verdict, check, one_line, pretty_json
from eventdeck.gui.widgets.icons import icon, kind_icon
from eventdeck.gui.widgets.json_highlighter import JsonHighlighter
from eventdeck.gui.widgets.small import tool_button

if TYPE_CHECKING:
    from eventdeck.core.asyncapi import MessageSpec, ValidationIssue

log = logging.getLogger(__name__)

PUBLISHER = "composer"
CHECK_DELAY_MS = 150  # validate once the user pauses typing
PROGRESS_MS = 50  # repeat progress: at most 20 updates a second
YIELD_EVERY = 200  # with a 0 ms interval, let the window breathe every so many sends
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
EMPTY_CHANNEL_HINT = "Pick or type a channel to send to."
_ERROR = {False: "#dc2626", True: "#f87171"}  # light, dark
_HINT = {False: "#6b7280", True: "#9ca3af"}
_WARNING = {False: "#b45309", True: "#fbbf24"}  # amber: the schema disagrees, but it may still be sent


@dataclass
class _Repeat:
    """Counters of the running repeat; the progress timer reads them, the repeat task writes them."""

    kind: Kind
    channel: str
    total: int
    started: float
    done: int = 0
    replies: int = 0
    timeouts: int = 0
    no_handler: int = 0

    def summary(self) -> str:
        if self.kind is Kind.EVENT:
            return f"{self.done:,} of {self.total:,} events sent"
        return (
            f"{self.done:,} of {self.total:,} commands: {self.replies:,} replies, "
            f"{self.timeouts:,} timed out, {self.no_handler:,} no handler"
        )


class ComposerPanel(QWidget):
    """Compose events and commands by hand; nothing invalid is ever published."""

    sent = Signal(str)  # a short description of what was just sent, for the status bar

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composerPanel")
        self._bridge = bridge
        self._history = History()
        self._history_channel: str | None = None
        self._known_channels: list[str] = []
        self._verdict: Verdict | None = None
        self._dark = False
        self._send_seq = 0
        self._repeat: _Repeat | None = None
        self._repeat_task: asyncio.Task[None] | None = None
        self._templates: tuple[MessageSpec, ...] = ()  # the current channel's messages in the loaded document
        self._templates_for: str | None = None  # the channel they were looked up for

        # -- channel, kind, content type, retain ----------------------------
        self.channel_combo = QComboBox()
        self.channel_combo.setObjectName("composerChannel")
        self.channel_combo.setEditable(True)
        self.channel_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.channel_combo.setPlaceholderText("e.g. user/signedup")  # also keeps new items from being auto-selected
        channel_edit = self.channel_combo.lineEdit()
        assert channel_edit is not None  # an editable combo always has one
        self._channel_edit = channel_edit
        channel_edit.setPlaceholderText("e.g. user/signedup")
        self.channel_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.channel_combo.setMinimumContentsLength(12)
        self.channel_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.channel_combo.setToolTip("The channel to send to: '/'-separated levels, no wildcards")
        completer = QCompleter(self.channel_combo.model(), self.channel_combo)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.channel_combo.setCompleter(completer)

        self.kind_combo = QComboBox()
        self.kind_combo.setObjectName("composerKind")
        self.kind_combo.addItem(kind_icon(Kind.EVENT), "Event", Kind.EVENT)
        self.kind_combo.addItem(kind_icon(Kind.COMMAND), "Command", Kind.COMMAND)
        tip = Qt.ItemDataRole.ToolTipRole
        self.kind_combo.setItemData(0, "A fact that happened; every subscriber gets a copy", tip)
        self.kind_combo.setItemData(1, "A request to do something; waits for one reply", tip)
        self.kind_combo.setToolTip("Event: tell whoever listens. Command: ask a handler and wait for its reply")

        self.content_type_combo = QComboBox()
        self.content_type_combo.setObjectName("composerContentType")
        self.content_type_combo.setEditable(True)
        self.content_type_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.content_type_combo.addItems(CONTENT_TYPES)
        self.content_type_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.content_type_combo.setMinimumContentsLength(12)
        self.content_type_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.content_type_combo.setToolTip("Content type of the payload; JSON types are checked as you type")

        self.retain_check = QCheckBox("Retain")
        self.retain_check.setObjectName("composerRetain")
        self.retain_check.setIcon(icon("retained"))
        self.retain_check.setToolTip("Keep this as the channel's last value: new subscribers get it first")

        self.timeout_spin = QDoubleSpinBox()
        self.timeout_spin.setObjectName("composerTimeout")
        self.timeout_spin.setRange(0.1, 3600.0)
        self.timeout_spin.setDecimals(1)
        self.timeout_spin.setSingleStep(1.0)
        self.timeout_spin.setValue(5.0)
        self.timeout_spin.setPrefix("timeout ")
        self.timeout_spin.setSuffix(" s")
        self.timeout_spin.setToolTip("How long a command waits for its reply")
        _shrinkable(self.timeout_spin, 64)

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
        self.template_combo = QComboBox()
        self.template_combo.setObjectName("composerTemplate")
        self.template_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.template_combo.setMinimumContentsLength(12)
        self.template_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.template_combo.setToolTip("This channel's messages in the AsyncAPI document: pick one to load its example")
        self.template_combo.activated.connect(self.load_template)
        self.template_label = QLabel("T&emplate")
        self.template_label.setBuddy(self.template_combo)
        grid.addWidget(self.template_label, 2, 0)
        grid.addWidget(self.template_combo, 2, 1, 1, 2)
        self.template_label.hide()
        self.template_combo.hide()
        grid.setColumnStretch(1, 1)

        # -- payload ------------------------------------------------------------
        payload_label = QLabel("&Payload")
        self.history_combo = QComboBox()
        self.history_combo.setObjectName("composerHistory")
        self.history_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.history_combo.setMinimumContentsLength(8)
        self.history_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.history_combo.setToolTip("Payloads sent to this channel, most recent first: pick one to load it")
        self.history_combo.activated.connect(self._on_history_picked)
        self.format_button = QToolButton()
        self.format_button.setObjectName("composerFormat")
        self.format_button.setText("Format")
        self.format_button.setIcon(icon("format"))
        self.format_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.format_button.setToolTip("Pretty-print the JSON payload (indent 2)")
        self.format_button.clicked.connect(self._format_clicked)
        payload_row = QHBoxLayout()
        payload_row.setContentsMargins(0, 0, 0, 0)
        payload_row.addWidget(payload_label)
        payload_row.addWidget(self.history_combo, 1)
        payload_row.addWidget(self.format_button)

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

        self.error_label = QLabel()
        self.error_label.setObjectName("composerError")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.schema_label = QLabel()
        self.schema_label.setObjectName("composerSchemaIssues")
        self.schema_label.setTextFormat(Qt.TextFormat.PlainText)
        self.schema_label.setWordWrap(True)
        self.schema_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.schema_label.hide()

        # -- headers --------------------------------------------------------------
        self.headers_toggle = QToolButton()
        self.headers_toggle.setObjectName("composerHeadersToggle")
        self.headers_toggle.setCheckable(True)
        self.headers_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.headers_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.headers_toggle.setAutoRaise(True)
        self.headers_toggle.setToolTip("Show or hide the headers (metadata sent along with the payload)")
        self.headers_toggle.toggled.connect(self._on_headers_toggled)
        self.headers_table = QTableWidget(0, 2)
        self.headers_table.setObjectName("composerHeaders")
        self.headers_table.setHorizontalHeaderLabels(["Name", "Value"])
        self.headers_table.verticalHeader().hide()
        self.headers_table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.headers_table.verticalHeader().setDefaultSectionSize(22)
        self.headers_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.headers_table.horizontalHeader().resizeSection(0, 130)
        self.headers_table.horizontalHeader().setStretchLastSection(True)
        self.headers_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.headers_table.setMaximumHeight(112)
        self.headers_table.setToolTip("Header names and values (both plain text); rows without a name are skipped")
        self.headers_table.itemChanged.connect(self._update_headers_title)
        self.add_header_button = tool_button("composerAddHeader", "", "add", "Add a header")
        self.add_header_button.clicked.connect(self.add_header_row)
        self.remove_header_button = tool_button("composerRemoveHeader", "", "remove", "Remove the selected header")
        self.remove_header_button.clicked.connect(self._remove_header_rows)
        header_buttons = QVBoxLayout()
        header_buttons.setContentsMargins(0, 0, 0, 0)
        header_buttons.addWidget(self.add_header_button)
        header_buttons.addWidget(self.remove_header_button)
        header_buttons.addStretch(1)
        self.headers_box = QWidget()
        self.headers_box.setObjectName("composerHeadersBox")
        headers_layout = QHBoxLayout(self.headers_box)
        headers_layout.setContentsMargins(0, 0, 0, 0)
        headers_layout.addWidget(self.headers_table, 1)
        headers_layout.addLayout(header_buttons)
        self.headers_box.hide()

        # -- send -------------------------------------------------------------------
        self.send_button = QPushButton(icon("send"), "Send")
        self.send_button.setObjectName("composerSend")
        self.send_button.setDefault(True)
        self.send_button.setMinimumWidth(84)
        self.send_button.setToolTip(SEND_TIP)
        self.send_button.clicked.connect(self._send_clicked)
        self.result_label = QLabel()
        self.result_label.setObjectName("composerResult")
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        send_row = QHBoxLayout()
        send_row.setContentsMargins(0, 0, 0, 0)
        send_row.addWidget(self.send_button)
        send_row.addWidget(self.result_label, 1)

        # -- repeat -----------------------------------------------------------------
        self.repeat_button = QPushButton(icon("play"), "Repeat")
        self.repeat_button.setObjectName("composerRepeat")
        self.repeat_button.setToolTip("Send this message N times, every M milliseconds")
        self.repeat_button.clicked.connect(self._repeat_clicked)
        self.repeat_count = QSpinBox()
        self.repeat_count.setObjectName("composerRepeatCount")
        self.repeat_count.setRange(1, 1_000_000)
        self.repeat_count.setValue(10)
        self.repeat_count.setGroupSeparatorShown(True)
        self.repeat_count.setSuffix(" times")
        self.repeat_count.setToolTip("How many times to send (up to 1,000,000)")
        _shrinkable(self.repeat_count, 64)
        self.repeat_interval = QSpinBox()
        self.repeat_interval.setObjectName("composerRepeatInterval")
        self.repeat_interval.setRange(0, 600_000)
        self.repeat_interval.setValue(100)
        self.repeat_interval.setGroupSeparatorShown(True)
        self.repeat_interval.setPrefix("every ")
        self.repeat_interval.setSuffix(" ms")
        self.repeat_interval.setToolTip("Pause between two sends; 0 sends as fast as the broker takes them")
        _shrinkable(self.repeat_interval, 64)
        self.stop_button = tool_button("composerStop", "", "stop", "Stop repeating")
        self.stop_button.setText("Stop")
        self.stop_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_repeat)
        self.progress = QProgressBar()
        self.progress.setObjectName("composerProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setMinimumWidth(48)
        self.progress.setTextVisible(False)  # no "0%" before anything was repeated
        self.progress.setToolTip("Repeat progress")
        self.progress.hide()  # an empty bar before any repeat looks like a field to type in
        repeat_row = QHBoxLayout()
        repeat_row.setContentsMargins(0, 0, 0, 0)
        repeat_row.addWidget(self.repeat_button)
        repeat_row.addWidget(self.repeat_count)
        repeat_row.addWidget(self.repeat_interval)
        repeat_row.addWidget(self.stop_button)
        repeat_row.addWidget(self.progress, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(grid)
        layout.addLayout(payload_row)
        layout.addWidget(self.payload_edit, 1)
        layout.addWidget(self.error_label)
        layout.addWidget(self.schema_label)
        layout.addWidget(self.headers_toggle)
        layout.addWidget(self.headers_box)
        layout.addLayout(send_row)
        layout.addLayout(repeat_row)

        # -- behaviour ---------------------------------------------------------------
        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.validate)
        self.payload_edit.textChanged.connect(self._check_timer.start)
        self.channel_combo.editTextChanged.connect(self._check_timer.start)
        self.content_type_combo.editTextChanged.connect(self._check_timer.start)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._show_progress)
        for keys in (Qt.Modifier.CTRL | Qt.Key.Key_Return, Qt.Modifier.CTRL | Qt.Key.Key_Enter):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._send_clicked)
        bridge.snapshot.connect(self._on_snapshot)
        bridge.validator_changed.connect(self._on_validator_changed)
        if bridge.last_snapshot is not None:
            self._on_snapshot(bridge.last_snapshot)
        self._update_headers_title()
        self._on_kind_changed()
        self.validate()

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
        found: dict[str, str] = {}
        for row in range(self.headers_table.rowCount()):
            name_item = self.headers_table.item(row, 0)
            value_item = self.headers_table.item(row, 1)
            name = name_item.text().strip() if name_item is not None else ""
            if name:
                found[name] = value_item.text() if value_item is not None else ""
        return found

    def set_headers(self, headers: Mapping[str, str]) -> None:
        with QSignalBlocker(self.headers_table):
            self.headers_table.setRowCount(0)
            for name, value in headers.items():
                row = self.headers_table.rowCount()
                self.headers_table.insertRow(row)
                self.headers_table.setItem(row, 0, QTableWidgetItem(name))
                self.headers_table.setItem(row, 1, QTableWidgetItem(value))
        if headers:
            self.headers_toggle.setChecked(True)
        self._update_headers_title()

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
        verdict = check(self.channel(), self.payload_text(), self.content_type(), self._bridge.broker.max_payload)
        self._verdict = verdict
        self._show_verdict(verdict)
        if self.channel() != self._history_channel:
            self._refresh_history()
        if self.channel() != self._templates_for:
            self._refresh_templates()
        self._show_schema_issues(self.schema_issues(verdict))
        return verdict

    # -- AsyncAPI templates and schema ----------------------------------------------

    def templates(self) -> tuple[MessageSpec, ...]:
        """The current channel's messages in the loaded AsyncAPI document (empty without one)."""
        return self._templates

    def load_template(self, index: int) -> None:
        """Start from the ``index``-th template: its example (or one made from its schema) and content type."""
        from eventdeck.core.asyncapi import example_payload  # noqa: PLC0415 - loaded already: a document is open

        if not 0 <= index < len(self._templates):
            return
        spec = self._templates[index]
        with QSignalBlocker(self.template_combo):
            self.template_combo.setCurrentIndex(index)
        self.content_type_combo.setEditText(spec.content_type)
        example = example_payload(spec)
        if example is None:
            text = ""
        elif isinstance(example, str) and not is_json_type(spec.content_type):
            text = example
        else:
            text = json.dumps(example, indent=2, ensure_ascii=False)
        self.payload_edit.setPlainText(text)
        self.validate()
        self.payload_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def schema_issues(self, verdict: Verdict | None = None) -> tuple[ValidationIssue, ...]:
        """Why the payload fits none of the chosen (else the channel's) messages; empty if it fits or is not JSON."""
        validator = self._bridge.validator
        verdict = verdict or self._verdict
        if validator is None or not self._templates or verdict is None or not verdict.json_ok:
            return ()
        if not is_json_type(self.content_type()):
            return ()
        chosen = self.template_combo.currentIndex()
        specs = [self._templates[chosen]] if 0 <= chosen < len(self._templates) else self._templates
        value: Any = json.loads(self.payload_text())  # verdict.json_ok: it parses
        return validator.check_value(value, specs)

    def _refresh_templates(self) -> None:
        channel = self.channel()
        self._templates_for = channel
        validator = self._bridge.validator
        templates = validator.messages_for(channel) if validator is not None and channel else ()
        if templates == self._templates:
            return
        self._templates = templates
        with QSignalBlocker(self.template_combo):
            self.template_combo.clear()
            for spec in templates:
                self.template_combo.addItem(spec.label)
                tip = spec.summary or spec.description or spec.name
                self.template_combo.setItemData(self.template_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
            self.template_combo.setCurrentIndex(-1)
        self.template_combo.setPlaceholderText(f"{len(templates)} message{'s' if len(templates) != 1 else ''}")
        self.template_label.setVisible(bool(templates))
        self.template_combo.setVisible(bool(templates))

    def _on_validator_changed(self, _validator: object) -> None:
        self._templates_for = None  # look the channel up again in the new document
        self.validate()

    def _show_schema_issues(self, issues: tuple[ValidationIssue, ...]) -> None:
        if not issues:
            self.schema_label.hide()
            self.schema_label.clear()
            return
        lines = "\n".join(f"{issue.path}: {issue.message}" for issue in issues[:5])
        more = f"\n… and {len(issues) - 5} more" if len(issues) > 5 else ""
        self.schema_label.setText(f"Does not match the AsyncAPI schema (it can still be sent):\n{lines}{more}")
        self.schema_label.setStyleSheet(f"color: {_WARNING[self._dark]};")
        self.schema_label.show()

    def send(self) -> asyncio.Task[None] | None:
        """Send what is composed (the Send button, Ctrl+Enter); None if it is invalid and nothing was sent."""
        verdict = self.validate()
        if not verdict.ok:
            return None
        channel, kind, text = self.channel(), self.kind(), self.payload_text()
        payload = verdict.payload if text.strip() else b""
        headers, content_type = self.headers(), self.content_type()
        self._history.record(channel, text)
        self._refresh_history()
        self._send_seq += 1
        if kind is Kind.COMMAND:
            command = self._send_command(
                self._send_seq, channel, payload, headers, content_type, reply_timeout=self.timeout_spin.value()
            )
            return cast("asyncio.Task[None]", self._bridge.spawn(command, f"Command to {channel}"))
        event = self._send_event(
            self._send_seq, channel, payload, headers, content_type, retain=self.retain_check.isChecked()
        )
        return cast("asyncio.Task[None]", self._bridge.spawn(event, f"Publish to {channel}"))

    def start_repeat(self) -> asyncio.Task[None] | None:
        """Send what is composed N times, every M ms, as one task; None if invalid or already repeating."""
        verdict = self.validate()
        if not verdict.ok or self.repeating:
            return None
        channel, kind, text = self.channel(), self.kind(), self.payload_text()
        payload = verdict.payload if text.strip() else b""
        total, interval = self.repeat_count.value(), self.repeat_interval.value()
        self._history.record(channel, text)
        self._refresh_history()
        self._repeat = _Repeat(kind, channel, total, time.perf_counter())
        coro = self._repeat_loop(
            self._repeat,
            payload,
            self.headers(),
            self.content_type(),
            retain=kind is Kind.EVENT and self.retain_check.isChecked(),
            reply_timeout=self.timeout_spin.value(),
            interval_ms=interval,
        )
        task: asyncio.Task[None] = self._bridge.spawn(coro, f"Repeat to {channel}")
        self._repeat_task = task
        task.add_done_callback(self._on_repeat_finished)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.show()
        self._set_result(f"Repeating: {self._repeat.summary()}")
        self._progress_timer.start()
        self._update_buttons()
        return task

    def stop_repeat(self) -> None:
        """Cancel the running repeat (what was sent stays sent)."""
        if self._repeat_task is not None and not self._repeat_task.done():
            self._repeat_task.cancel()

    @property
    def repeating(self) -> bool:
        return self._repeat_task is not None and not self._repeat_task.done()

    # Slots for buttons and shortcuts return nothing; the public methods return the task for callers.
    def _send_clicked(self) -> None:
        self.send()

    def _repeat_clicked(self) -> None:
        self.start_repeat()

    def _format_clicked(self) -> None:
        self.format_payload()

    # -- sending ---------------------------------------------------------------------

    async def _send_event(
        self, seq: int, channel: str, payload: bytes, headers: dict[str, str], content_type: str, *, retain: bool
    ) -> None:
        try:
            receipt = await self._bridge.backend.publish(
                channel,
                payload,
                kind=Kind.EVENT,
                headers=headers,
                content_type=content_type,
                retain=retain,
                publisher=PUBLISHER,
            )
        except EventDeckError as exc:
            log.warning("composer: publish to %s failed: %s", channel, exc)
            self._set_result(f"Not sent: {exc}", seq=seq, error=True)
            return
        if receipt is None:  # a real broker does not say who got it
            who = "handed to the broker"
        elif receipt.queued == 0:
            who = "nobody is subscribed"
        else:
            who = f"{receipt.queued} subscription{'s' if receipt.queued != 1 else ''} queued it"
        retained = ", retained" if retain else ""
        self._set_result(f"Event sent to {channel}{retained}: {who}", seq=seq)
        self._emit_sent(f"Event sent to {channel} ({who})")

    async def _send_command(
        self,
        seq: int,
        channel: str,
        payload: bytes,
        headers: dict[str, str],
        content_type: str,
        *,
        reply_timeout: float,
    ) -> None:
        self._set_result("Waiting for reply…", seq=seq)
        started = time.perf_counter()
        try:
            reply = await self._bridge.backend.request(
                channel, payload, timeout=reply_timeout, headers=headers, content_type=content_type, publisher=PUBLISHER
            )
        except NoResponderError:
            self._set_result(f"No handler for {channel}", seq=seq, error=True)
            self._emit_sent(f"Command to {channel}: no handler")
            return
        except RequestTimeout as exc:
            self._set_result(f"Timed out after {exc.elapsed:.1f} s", seq=seq, error=True)
            self._emit_sent(f"Command to {channel}: timed out after {exc.elapsed:.3g} s")
            return
        except EventDeckError as exc:
            log.warning("composer: command to %s failed: %s", channel, exc)
            self._set_result(f"Not sent: {exc}", seq=seq, error=True)
            return
        latency = (time.perf_counter() - started) * 1000
        preview = one_line(reply.text(), 90) or "(empty payload)"
        self._set_result(f"Reply in {latency:.1f} ms: {preview}", seq=seq)
        self._emit_sent(f"Command to {channel}: reply in {latency:.1f} ms")

    async def _repeat_loop(
        self,
        state: _Repeat,
        payload: bytes,
        headers: dict[str, str],
        content_type: str,
        *,
        retain: bool,
        reply_timeout: float,
        interval_ms: int,
    ) -> None:
        broker = self._bridge.broker
        channel, total = state.channel, state.total
        delay = interval_ms / 1000
        for index in range(1, total + 1):
            if state.kind is Kind.EVENT:
                await broker.publish(
                    channel,
                    payload,
                    kind=Kind.EVENT,
                    headers=headers,
                    content_type=content_type,
                    retain=retain,
                    publisher=PUBLISHER,
                )
            else:
                try:
                    await broker.request(
                        channel,
                        payload,
                        timeout=reply_timeout,
                        headers=headers,
                        content_type=content_type,
                        publisher=PUBLISHER,
                    )
                    state.replies += 1
                except NoResponderError:
                    state.no_handler += 1
                except RequestTimeout:
                    state.timeouts += 1
            state.done = index
            if index < total:
                if delay > 0:
                    await asyncio.sleep(delay)
                elif index % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # let Qt paint and handle input between bursts

    def _on_repeat_finished(self, task: asyncio.Task[None]) -> None:
        if not shiboken6.isValid(self):
            return
        self._progress_timer.stop()
        state = self._repeat
        if task is self._repeat_task:
            self._repeat_task = None
        if state is None:
            return
        self._show_progress()
        elapsed = time.perf_counter() - state.started
        if task.cancelled():
            text, error = f"Stopped: {state.summary()}", False
        elif task.exception() is not None:
            text, error = f"Repeat failed after {state.done:,}: {task.exception()}", True
        else:
            text, error = f"Done in {elapsed:.2f} s: {state.summary()}", False
        self._set_result(text, error=error)
        self._emit_sent(f"Repeat to {state.channel}: {state.summary()}")
        self._update_buttons()

    def _show_progress(self) -> None:
        state = self._repeat
        if state is None:
            return
        self.progress.setValue(state.done)
        if self.repeating:
            self._set_result(f"Repeating: {state.summary()}")

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

    def _update_buttons(self) -> None:
        ok = self._verdict is not None and self._verdict.ok
        repeating = self.repeating
        self.send_button.setEnabled(ok)
        self.repeat_button.setEnabled(ok and not repeating)
        self.repeat_button.setToolTip(
            "Send this message N times, every M milliseconds"
            if ok or self._verdict is None
            else f"Cannot repeat:\n{self._verdict.reason()}"
        )
        self.stop_button.setEnabled(repeating)

    def _on_kind_changed(self) -> None:
        command = self.kind() is Kind.COMMAND
        if command:
            self.retain_check.setChecked(False)
        self.retain_check.setEnabled(not command)
        self.retain_check.setToolTip(
            "Commands are never retained"
            if command
            else "Keep this as the channel's last value: new subscribers get it first"
        )
        self.timeout_spin.setVisible(command)
        self.retain_check.setVisible(not command)

    # -- channels and history -----------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        names = [info.name for info in snapshot.channels if not info.name.startswith("$")]
        if names == self._known_channels:
            return
        completer, view = self.channel_combo.completer(), self.channel_combo.view()
        popup = completer.popup() if completer is not None else None
        if (view is not None and view.isVisible()) or (popup is not None and popup.isVisible()):
            return  # the user is choosing: try again on the next snapshot
        self._known_channels = names
        edit = self._channel_edit
        text, cursor = edit.text(), edit.cursorPosition()
        start, length = edit.selectionStart(), len(edit.selectedText())
        with QSignalBlocker(self.channel_combo), QSignalBlocker(edit):
            self.channel_combo.clear()
            self.channel_combo.addItems(names)
            self.channel_combo.setCurrentIndex(-1)
            edit.setText(text)
            if length:
                edit.setSelection(start, length)
            else:
                edit.setCursorPosition(cursor)

    def _refresh_history(self) -> None:
        channel = self.channel()
        self._history_channel = channel
        entries = self._history.for_channel(channel)
        with QSignalBlocker(self.history_combo):
            self.history_combo.clear()
            for text in entries:
                self.history_combo.addItem(one_line(text, 80) or "(empty payload)", text)
                self.history_combo.setItemData(
                    self.history_combo.count() - 1, one_line(text, 400), Qt.ItemDataRole.ToolTipRole
                )
            self.history_combo.setCurrentIndex(-1)
        self.history_combo.setPlaceholderText(f"History ({len(entries)})" if entries else "History (nothing sent yet)")
        self.history_combo.setEnabled(bool(entries))

    def history(self, channel: str | None = None) -> list[str]:
        """Payloads sent to ``channel`` (default: the current one), most recent first."""
        entries: list[str] = self._history.for_channel(self.channel() if channel is None else channel)
        return entries

    def load_history(self, index: int) -> None:
        """Load the ``index``-th history entry of the current channel into the editor."""
        text = self.history_combo.itemData(index)
        if isinstance(text, str):
            self.payload_edit.setPlainText(text)
            self.validate()
        with QSignalBlocker(self.history_combo):
            self.history_combo.setCurrentIndex(-1)

    def _on_history_picked(self, index: int) -> None:
        self.load_history(index)
        self.payload_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- headers ------------------------------------------------------------------------

    def add_header_row(self) -> None:
        self.headers_toggle.setChecked(True)
        row = self.headers_table.rowCount()
        with QSignalBlocker(self.headers_table):
            self.headers_table.insertRow(row)
            self.headers_table.setItem(row, 0, QTableWidgetItem(""))
            self.headers_table.setItem(row, 1, QTableWidgetItem(""))
        self.headers_table.setCurrentCell(row, 0)
        item = self.headers_table.item(row, 0)
        if item is not None:
            self.headers_table.editItem(item)
        self._update_headers_title()

    def _remove_header_rows(self) -> None:
        rows = {index.row() for index in self.headers_table.selectionModel().selectedRows()}
        if not rows and self.headers_table.currentRow() >= 0:
            rows = {self.headers_table.currentRow()}
        for row in sorted(rows, reverse=True):
            self.headers_table.removeRow(row)
        self._update_headers_title()

    def _on_headers_toggled(self, shown: bool) -> None:
        self.headers_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.headers_box.setVisible(shown)

    def _update_headers_title(self) -> None:
        count = len(self.headers())
        self.headers_toggle.setText(f"Headers ({count})" if count else "Headers")


def _shrinkable(spin: QAbstractSpinBox, minimum: int) -> None:
    """Let a spin box give up width in a narrow dock (its size hint fits its largest value)."""
    spin.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    spin.setMinimumWidth(minimum)
