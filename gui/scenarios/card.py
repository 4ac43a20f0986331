"""A card: a large clickable panel with a title and a line under it, reachable with Tab and pressed with Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from eventdeck.gui.widgets.small import text_label

PRESS_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)


def card_style(palette: QPalette) -> str:
    """The cards' stylesheet in ``palette``'s colours: a marked card is tinted, a focused one has a thick border
    (its padding shrinks by as much, so its text stays put)."""
    highlight = palette.color(QPalette.ColorRole.Highlight)
    dark = palette.color(QPalette.ColorRole.Window).lightness() < 128
    tint = f"rgba({highlight.red()}, {highlight.green()}, {highlight.blue()}, {48 if dark else 24})"
    return f"""
QFrame[card="true"] {{
    background: palette(base); border: 1px solid palette(mid); border-radius: 8px; padding: 1px;
}}
QFrame[card="true"][marked="true"] {{ background: {tint}; border-color: palette(highlight); }}
QFrame[card="true"]:hover {{ border-color: palette(highlight); }}
QFrame[card="true"]:focus {{ border: 2px solid palette(highlight); padding: 0px; }}
QFrame[card="true"]:disabled {{ background: transparent; }}
"""


class Card(QFrame):
    """``title`` in bold over ``summary``; a marked card is tinted, with a ``mark`` beside its title."""

    clicked = Signal()

    def __init__(
        self, name: str, title: str, summary: str, *, mark: str = "", large: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setProperty("card", True)
        self.setProperty("marked", bool(mark))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)  # for the stylesheet's :hover
        self.setAccessibleName(title)
        self.setAccessibleDescription(summary)
        self.title = self._label("cardTitle", title)
        font = self.title.font()
        font.setBold(True)
        if large:
            font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.summary = self._label("cardSummary", summary)
        self.summary.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        margin = 14 if large else 8
        layout.setContentsMargins(margin + 2, margin, margin + 2, margin)
        layout.setSpacing(4 if large else 1)
        heading = QHBoxLayout()
        heading.addWidget(self.title, 1)
        if mark:
            self.mark = self._label("cardMark", mark)
            self.mark.setWordWrap(False)
            self.mark.setForegroundRole(QPalette.ColorRole.Highlight)
            self.mark.setFont(font)
            heading.addWidget(self.mark)
        layout.addLayout(heading)
        layout.addWidget(self.summary)

    def _label(self, name: str, text: str) -> QLabel:
        label = text_label(name)
        label.setText(text)
        label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)  # the card takes the click
        return label

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in PRESS_KEYS:
            self.clicked.emit()
        else:
            super().keyPressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()
        else:
            super().mouseReleaseEvent(event)
