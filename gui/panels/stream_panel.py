"""The live stream dock: every message as it flows, with filters, pause and follow.

Selecting a row also follows that message through the broker (``Bridge.follow``): the
presenter and the topology highlight its path, the inspector shows its deliveries.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QModelIndex, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import InvalidChannel, Kind, Message, validate_pattern
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.models.stream_model import (
    CHANNEL_COLUMN,
    KIND_COLUMN,
    PAYLOAD_COLUMN,
    PUBLISHER_COLUMN,
    SIZE_COLUMN,
    TIME_COLUMN,
    StreamFilter,
    StreamModel,
)
from eventdeck.gui.models.topology import UNNAMED
from eventdeck.gui.widgets.icons import icon, kind_icon
from eventdeck.gui.widgets.small import menu_name, tool_button

ROW_HEIGHT = 22
NOTICE_LINES = 2  # a broker restart's row: what came back, what was lost
FLOOD_BATCH = 200  # a flush this big means thousands of msg/s: nobody reads rows that fast
FLOOD_RATE = 1_000  # msg/s over the last second that make a flood too, however the flushes cut it
FLOOD_APPLY_MS = 100  # then rows are added 10 times a second instead of 30, saving two repaints in three
FIXED_WIDTHS = {TIME_COLUMN: 96, KIND_COLUMN: 92, SIZE_COLUMN: 64}
FITTED_SHARES = {CHANNEL_COLUMN: 0.3, PUBLISHER_COLUMN: 0.2}
"""Columns as wide as the names they show, up to this share of the table's width (a tooltip has the rest);
Payload takes what is left."""


class StreamPanel(QWidget):
    """Follows the newest row until the user scrolls up; then holds still and counts what is new."""

    message_selected = Signal(object)  # Message | None

    def __init__(self, bridge: Bridge, model: StreamModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("streamPanel")
        self.model = model
        self.following = True
        self.new_rows = 0
        self._bridge = bridge

        self.pattern_edit = _line_edit("streamPatternFilter", "Channels, e.g. user/#")
        self.pattern_edit.setMinimumWidth(140)
        self.pattern_edit.setToolTip("Show only channels matching this pattern: + is one level, # the rest")
        self.text_edit = _line_edit("streamTextFilter", "Find text (Ctrl+F)")
        self.text_edit.setMinimumWidth(140)
        self.text_edit.setToolTip("Show only messages whose channel, publisher or payload contains this text")
        self.kind_buttons: dict[Kind, QToolButton] = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.pattern_edit, 3)
        for kind in Kind:
            button = QToolButton()
            button.setObjectName(f"streamKind{kind.name.title()}")
            button.setText(kind.value.title())
            button.setIcon(kind_icon(kind))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setCheckable(True)
            button.setChecked(True)
            button.setToolTip(f"Show {kind.value}s")
            button.toggled.connect(self._apply_filter)
            self.kind_buttons[kind] = button
            row.addWidget(button)
        row.addWidget(self.text_edit, 4)
        self.publisher: str | None = None
        self.publisher_chip = tool_button("streamPublisherFilter", "", "remove", "Show every publisher again")
        self.publisher_chip.clicked.connect(lambda: self.show_publisher(None))
        self.publisher_chip.hide()
        row.addWidget(self.publisher_chip)
        self.pause_button = tool_button("streamPause", "Pause", "pause", "Pause the stream (Ctrl+P)")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        self.clear_button = tool_button("streamClear", "Clear", "clear", "Clear the stream (Ctrl+L)")
        self.clear_button.clicked.connect(self.clear)

        self.filter_error = QLabel()
        self.filter_error.setObjectName("streamFilterError")
        self.filter_error.setStyleSheet("color: #dc2626;")
        self.filter_error.hide()

        self.view = QTableView()
        self.view.setObjectName("streamView")
        self.view.setModel(model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        vertical = self.view.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # no per-row size queries
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        vertical.hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(0)  # fitting a column measures the rows on screen, not the whole ring
        for column, width in FIXED_WIDTHS.items():
            header.resizeSection(column, width)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(PAYLOAD_COLUMN, QHeaderView.ResizeMode.Stretch)
        self._user_sized: set[int] = set()  # fitted columns the user dragged: left as they are
        self._fitting = False
        self._rows_on_screen_changed = False  # since the columns were last fitted
        header.sectionResized.connect(self._on_section_resized)
        self._fit_columns(reset=True)

        self.status = QLabel()
        self.status.setObjectName("streamStatus")
        self.new_button = tool_button("streamFollow", "", "follow", "Jump to the newest message and follow (End)")
        self.new_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.new_button.clicked.connect(self.follow)
        self.new_button.hide()
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.new_button)
        bottom.addWidget(self.pause_button)
        bottom.addWidget(self.clear_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.filter_error)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(250)  # refilter once the user stops typing
        self._filter_timer.timeout.connect(self._apply_filter)
        self.pattern_edit.textChanged.connect(self._filter_timer.start)
        self.text_edit.textChanged.connect(self._filter_timer.start)

        model.rowsInserted.connect(self._on_rows_inserted)
        model.rowsAboutToBeRemoved.connect(self._on_rows_evicting)
        model.modelReset.connect(self._on_reset)
        self.view.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self._held: list[Message] = []
        self._unspanned: set[int] = set()  # notices added, not yet written across their row (not shown yet)
        self._noticed = False  # a notice was added: a reset of the rows looks for notices to span again
        self._arrivals = LastSecond()
        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.setInterval(FLOOD_APPLY_MS)
        self._apply_timer.timeout.connect(self._apply_held)
        bridge.messages.connect(self._on_messages)
        bridge.validator_changed.connect(model.set_validator)
        bridge.validated.connect(self._on_validated)
        model.set_validator(bridge.validator)
        QShortcut(QKeySequence(Qt.Key.Key_End), self.view, self.follow)
        self._programmatic_scroll = False
        self._new_rows_dirty = False
        # Counters are repainted 4 times a second, not per batch: a label whose width changes
        # makes the whole dock lay itself out again, which at 30 batches a second adds up.
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(250)
        self._status_timer.timeout.connect(self.refresh_status)
        self._status_timer.timeout.connect(self._fit_columns)
        self._status_timer.start()
        self._update_status()

    # -- feeding -------------------------------------------------------------

    def _on_messages(self, batch: list[Message]) -> None:
        """Small batches go straight in; in a flood (a big batch, or ``FLOOD_RATE`` in small ones: a connector
        hands its broker's traffic over in uneven bits), batches are gathered and added 10 times a second.

        While the dock is hidden beneath a shown window (the presenter covers the docks, or the user
        closed it), batches are only gathered: rows are added in one go when it shows again."""
        flood = self._arrivals.add(len(batch)) >= FLOOD_RATE or len(batch) >= FLOOD_BATCH
        if not self._held and not flood and not self._hidden_beneath():
            self.model.append_batch(batch)
            return
        self._held.extend(batch)
        if len(self._held) > self.model.capacity:
            del self._held[: len(self._held) - self.model.capacity]
        if not self._apply_timer.isActive() and not self._hidden_beneath():
            self._apply_timer.start()

    def add_notice(self, notice: Message) -> None:
        """A row that tells of the broker itself (a broker restart), after every message that came before it, its
        text written across the row from the Kind column on."""
        self._unspanned.add(notice.id)
        self._noticed = True
        self.model.expect_wide()
        self._on_messages([notice])

    def _hidden_beneath(self) -> bool:
        """Whether nobody can see the rows now: the window shows, this panel does not."""
        return not self.isVisible() and self.window().isVisible()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._held:
            self._apply_held()  # what came while hidden, as one batch

    def _on_validated(self) -> None:
        validator = self._bridge.validator
        if validator is not None and validator.last_found:
            self.view.viewport().update()  # rows shown before their batch was checked get their flag

    def _apply_held(self) -> None:
        held, self._held = self._held, []
        self.model.append_batch(held)

    # -- following ---------------------------------------------------------

    def follow(self) -> None:
        """Jump to the newest row and keep following it."""
        self.following = True
        self.new_rows = 0
        self.new_button.hide()
        self._scroll_to_bottom()

    def _scroll_to_bottom(self) -> None:
        self._programmatic_scroll = True
        self.view.scrollToBottom()
        self._programmatic_scroll = False

    def _on_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        self._rows_on_screen_changed = True
        if self._unspanned:
            self._span_notices(first, last)
        if self.following:
            self._scroll_to_bottom()
        else:
            self.new_rows += last - first + 1
            self._new_rows_dirty = True

    def _on_rows_evicting(self, _parent: QModelIndex, first: int, last: int) -> None:
        if self.following:
            return
        # Hold still: the rows above the viewport go away, so move up by as many.
        bar = self.view.verticalScrollBar()
        self._programmatic_scroll = True
        bar.setValue(max(0, bar.value() - (last - first + 1)))
        self._programmatic_scroll = False

    def _on_scrolled(self, value: int) -> None:
        self._rows_on_screen_changed = True
        if self._programmatic_scroll:
            return
        at_bottom = value >= self.view.verticalScrollBar().maximum()
        if at_bottom and not self.following:
            self.follow()
        elif not at_bottom and self.following:
            self.following = False
            self.new_rows = 0

    def _on_reset(self) -> None:
        self._rows_on_screen_changed = True
        self.view.clearSpans()
        if self._noticed:
            self._span_notices(0, self.model.rowCount() - 1)
        self.new_rows = 0
        self.new_button.hide()
        if self.following:
            self._scroll_to_bottom()
        self._update_status()

    def _span_notices(self, first: int, last: int) -> None:
        """Write each notice among rows ``first`` to ``last`` across its row, on two lines (Qt moves spans and row
        heights as rows come and go)."""
        for row in self.model.wide_rows(first, last):
            self._unspanned.discard(self.model.message_at(row).id)
            self.view.setSpan(row, KIND_COLUMN, 1, len(StreamModel.COLUMNS) - KIND_COLUMN)
            self.view.setRowHeight(row, NOTICE_LINES * ROW_HEIGHT)

    # -- filters, pause, clear ---------------------------------------------

    def show_publisher(self, publisher: str | None) -> None:
        """Show only what ``publisher`` sent ("" for unnamed publishers), or every publisher again (None)."""
        self.publisher = publisher
        self.publisher_chip.setText(f"Publisher: {menu_name(publisher or UNNAMED)}")
        self.publisher_chip.setVisible(publisher is not None)
        self._apply_filter()

    def set_channel_pattern(self, pattern: str) -> None:
        """Show only channels matching ``pattern`` (the Channels panel calls this on selection)."""
        self.pattern_edit.setText(pattern)
        self._apply_filter()

    def _apply_filter(self) -> None:
        self._filter_timer.stop()
        pattern = self.pattern_edit.text().strip()
        try:
            if pattern:
                validate_pattern(pattern)
        except InvalidChannel as exc:
            self.filter_error.setText(f"Filter not applied: {exc.reason}")
            self.filter_error.show()
            return
        self.filter_error.hide()
        kinds = frozenset(kind for kind, button in self.kind_buttons.items() if button.isChecked())
        self.model.set_filter(StreamFilter(pattern, kinds, self.text_edit.text().strip(), self.publisher))

    def set_paused(self, paused: bool) -> None:
        with QSignalBlocker(self.pause_button):
            self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(icon("play" if paused else "pause"))
        self.model.set_paused(paused)
        self._update_status()

    def clear(self) -> None:
        self._held = []
        self.model.clear()
        self._fit_columns(reset=True)
        self.message_selected.emit(None)
        self._bridge.follow(None)

    def refresh_status(self) -> None:
        """Update the counters and the "N new" button (called 4 times a second)."""
        if self._new_rows_dirty and not self.following:
            self._new_rows_dirty = False
            self.new_button.setText(f"{self.new_rows:,} new")
            self.new_button.show()
        self._update_status()

    def _update_status(self) -> None:
        shown = self.model.rowCount()
        text = f"{shown:,} shown · {self.model.held:,} held (ring {self.model.capacity:,})"
        if self.model.paused:
            text = f"Paused: {self.model.held_back:,} arrived meanwhile · " + text
        self.status.setText(text)

    # -- column widths -------------------------------------------------------

    def fitted_cap(self, column: int) -> int:
        """How wide Channel or Publisher may grow: a share of the table's width, never less than its header."""
        header = self.view.horizontalHeader()
        return max(header.sectionSizeHint(column), int(FITTED_SHARES[column] * self.view.viewport().width()))

    def _fit_columns(self, *, reset: bool = False) -> None:
        """Widen Channel and Publisher to the widest name on screen, up to their caps (4 times a second).
        They only grow, so rows do not jump as they scroll by; ``reset`` starts again from the header."""
        if not reset and not (self._rows_on_screen_changed and self.isVisible()):  # hidden: when it shows again
            return
        self._rows_on_screen_changed = False
        header = self.view.horizontalHeader()
        self._fitting = True
        try:
            for column in FITTED_SHARES:
                if column in self._user_sized:
                    continue
                wanted = max(header.sectionSizeHint(column), self.view.sizeHintForColumn(column))
                if not reset:
                    wanted = max(wanted, header.sectionSize(column))
                wanted = min(wanted, self.fitted_cap(column))
                if wanted != header.sectionSize(column):
                    header.resizeSection(column, wanted)
        finally:
            self._fitting = False

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if column in FITTED_SHARES and not self._fitting:
            self._user_sized.add(column)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rows_on_screen_changed = True  # the caps moved with the width

    # -- selection -----------------------------------------------------------

    def selected_message(self) -> Message | None:
        index = self.view.selectionModel().currentIndex()
        return self.model.message_at(index.row()) if index.isValid() else None

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        message = self.model.message_at(current.row()) if current.isValid() else None
        self.message_selected.emit(message)
        self._bridge.follow(message)

    def select_message(self, message_id: int) -> bool:
        """Select the row of ``message_id`` (e.g. a command's reply); False if it is no longer shown."""
        if self._held:
            self._apply_held()  # it may have come while the dock was hidden
        row = self.model.row_of(message_id)
        if row is None:
            return False
        self.following = False
        self.view.selectRow(row)
        self.view.scrollTo(self.model.index(row, 0))
        return True


class LastSecond:
    """How many messages arrived in the last second, from the batches' sizes."""

    def __init__(self) -> None:
        self._batches: deque[tuple[float, int]] = deque()
        self._total = 0

    def add(self, count: int) -> int:
        """Count ``count`` more now; the total of the last second."""
        now = time.monotonic()
        batches = self._batches
        batches.append((now, count))
        self._total += count
        while batches[0][0] < now - 1.0:
            self._total -= batches.popleft()[1]
        return self._total


def _line_edit(name: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    edit.setClearButtonEnabled(True)
    return edit
