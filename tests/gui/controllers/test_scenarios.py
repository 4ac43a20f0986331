"""The running scenario in the window: start, switch, a bad file, Reset (measured), faults, speed, a connector."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker
from eventdeck.core.connectors.backend import EmbeddedBackend
from eventdeck.gui.controllers.scenarios import NO_SCENARIO, UNAVAILABLE, has_scenario_fields
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.scenarios.fault_widgets import NEXT_COUNT
from tests.gui.gui_support import WAIT, start_scenario

TINY = """\
asyncapi: 3.0.0
info:
  title: Tiny pings
  version: 1.0.0
channels:
  ping:
    address: ping
    messages:
      ping:
        payload: {type: object}
operations:
  sendPing:
    action: send
    channel: {$ref: "#/channels/ping"}
    x-eventdeck-publisher: {name: pinger, rate: RATE}
  takePing:
    action: receive
    channel: {$ref: "#/channels/ping"}
    x-eventdeck-subscriber: {name: ponger}
"""
PLAIN = "asyncapi: 3.0.0\ninfo: {title: Plain, version: 1.0.0}\nchannels:\n  ping: {address: ping}\n"


def tiny(tmp_path: Path, rate: str = "5", name: str = "tiny.yaml") -> str:
    path = tmp_path / name
    path.write_text(TINY.replace("RATE", rate), encoding="utf-8")
    return str(path)


def action_named(window: MainWindow, name: str, data: object) -> QAction:
    found = [a for a in window.findChildren(QAction, name) if a.data() == data]
    assert found, f"no {name} action for {data!r}"
    return found[0]


def test_a_built_in_runs_with_its_document_and_the_toolbar_offers_pause_speed_and_reset(
    qtbot: QtBot, scenario_window: MainWindow
) -> None:
    window = scenario_window
    assert not window.simulation_action.isEnabled()  # nothing runs yet, and the tooltip says what to do
    assert "File > Scenarios" in window.simulation_action.toolTip()
    scenario = start_scenario(qtbot, window, "online-shop")
    assert window.scenarios.source == "online-shop"
    assert window.asyncapi.document is not None
    assert window.asyncapi.document.title == scenario.title == "Online shop: an order's journey"  # validation, too
    assert window.windowTitle() == "EventDeck — Online shop: an order's journey"
    for action in (window.simulation_action, window.scenario_view.reset_action):
        assert action.isEnabled()
    assert window.simulation_action.objectName() == "simulationToggle"
    assert window.simulation_action.text() == "Pause scenario"
    assert window.scenario_view.speed.objectName() == "simulationSpeed"
    assert window.scenario_view.reset_action.objectName() == "scenarioReset"
    qtbot.waitUntil(lambda: window.stream_model.rowCount() > 0, timeout=WAIT)


def test_switching_stops_the_old_one_and_starts_from_an_empty_broker(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    household = start_scenario(qtbot, window, "household")
    qtbot.waitUntil(lambda: window.stream_model.rowCount() > 3, timeout=WAIT)
    fleet = start_scenario(qtbot, window, "iot-fleet")
    assert fleet is not household
    assert not household.simulation.running
    broker = fleet.broker
    assert not broker.knows_channel("fridge/level")  # the household's channels went with it
    assert "shopping-list" not in {info.name for info in broker.subscriptions()}
    rows = [window.stream_model.message_at(row) for row in range(window.stream_model.rowCount())]
    assert all(message.channel.startswith("farm/") for message in rows)  # none of the household's messages


def test_a_bad_scenario_file_shows_its_file_line_and_reason_and_changes_nothing(
    qtbot: QtBot, scenario_window: MainWindow, tmp_path: Path
) -> None:
    window = scenario_window
    running = start_scenario(qtbot, window, "household")
    bad = tiny(tmp_path, rate="fast", name="bad.yaml")
    assert window.scenarios.start(bad) is None
    box = window.host.problem_box
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert not box.isModal()  # the broker goes on behind it
    assert box.text() == "This scenario cannot run"
    assert box.informativeText() == f"{bad}, line 15: #/operations/sendPing/x-eventdeck-publisher/rate: " + (
        "'rate' must be a number from 0 to 1000, got 'fast'"
    )
    assert window.scenarios.scenario is running
    assert running.simulation.running
    assert window.scenarios.recent.paths == []  # a file that did not run is not a recent one
    nowhere = str(tmp_path / "nowhere.yaml")
    assert window.scenarios.start(nowhere) is None
    missing = window.host.problem_box
    assert missing is not None
    assert missing.informativeText().startswith(f"{nowhere}: no such file, and no built-in scenario of that name")
    assert window.scenarios.scenario is running


def test_a_file_scenario_runs_and_is_remembered_as_recent(
    qtbot: QtBot, scenario_window: MainWindow, tmp_path: Path
) -> None:
    window = scenario_window
    path = tiny(tmp_path)
    assert has_scenario_fields(path) is True
    scenario = start_scenario(qtbot, window, path)
    assert scenario.title == "Tiny pings"
    assert window.scenarios.recent.paths == [path]
    assert [card.title.text() for card in window.scenario_view.welcome.recent_cards] == ["tiny.yaml"]
    qtbot.waitUntil(lambda: window.stream_model.rowCount() > 0, timeout=WAIT)
    assert window.stream_model.message_at(0).publisher == "pinger"


def test_reset_returns_to_the_start_in_under_a_second(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    scenario = start_scenario(qtbot, window, "household")
    player = scenario.player
    assert player is not None
    for _ in range(4):  # step 4: the shopping list is paused and its queue grows, the publishers all run
        task = window.scenarios.next()
        assert task is not None
        qtbot.waitUntil(task.done, timeout=WAIT)
    window.scenarios.request_fault("crash", "welcome-mailer")
    qtbot.waitUntil(lambda: scenario.broker.subscription("shopping-list").pending > 2, timeout=WAIT)
    qtbot.waitUntil(lambda: window.stream_model.rowCount() > 10, timeout=WAIT)
    assert window.scenario_view.badge.isVisible()

    began = time.time()
    with qtbot.waitSignal(window.scenarios.reset_done, timeout=WAIT) as done:
        window.scenario_view.reset_action.trigger()
    seconds = done.args[0]
    print(f"\nReset took {seconds * 1000:.1f} ms (household, story at step 4, a fault active)")
    assert seconds < 1.0
    assert window.scenarios.last_reset == seconds
    assert window.statusBar().currentMessage() == f"Reset in {seconds * 1000:,.0f} ms"
    assert player.index == 0  # a story that had begun is back at its first step, which ran again
    assert window.scenario_view.story_bar.counter.text() == "Step 1 of 9"
    assert window.scenarios.faults == []
    assert not window.scenario_view.badge.isVisible()
    stats = scenario.broker.stats()
    assert stats.published <= 3  # counters from zero: only what step 1 sent since
    assert scenario.broker.subscription("shopping-list").pending == 0
    assert scenario.simulation.published.total() <= 1
    qtbot.waitUntil(lambda: window.stream_model.rowCount() > 0, timeout=WAIT)
    rows = [window.stream_model.message_at(row) for row in range(window.stream_model.rowCount())]
    assert all(message.timestamp >= began for message in rows)  # the stream was cleared
    first = rows[0]
    assert first.json()["name"] == "Ada Lovelace"  # step 1's event stays, and comes first
    assert (first.channel, first.publisher) == ("user/signedup", "signup-service")


def test_faults_from_the_menu_show_in_the_badge_and_on_the_boxes_and_clear(
    qtbot: QtBot, scenario_window: MainWindow
) -> None:
    window = scenario_window
    scenario = start_scenario(qtbot, window, "household")
    menu = window.scenario_view.faults_menu
    assert menu.objectName() == "faultsMenu"
    assert menu.menuAction() in window.menuBar().actions()
    action_named(window, "fault_crash", ("crash", "welcome-mailer")).trigger()
    action_named(window, "fault_drop", ("drop", "fridge/level")).trigger()
    badge = window.scenario_view.badge
    assert badge.isVisible()
    assert badge.text() == "⚠ 2 faults active"
    assert window.statusBar().isAncestorOf(badge)
    assert {kind for _ident, kind, _target, _text in window.scenarios.faults} == {"crash", "drop"}
    assert scenario.simulation.consumer("welcome-mailer") is not None
    assert f"drops the next {NEXT_COUNT} messages on fridge/level" in badge.toolTip()
    marks = window.presenter.marks
    assert marks.fault_text("s:welcome-mailer") == "⚠ crashed"
    assert marks.fault_text("c:fridge/level") == "⚠ dropping"
    assert window.topology.marks == marks

    clear = [a for a in badge.popup.actions() if a.objectName() == "faultClear"]
    assert len(clear) == 2
    clear[0].trigger()
    assert len(window.scenarios.faults) == 1
    clear_all = next(a for a in badge.popup.actions() if a.objectName() == "faultClearAll")
    clear_all.trigger()
    assert window.scenarios.faults == []
    assert not badge.isVisible()
    assert window.presenter.marks.fault_text("s:welcome-mailer") == ""


def test_a_fault_that_cannot_be_is_refused_in_words(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    window.scenarios.request_fault("crash", "welcome-mailer")
    assert window.statusBar().currentMessage() == f"⚠ {NO_SCENARIO}"
    start_scenario(qtbot, window, "household")
    window.scenarios.request_fault("crash", "nobody")
    assert "crash nobody: " in window.statusBar().currentMessage()
    assert "no subscriber or responder named 'nobody'" in window.statusBar().currentMessage()
    window.scenarios.request_fault("publish", "fridge/level")
    assert "'publish' is a story action, not a fault" in window.statusBar().currentMessage()
    assert window.scenarios.faults == []


def test_speed_and_pause_from_the_toolbar(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    scenario = start_scenario(qtbot, window, "household", speed=1.0)
    speed, toggle = window.scenario_view.speed, window.simulation_action
    speed.setCurrentIndex(speed.findText("2x"))
    assert scenario.speed == 2.0
    assert window.presenter.speed.currentText() == "2x"  # the presenter's speed follows
    speed.setCurrentIndex(speed.findText("Pause"))
    assert scenario.paused
    assert toggle.isChecked()
    assert toggle.text() == "Resume scenario"
    toggle.trigger()
    assert not scenario.paused
    assert toggle.text() == "Pause scenario"
    assert speed.currentText() == "2x"
    toggle.trigger()
    assert speed.currentText() == "Pause"
    speed.setCurrentIndex(speed.findText("0.1x"))
    assert (scenario.speed, scenario.paused) == (0.1, False)


def test_under_a_connector_scenario_actions_are_off_and_say_why(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    view = window.scenario_view
    start_scenario(qtbot, window, "household")
    embedded = window.connections.embedded
    other = EmbeddedBackend(Broker(), name="mqtt://elsewhere:1883")
    window.bridge.set_backend(other)
    try:
        for action in (window.simulation_action, view.reset_action, view.open_action, *view.built_in_actions):
            assert not action.isEnabled()
        assert window.simulation_action.toolTip() == UNAVAILABLE
        assert not view.speed.isEnabled()
        assert view.speed.toolTip() == UNAVAILABLE
        assert not view.faults_menu.menuAction().isEnabled()
        assert not view.story_toolbar.isVisible()
        assert not view.welcome.isVisible()
        assert window.scenarios.start("iot-fleet") is None
        assert UNAVAILABLE in window.statusBar().currentMessage()
    finally:
        window.bridge.set_backend(embedded)
    assert window.simulation_action.isEnabled()
    assert view.story_toolbar.isVisible()
    assert window.windowTitle() == "EventDeck — EventDeck demo household"
