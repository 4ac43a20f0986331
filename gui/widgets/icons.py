"""Icons from resources/icons, loaded once and cached."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from PySide6.QtGui import QColor, QIcon

from eventdeck.core import Kind

KIND_COLOURS = {Kind.EVENT: "#3b82f6", Kind.COMMAND: "#f59e0b", Kind.REPLY: "#10b981"}


@cache
def _icons() -> Traversable:
    # found once: looking the package up again costs ~0.2 ms an icon, and the first paint asks for ~20
    return files("eventdeck.resources").joinpath("icons")


@cache
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg`` (an empty icon if it is missing, never an error)."""
    path = _icons().joinpath(f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


@cache
def kind_icon(kind: Kind) -> QIcon:
    return icon(kind.value)


@cache
def kind_colour(kind: Kind) -> QColor:
    return QColor(KIND_COLOURS[kind])
