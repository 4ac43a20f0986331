"""Restart the broker (Faults menu) in the window: on its durable store the durable queues come back and the
others are lost, without a store nothing survives; the stream shows both in one row, the marks say it short."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QFont
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker, Message
from eventdeck.core.simulation.scenario import Scenario
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.models.broker_restart import RESTART_CHANNEL
from eventdeck.gui.models.stream_model import CHANNEL_COLUMN, KIND_COLUMN, StreamModel
from eventdeck.gui.panels.stream_panel import ROW_HEIGHT
from tests.gui.gui_support import WAIT, start_scenario


@pytest.fixture
def stored_window(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, settings: QSettings, tmp_path: Path
) -> Iterator[MainWindow]:
    """The main window on a broker with a durable store in ``tmp_path``."""
    opening = qloop.create_task(Broker.on_store(tmp_path / "broker data"))
    qtbot.waitUntil(opening.done, timeout=WAIT)
    broker = opening.result()
    bridge = Bridge(broker)
    bridge.start()
    window = MainWindow(bridge, settings, ring_size=10_000)
    window.resize(1520, 900)
    window.show()
    yield window
    stopping = qloop.create_task(window.scenarios.stop())
    qtbot.waitUntil(stopping.done, timeout=WAIT)
    window.close()
    window.deleteLater()
    bridge.stop()
    closing = qloop.create_task(broker.close())
    qtbot.waitUntil(closing.done, timeout=WAIT)
    closing.result()


def backlogs(qtbot: QtBot, window: MainWindow) -> tuple[Scenario, int, int]:
    """The household with the durable shopping list crashed and the non-durable notifications paused, both
    with messages queued, its publishers then stopped: the two queues' counts as they stand."""
    scenario = start_scenario(qtbot, window, "household")
    window.scenarios.request_fault("crash", "shopping-list")
    notifications = scenario.broker.subscription("notifications")
    notifications.pause()
    shopping = scenario.broker.subscription("shopping-list")
    qtbot.waitUntil(lambda: shopping.pending >= 2 and notifications.pending >= 3, timeout=WAIT)
    window.scenarios.set_paused(True)
    qtbot.wait(100)  # what was on its way lands
    return scenario, shopping.pending, notifications.pending


def restart(qtbot: QtBot, window: MainWindow) -> str:
    """Restart the broker from the Faults menu; the fault's description."""
    action = next(a for a in window.findChildren(QAction, "fault_restartBroker") if a.data() == ("restartBroker", ""))
    cleared: list[bool] = []
    window.scenarios.cleared.connect(lambda: cleared.append(True))
    action.trigger()
    qtbot.waitUntil(lambda: any(kind == "restartBroker" for _i, kind, _t, _d in window.scenarios.faults), timeout=WAIT)
    assert not cleared  # the window keeps what it showed: the restart is a row in it
    ((_ident, _kind, _target, description),) = [f for f in window.scenarios.faults if f[1] == "restartBroker"]
    return description


def notice_row(model: StreamModel) -> int:
    (row,) = [row for row in range(model.rowCount()) if model.message_at(row).channel == RESTART_CHANNEL]
    return row


def pending_shown(window: MainWindow, name: str) -> int | None:
    model = window.subscribers.model
    row = model.row_of(name)
    return None if row is None else model.info_at(row).pending


def test_on_its_store_durable_queues_come_back_and_the_stream_and_marks_say_so(
    qtbot: QtBot, stored_window: MainWindow
) -> None:
    window = stored_window
    scenario, kept, lost = backlogs(qtbot, window)
    description = restart(qtbot, window)
    assert description.startswith(f"broker restarted: kept 1 durable queue with {kept} messages")
    assert scenario.broker.subscription("shopping-list").pending == kept  # still away, its queue back
    assert scenario.broker.subscription("notifications").pending == 0
    window.bridge.take_snapshot()
    qtbot.waitUntil(lambda: pending_shown(window, "shopping-list") == kept, timeout=WAIT)
    assert pending_shown(window, "notifications") == 0

    model, view = window.stream_model, window.stream.view
    row = notice_row(model)
    notice = model.message_at(row)
    assert row > 0  # after what the stream showed before: nothing was cleared
    assert all(model.message_at(earlier).timestamp <= notice.timestamp for earlier in range(row))
    text = model.index(row, KIND_COLUMN).data()
    back, gone = text.split("\n")
    assert back == f"⟳ restarted on its store — back: shopping-list ({kept:,} queued)"
    assert gone == f"lost (not durable): notifications ({lost:,} queued)"
    assert model.index(row, CHANNEL_COLUMN).data() == "broker"
    tooltip = model.index(row, KIND_COLUMN).data(Qt.ItemDataRole.ToolTipRole)
    assert f"Back from the store:\n  shopping-list ({kept:,} queued)" in tooltip
    assert f"Lost with its memory:\n  notifications ({lost:,} queued)" in tooltip
    font = model.index(row, KIND_COLUMN).data(Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont)
    assert font.bold()
    assert view.columnSpan(row, KIND_COLUMN) == len(StreamModel.COLUMNS) - KIND_COLUMN  # across the row
    assert view.rowHeight(row) == 2 * ROW_HEIGHT

    assert window.presenter.marks.fault_text("broker") == "⚠ restarted: kept 1 queue on disk"
    assert window.topology.marks.fault_text("broker") == "⚠ restarted: kept 1 queue on disk"
    assert window.recordings.shown_messages()[-1].channel != RESTART_CHANNEL  # a recording has messages only


def test_without_a_store_nothing_survives_and_the_stream_says_what_was_lost(
    qtbot: QtBot, scenario_window: MainWindow
) -> None:
    scenario, shopping, notifications = backlogs(qtbot, scenario_window)
    assert restart(qtbot, scenario_window).startswith("broker restarted: nothing survived")
    assert f"lost {shopping + notifications:,} queued messages" in scenario_window.scenarios.faults[-1][3]
    window = scenario_window
    assert scenario.broker.subscription("notifications").pending == 0  # the simulation subscribed again
    assert scenario.broker.subscription("shopping-list").pending == 0  # durable, but nothing kept it
    window.bridge.take_snapshot()
    qtbot.waitUntil(lambda: pending_shown(window, "shopping-list") == 0, timeout=WAIT)
    assert pending_shown(window, "notifications") == 0

    model = window.stream_model
    text = model.index(notice_row(model), KIND_COLUMN).data()
    first, gone = text.split("\n")
    assert first == "⟳ restarted in memory — nothing survived"
    queues = sorted([("notifications", notifications), ("shopping-list", shopping)], key=lambda q: -q[1])
    assert gone.startswith("lost: " + ", ".join(f"{name} ({count:,} queued)" for name, count in queues))
    assert window.presenter.marks.fault_text("broker") == "⚠ restarted: nothing survived"


def test_a_restart_row_shows_whatever_the_filters_and_is_written_across_again(
    qtbot: QtBot, stored_window: MainWindow
) -> None:
    window = stored_window
    backlogs(qtbot, window)
    restart(qtbot, window)
    panel, model = window.stream, window.stream_model
    panel.set_channel_pattern("fridge/#")  # no filter hides a broker restart: every channel kept or lost
    panel.text_edit.setText("no such text")
    panel.kind_buttons[next(iter(panel.kind_buttons))].setChecked(False)
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=WAIT)
    assert model.message_at(0).channel == RESTART_CHANNEL
    assert panel.view.columnSpan(0, KIND_COLUMN) == len(StreamModel.COLUMNS) - KIND_COLUMN
    assert panel.view.rowHeight(0) == 2 * ROW_HEIGHT
    assert isinstance(model.message_at(0), Message)
