"""The window tells the Subscribers panel who shares each queue: a scenario's consumer pool here."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.models.subscriptions_model import NAME
from tests.gui.gui_support import WAIT, start_scenario


def test_a_consumer_pool_is_one_row_with_its_consumers(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    start_scenario(qtbot, window, "delivery-patterns")
    window.bridge.take_snapshot()
    model = window.subscribers.model
    qtbot.waitUntil(lambda: model.row_of("thumbnail-workers") is not None, timeout=WAIT)
    row = model.row_of("thumbnail-workers")
    assert row is not None
    assert model.index(row, NAME).data() == "thumbnail-workers · 3 members"
    assert window.scenarios.pools() == {"thumbnail-workers": [f"thumbnail-workers#{n}" for n in (1, 2, 3)]}
