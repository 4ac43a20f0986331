"""The inspector's delivery timeline: which subscriptions got one message and what each did with it.

One row per subscription: when it was delivered (ms after publishing), how many attempts it
took, and the outcome with when it came. The bridge is asked for this one message only, when
it is shown and then 4 times a second while an outcome is still pending. When there is nothing
to show, the table says why: nobody subscribed, a reply goes straight back to its requester,
or the backend (a connector) cannot report deliveries.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import Kind, Message
from eventdeck.core.broker.journal import MessageTimeline, SubscriptionTimeline
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.models.message_path import mark
from eventdeck.gui.widgets.small import text_label

REFRESH_MS = 250
ROWS_SHOWN = 4  # the table grows to this many rows; more scroll
ROW_HEIGHT = 22
COLUMNS = ("Subscription", "Delivered", "Attempts", "Outcome")
NOBODY = (
    "No subscription matched {channel} when it was published, so nobody received it. "
    "Add a subscriber to it (Subscribers ▸ Add virtual…) to see deliveries here."
)
REPLY = "A reply goes straight back to whoever sent its command: no subscription receives it."
BEFORE = "Published before EventDeck started recording deliveries: what happened to it earlier is not known."
FORGOTTEN = "Only the last 100,000 deliveries are kept: the start of this message's story was forgotten."


def after(published: float, when: float | None) -> str:
    """``when`` as milliseconds after publishing ("—" if it has not happened)."""
    if when is None:
        return "—"
    millis = max(0.0, (when - published) * 1000)
    if millis < 10:
        return f"+{millis:.1f} ms"
    return f"+{millis:,.0f} ms" if millis < 10_000 else f"+{millis / 1000:,.1f} s"


class DeliveryTimeline(QWidget):
    """The table under the inspected message; ``show_message(None)`` empties it."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspectorDeliveries")
        self._bridge = bridge
        self._message: Message | None = None
        self.timeline: MessageTimeline | None = None
        self.title = QLabel("Deliveries")
        bold = QFont(self.title.font())  # a font, not a style sheet: its colour follows the theme
        bold.setBold(True)
        self.title.setFont(bold)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("inspectorTimeline")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.empty = text_label("inspectorTimelineEmpty")
        self.empty.setStyleSheet("color: palette(placeholder-text);")
        self.note = text_label("inspectorTimelineNote")
        self.note.setStyleSheet("color: palette(placeholder-text);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for widget in (self.title, self.table, self.empty, self.note):
            layout.addWidget(widget)
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def show_message(self, message: Message | None) -> None:
        self._message = message
        self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()  # back from behind the presenter, or its dock raised: outcomes may have moved on

    def refresh(self) -> None:
        """Ask the bridge again; keep asking 4 times a second while an outcome is pending and this is on screen."""
        message = self._message
        timeline = self._bridge.timeline(message) if message is not None and self.isVisible() else None
        self.timeline = timeline
        if message is None or timeline is None:
            self._timer.stop()
            self._empty(self._bridge.no_deliveries_reason() if message is not None and self.isVisible() else "")
            return
        if timeline.settled:
            self._timer.stop()
        elif not self._timer.isActive():
            self._timer.start()
        if not timeline.subscriptions:
            self._empty(REPLY if message.kind is Kind.REPLY else NOBODY.format(channel=message.channel))
        else:
            self._fill(timeline)
        gaps = "" if timeline.complete else BEFORE if message.timestamp < self._journal_start() else FORGOTTEN
        self.note.setText(gaps)
        self.note.setVisible(bool(gaps))

    def _journal_start(self) -> float:
        journal = self._bridge.journal
        return journal.opened_at if journal is not None else 0.0

    def _empty(self, why: str) -> None:
        self.table.setRowCount(0)
        self.table.hide()
        self.note.hide()
        self.empty.setText(why)
        self.empty.setVisible(bool(why))

    def _fill(self, timeline: MessageTimeline) -> None:
        self.empty.hide()
        self.table.show()
        table = self.table
        table.setRowCount(len(timeline.subscriptions))
        rows = min(ROWS_SHOWN, len(timeline.subscriptions))  # small: the payload below needs the room
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows * ROW_HEIGHT + 2 * table.frameWidth())
        for row, line in enumerate(timeline.subscriptions):
            for column, item in enumerate(_row(line, timeline.published_at)):
                table.setItem(row, column, item)


def _row(line: SubscriptionTimeline, published: float) -> list[QTableWidgetItem]:
    shown = mark(line)
    outcome = shown.text if line.outcome_at is None else f"{shown.text} {after(published, line.outcome_at)}"
    items = [
        QTableWidgetItem(line.subscription),
        QTableWidgetItem(after(published, line.delivered_at)),
        QTableWidgetItem(str(line.attempts) if line.attempts else "—"),
        QTableWidgetItem(outcome),
    ]
    items[3].setForeground(QColor(shown.colour))
    for item in items[1:3]:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    items[0].setToolTip(line.subscription)
    return items
