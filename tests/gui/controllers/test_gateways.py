"""Gateways in the window: a taken port is explained and a free one offered; settings move them."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot

from eventdeck.core.gateways.controller import Gateways
from eventdeck.core.gateways.listen import ListenAddress
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.gateways import GatewaysController, GatewaySettings, listen_address_from_settings
from eventdeck.gui.main_window import MainWindow
from tests.gui.gui_support import publish


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def controller(bridge: Bridge, settings: QSettings, taken_port: int) -> Iterator[GatewaysController]:
    gateways = Gateways(bridge.broker, mqtt=ListenAddress("127.0.0.1", taken_port), http=ListenAddress("127.0.0.1", 0))
    yield GatewaysController(bridge, gateways, settings)
    bridge.spawn(gateways.stop(), "stopping gateways")


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings, controller: GatewaysController) -> Iterator[MainWindow]:
    win = MainWindow(bridge, settings, gateways=controller)
    qtbot.addWidget(win)
    win.show()
    task = bridge.spawn(controller.start(), "starting gateways")
    qtbot.waitUntil(task.done, timeout=5000)
    yield win
    win.close()


def test_a_taken_port_is_explained_and_a_free_one_offered(
    qtbot: QtBot, window: MainWindow, controller: GatewaysController, settings: QSettings, taken_port: int
) -> None:
    assert window.banner_bar.isVisible()
    banner = window.gateway_banner
    assert f"port {taken_port} on 127.0.0.1 is already in use" in banner.message.text()
    assert banner.use_port.text().startswith("Use port ")
    offered = int(banner.use_port.text().split()[-1])
    assert "MQTT not running" in window.status_labels["gateways"].text()

    banner.use_port.click()
    qtbot.waitUntil(lambda: not window.banner_bar.isVisible(), timeout=5000)
    mqtt = next(state for state in controller.states() if state.name == "MQTT")
    assert mqtt.running
    assert mqtt.endpoint == ListenAddress("127.0.0.1", offered)
    assert f"MQTT 127.0.0.1:{offered}" in window.status_labels["gateways"].text()
    assert settings.value("gateways/mqtt") == f"127.0.0.1:{offered}"


def test_turning_the_failed_gateway_off(qtbot: QtBot, window: MainWindow, controller: GatewaysController) -> None:
    window.gateway_banner.switch_off.click()
    qtbot.waitUntil(lambda: not window.banner_bar.isVisible(), timeout=5000)
    assert "MQTT off" in window.status_labels["gateways"].text()


def test_mqtt_clients_show_up_in_the_window(qtbot: QtBot, window: MainWindow, controller: GatewaysController) -> None:
    if shutil.which("mosquitto_pub") is None:
        pytest.skip("mosquitto_pub is not installed (Debian package mosquitto-clients)")
    window.gateway_banner.use_port.click()
    qtbot.waitUntil(lambda: not window.banner_bar.isVisible(), timeout=5000)
    assert controller.gateways.mqtt is not None
    port = controller.gateways.mqtt.port
    process = subprocess.Popen(
        ["mosquitto_pub", "-p", str(port), "-i", "lamp-1", "-t", "home/lamp", "-m", "on"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    qtbot.waitUntil(lambda: "'lamp-1'" in window.statusBar().currentMessage(), timeout=10_000)
    qtbot.waitUntil(lambda: process.poll() is not None, timeout=10_000)
    window.bridge.flush()
    qtbot.waitUntil(lambda: window.stream_model.rowCount() >= 1, timeout=5000)
    message = window.stream_model.message_at(0)
    assert (message.channel, message.publisher, message.payload) == ("home/lamp", "lamp-1", b"on")


def test_settings_dialog_moves_gateways_and_explains_typos(
    qtbot: QtBot, window: MainWindow, controller: GatewaysController
) -> None:
    settings_action = window.findChild(QAction, "gatewaySettingsAction")
    assert settings_action is not None
    settings_action.trigger()  # returns at once: exec() would block here until the dialog closed
    dialog = window.findChild(GatewaySettings)
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.windowModality() is Qt.WindowModality.WindowModal  # open(): exec() makes it application modal
    publish(qtbot, window.bridge, "home/lamp", "on")  # the broker keeps running behind the dialog
    assert window.stream_model.rowCount() == 1
    dialog.edits["HTTP"].setText("127.0.0.1:notaport")
    assert not dialog.apply()
    assert "HTTP" in dialog.error.text()
    assert "must be a number" in dialog.error.text()
    dialog.edits["HTTP"].setText("off")
    dialog.edits["MQTT"].setText("off")
    assert dialog.apply()
    qtbot.waitUntil(lambda: window.status_labels["gateways"].text() == "MQTT off · HTTP off", timeout=5000)


def test_endpoint_choice_command_line_then_settings_then_default(settings: QSettings) -> None:
    assert listen_address_from_settings(settings, "MQTT", None) == ListenAddress("127.0.0.1", 1883)
    settings.setValue("gateways/mqtt", "127.0.0.1:1999")
    assert listen_address_from_settings(settings, "MQTT", None) == ListenAddress("127.0.0.1", 1999)
    assert listen_address_from_settings(settings, "MQTT", "off") is None
    settings.setValue("gateways/http", "garbage:port")
    assert listen_address_from_settings(settings, "HTTP", None) == ListenAddress("127.0.0.1", 8080)
