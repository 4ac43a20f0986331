"""Switching the window between the embedded broker and a broker people run (the real Mosquitto here)."""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from eventdeck.core.connectors import backend_from_url
from eventdeck.core.connectors.profiles import ProfileStore
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.window_runner import run_window
from eventdeck.gui.main_window import MainWindow


def mosquitto_running() -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", 1883)) == 0


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings, tmp_path: Path) -> MainWindow:
    win = MainWindow(bridge, settings, profiles=ProfileStore(tmp_path / "connections.json"))
    qtbot.addWidget(win)
    win.show()
    return win


def test_the_window_follows_a_real_mqtt_broker_and_comes_back(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    if not mosquitto_running() or shutil.which("mosquitto_pub") is None:
        pytest.skip("needs Mosquitto on 127.0.0.1:1883 and mosquitto_pub (Debian: mosquitto, mosquitto-clients)")
    embedded = bridge.backend
    window.connections.connect_to(backend_from_url("mqtt://127.0.0.1:1883"))
    qtbot.waitUntil(lambda: bridge.backend is not embedded, timeout=10_000)
    assert window.status_labels["connection"].text() == "mqtt://127.0.0.1:1883"
    assert "mqtt://127.0.0.1:1883" in window.windowTitle()
    assert not window.simulation_action.isEnabled()

    topic = f"eventdeck-test/{uuid.uuid4().hex}/level"
    subprocess.run(["mosquitto_pub", "-t", topic, "-m", '{"percent": 23}', "-q", "1"], check=True, timeout=10)
    model = window.stream_model
    shown = lambda: any(model.message_at(row).channel == topic for row in range(model.rowCount()))  # noqa: E731
    qtbot.waitUntil(shown, timeout=10_000)
    bridge.take_snapshot()
    assert window.subscribers.not_exposed.isVisible()

    window.connections.use_embedded()
    qtbot.waitUntil(lambda: bridge.backend is embedded, timeout=5000)
    assert window.status_labels["connection"].text() == "embedded broker"
    assert window.stream_model.rowCount() == 0
    assert not window.subscribers.not_exposed.isVisible()


def test_a_failed_connection_stays_in_view_with_retry_and_stays_on_the_embedded_broker(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    embedded = bridge.backend
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    window.connections.connect_url(f"mqtt://127.0.0.1:{port}", context="--connect: ")
    qtbot.waitUntil(window.connection_bar.isVisible, timeout=10_000)
    banner = window.connections.banner.message.text()
    assert f"nothing listens on 127.0.0.1:{port}" in banner
    assert "embedded broker" in banner
    assert any(f"127.0.0.1:{port}" in record.getMessage() for record in caplog.records)  # said on the terminal
    assert bridge.backend is embedded
    assert window.status_labels["connection"].text() == "embedded broker"

    window.connections.retry_button.click()  # tries again: it fails the same way while nothing listens
    assert window.status_labels["connection"].text().startswith("connecting")
    qtbot.waitUntil(lambda: "connecting" not in window.status_labels["connection"].text(), timeout=10_000)
    assert window.connection_bar.isVisible()
    window.connections.dismiss_button.click()
    assert not window.connection_bar.isVisible()


def test_a_url_eventdeck_cannot_use_is_shown_in_the_banner(qtbot: QtBot, window: MainWindow) -> None:
    window.connections.connect_url("foo://x", context="--connect foo://x: ")
    assert window.connection_bar.isVisible()
    assert window.connections.banner.message.text().startswith("--connect foo://x: ")


def test_connections_dialog_opens_without_blocking(qtbot: QtBot, window: MainWindow) -> None:
    window.connections.show_dialog()
    dialog = window.connections.dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert not dialog.isModal()


def test_connect_with_a_scheme_eventdeck_does_not_know_exits_2_before_any_window(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_window(argparse.Namespace(connect="foo://x")) == 2
    error = capsys.readouterr().err
    assert error.startswith("eventdeck: --connect foo://x: ")
    assert "mqtt://" in error  # the schemes it does know
