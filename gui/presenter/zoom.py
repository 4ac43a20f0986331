"""The zoom keys every scalable view answers: Ctrl+= (or Ctrl++) larger, Ctrl+- smaller, Ctrl+0 100 %."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

_STEPS = {Qt.Key.Key_Equal: 1, Qt.Key.Key_Plus: 1, Qt.Key.Key_Minus: -1, Qt.Key.Key_0: 0}


def zoom_step(event: QKeyEvent) -> int | None:
    """+1, -1 or 0 (reset) for a zoom key, None for any other key."""
    if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        return None
    return _STEPS.get(Qt.Key(event.key()))
