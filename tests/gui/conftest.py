"""GUI fixtures: a qasync loop that runs inside Qt's event processing, a broker, a bridge, and the main window
for tests that run scenarios in it.

Tests stay synchronous and drive everything with ``qtbot.waitUntil``/``qtbot.wait``:
the qasync loop is created with ``already_running=True``, so asyncio callbacks run
whenever Qt processes events, and panels can spawn coroutines as in the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = qasync.QThreadExecutor(2)  # owned here, so its threads end with the test (to_thread work)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    executor.shutdown()
    loop._after_run_forever()  # the Qt loop never ran "forever" here; undo what the constructor set up
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def broker(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> Iterator[Broker]:
    broker = Broker()
    yield broker
    # The loop is Qt's and already "running", so the close runs as a task while Qt processes events.
    closing = qloop.create_task(broker.close())
    qtbot.waitUntil(closing.done, timeout=3000)
    closing.result()


@pytest.fixture
def bridge(broker: Broker) -> Iterator[Bridge]:
    bridge = Bridge(broker)
    bridge.start()
    yield bridge
    bridge.stop()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "eventdeck.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def scenario_window(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, bridge: Bridge, settings: QSettings
) -> Iterator[MainWindow]:
    """The main window on the test's bridge, shown; its scenario (if one was started) is stopped after the test."""
    window = MainWindow(bridge, settings, ring_size=10_000)
    window.resize(1520, 900)
    window.show()
    yield window
    stopping = qloop.create_task(window.scenarios.stop())  # before the broker closes under it
    qtbot.waitUntil(stopping.done, timeout=5000)
    stopping.result()
    window.close()
    window.deleteLater()
