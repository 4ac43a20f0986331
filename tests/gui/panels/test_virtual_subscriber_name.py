"""Adding a virtual subscriber: the suggested name follows the pattern as it is typed, until the user names it."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker
from eventdeck.gui.panels.subscribers_panel import SubscribersPanel
from tests.gui.gui_support import ShowPanel


@pytest.fixture
def panel(qtbot: QtBot, show_panel: ShowPanel) -> SubscribersPanel:
    panel = show_panel(SubscribersPanel, (420, 360))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert panel.form.isVisible()
    return panel


def retype(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Select all and type ``text`` over it, key by key, as a user does."""
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def test_the_name_follows_the_pattern_as_it_is_typed(qtbot: QtBot, panel: SubscribersPanel) -> None:
    form = panel.form
    assert form.name.text() == "virtual-1"
    qtbot.keyClicks(form.pattern, "fridge")
    assert form.name.text() == "virtual-fridge-1"
    qtbot.keyClicks(form.pattern, "/level")
    assert form.name.text() == "virtual-level-1"
    retype(qtbot, form.pattern, "user/#")
    assert form.name.text() == "virtual-user-1"


def test_a_taken_name_is_not_suggested(qtbot: QtBot, panel: SubscribersPanel, broker: Broker) -> None:
    broker.subscribe("fridge/level", name="virtual-level-1")
    qtbot.keyClicks(panel.form.pattern, "fridge/level")
    assert panel.form.name.text() == "virtual-level-2"


def test_a_name_the_user_typed_is_kept_until_they_empty_it(qtbot: QtBot, panel: SubscribersPanel) -> None:
    form = panel.form
    qtbot.keyClicks(form.pattern, "fridge/")
    retype(qtbot, form.name, "shopping-list")
    form.pattern.setFocus()
    qtbot.keyClicks(form.pattern, "level")
    assert form.name.text() == "shopping-list"
    retype(qtbot, form.name, "")  # emptied: the suggestion takes over again
    qtbot.keyClicks(form.pattern, "s")
    assert form.name.text() == "virtual-levels-1"
    retype(qtbot, form.name, "mine")
    qtbot.mouseClick(form.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)  # a new form follows the pattern again
    qtbot.keyClicks(form.pattern, "x")
    assert form.name.text() == "virtual-x-1"


def test_the_suggested_name_is_the_one_created(qtbot: QtBot, panel: SubscribersPanel, broker: Broker) -> None:
    qtbot.keyClicks(panel.form.pattern, "fridge/+/door")
    qtbot.keyClick(panel.form.pattern, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "virtual-door-1" in panel.virtuals, timeout=3000)
    assert broker.subscription("virtual-door-1").pattern == "fridge/+/door"
