"""The main window as its controllers see it: the parent of their dialogs, actions with shortcuts,
and the non-blocking ways to tell the user something (the broker keeps running behind all of them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from eventdeck.gui.widgets.icons import icon


class WindowHost:
    """What a controller may do to the window; the window itself decides where actions and labels go."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.problem_box: QMessageBox | None = None

    def action(self, name: str, text: str, icon_name: str, shortcut: str | None = None) -> QAction:
        """An action named ``name`` whose shortcut works wherever the focus is in the window."""
        action = QAction(icon(icon_name), text, self.window)
        action.setObjectName(name)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{text} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
        self.window.addAction(action)
        return action

    def ask_file(
        self, name: str, title: str, chosen: Callable[[str], object], filters: list[str], save_as: str | None = None
    ) -> None:
        """A file dialog shown with open(): an existing file to read, or with ``save_as`` a file to write."""
        dialog = QFileDialog(self.window, title)
        dialog.setObjectName(name)
        if save_as is None:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        else:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setDefaultSuffix(Path(save_as).suffix.removeprefix("."))
            dialog.selectFile(save_as)
        if filters:
            dialog.setNameFilters(filters)
        dialog.fileSelected.connect(chosen)
        dialog.open()

    def say(self, text: str, timeout_ms: int) -> None:
        """A passing line in the status bar."""
        self.window.statusBar().showMessage(text, timeout_ms)

    def error(self, text: str) -> None:
        """Non-modal: failures are shown in the status bar and logged, never in a blocking dialog."""
        self.say(f"⚠ {text}", 10_000)

    def problem(self, title: str, text: str) -> None:
        """A problem the user must read whole (e.g. a document's error with its line): non-modal box."""
        box = QMessageBox(self.window)
        box.setObjectName("problemBox")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(title)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(title)
        box.setInformativeText(text)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self.problem_box = box
        self.error(text)
