"""Panel tests put their panel on screen one way (``show_panel``)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from eventdeck.gui.bridge import Bridge
from tests.gui.gui_support import ShowPanel


@pytest.fixture
def show_panel(qtbot: QtBot, bridge: Bridge) -> ShowPanel:
    return ShowPanel(qtbot, bridge)
