"""Small widget factories and wording helpers the panels share (``plural`` is core's one word rule)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from eventdeck.core.wording import plural
from eventdeck.gui.widgets.icons import icon

__all__ = [
    "format_size",
    "hbox",
    "menu_name",
    "plural",
    "shrinkable",
    "stretchable",
    "stretchy_combo",
    "text_label",
    "tool_button",
]


def tool_button(name: str, text: str, icon_name: str, tip: str) -> QToolButton:
    """A tool button with a stable objectName, an icon from resources/ and its text beside it."""
    button = QToolButton()
    button.setObjectName(name)
    button.setText(text)
    button.setIcon(icon(icon_name))
    button.setToolTip(tip)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button


def hbox(*widgets: QWidget, stretch: QWidget | None = None) -> QHBoxLayout:
    """A margin-less row of ``widgets``, left to right; ``stretch`` (one of them) takes the spare width."""
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if widget is stretch else 0)
    return layout


def stretchable(combo: QComboBox, min_chars: int) -> None:
    """Let ``combo`` take the row's spare width yet shrink to ``min_chars`` in a narrow dock."""
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    combo.setMinimumContentsLength(min_chars)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)


def stretchy_combo(name: str, tip: str, min_chars: int) -> QComboBox:
    """A combo box with a stable objectName and a tooltip that is ``stretchable``."""
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setToolTip(tip)
    stretchable(combo, min_chars)
    return combo


def shrinkable(spin: QAbstractSpinBox, minimum: int) -> None:
    """Let a spin box give up width in a narrow dock (its size hint fits its largest value)."""
    spin.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    spin.setMinimumWidth(minimum)


def text_label(name: str, *, selectable: bool = False) -> QLabel:
    """A word-wrapped plain-text label (never parsed as rich text) with a stable objectName."""
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def empty_state(name: str, text: str) -> QLabel:
    """A panel's empty state: grey, centred, word-wrapped text saying what will show there and how to get it
    (its palette colour follows a theme switch: MainWindow.set_theme sets such style sheets again)."""
    label = QLabel(text)
    label.setObjectName(name)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def format_size(size: int, *, exact: bool = True) -> str:
    """``512 B``, ``2 KiB``, ``1.5 KiB (1,536 B)``, ``16 MiB``: binary units, the byte count when not round.

    ``exact=False`` leaves the byte count out, for narrow places such as a table column.
    """
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            value = size / scale
            if value == int(value):
                return f"{value:.0f} {unit}"
            return f"{value:.1f} {unit} ({size:,} B)" if exact else f"{value:.1f} {unit}"
    return f"{size:,} B"


def menu_name(name: str, limit: int = 48) -> str:
    """``name`` shortened for a menu or button label, with ``&`` doubled so Qt shows it, not a shortcut."""
    short = name if len(name) <= limit else name[: limit - 1] + "…"
    return short.replace("&", "&&")
