"""The presenter's caption: the step's title large and its caption below, readable from the back of a room."""

from __future__ import annotations

from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from eventdeck.gui.scenarios.story_controls import StoryControls

TITLE_PX, TEXT_PX, SMALL_PX = 30, 22, 16  # at 100 %: what a projector shows legibly at 1920x1080


def pixel_font(pixels: float, *, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(pixels)))
    font.setBold(bold)
    return font


class CaptionPanel(StoryControls):
    """The step counter and buttons along the top, then the title, the caption and any errors."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presenterCaption")
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.counter.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.end_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.counter.setWordWrap(False)
        self.end_hint.setWordWrap(False)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.counter)
        top.addStretch(1)
        top.addWidget(self.end_hint)
        for button in (self.back_button, self.next_button, self.reset_button):
            top.addWidget(button)
        column = QVBoxLayout(self)
        column.setContentsMargins(32, 12, 32, 16)
        column.setSpacing(6)
        column.addLayout(top)
        column.addWidget(self.title)
        column.addWidget(self.caption)
        column.addWidget(self.errors)
        self.font_scale = 1.0
        self.set_font_scale(1.0)

    def set_font_scale(self, scale: float) -> None:
        """Grow or shrink every text by ``scale`` (1.0 = 100 %), as the presenter's A- / A+ do."""
        if scale <= 0:
            raise ValueError(f"the caption's font scale must be above 0, not {scale}")
        self.font_scale = scale
        self.title.setFont(pixel_font(TITLE_PX * scale, bold=True))
        self.caption.setFont(pixel_font(TEXT_PX * scale))
        for widget in (self.counter, self.end_hint, self.errors, self.back_button, self.reset_button):
            widget.setFont(pixel_font(SMALL_PX * scale))
        self.next_button.setFont(pixel_font(SMALL_PX * scale, bold=True))
