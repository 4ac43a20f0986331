"""The composer's Repeat under a connector reaches the real broker (Mosquitto on 1883), as Send does.

Regression: Repeat used to publish into the connector's local mirror, so nothing reached Mosquitto.
An independent client on Mosquitto counts what arrives. The asyncio loop is pytest-asyncio's: the
panel only needs a running loop for its tasks (no Qt event processing is involved in sending).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import aiomqtt
import pytest
from pytestqt.qtbot import QtBot

from eventdeck.core.connectors import ConnectorBackend, backend_from_url
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.panels.composer_panel import ComposerPanel
from tests.integration.connector_support import WAIT, require_service

pytestmark = pytest.mark.services
REPEATS = 25


@pytest.fixture
async def panel(qtbot: QtBot) -> AsyncIterator[ComposerPanel]:
    require_service(1883, "Mosquitto")
    backend = backend_from_url("mqtt://127.0.0.1:1883")
    assert isinstance(backend, ConnectorBackend)
    await backend.start()
    bridge = Bridge(backend)  # what the window does when it shows a connection
    widget = ComposerPanel(bridge)
    qtbot.addWidget(widget)
    yield widget
    widget.stop_repeat()
    bridge.stop()
    await backend.stop()


async def test_repeated_events_reach_mosquitto(panel: ComposerPanel) -> None:
    topic = f"edtest/composer/{uuid.uuid4().hex}"
    async with aiomqtt.Client("127.0.0.1", 1883) as other:
        await other.subscribe(topic, qos=1)
        panel.set_channel(topic)
        panel.payload_edit.setPlainText('{"n": 1}')
        panel.repeat_count.setValue(REPEATS)
        panel.repeat_interval.setValue(0)
        finished: list[str] = []
        panel.repeat_finished.connect(finished.append)
        task = panel.start_repeat()
        assert task is not None
        async with asyncio.timeout(WAIT):
            await task
        received = []
        async with asyncio.timeout(WAIT):
            async for message in other.messages:
                received.append(message.payload)
                if len(received) == REPEATS:
                    break
    assert received == [b'{"n": 1}'] * REPEATS
    assert not panel.repeating
    assert finished == [panel.result_label.text()]
    assert f"{REPEATS} of {REPEATS} events sent" in finished[0]
