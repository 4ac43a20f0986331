"""Faults in one click: the Faults menu, one element's fault actions, and the status bar's badge."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QStatusBar
from pytestqt.qtbot import QtBot

from eventdeck.core.simulation.story import ActionKind
from eventdeck.gui.scenarios.fault_widgets import (
    BURST_TEXT,
    CHANNEL,
    PUBLISHER,
    SUBSCRIBER,
    FaultBadge,
    FaultsMenu,
    context_actions,
)

FAULT_KINDS = {
    ActionKind.CRASH,
    ActionKind.SLOW,
    ActionKind.FLAKY,
    ActionKind.CUT_OFF,
    ActionKind.DROP,
    ActionKind.DUPLICATE,
    ActionKind.DELAY,
    ActionKind.BURST,
    ActionKind.RESTART_BROKER,
}
ACTIVE = [(7, "crash", "lights", "lights crashed"), (9, "drop", "door/opened", "dropping 3 messages on door/opened")]


def entries(menu: QMenu) -> list[str]:
    """The menu's entries as a reader sees them: submenus as ``Title ▸``, separators left out."""
    return [
        f"{action.text()} ▸" if action.menu() else action.text()
        for action in menu.actions()
        if not action.isSeparator()
    ]


def submenu(menu: QMenu, title: str) -> QMenu:
    for action in menu.actions():
        if action.menu() and action.text() == title:
            found = action.menu()
            assert isinstance(found, QMenu)
            return found
    raise AssertionError(f"no submenu {title!r} in {entries(menu)}")


def trigger(menu: QMenu, text: str) -> None:
    matches = [action for action in menu.actions() if action.text() == text]
    assert matches, f"no {text!r} in {entries(menu)}"
    matches[0].trigger()


@pytest.fixture
def menu(qtbot: QtBot) -> FaultsMenu:
    menu = FaultsMenu()
    qtbot.addWidget(menu)
    return menu


def test_short_lists_are_spelled_out_in_plain_words(menu: FaultsMenu) -> None:
    assert menu.objectName() == "faultsMenu"
    menu.set_elements(["lights", "alarm"], ["door/opened"], [])
    assert entries(menu) == [
        "Crash lights",
        "Slow down lights",
        "Make lights flaky",
        "Cut lights off",
        "Crash alarm",
        "Slow down alarm",
        "Make alarm flaky",
        "Cut alarm off",
        "Drop the next 3 messages on door/opened",
        "Duplicate the next 3 messages on door/opened",
        "Delay the next 3 messages on door/opened by 3 s",
        "Publisher burst (x10 for 5 s)",
        "Restart the broker",
        "No active faults",
        "Clear all faults",
    ]
    assert all(action.toolTip() for action in menu.actions() if action.objectName().startswith("fault_"))


def test_each_entry_asks_for_its_fault_by_the_storys_kind(qtbot: QtBot, menu: FaultsMenu) -> None:
    menu.set_elements(["lights"], ["door/opened"], [])
    asked: list[tuple[str, str]] = []
    menu.fault_requested.connect(lambda kind, target: asked.append((kind, target)))
    for action in menu.actions():
        if action.objectName().startswith("fault_"):
            action.trigger()
    assert asked == [
        ("crash", "lights"),
        ("slow", "lights"),
        ("flaky", "lights"),
        ("cutOff", "lights"),
        ("drop", "door/opened"),
        ("duplicate", "door/opened"),
        ("delay", "door/opened"),
        ("burst", ""),  # every publisher
        ("restartBroker", ""),
    ]
    assert {ActionKind(kind) for kind, _target in asked} == FAULT_KINDS


def test_long_lists_get_a_submenu_per_kind_and_element(qtbot: QtBot, menu: FaultsMenu) -> None:
    subscribers = ["lights", "alarm", "phone", "heating"]
    channels = ["door/opened", "door/closed", "temperature"]
    menu.set_elements(subscribers, channels, ["door sensor", "thermostat"])
    assert entries(menu)[:4] == ["Subscribers (4) ▸", "Channels (3) ▸", f"{BURST_TEXT} ▸", "Restart the broker"]
    people = submenu(menu, "Subscribers (4)")
    assert entries(people) == [f"{name} ▸" for name in subscribers]
    assert entries(submenu(people, "phone")) == ["Crash phone", "Slow down phone", "Make phone flaky", "Cut phone off"]
    bursts = submenu(menu, BURST_TEXT)
    assert entries(bursts) == [
        "Every publisher",
        "Burst from door sensor (x10 for 5 s)",
        "Burst from thermostat (x10 for 5 s)",
    ]
    asked: list[tuple[str, str]] = []
    menu.fault_requested.connect(lambda kind, target: asked.append((kind, target)))
    trigger(submenu(people, "phone"), "Cut phone off")
    trigger(submenu(submenu(menu, "Channels (3)"), "temperature"), "Delay the next 3 messages on temperature by 3 s")
    trigger(bursts, "Burst from thermostat (x10 for 5 s)")
    trigger(bursts, "Every publisher")
    assert asked == [("cutOff", "phone"), ("delay", "temperature"), ("burst", "thermostat"), ("burst", "")]


def test_with_nothing_yet_it_says_what_to_do(menu: FaultsMenu) -> None:
    assert entries(menu)[:2] == ["No subscribers yet: start a scenario", "No channels yet: start a scenario"]
    assert not menu.actions()[0].isEnabled()


def test_active_faults_can_be_cleared_one_by_one_or_all(qtbot: QtBot, menu: FaultsMenu) -> None:
    menu.set_elements(["lights"], [], [])
    menu.set_active(ACTIVE)
    assert entries(menu)[-3:] == [
        "Clear: lights crashed",
        "Clear: dropping 3 messages on door/opened",
        "Clear all faults",
    ]
    with qtbot.waitSignal(menu.clear_requested, timeout=1000) as signal:
        trigger(menu, "Clear: dropping 3 messages on door/opened")
    assert signal.args == [9]
    with qtbot.waitSignal(menu.clear_all_requested, timeout=1000):
        trigger(menu, "Clear all faults")
    menu.set_active([])
    clear_all = [action for action in menu.actions() if action.text() == "Clear all faults"]
    assert not clear_all[0].isEnabled()


def test_rebuilding_leaves_no_stale_submenus(qtbot: QtBot, menu: FaultsMenu) -> None:
    many = [f"s{n}" for n in range(5)]
    for _ in range(3):
        menu.set_elements(many, many, many)
    qtbot.wait(1)  # the replaced submenus are deleted once control returns to the event loop
    assert len(menu.findChildren(QMenu, options=Qt.FindChildOption.FindDirectChildrenOnly)) == 3


def test_names_are_shown_as_written(menu: FaultsMenu) -> None:
    menu.set_elements(["salt & pepper"], [], [])
    assert menu.actions()[0].text() == "Crash salt && pepper"  # Qt shows one &, not a shortcut


def test_context_actions_for_the_topologys_right_click_menu(qtbot: QtBot) -> None:
    asked: list[tuple[str, str]] = []
    popup = QMenu()
    qtbot.addWidget(popup)
    actions = context_actions(SUBSCRIBER, "alarm", lambda kind, target: asked.append((kind, target)), popup)
    assert [a.text() for a in actions] == ["Crash alarm", "Slow down alarm", "Make alarm flaky", "Cut alarm off"]
    assert context_actions(CHANNEL, "door/opened", print, popup)[0].text() == "Drop the next 3 messages on door/opened"
    assert [a.data() for a in context_actions(PUBLISHER, "door sensor", print, popup)] == [("burst", "door sensor")]
    popup.addActions(actions)
    actions[0].trigger()
    assert asked == [("crash", "alarm")]
    with pytest.raises(ValueError, match="no faults for a 'broker': the kinds are subscriber, channel, publisher"):
        context_actions("broker", "x", print, popup)


def test_the_badge_hides_without_faults_and_counts_them(qtbot: QtBot) -> None:
    status = QStatusBar()
    qtbot.addWidget(status)
    badge = FaultBadge()
    status.addPermanentWidget(badge)  # as the window does: the bar shows its widgets, unless hidden on purpose
    status.show()
    assert badge.objectName() == "status_faults"
    assert not badge.isVisible()
    assert badge.text() == "No faults"
    badge.set_faults(ACTIVE[:1])
    assert badge.isVisible()
    assert badge.text() == "⚠ 1 fault active"
    badge.set_faults(ACTIVE)
    assert badge.text() == "⚠ 2 faults active"
    assert badge.toolTip().splitlines() == [
        "• lights crashed",
        "• dropping 3 messages on door/opened",
        "Click to clear them",
    ]
    badge.set_faults([])
    assert not badge.isVisible()


@pytest.mark.qt_log_ignore("does not support grabbing the keyboard")  # a popup, offscreen
def test_a_click_on_the_badge_lists_the_faults_to_clear(qtbot: QtBot) -> None:
    badge = FaultBadge()
    qtbot.addWidget(badge)
    badge.move(400, 600)
    badge.show()
    badge.set_faults(ACTIVE)
    qtbot.mouseClick(badge, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(badge.popup.isVisible, timeout=1000)
    assert badge.popup.geometry().bottom() <= badge.mapToGlobal(QPoint(0, 0)).y()  # above: it is in the status bar
    assert entries(badge.popup) == [
        "Clear: lights crashed",
        "Clear: dropping 3 messages on door/opened",
        "Clear all faults",
    ]
    with qtbot.waitSignal(badge.clear_requested, timeout=1000) as signal:
        trigger(badge.popup, "Clear: lights crashed")
    assert signal.args == [7]
    with qtbot.waitSignal(badge.clear_all_requested, timeout=1000):
        trigger(badge.popup, "Clear all faults")
    badge.set_faults([])  # the window reports them gone: the list closes with the badge
    assert not badge.popup.isVisible()


def test_every_fault_action_is_a_qaction_with_its_kind_and_target(qtbot: QtBot, menu: FaultsMenu) -> None:
    menu.set_elements(["lights"], ["door/opened"], [])
    faults = [a for a in menu.actions() if a.objectName().startswith("fault_")]
    assert all(isinstance(a, QAction) for a in faults)
    assert [a.data() for a in faults][-2:] == [("burst", ""), ("restartBroker", "")]
