"""AsyncAPI documents in the window: open (menu, drop, --asyncapi), errors without half-imports, export."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from eventdeck.core.asyncapi import parse_document
from eventdeck.core.connectors.profiles import ProfileStore
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.asyncapi import server_url
from eventdeck.gui.main_window import MainWindow

FRIDGE = """\
asyncapi: 3.0.0
info: {title: Fridge, version: 1.0.0}
channels:
  level:
    address: fridge/level
    description: How full the fridge is
    messages:
      reading:
        payload:
          type: object
          required: [percent]
          properties: {percent: {type: integer, minimum: 0, maximum: 100}}
"""


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: object, tmp_path: Path) -> MainWindow:
    win = MainWindow(bridge, settings, profiles=ProfileStore(tmp_path / "connections.json"))  # type: ignore[arg-type]
    qtbot.addWidget(win)
    win.show()
    return win


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_opening_a_document_declares_its_channels(window: MainWindow, bridge: Bridge, tmp_path: Path) -> None:
    assert window.asyncapi_files.open(str(write(tmp_path, "fridge.yaml", FRIDGE)))
    channels = {info.name: info for info in bridge.broker.channels()}
    assert channels["fridge/level"].declared
    assert channels["fridge/level"].description == "How full the fridge is"
    assert window.statusBar().currentMessage().startswith("fridge.yaml: AsyncAPI 3.0.0, 1 channel")
    assert window.channels.model.channel_node("fridge/level") is not None


def test_a_broken_document_is_explained_and_nothing_is_applied(
    window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    broken = write(tmp_path, "broken.yaml", FRIDGE.replace("address: fridge/level", "address: [fridge"))
    assert not window.asyncapi_files.open(str(broken))
    box = window.findChild(QMessageBox, "problemBox")
    assert box is not None
    assert box.isVisible()
    assert not box.isModal()
    assert "broken.yaml" in box.informativeText()
    assert "line" in box.informativeText()
    assert bridge.broker.channels() == []
    assert window.asyncapi.document is None


def test_dropping_a_document_on_the_window_opens_it(window: MainWindow, bridge: Bridge, tmp_path: Path) -> None:
    path = write(tmp_path, "fridge.yml", FRIDGE)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(drop)
    assert window.asyncapi.document is not None
    assert window.asyncapi.document.title == "Fridge"


def test_export_writes_what_was_observed(qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path) -> None:
    task = bridge.spawn(bridge.broker.publish("user/signedup", {"name": "Ada", "age": 36}), "publish")
    qtbot.waitUntil(task.done, timeout=3000)
    bridge.flush()
    target = tmp_path / "observed.yaml"
    assert window.asyncapi_files.export(str(target), redact_values=True)
    document = parse_document(target.read_text(), str(target))
    assert [channel.address for channel in document.channels] == ["user/signedup"]
    assert "Ada" not in target.read_text()  # redacted
    assert not window.asyncapi_files.export(str(tmp_path / "missing-folder" / "x.yaml"))


@pytest.mark.parametrize(
    ("protocol", "host", "url"),
    [
        ("mqtt", "broker.example.com:1883", "mqtt://broker.example.com:1883"),
        ("secure-mqtt", "broker.example.com:8883", "mqtts://broker.example.com:8883"),
        ("amqp", "rabbit:5672", "amqp://rabbit:5672"),
        ("kafka", "kafka:9092", "kafka://kafka:9092"),
        ("kafka-secure", "kafka:9093", "kafkas://kafka:9093"),
        ("jms", "queue.example.com:61616", None),
        ("mqtt", "{host}:1883", None),
    ],
)
def test_servers_map_to_connector_urls(protocol: str, host: str, url: str | None) -> None:
    assert server_url(protocol, host) == url
