"""The presenter's bar along the bottom: the legend, step mode, speed, zoom, text size, full screen and leave.

Its buttons never take the keyboard focus, so Space, Esc and the zoom keys stay with the picture.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QWidget

from eventdeck.gui.presenter.canvas import COLOURS

SPEEDS = (("Pause", 0.0), ("0.1x", 0.1), ("0.25x", 0.25), ("0.5x", 0.5), ("1x", 1.0), ("2x", 2.0), ("5x", 5.0))
STEP_TIP = "Hold each new message at its channel; Next (Space, Right, PageDown) moves it one hop"
NO_STEP_TIP = "step mode needs the embedded broker: a real broker does not hold messages for EventDeck"


class PresenterControls(QWidget):
    """The bar's widgets; the presenter connects to them and to ``zoom_requested`` and ``font_requested``."""

    zoom_requested = Signal(int)  # +1, -1 or 0 (100 %)
    font_requested = Signal(int)  # +1 or -1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presenterControls")
        self._row = row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        self.legend = QLabel(
            "   ".join(f'<span style="color:{colour}">●</span> {kind}' for kind, colour in COLOURS.items())
            + "   <i>(each dot is a message)</i>"
        )
        self.legend.setObjectName("presenterLegend")
        self.legend.setToolTip("Click a dot to follow its message; Esc or a click on empty space stops")
        row.addWidget(self.legend)
        self.step_status = QLabel()
        self.step_status.setObjectName("presenterStepStatus")
        self.step_status.setContentsMargins(24, 0, 0, 0)
        row.addWidget(self.step_status)  # after the legend: what the room is waiting for
        row.addStretch(1)
        row.addWidget(QLabel("Speed"))
        self.speed = QComboBox()
        self.speed.setObjectName("presenterSpeed")
        self.speed.setToolTip("Slow the animation and the scenario down, or speed them up; Pause stops both")
        for text, factor in SPEEDS:
            self.speed.addItem(text, factor)
        self.speed.setCurrentIndex([factor for _text, factor in SPEEDS].index(1.0))
        row.addWidget(self.speed)
        self.step = self.button("presenterStep", "Step", STEP_TIP)
        self.step.setCheckable(True)
        self.next_button = self.button("presenterNext", "Next ▶", "Move the held message one hop (Space)")
        self.next_button.setEnabled(False)
        for name, text, tip, signal, step in (
            ("presenterZoomOut", "-", "Smaller (Ctrl+-)", self.zoom_requested, -1),
            ("presenterZoomReset", "100 %", "Fit the window (Ctrl+0)", self.zoom_requested, 0),
            ("presenterZoomIn", "+", "Larger (Ctrl+=)", self.zoom_requested, 1),
            ("presenterFontSmaller", "A-", "Smaller text", self.font_requested, -1),
            ("presenterFontLarger", "A+", "Larger text", self.font_requested, 1),
        ):
            self.button(name, text, tip).clicked.connect(lambda _checked=False, s=signal, by=step: s.emit(by))
        self.zoom_button = self.findChild(QToolButton, "presenterZoomReset")
        self.full_screen = self.button("presenterFullScreen", "Full screen", "Fill the screen (F11)")
        self.full_screen.setCheckable(True)
        self.leave = self.button("presenterLeave", "Leave (Esc)", "Back to the console")

    def button(self, name: str, text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the picture (Esc, zoom)
        self._row.addWidget(button)
        return button
