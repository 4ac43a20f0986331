"""A banner: a problem that stays in view until dealt with, with the ways out beside it.

A banner lives in a toolbar of its own (widgets inside a toolbar must not be hidden themselves), so
the window shows or hides that toolbar by ``has_problem``.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


class Banner(QWidget):
    """An amber strip with a message and buttons; ``name`` is its objectName (the text's is ``name + "Text"``)."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.message = QLabel()
        self.message.setObjectName(f"{name}Text")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 8, 4)
        self._layout.addWidget(self.message, 1)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # let the style sheet paint the background
        self.setStyleSheet(
            f"#{name} {{ background: #fef3c7; border: 1px solid #f59e0b; border-radius: 4px; }}"
            f" #{name}Text {{ color: #78350f; }}"
        )

    def sizeHint(self) -> QSize:
        """As tall as the text needs at the width the banner has: a toolbar sizes it by this hint, and a
        word-wrapped label hints a narrow width, so a long message would otherwise get a tall empty strip."""
        hint = super().sizeHint()
        return QSize(hint.width(), self.heightForWidth(max(self.width(), hint.width())))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()  # the toolbar asks for the hint again

    def button(self, name: str, text: str = "") -> QPushButton:
        """A button at the banner's end, in the order they are made."""
        button = QPushButton(text)
        button.setObjectName(name)
        self._layout.addWidget(button)
        return button
