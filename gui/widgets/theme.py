"""Light and dark themes on Qt's Fusion style; "system" follows the desktop's colour scheme."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
DEAD_LETTER_COLOUR = "#ef4444"  # red, like the dead icon: a message nobody could handle looks dead everywhere
DEAD_LETTER_BACKGROUND = QColor(239, 68, 68, 45)  # translucent, so it works in light and dark themes

_DARK = {
    QPalette.ColorRole.Window: "#1f2328",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#16191d",
    QPalette.ColorRole.AlternateBase: "#1d2126",
    QPalette.ColorRole.ToolTipBase: "#2b3036",
    QPalette.ColorRole.ToolTipText: "#e6e6e6",
    QPalette.ColorRole.PlaceholderText: "#7d858f",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#2b3036",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#2f6fd6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6ea8fe",
    QPalette.ColorRole.Mid: "#3a4048",
    QPalette.ColorRole.Dark: "#121417",
}
_LIGHT_TWEAKS = {
    QPalette.ColorRole.Highlight: "#2563eb",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f4f6f8",
}


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return bool(hints.colorScheme() == Qt.ColorScheme.Dark)


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply ``theme`` ("system", "light" or "dark"); return True if the result is dark."""
    if theme not in THEMES:
        theme = "system"
    dark = system_is_dark() if theme == "system" else theme == "dark"
    app.setStyle("Fusion")
    palette = app.style().standardPalette()
    for role, colour in (_DARK if dark else _LIGHT_TWEAKS).items():
        palette.setColor(role, QColor(colour))
    if dark:
        disabled = QColor("#6b7280")
        for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
            palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
    return dark
