"""The simulation's speed: Pause to 5x; the user's choice is reported, the window's own setting is not."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from eventdeck.gui.scenarios.speed_control import SpeedControl


@pytest.fixture
def speed(qtbot: QtBot) -> SpeedControl:
    control = SpeedControl("simulationSpeed")
    qtbot.addWidget(control)
    control.show()
    return control


def items(control: SpeedControl) -> list[str]:
    return [control.itemText(index) for index in range(control.count())]


def test_pause_to_five_times_starting_at_normal_speed(speed: SpeedControl) -> None:
    assert speed.objectName() == "simulationSpeed"  # the caller's name: the toolbar's and the presenter's differ
    assert items(speed) == ["Pause", "0.1x", "0.25x", "0.5x", "1x", "2x", "5x"]
    assert speed.speed == 1.0
    assert speed.toolTip()


def test_choosing_a_speed_reports_it(qtbot: QtBot, speed: SpeedControl) -> None:
    with qtbot.waitSignal(speed.speed_chosen, timeout=1000) as signal:
        speed.setCurrentIndex(items(speed).index("0.25x"))
    assert signal.args == [0.25]
    speed.setFocus()
    with qtbot.waitSignal(speed.speed_chosen, timeout=1000) as signal:
        qtbot.keyClick(speed, Qt.Key.Key_Home)  # the keyboard reaches it too: Home is Pause
    assert signal.args == [0.0]


def test_set_speed_shows_it_without_reporting_it_back(qtbot: QtBot, speed: SpeedControl) -> None:
    with qtbot.assertNotEmitted(speed.speed_chosen):
        speed.set_speed(5.0)
        speed.set_speed(0.0)
    assert speed.currentText() == "Pause"
    assert speed.speed == 0.0


def test_a_speed_not_listed_is_added_in_its_place(qtbot: QtBot, speed: SpeedControl) -> None:
    with qtbot.assertNotEmitted(speed.speed_chosen):
        speed.set_speed(3.0)  # after the current item
        speed.set_speed(1.0)
        speed.set_speed(0.75)  # before the current item: the index moves, still nothing reported
    assert items(speed) == ["Pause", "0.1x", "0.25x", "0.5x", "0.75x", "1x", "2x", "3x", "5x"]
    assert speed.currentText() == "0.75x"


@pytest.mark.parametrize("factor", [-1.0, 5.5, float("nan")])
def test_a_speed_out_of_range_is_refused_and_the_control_is_unchanged(speed: SpeedControl, factor: float) -> None:
    with pytest.raises(ValueError, match="from 0 \\(pause\\) to 5x"):
        speed.set_speed(factor)
    assert speed.speed == 1.0
    assert speed.count() == 7
