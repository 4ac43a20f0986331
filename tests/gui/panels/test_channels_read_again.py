"""The channels menu's "Read again" under a Kafka connection (a real one, to the tests' Tansu)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu
from pytestqt.qtbot import QtBot

from eventdeck.core.connectors import backend_from_url
from eventdeck.core.connectors.kafka import KafkaBackend
from eventdeck.core.connectors.topic_reader import TIME_FORMATS
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.panels.channels_panel import ChannelsPanel
from tests.gui.gui_support import WAIT, ShowPanel
from tests.integration.kafka_support import session_broker

pytestmark = pytest.mark.services
kafka_url = session_broker()


@pytest.fixture
def kafka(qtbot: QtBot, qloop: asyncio.AbstractEventLoop, kafka_url: str) -> Iterator[KafkaBackend]:
    backend = backend_from_url(kafka_url, refresh_interval=3600)
    assert isinstance(backend, KafkaBackend)
    starting = qloop.create_task(backend.start())
    qtbot.waitUntil(starting.done, timeout=WAIT * 3)
    starting.result()
    yield backend
    stopping = qloop.create_task(backend.stop())
    qtbot.waitUntil(stopping.done, timeout=WAIT * 3)


@pytest.fixture
def kafka_bridge(kafka: KafkaBackend) -> Iterator[Bridge]:
    bridge = Bridge(kafka)
    bridge.start()
    yield bridge
    bridge.stop()


@pytest.fixture
def panel(qtbot: QtBot, kafka_bridge: Bridge) -> ChannelsPanel:
    panel = ChannelsPanel(kafka_bridge)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def seen(kafka: KafkaBackend, channel: str) -> int:
    return {info.name: info.messages for info in kafka.broker.channels()}.get(channel, 0)


def action(menu: QMenu, name: str) -> QAction:
    found = menu.findChild(QAction, name)
    assert isinstance(found, QAction), name
    return found


def test_a_kafka_channel_is_read_again_from_the_beginning_an_offset_or_a_time(
    qtbot: QtBot, panel: ChannelsPanel, kafka: KafkaBackend, kafka_bridge: Bridge
) -> None:
    channel = f"edtest/again/{uuid.uuid4().hex[:8]}"
    bridge = kafka_bridge
    for n in range(3):
        sent = bridge.spawn(kafka.publish(channel, {"n": n}, headers={"kafka-key": "one"}), "publish")  # one partition
        qtbot.waitUntil(sent.done, timeout=WAIT)
    qtbot.waitUntil(lambda: seen(kafka, channel) == 3, timeout=WAIT * 3)
    bridge.take_snapshot()
    index = panel.model.index_for(channel)

    action(panel.context_menu_for(index), "channelsReadFromBeginning").trigger()
    qtbot.waitUntil(lambda: seen(kafka, channel) == 6, timeout=WAIT * 3)

    action(panel.context_menu_for(index), "channelsReadFromOffset").trigger()
    dialog = panel.findChild(QInputDialog, "channelsReadFromDialog")
    assert isinstance(dialog, QInputDialog)
    assert "PARTITION:OFFSET" in dialog.labelText()
    dialog.setTextValue("2")  # on every partition: the other ones hold nothing
    dialog.accept()
    qtbot.waitUntil(lambda: seen(kafka, channel) == 7, timeout=WAIT * 3)

    action(panel.context_menu_for(index), "channelsReadFromTime").trigger()
    dialog = panel.findChild(QInputDialog, "channelsReadFromDialog")
    assert isinstance(dialog, QInputDialog)
    with qtbot.waitSignal(bridge.error, timeout=WAIT) as said:
        dialog.setTextValue("around lunch")
        dialog.accept()
    assert said.args == [f"Reading {channel} again: cannot read 'around lunch' as a time; type {TIME_FORMATS}"]

    again = panel.context_menu_for(panel.model.index_for("edtest")).findChild(QMenu, "channelsReadAgain")
    assert isinstance(again, QMenu)
    assert not again.isEnabled()  # a prefix of channels is no topic
    assert again.title() == "Read again (pick a channel)"


def test_the_embedded_broker_offers_no_read_again(show_panel: ShowPanel) -> None:
    panel = show_panel(ChannelsPanel, (420, 360))
    assert panel.context_menu_for(panel.model.index_for("")).findChild(QAction, "channelsReadFromBeginning") is None
