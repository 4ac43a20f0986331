"""A collapsible name/value table for message headers, with add and remove buttons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QToolButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableWidget

    from eventdeck.gui.widgets.headers_box import HeadersBox


class HeadersEditor(QWidget):
    """Headers to send: hidden behind a "Headers (n)" toggle until wanted.

    Child objectNames start with ``prefix``: ``<prefix>HeadersToggle``, ``<prefix>Headers`` (the table),
    ``<prefix>HeadersBox``, ``<prefix>AddHeader`` and ``<prefix>RemoveHeader``.
    """

    def __init__(self, prefix: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{prefix}HeadersEditor")
        self.toggle = QToolButton()
        self.toggle.setObjectName(f"{prefix}HeadersToggle")
        self.toggle.setCheckable(True)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolTip("Show or hide the headers (metadata sent along with the payload)")
        self.toggle.toggled.connect(self._on_toggled)
        self._box: HeadersBox | None = None  # built when first opened: most messages have no headers
        self._prefix = prefix
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._layout.addWidget(self.toggle)
        self._update_title()

    @property
    def box(self) -> HeadersBox:
        """The table and its buttons under the toggle, built on first use."""
        if self._box is None:
            from eventdeck.gui.widgets.headers_box import HeadersBox  # noqa: PLC0415 - loaded when first opened

            self._box = HeadersBox(self._prefix)
            self._box.table.itemChanged.connect(self._update_title)
            self._box.add_button.clicked.connect(self.add_row)
            self._box.remove_button.clicked.connect(self.remove_selected_rows)
            self._box.setVisible(self.toggle.isChecked())
            self._layout.addWidget(self._box)
        return self._box

    @property
    def table(self) -> QTableWidget:
        return self.box.table

    @property
    def add_button(self) -> QToolButton:
        return self.box.add_button

    @property
    def remove_button(self) -> QToolButton:
        return self.box.remove_button

    def headers(self) -> dict[str, str]:
        """The table as a dict (rows without a name are skipped; a later row wins)."""
        found: dict[str, str] = {}
        if self._box is None:
            return found
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, 0), self.table.item(row, 1)
            name = name_item.text().strip() if name_item is not None else ""
            if name:
                found[name] = value_item.text() if value_item is not None else ""
        return found

    def set_headers(self, headers: Mapping[str, str]) -> None:
        """Replace the rows with ``headers``; the table opens if there are any."""
        if not headers and self._box is None:
            return  # no rows to remove
        with QSignalBlocker(self.table):
            self.table.setRowCount(0)
            for name, value in headers.items():
                self.box.append_row(name, value)
        if headers:
            self.toggle.setChecked(True)
        self._update_title()

    def add_row(self) -> None:
        """Open the table and start editing the name of a new, empty row."""
        self.toggle.setChecked(True)
        with QSignalBlocker(self.table):
            row = self.box.append_row("", "")
        self.table.setCurrentCell(row, 0)
        item = self.table.item(row, 0)
        if item is not None:
            self.table.editItem(item)
        self._update_title()

    def remove_selected_rows(self) -> None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        if not rows and self.table.currentRow() >= 0:
            rows = {self.table.currentRow()}
        for row in sorted(rows, reverse=True):
            self.table.removeRow(row)
        self._update_title()

    def _on_toggled(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        if shown or self._box is not None:
            self.box.setVisible(shown)

    def _update_title(self) -> None:
        count = len(self.headers())
        self.toggle.setText(f"Headers ({count})" if count else "Headers")
