"""The window's life on the qasync loop: errors in slots are shown, never fatal; closing ends it cleanly."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from eventdeck.gui.app import build_parser
from eventdeck.gui.controllers.window_runner import open_window
from eventdeck.gui.main_window import MainWindow


def main_window(qapp: QApplication) -> MainWindow | None:
    return next((w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)


def opened(
    argv: list[str], qtbot: QtBot, qloop: asyncio.AbstractEventLoop, qapp: QApplication, settings: QSettings
) -> tuple[MainWindow, asyncio.Future[int]]:
    """The window ``eventdeck ARGV`` opens (gateways off), once shown, and its run."""
    args = build_parser().parse_args([*argv, "--mqtt", "off", "--http", "off"])
    running = asyncio.ensure_future(open_window(args, settings), loop=qloop)
    qtbot.waitUntil(lambda: main_window(qapp) is not None, timeout=10_000)
    window = main_window(qapp)
    assert window is not None
    return window, running


def close(window: MainWindow, running: asyncio.Future[int], qtbot: QtBot) -> None:
    window.close()
    qtbot.waitUntil(running.done, timeout=10_000)
    assert running.result() == 0


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_is_shown_and_the_window_carries_on(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, qapp: QApplication, settings: QSettings
) -> None:
    window, running = opened(["--no-demo"], qtbot, qloop, qapp, settings)

    def broken_slot() -> None:
        raise RuntimeError("a slot failed on purpose")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: "a slot failed on purpose" in window.statusBar().currentMessage(), timeout=5000)
    assert window.isVisible()
    close(window, running, qtbot)


def test_scenario_flag_starts_that_one_and_closing_stops_it(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, qapp: QApplication, settings: QSettings
) -> None:
    window, running = opened(["--scenario", "iot-fleet"], qtbot, qloop, qapp, settings)
    assert not window.scenario_view.welcome.isVisible()  # the scenario is on its way: no start page flashes by
    assert window.statusBar().currentMessage() == "Starting the scenario iot-fleet…"
    qtbot.waitUntil(lambda: window.scenarios.scenario is not None, timeout=10_000)  # once the window has painted
    scenario = window.scenarios.scenario
    assert scenario is not None
    assert window.scenarios.source == "iot-fleet"
    assert not window.scenario_view.welcome.isVisible()
    assert window.asyncapi.document is not None
    assert window.asyncapi.document.title == "Greenhouse sensor fleet"
    close(window, running, qtbot)
    assert not scenario.simulation.running


def test_without_a_scenario_the_window_opens_on_its_start_page(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, qapp: QApplication, settings: QSettings
) -> None:
    settings.setValue("app/launched_before", True)  # not the first launch, which runs the household
    window, running = opened([], qtbot, qloop, qapp, settings)
    qtbot.waitUntil(window.scenario_view.welcome.isVisible, timeout=5000)
    assert window.scenarios.scenario is None
    close(window, running, qtbot)


def test_a_scenario_that_cannot_run_shows_why_and_the_start_page(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, qapp: QApplication, settings: QSettings, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.yaml"
    window, running = opened(["--scenario", str(missing)], qtbot, qloop, qapp, settings)
    qtbot.waitUntil(window.scenario_view.welcome.isVisible, timeout=5000)  # what to do instead
    problem = window.findChild(QMessageBox, "problemBox")
    assert problem is not None
    assert "missing.yaml" in problem.text() + problem.informativeText() + problem.detailedText()
    assert window.scenarios.scenario is None
    close(window, running, qtbot)


def test_the_garbage_collector_turned_off_for_the_start_is_back_on_once_the_window_has_painted(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, qapp: QApplication, settings: QSettings
) -> None:
    gc.collect()
    gc.disable()  # as eventdeck.gui.app.main does before the window's modules load
    try:
        window, running = opened(["--no-demo"], qtbot, qloop, qapp, settings)
        qtbot.waitUntil(gc.isenabled, timeout=5000)
        assert gc.get_freeze_count() > 0  # what the start made is out of the collector's way
        close(window, running, qtbot)
    finally:
        gc.unfreeze()
        gc.enable()
