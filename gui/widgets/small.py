"""Small widget factories and wording helpers the panels share."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from eventdeck.gui.widgets.icons import icon


def tool_button(name: str, text: str, icon_name: str, tip: str) -> QToolButton:
    """A tool button with a stable objectName, an icon from resources/ and its text beside it."""
    button = QToolButton()
    button.setObjectName(name)
    button.setText(text)
    button.setIcon(icon(icon_name))
    button.setToolTip(tip)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button


def plural(count: int, noun: str) -> str:
    """``1 message``, ``2 messages``: the count with thousands separators and the noun agreeing with it."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def menu_name(name: str, limit: int = 48) -> str:
    """``name`` shortened for a menu or button label, with ``&`` doubled so Qt shows it, not a shortcut."""
    short = name if len(name) <= limit else name[: limit - 1] + "…"
    return short.replace("&", "&&")
