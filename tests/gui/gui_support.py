"""What GUI tests share: a panel or the main window put on screen, a publish the window sees at once, and a
scenario started fast and repeatably."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from eventdeck.core import Kind
from eventdeck.core.simulation.scenario import Scenario
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow

WAIT = 5000
P = TypeVar("P", bound=QWidget)


class ShowPanel:
    """``show_panel(ChannelsPanel, (420, 360))``: the panel on the test's bridge, shown at a size its layout
    is tested at, and closed with the test."""

    def __init__(self, qtbot: QtBot, bridge: Bridge) -> None:
        self._qtbot = qtbot
        self._bridge = bridge

    def __call__(self, make: Callable[[Bridge], P], size: tuple[int, int]) -> P:
        widget = make(self._bridge)
        self._qtbot.addWidget(widget)
        widget.resize(*size)
        widget.show()
        return widget


def shown_window(qtbot: QtBot, window: MainWindow) -> Iterator[MainWindow]:
    """For a fixture to ``yield from``: ``window`` shown for the test, then closed (its layout is saved)."""
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()


def publish(qtbot: QtBot, bridge: Bridge, channel: str, payload: object, kind: Kind = Kind.EVENT) -> None:
    """Publish through the bridge as the app does, wait for it, and hand the batch to the window at once."""
    task = bridge.spawn(bridge.broker.publish(channel, payload, kind=kind), "publish")  # type: ignore[arg-type]
    qtbot.waitUntil(task.done, timeout=WAIT)
    bridge.flush()


def start_scenario(qtbot: QtBot, window: MainWindow, name: str, *, speed: float = 5.0, seed: int = 7) -> Scenario:
    """Start ``name`` (a built-in or a file) in ``window`` at ``speed`` with ``seed``, and wait until it runs."""
    window.scenarios.start_speed, window.scenarios.seed = speed, seed
    task = window.scenarios.start(name)
    assert task is not None, window.statusBar().currentMessage()
    qtbot.waitUntil(task.done, timeout=WAIT)
    task.result()
    scenario = window.scenarios.scenario
    assert scenario is not None
    return scenario
