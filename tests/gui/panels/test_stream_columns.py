"""The stream's Payload column takes the room left; Channel and Publisher are as wide as their names, up to a cap."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView
from pytestqt.qtbot import QtBot

from eventdeck.core import Message
from eventdeck.gui.models.stream_model import CHANNEL_COLUMN, PAYLOAD_COLUMN, PUBLISHER_COLUMN, StreamModel
from eventdeck.gui.panels.stream_panel import StreamPanel
from tests.gui.gui_support import ShowPanel

WAIT = 3000
SIGNUP = {"username": "ada_lovelace", "name": "Ada Lovelace", "email": "ada@example.com"}
LONG_CHANNEL = "smartylighting/streetlights/1/0/event/lamp-7/lighting/measured"


@pytest.fixture
def panel(show_panel: ShowPanel) -> StreamPanel:
    return show_panel(lambda bridge: StreamPanel(bridge, StreamModel(1000)), (700, 400))  # the default dock's width


def sizes(panel: StreamPanel) -> list[int]:
    header = panel.view.horizontalHeader()
    return [header.sectionSize(column) for column in range(header.count())]


def fits(panel: StreamPanel, column: int, text: str) -> bool:
    """Is ``column`` wide enough to show ``text`` whole (with the cell's margins, 3 px a side)?"""
    return sizes(panel)[column] >= panel.view.fontMetrics().horizontalAdvance(text) + 6


def test_payload_takes_the_width_the_other_columns_leave(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch([Message.build("user/signedup", SIGNUP, publisher="signup-service") for _ in range(3)])
    qtbot.waitUntil(lambda: fits(panel, CHANNEL_COLUMN, "user/signedup"), timeout=WAIT)
    widths = sizes(panel)
    assert sum(widths) == panel.view.viewport().width()  # no gap, no horizontal scrolling
    assert widths[PAYLOAD_COLUMN] == max(widths)
    assert widths[PAYLOAD_COLUMN] >= 0.35 * panel.view.viewport().width()  # it was ~70 px of 680
    assert fits(panel, PUBLISHER_COLUMN, "signup-service")
    assert widths[CHANNEL_COLUMN] < 150  # no wider than its names need
    assert panel.view.horizontalHeader().sectionResizeMode(PAYLOAD_COLUMN) == QHeaderView.ResizeMode.Stretch


def test_a_long_channel_is_capped_and_payload_keeps_its_room(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch([Message.build(LONG_CHANNEL, SIGNUP, publisher="p")])
    qtbot.waitUntil(lambda: sizes(panel)[CHANNEL_COLUMN] == panel.fitted_cap(CHANNEL_COLUMN), timeout=WAIT)
    assert sizes(panel)[PAYLOAD_COLUMN] >= 150
    assert (
        panel.model.data(panel.model.index(0, CHANNEL_COLUMN), Qt.ItemDataRole.ToolTipRole) == LONG_CHANNEL
    )  # the tooltip has it all


def test_columns_shrink_back_after_clear_but_a_column_the_user_sized_stays(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch([Message.build(LONG_CHANNEL, SIGNUP, publisher="a-rather-long-publisher-name")])
    qtbot.waitUntil(lambda: sizes(panel)[CHANNEL_COLUMN] == panel.fitted_cap(CHANNEL_COLUMN), timeout=WAIT)
    panel.view.horizontalHeader().resizeSection(PUBLISHER_COLUMN, 77)  # as a drag of the user's does
    panel.clear()
    assert sizes(panel)[CHANNEL_COLUMN] < 100  # back to the header's width
    panel.model.append_batch([Message.build("kitchen/fridge/level", SIGNUP, publisher="another-long-publisher")])
    qtbot.waitUntil(lambda: fits(panel, CHANNEL_COLUMN, "kitchen/fridge/level"), timeout=WAIT)  # fitted again
    assert sizes(panel)[PUBLISHER_COLUMN] == 77
