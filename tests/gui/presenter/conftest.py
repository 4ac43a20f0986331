"""The presenter's tests share the main window, at 1920x1080, with the presenter shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.presenter.view import PresenterView
from tests.gui.gui_support import WAIT, shown_window


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000))


@pytest.fixture
def presenter(qtbot: QtBot, window: MainWindow) -> PresenterView:
    window.resize(1920, 1080)
    window.present()
    qtbot.waitUntil(window.presenter.isVisible, timeout=WAIT)
    window.presenter.flow.per_edge = 1_000  # every message of a test gets its dot
    return window.presenter
