"""JSON colours for plain-text editors (QPlainTextEdit): the text stays plain, never HTML."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

_TOKEN = re.compile(
    r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))'
    r'|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<literal>\b(?:true|false|null)\b)"
    r"|(?P<punct>[{}\[\],:])"
)
_COLOURS = {
    "key": ("#2563eb", "#7cb7ff"),
    "string": ("#047857", "#7ee2b8"),
    "number": ("#b45309", "#ffc777"),
    "literal": ("#7c3aed", "#c4a7ff"),
    "punct": ("#6b7280", "#9ca3af"),
}
MAX_HIGHLIGHT_CHARS = 20_000  # longer lines stay plain: colouring them would stall typing


class JsonHighlighter(QSyntaxHighlighter):
    """Colours keys, strings, numbers, literals and punctuation; ``dark`` picks the palette."""

    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_dark(dark)

    def set_dark(self, dark: bool) -> None:
        for name, (light_colour, dark_colour) in _COLOURS.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(dark_colour if dark else light_colour))
            if name == "key":
                fmt.setFontWeight(QFont.Weight.DemiBold)
            self._formats[name] = fmt
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        if len(text) > MAX_HIGHLIGHT_CHARS:
            return
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup
            if kind is not None:
                self.setFormat(match.start(), match.end() - match.start(), self._formats[kind])
