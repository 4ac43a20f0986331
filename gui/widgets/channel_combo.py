"""An editable channel box that completes known channel names without getting in the way of typing."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QLineEdit, QWidget

from eventdeck.gui.widgets.small import stretchable

PLACEHOLDER = "e.g. user/signedup"


class ChannelCombo(QComboBox):
    """Type a channel or pick a known one; matches anywhere in the name, case-insensitively."""

    def __init__(self, name: str, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setToolTip(tip)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setPlaceholderText(PLACEHOLDER)  # also keeps new items from being auto-selected
        edit = self.lineEdit()
        assert edit is not None  # an editable combo always has one
        self.edit: QLineEdit = edit
        edit.setPlaceholderText(PLACEHOLDER)
        stretchable(self, 12)
        completer = QCompleter(self.model(), self)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.setCompleter(completer)
        self._known: list[str] = []

    def set_channels(self, names: Sequence[str]) -> None:
        """Offer ``names``, keeping the typed text, cursor and selection; no change while the user is choosing."""
        if list(names) == self._known:
            return
        completer, view = self.completer(), self.view()
        popup = completer.popup() if completer is not None else None
        if (view is not None and view.isVisible()) or (popup is not None and popup.isVisible()):
            return  # changing the list under the user's pointer would pick the wrong one
        self._known = list(names)
        edit = self.edit
        text, cursor = edit.text(), edit.cursorPosition()
        start, length = edit.selectionStart(), len(edit.selectedText())
        with QSignalBlocker(self), QSignalBlocker(edit):
            self.clear()
            self.addItems(self._known)
            self.setCurrentIndex(-1)
            edit.setText(text)
            if length:
                edit.setSelection(start, length)
            else:
                edit.setCursorPosition(cursor)
