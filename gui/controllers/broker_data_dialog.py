"""File > Broker data…: where the embedded broker keeps its data, how much, what it holds, and Clear.

On a broker in memory it says so and why (the banner's reason), and what to do about it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from eventdeck.core.store import StoredCounts
from eventdeck.gui.widgets.small import format_size, hbox, text_label

ON_DISK = "Kept on disk: what the broker promised to keep comes back when EventDeck starts again."
IN_MEMORY = "In memory: nothing is kept when this window closes."
FULL = "On disk, and full: durable messages are refused until consumers catch up, or until you clear it."
ROWS = (
    ("subscriptions", "Durable subscriptions"),
    ("queued", "Queued messages"),
    ("retained", "Retained messages"),
    ("sessions", "MQTT sessions"),
)


class BrokerDataDialog(QDialog):
    """Non-modal; ``show_counts`` fills it in, ``clear_requested`` asks the controller to confirm and clear.

    ``problem`` (None: none) is why the broker runs in memory when ``on_disk`` is False, else a warning
    about the store (it is full)."""

    clear_requested = Signal()

    def __init__(self, directory: Path, on_disk: bool, problem: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("brokerDataDialog")
        self.setWindowTitle("Broker data")
        self.directory = directory
        self.headline = text_label("brokerDataHeadline")
        self.headline.setText(IN_MEMORY if not on_disk else FULL if problem else ON_DISK)
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.status = text_label("brokerDataStatus", selectable=True)
        self.status.setText(problem or "")
        self.status.setVisible(bool(problem))
        self.location = text_label("brokerDataLocation", selectable=True)
        self.location.setText(str(directory))
        open_folder = QPushButton("Open folder")
        open_folder.setObjectName("brokerDataOpenFolder")
        open_folder.setToolTip("Show the folder in the file manager")
        open_folder.clicked.connect(self._open_folder)
        form = QFormLayout()
        form.addRow("Location:", hbox(self.location, open_folder, stretch=self.location))
        self.rows: dict[str, QLabel] = {}
        for key, label in (("size", "Size"), *ROWS):
            self.rows[key] = text_label(f"brokerData_{key}")
            self.rows[key].setText("counting…")
            form.addRow(f"{label}:", self.rows[key])
            form.setRowVisible(self.rows[key], on_disk)  # in memory, the headline says all there is
        self.clear_button = QPushButton("Clear…")
        self.clear_button.setObjectName("brokerDataClear")
        self.clear_button.setEnabled(on_disk)
        self.clear_button.setToolTip(
            "Forget everything the broker keeps, in memory and on disk"
            if on_disk
            else "Nothing is kept on disk: the broker runs in memory"
        )
        self.clear_button.clicked.connect(self.clear_requested.emit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.clear_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def show_counts(self, counts: StoredCounts, size: int, max_bytes: int) -> None:
        rows = self.rows
        rows["size"].setText(
            f"{format_size(counts.file_bytes, exact=False)} on disk, {format_size(size, exact=False)} of data "
            f"(its cap: {format_size(max_bytes, exact=False)})"
        )
        for key, _label in ROWS:
            rows[key].setText(f"{getattr(counts, key):,}")

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.directory)))
