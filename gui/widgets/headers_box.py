"""The headers editor's name/value table with its add and remove buttons: built when the headers are first
opened (most messages have none), so the window's first paint neither loads nor builds it."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from eventdeck.gui.widgets.small import tool_button


class HeadersBox(QWidget):
    """The name/value table with its add and remove buttons beside it."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.setObjectName(f"{prefix}HeadersBox")
        self.table = QTableWidget(0, 2)
        self.table.setObjectName(f"{prefix}Headers")
        self.table.setHorizontalHeaderLabels(["Name", "Value"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().resizeSection(0, 130)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMaximumHeight(112)
        self.table.setToolTip("Header names and values (both plain text); rows without a name are skipped")
        self.add_button = tool_button(f"{prefix}AddHeader", "", "add", "Add a header")
        self.remove_button = tool_button(f"{prefix}RemoveHeader", "", "remove", "Remove the selected header")
        buttons = QVBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def append_row(self, name: str, value: str) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(name))
        self.table.setItem(row, 1, QTableWidgetItem(value))
        return row
