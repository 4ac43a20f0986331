"""The story bar: a slim strip in the normal window with the step, its caption and Back / Next / Reset."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from eventdeck.gui.scenarios.story_controls import StoryControls


class StoryBar(StoryControls):
    """``Step 2 of 7  Title`` over the caption on the left, the buttons on the right.

    It is as tall as its text at its width: a toolbar, which lays it out, asks only for a size hint,
    and a wrapped caption's hint is a guess that leaves gaps or cuts lines.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("storyBar")
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)  # set apart from the docks around it
        self.counter.setWordWrap(False)
        self.counter.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.end_hint.setWordWrap(False)
        self.end_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        bold = self.title.font()
        bold.setBold(True)
        self.title.setFont(bold)
        heading = QHBoxLayout()
        heading.setSpacing(12)
        heading.addWidget(self.counter)
        heading.addWidget(self.title, 1)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addLayout(heading)
        text.addWidget(self.caption)
        text.addWidget(self.errors)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        row.setSpacing(8)
        row.addLayout(text, 1)
        row.addWidget(self.end_hint)
        for button in (self.back_button, self.next_button, self.reset_button):
            row.addWidget(button)

    def _fit(self) -> None:
        height = self.heightForWidth(self.width())
        if height > 0 and height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.LayoutRequest:  # a text changed: a line more or less
            self._fit()
        return handled
