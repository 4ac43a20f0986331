"""The simulation's speed: a combo box from Pause to 5x, for the toolbar and the presenter."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

SPEEDS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
MAX_SPEED = 5.0
TIP = "How fast the whole simulation runs: publishers, subscribers and timers (Pause stops it)"


def speed_text(factor: float) -> str:
    """``Pause``, ``0.25x``, ``1x``, ``5x``."""
    return "Pause" if factor == 0 else f"{factor:g}x"


class SpeedControl(QComboBox):
    """Emits ``speed_chosen(factor)`` when the user picks a speed (0 = pause); :meth:`set_speed` stays quiet."""

    speed_chosen = Signal(float)

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setToolTip(TIP)
        for factor in SPEEDS:
            self.addItem(speed_text(factor), factor)
        self.setCurrentIndex(SPEEDS.index(1.0))
        self._quiet = False
        self.currentIndexChanged.connect(self._on_index)

    @property
    def speed(self) -> float:
        return float(self.currentData())

    def set_speed(self, factor: float) -> None:
        """Show ``factor`` (a story may set one the list lacks, such as 3x: it is added in its place)."""
        if not 0 <= factor <= MAX_SPEED:
            raise ValueError(f"the simulation's speed must be from 0 (pause) to {MAX_SPEED:g}x, not {factor:g}")
        self._quiet = True  # an insert before the current item moves the index too
        try:
            index = self.findData(factor)
            if index < 0:
                index = sum(1 for i in range(self.count()) if float(self.itemData(i)) < factor)
                self.insertItem(index, speed_text(factor), factor)
            self.setCurrentIndex(index)
        finally:
            self._quiet = False

    def _on_index(self, index: int) -> None:
        if not self._quiet and index >= 0:
            self.speed_chosen.emit(float(self.itemData(index)))
