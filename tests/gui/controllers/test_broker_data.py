"""The window's broker on a durable store: kept across a close and reopen, refused folders shown in a banner
(the window opens in memory, the file untouched), File > Broker data… and its Clear, scenarios start empty."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker
from eventdeck.core.store import FILE_NAME, Store
from eventdeck.gui.app import build_parser
from eventdeck.gui.controllers.broker_data_dialog import BrokerDataDialog
from eventdeck.gui.controllers.window_runner import open_window
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.widgets.banner import Banner

WAIT = 10_000
NO_GATEWAYS = ["--mqtt", "off", "--http", "off"]


class RunningWindow:
    """``open_window`` running on the test's loop, and the window it shows."""

    def __init__(self, qtbot: QtBot, qloop: asyncio.AbstractEventLoop, settings: QSettings, argv: list[str]) -> None:
        self.qtbot, self.qloop = qtbot, qloop
        self.task = asyncio.ensure_future(open_window(build_parser().parse_args(argv), settings), loop=qloop)
        qtbot.waitUntil(lambda: self._shown() is not None, timeout=WAIT)
        window = self._shown()
        assert window is not None
        self.window = window

    @staticmethod
    def _shown() -> MainWindow | None:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)

    @property
    def broker(self) -> Broker:
        return self.window.bridge.broker

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        task = self.qloop.create_task(coro)
        self.qtbot.waitUntil(task.done, timeout=WAIT)
        return task.result()

    def banner(self) -> Banner | None:
        return self.window.findChild(Banner, "brokerDataBanner")

    def open_dialog(self) -> BrokerDataDialog:
        action = next(a for a in self.window.actions() if a.objectName() == "brokerDataAction")
        action.trigger()
        dialog = self.window.findChild(BrokerDataDialog, "brokerDataDialog")
        assert dialog is not None
        assert dialog.isVisible()
        return dialog

    def close(self) -> None:
        self.window.close()
        self.qtbot.waitUntil(self.task.done, timeout=WAIT)
        assert self.task.result() == 0
        self.window.deleteLater()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "broker data"


@pytest.fixture
def run_window(qtbot: QtBot, qloop: asyncio.AbstractEventLoop, settings: QSettings) -> Iterator[Any]:
    settings.setValue("app/launched_before", True)  # the start page, not the demo
    opened: list[RunningWindow] = []

    def run(*argv: str) -> RunningWindow:
        running = RunningWindow(qtbot, qloop, settings, [*NO_GATEWAYS, *argv])
        opened.append(running)
        return running

    yield run
    for running in opened:
        if not running.task.done():
            running.close()


def label(dialog: BrokerDataDialog, key: str) -> str:
    found = dialog.findChild(QLabel, f"brokerData_{key}")
    assert found is not None
    return found.text()


async def backlog(broker: Broker, count: int) -> None:
    """A durable subscription whose consumer went away, with ``count`` messages waiting for it."""
    broker.subscribe("orders/#", name="audit", durable=True).close()
    for n in range(count):
        await broker.publish("orders/placed", {"n": n})


def test_a_durable_subscriptions_backlog_survives_closing_and_reopening_the_window(run_window: Any, data: Path) -> None:
    first = run_window("--data", str(data))
    assert first.broker.store is not None
    assert first.broker.store.directory == data
    first.run(backlog(first.broker, 3))
    first.close()

    second = run_window("--data", str(data))
    kept = {info.name: info for info in second.broker.subscriptions()}
    assert kept["audit"].pending == 3
    assert second.banner() is None
    second.close()


def test_without_data_the_store_is_in_the_app_data_folder_of_the_test(run_window: Any, isolated_app_data: Path) -> None:
    running = run_window()
    store = running.broker.store
    assert store is not None
    assert store.directory.is_relative_to(isolated_app_data)
    assert store.directory.name == "broker"


def test_a_folder_another_eventdeck_uses_gives_a_banner_and_a_broker_in_memory(
    run_window: Any, qtbot: QtBot, qloop: asyncio.AbstractEventLoop, data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    opening = qloop.create_task(Store.open(data))
    qtbot.waitUntil(opening.done, timeout=WAIT)
    other = opening.result()
    try:
        running = run_window("--data", str(data))
        assert running.broker.store is None
        banner = running.banner()
        assert banner is not None
        assert banner.isVisible()
        text = banner.message.text()
        assert str(data) in text
        assert "another EventDeck" in text
        assert "--data" in text
        assert "in memory" in text
        assert any("broker data not kept" in record.getMessage() for record in caplog.records)
        dialog = running.open_dialog()
        status = dialog.findChild(QLabel, "brokerDataStatus")
        assert status is not None
        assert "another EventDeck" in status.text()
        headline = dialog.findChild(QLabel, "brokerDataHeadline")
        assert headline is not None
        assert headline.text().startswith("In memory")
        assert not dialog.rows["queued"].isVisible()  # nothing to count
        clear = dialog.findChild(QPushButton, "brokerDataClear")
        assert clear is not None
        assert not clear.isEnabled()
        running.close()
    finally:
        closing = qloop.create_task(other.close())
        qtbot.waitUntil(closing.done, timeout=WAIT)


def test_a_foreign_file_gives_a_banner_with_the_reason_and_stays_as_it_was(run_window: Any, data: Path) -> None:
    data.mkdir()
    foreign = data / FILE_NAME
    foreign.write_bytes(b"my own notes, not a database\n")
    running = run_window("--data", str(data))
    assert running.broker.store is None
    banner = running.banner()
    assert banner is not None
    assert str(foreign) in banner.message.text()
    assert "not an SQLite database" in banner.message.text()
    running.close()
    assert foreign.read_bytes() == b"my own notes, not a database\n"


def test_the_dialog_shows_the_data_and_clear_empties_the_broker_and_the_panels(
    run_window: Any, qtbot: QtBot, data: Path
) -> None:
    running = run_window("--data", str(data))
    window = running.window
    running.run(backlog(running.broker, 2))
    running.run(running.broker.publish("lights/hall", "on", retain=True))
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 3, timeout=WAIT)
    dialog = running.open_dialog()
    location = dialog.findChild(QLabel, "brokerDataLocation")
    assert location is not None
    assert location.text() == str(data)
    qtbot.waitUntil(lambda: label(dialog, "queued") == "2", timeout=WAIT)
    assert (label(dialog, "subscriptions"), label(dialog, "retained"), label(dialog, "sessions")) == ("1", "1", "0")
    assert "cap" in label(dialog, "size")

    clear = dialog.findChild(QPushButton, "brokerDataClear")
    assert clear is not None
    clear.click()
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox, "brokerDataClearConfirm") is not None, timeout=WAIT)
    confirm = dialog.findChild(QMessageBox, "brokerDataClearConfirm")
    assert confirm is not None
    what = confirm.informativeText()
    assert "1 durable subscription with 2 queued messages" in what
    assert "1 retained message" in what
    confirmed = confirm.findChild(QPushButton, "brokerDataClearConfirmed")
    assert confirmed is not None
    confirmed.click()
    qtbot.waitUntil(lambda: label(dialog, "queued") == "0", timeout=WAIT)
    assert (label(dialog, "subscriptions"), label(dialog, "retained")) == ("0", "0")
    assert "audit" not in {info.name for info in running.broker.subscriptions()}
    assert running.broker.retained("lights/hall") is None
    assert window.stream_model.rowCount() == 0  # the panels show the emptied broker
    running.close()


def test_starting_a_scenario_begins_from_an_empty_broker_and_store(run_window: Any, data: Path) -> None:
    first = run_window("--data", str(data))
    first.run(backlog(first.broker, 2))
    first.close()

    running = run_window("--data", str(data), "--scenario", "iot-fleet")
    running.qtbot.waitUntil(lambda: running.window.scenarios.scenario is not None, timeout=WAIT)  # after the paint
    assert "audit" not in {info.name for info in running.broker.subscriptions()}
    running.close()

    again = run_window("--data", str(data))
    assert "audit" not in {info.name for info in again.broker.subscriptions()}
    again.close()
