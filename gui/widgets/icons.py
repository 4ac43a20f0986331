"""Icons from resources/icons, loaded once and cached."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QColor, QIcon

import eventdeck.resources
from eventdeck.core import Kind

KIND_COLOURS = {Kind.EVENT: "#3b82f6", Kind.COMMAND: "#f59e0b", Kind.REPLY: "#10b981"}


# The folder itself, not importlib.resources' view of it: QIcon reads a file by its path (and the view cost ~2.5 ms
# of the first paint, for the ~20 icons it shows).
ICONS = Path(eventdeck.resources.__path__[0]) / "icons"


@cache
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg`` (an empty icon if it is missing, never an error)."""
    path = ICONS / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


@cache
def kind_icon(kind: Kind) -> QIcon:
    return icon(kind.value)


@cache
def kind_colour(kind: Kind) -> QColor:
    return QColor(KIND_COLOURS[kind])
