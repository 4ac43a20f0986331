"""The composer's History box: the payloads sent to the current channel, most recent first."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox

from eventdeck.gui.models.payload_check import History, one_line
from eventdeck.gui.widgets.small import stretchable


class HistoryCombo(QComboBox):
    """Shows one channel's entries of a ``History``; picking one leaves the box unselected again."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("composerHistory")
        self.setToolTip("Payloads sent to this channel, most recent first: pick one to load it")
        stretchable(self, 8)
        self.history = History()
        self.channel: str | None = None  # the channel shown

    def record(self, channel: str, text: str) -> None:
        self.history.record(channel, text)
        self.show_channel(channel)

    def show_channel(self, channel: str) -> None:
        self.channel = channel
        entries = self.history.for_channel(channel)
        with QSignalBlocker(self):
            self.clear()
            for text in entries:
                self.addItem(one_line(text, 80) or "(empty payload)", text)
                self.setItemData(self.count() - 1, one_line(text, 400), Qt.ItemDataRole.ToolTipRole)
            self.setCurrentIndex(-1)
        self.setPlaceholderText(f"History ({len(entries)})" if entries else "History (nothing sent yet)")
        self.setEnabled(bool(entries))

    def take(self, index: int) -> str | None:
        """The ``index``-th entry shown (None if there is none); the box shows no choice afterwards."""
        text = self.itemData(index)
        with QSignalBlocker(self):
            self.setCurrentIndex(-1)
        return text if isinstance(text, str) else None
