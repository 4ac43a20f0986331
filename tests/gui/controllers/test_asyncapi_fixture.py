"""AsyncAPI in the window: a streetlights-like 2.6 document of our own loads (a clone needs no corpus).

tests/gui/controllers/test_asyncapi.py keeps the same test over the shared corpus as an extra."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.asyncapi import AsyncApiController
from eventdeck.gui.models.channel_tree import ChannelTreeModel
from eventdeck.gui.panels.channels_panel import ChannelsPanel
from tests.paths import ASYNCAPI_FIXTURES


def test_the_greenhouse_2_6_document_loads(qtbot: QtBot, bridge: Bridge) -> None:
    controller = AsyncApiController(bridge)
    channels = ChannelsPanel(bridge)
    qtbot.addWidget(channels)
    document = controller.load(ASYNCAPI_FIXTURES / "v2.6" / "greenhouse-mqtt.yaml")
    controller.apply(document)
    assert AsyncApiController.summary(document) == (
        "greenhouse-mqtt.yaml: AsyncAPI 2.6.0, 3 channels, 2 messages, 3 operations"
    )
    assert bridge.validator is not None
    assert not channels.view.isColumnHidden(ChannelTreeModel.INVALID)  # payloads are validated now
