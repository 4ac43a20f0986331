"""The scenario in the window: the start page, File > Scenarios, drops, the clicker's keys, the presenter's caption,
and the story's highlights and the faults on the diagrams."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QMenu
from pytestqt.qtbot import QtBot

from eventdeck.core.simulation.catalogue import BUILT_IN
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.scenarios.story_controls import BEFORE
from tests.gui.controllers.test_scenarios import PLAIN, tiny
from tests.gui.gui_support import WAIT, publish, start_scenario


def drop(window: MainWindow, path: str) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(path)])
    event = QDropEvent(
        QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)


def test_the_start_page_shows_with_nothing_running_and_a_card_starts_its_scenario(
    qtbot: QtBot, scenario_window: MainWindow
) -> None:
    window = scenario_window
    welcome = window.scenario_view.welcome
    qtbot.waitUntil(welcome.isVisible, timeout=WAIT)
    assert welcome.objectName() == "welcomeView"
    assert list(welcome.cards) == [info.name for info in BUILT_IN]  # the household first
    area = welcome.geometry()
    for key in ("channels", "subscribers", "stream", "rates", "inspector", "composer"):
        assert area.contains(window.docks[key].geometry()), key  # it lies over every dock
    assert area.top() >= window.toolbar.geometry().bottom()  # the menus and the toolbar stay reachable
    assert area.bottom() < window.statusBar().geometry().top()
    card = welcome.cards["delivery-patterns"]
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=card.rect().center())
    qtbot.waitUntil(lambda: window.scenarios.source == "delivery-patterns", timeout=WAIT)
    assert not welcome.isVisible()
    assert window.scenario_view.story_toolbar.isVisible()


def test_view_start_page_shows_it_again_esc_and_traffic_put_it_away(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    view = window.scenario_view
    qtbot.waitUntil(view.welcome.isVisible, timeout=WAIT)
    publish(qtbot, window.bridge, "sensors/door", {"open": True})  # a client of the gateways, say: show it
    assert not view.welcome.isVisible()
    assert view.start_page_action in window.view_menu.actions()
    view.start_page_action.trigger()
    assert view.welcome.isVisible()
    publish(qtbot, window.bridge, "sensors/door", {"open": False})  # asked for: it stays
    assert view.welcome.isVisible()
    qtbot.keyClick(view.welcome, Qt.Key.Key_Escape)
    assert not view.welcome.isVisible()
    start_scenario(qtbot, window, "household")
    view.start_page_action.trigger()  # to pick another one while this one runs
    assert view.welcome.isVisible()
    view.welcome.cards["iot-fleet"].clicked.emit()
    qtbot.waitUntil(lambda: window.scenarios.source == "iot-fleet", timeout=WAIT)
    assert not view.welcome.isVisible()


def test_file_scenarios_lists_the_built_ins_open_and_the_recent_files(
    qtbot: QtBot, scenario_window: MainWindow, tmp_path: Path
) -> None:
    window = scenario_window
    menu = window.findChild(QMenu, "scenariosMenu")
    assert menu is not None
    assert window.file_menu.actions()[0] is menu.menuAction()
    texts = [action.text() for action in menu.actions() if not action.isSeparator()]
    assert texts == [*(info.title for info in BUILT_IN), "Open scenario…", "No recent scenario files"]
    next(a for a in menu.actions() if a.objectName() == "scenario_iot-fleet").trigger()
    qtbot.waitUntil(lambda: window.scenarios.source == "iot-fleet", timeout=WAIT)

    path = tiny(tmp_path)
    window.scenario_view.open_action.trigger()
    dialog = window.findChild(QFileDialog, "openScenarioDialog")
    assert dialog is not None
    dialog.fileSelected.emit(path)
    qtbot.waitUntil(lambda: window.scenarios.source == path, timeout=WAIT)
    menu.aboutToShow.emit()
    recent = [a for a in menu.actions() if a.objectName() == "recentScenario"]
    assert [(a.text(), a.toolTip()) for a in recent] == [("tiny.yaml", path)]

    plain = tmp_path / "plain.yaml"
    plain.write_text(PLAIN, encoding="utf-8")
    window.scenario_view.open_file(str(plain))  # no x-eventdeck fields: opened as a document, nothing runs
    assert window.asyncapi.document is not None
    assert window.asyncapi.document.title == "Plain"
    assert "plain.yaml has no x-eventdeck fields" in window.statusBar().currentMessage()
    assert window.scenarios.source == path


def test_a_dropped_scenario_runs_and_a_dropped_document_opens(
    qtbot: QtBot, scenario_window: MainWindow, tmp_path: Path
) -> None:
    window = scenario_window
    plain = tmp_path / "plain.yaml"
    plain.write_text(PLAIN, encoding="utf-8")
    drop(window, str(plain))
    assert window.asyncapi.document is not None
    assert window.asyncapi.document.title == "Plain"
    assert window.scenarios.scenario is None
    path = tiny(tmp_path)
    drop(window, path)
    qtbot.waitUntil(lambda: window.scenarios.source == path, timeout=WAIT)
    assert window.asyncapi.document.title == "Tiny pings"  # type: ignore[union-attr]


def test_clicker_keys_move_the_story_unless_a_text_field_has_them(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    scenario = start_scenario(qtbot, window, "household")
    player = scenario.player
    assert player is not None
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)
    view = window.scenario_view
    assert view.story_bar.hasFocus()  # a story takes the focus, so Space moves it at once
    assert view.next_key.isEnabled()

    def press(key: Qt.Key, index: int) -> None:
        qtbot.keyClick(window.stream.view, key)
        qtbot.waitUntil(lambda: player.index == index, timeout=WAIT)

    press(Qt.Key.Key_Space, 0)
    press(Qt.Key.Key_Right, 1)
    press(Qt.Key.Key_PageDown, 2)
    press(Qt.Key.Key_Left, 1)
    press(Qt.Key.Key_PageUp, 0)
    assert view.story_bar.index == 0
    filter_field = window.stream.text_edit
    filter_field.setFocus()
    qtbot.waitUntil(filter_field.hasFocus, timeout=WAIT)
    assert not view.next_key.isEnabled()
    qtbot.keyClicks(filter_field, "a b")
    qtbot.wait(50)
    assert filter_field.text() == "a b"  # the space was typed, the story did not move
    assert player.index == 0


def test_the_presenter_shows_the_story_large_and_its_keys_move_it(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    scenario = start_scenario(qtbot, window, "household")
    player = scenario.player
    assert player is not None
    window.resize(1920, 1080)
    window.present()
    presenter = window.presenter
    caption = presenter.caption
    qtbot.waitUntil(caption.isVisible, timeout=WAIT)
    assert caption.objectName() == "presenterCaption"
    assert caption.index == BEFORE
    assert caption.title.text().startswith("Story: How events flow through a household")
    assert not window.scenario_view.next_key.isEnabled()  # the presenter reads the keys itself
    qtbot.keyClick(presenter, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: caption.index == 0, timeout=WAIT)
    assert caption.title.text() == player.steps[0].title
    qtbot.mouseClick(caption.next_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: caption.index == 1, timeout=WAIT)
    qtbot.keyClick(presenter, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: caption.index == 0, timeout=WAIT)

    before = caption.title.font().pixelSize()
    presenter.findChild(object, "presenterFontLarger").click()  # type: ignore[union-attr]
    assert caption.font_scale > 1
    assert caption.title.font().pixelSize() > before

    presenter.step.setChecked(True)  # step mode: Next's keys move the held message, not the story
    qtbot.keyClick(presenter, Qt.Key.Key_Space)
    qtbot.wait(50)
    assert player.index == 0
    presenter.step.setChecked(False)
    window.leave_presentation()
    assert window.scenario_view.next_key.isEnabled()


def test_the_story_points_at_boxes_and_faults_are_written_on_them(qtbot: QtBot, scenario_window: MainWindow) -> None:
    window = scenario_window
    scenario = start_scenario(qtbot, window, "household")
    task = window.scenarios.next()  # step 1 points at the sign-up service and its channel
    assert task is not None
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert set(window.presenter.marks.highlights) == {"signup-service", "user/signedup"}
    window.docks["topology"].raise_()
    topology = window.topology
    qtbot.waitUntil(topology.isVisible, timeout=WAIT)
    qtbot.waitUntil(lambda: "c:user/signedup" in topology.node_items(), timeout=WAIT)
    assert topology.node_items()["c:user/signedup"].data(2) is True
    assert topology.node_items()["c:fridge/level"].data(2) is False

    menu = topology.menu_for("s:welcome-mailer")
    names = [action.objectName() for action in menu.actions()]
    assert {"fault_crash", "fault_slow", "fault_flaky", "fault_cutOff"} <= set(names)
    next(a for a in menu.actions() if a.objectName() == "fault_crash").trigger()
    window.bridge.take_snapshot()
    crashed = lambda: topology.node_items().get("s:welcome-mailer")  # noqa: E731
    qtbot.waitUntil(lambda: crashed() is not None and crashed().data(1) == "⚠ crashed", timeout=WAIT)  # type: ignore[union-attr]
    assert "welcome-mailer" not in {info.name for info in scenario.broker.subscriptions()}  # gone, yet drawn
    menu = topology.menu_for("s:welcome-mailer")
    clear = next(a for a in menu.actions() if a.objectName() == "topologyClearFault")
    assert clear.text().startswith("Clear fault: crashed")
    clear.trigger()
    assert window.scenarios.faults == []
    assert {a.objectName() for a in topology.menu_for("c:fridge/level").actions()} >= {"fault_drop", "fault_delay"}
    assert "fault_burst" in {a.objectName() for a in topology.menu_for("p:fridge-sensor").actions()}
    window.bridge.broker.subscribe("user/#", name="mine")  # a hand-made subscriber is no scenario's element
    assert not any(a.objectName().startswith("fault_") for a in topology.menu_for("s:mine").actions())

    window.present()
    presenter = window.presenter
    window.bridge.take_snapshot()
    qtbot.waitUntil(
        lambda: any(badge.key == "c:user/signedup" and badge.ring for badge in presenter.badges), timeout=WAIT
    )
    window.scenarios.request_fault("restartBroker", "")
    window.bridge.take_snapshot()
    qtbot.waitUntil(lambda: any(badge.key == "broker" for badge in presenter.badges), timeout=WAIT)


def test_a_saved_layout_does_not_bring_back_a_story_bar_without_a_story(
    qtbot: QtBot, scenario_window: MainWindow, settings: QSettings
) -> None:
    start_scenario(qtbot, scenario_window, "household")
    assert scenario_window.scenario_view.story_toolbar.isVisible()
    scenario_window.save_layout()  # the story bar was shown
    again = MainWindow(scenario_window.bridge, settings, ring_size=1_000)
    qtbot.addWidget(again)
    again.show()
    assert again.scenarios.scenario is None
    assert not again.scenario_view.story_toolbar.isVisible()
    assert again.scenario_view.welcome.isVisible()
