"""Switching the theme while a message is shown recolours the whole inspector: fields, banners, timeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from eventdeck.core import Message
from eventdeck.core.asyncapi import parse_document
from eventdeck.core.asyncapi.live import LiveValidator
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.panels.inspector_panel import InspectorPanel
from tests.gui.gui_support import WAIT, shown_window

DOCUMENT = """\
asyncapi: 3.0.0
info: {title: Fridge, version: '1'}
channels:
  level:
    address: $dead/fridge/level
    messages:
      level: {payload: {type: object, properties: {percentage: {type: integer, maximum: 100}}}}
"""


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000))
    QApplication.setPalette(QApplication.style().standardPalette())  # the next test starts from the default


def _luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(widget: QWidget) -> float:
    """WCAG's contrast ratio of the widget's text against the window behind it (banners are tinted lightly)."""
    text = _luminance(widget.palette().color(widget.foregroundRole()))
    window = _luminance(QApplication.palette().color(QPalette.ColorRole.Window))
    lighter, darker = max(text, window), min(text, window)
    return (lighter + 0.05) / (darker + 0.05)


def _dead_letter_with_schema_issues(qtbot: QtBot, bridge: Bridge) -> Message:
    """A dead letter whose payload breaks the loaded document's schema, as the stream shows it."""
    bridge.set_validator(LiveValidator(parse_document(DOCUMENT)))
    seen: list[Message] = []
    bridge.messages.connect(seen.extend)
    headers = {"x-dead-reason": "failed 2 times", "x-original-channel": "fridge/level"}
    task = bridge.spawn(bridge.broker.publish("$dead/fridge/level", {"percentage": 300}, headers=headers), "publish")
    qtbot.waitUntil(task.done, timeout=WAIT)
    bridge.flush()
    qtbot.waitUntil(
        lambda: bool(seen) and bool(bridge.validator and bridge.validator.issues_for(seen[0].id)), timeout=WAIT
    )
    return seen[0]


def _texts(inspector: InspectorPanel) -> list[QWidget]:
    """Every piece of text the inspector shows for a message (the placeholder-grey captions aside)."""
    return [
        inspector.title,
        inspector.dead_banner,
        inspector.schema_banner,
        inspector.deliveries.title,
        *inspector.findChildren(QLineEdit),
    ]


@pytest.mark.parametrize(("first", "then"), [("light", "dark"), ("dark", "light")])
def test_every_text_stays_readable_when_the_theme_changes_under_a_shown_message(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, first: str, then: str
) -> None:
    window.set_theme(first)
    message = _dead_letter_with_schema_issues(qtbot, bridge)
    inspector = window.inspector
    inspector.show_message(message)
    assert inspector.dead_banner.isVisible()
    assert inspector.schema_banner.text().startswith("Does not match the AsyncAPI schema:")
    window.set_theme(then)
    qtbot.wait(10)  # the palette change events
    for widget in _texts(inspector):
        assert isinstance(widget, QLabel | QLineEdit)
        # The kind keeps the stream's colour in both themes and is bold: WCAG asks 3:1 of bold text, 4.5:1 of the rest.
        minimum = 3.0 if widget is inspector.fields["kind"] else 4.5
        assert contrast(widget) >= minimum, f"{widget.objectName() or widget.text()!r} is hard to read in {then}"
