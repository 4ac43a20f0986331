"""AsyncAPI in the window: declared channels, flagged invalid traffic, templates, export; real widgets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from eventdeck.core import Message
from eventdeck.core.asyncapi import AsyncApiError, parse_document
from eventdeck.core.asyncapi.live import LiveValidator
from eventdeck.gui.bridge import INLINE_CHECK, Bridge
from eventdeck.gui.controllers.asyncapi import RECORD_CHUNK, AsyncApiController
from eventdeck.gui.models.channel_tree import ChannelTreeModel
from eventdeck.gui.models.stream_model import KIND_COLUMN, StreamModel
from eventdeck.gui.panels.channels_panel import ChannelsPanel
from eventdeck.gui.panels.composer_panel import ComposerPanel
from eventdeck.gui.panels.inspector_panel import InspectorPanel
from eventdeck.gui.panels.stream_panel import StreamPanel
from eventdeck.gui.widgets.icons import icon
from tests.paths import CORPUS

WAIT = 3000
SHOP = """
asyncapi: 3.0.0
info: {title: Shop, version: 1.0.0}
channels:
  signedup:
    address: user/signedup
    description: A user signed up <with name and age>
    messages:
      userSignedUp:
        name: userSignedUp
        title: User signed up
        contentType: application/json
        payload:
          type: object
          required: [name, age]
          properties:
            name: {type: string, examples: [Ada]}
            age: {type: integer, minimum: 0}
  measured:
    address: 'light/{id}/measured'
    parameters: {id: {}}
    messages:
      lightMeasured:
        payload: {type: object, properties: {lumens: {type: integer, minimum: 0}}}
  avro:
    address: sensor/avro
    messages:
      avroReading:
        payload:
          schemaFormat: application/vnd.apache.avro;version=1.9.0
          schema: {type: record, name: Reading, fields: [{name: value, type: double}]}
operations:
  signUp: {action: send, channel: {$ref: '#/channels/signedup'}}
"""


@dataclass
class Window:
    """The panels as the main window wires them, around one controller."""

    bridge: Bridge
    controller: AsyncApiController
    stream: StreamPanel
    channels: ChannelsPanel
    inspector: InspectorPanel
    composer: ComposerPanel

    @property
    def model(self) -> StreamModel:
        return self.stream.model


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge) -> Window:
    stream = StreamPanel(bridge, StreamModel(1000))
    panels = Window(
        bridge, AsyncApiController(bridge), stream, ChannelsPanel(bridge), InspectorPanel(bridge), ComposerPanel(bridge)
    )
    for widget in (panels.stream, panels.channels, panels.inspector, panels.composer):
        qtbot.addWidget(widget)
    stream.message_selected.connect(panels.inspector.show_message)
    return panels


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(SHOP, encoding="utf-8")
    return path


def publish(qtbot: QtBot, bridge: Bridge, channel: str, payload: object) -> None:
    task = bridge.spawn(bridge.broker.publish(channel, json.dumps(payload).encode()), "publish")
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert task.exception() is None


def row_of(window: Window, channel: str, payload: object) -> int:
    data = json.dumps(payload).encode()
    for row in range(window.model.rowCount()):
        message: Message = window.model.message_at(row)
        if message.channel == channel and message.payload == data:
            return row
    raise AssertionError(f"no row for {channel} {data!r}")


def cell(model: ChannelTreeModel, path: str, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    index = model.index_for(path)
    assert index.isValid(), path
    return model.data(index.siblingAtColumn(column), role)


def test_loading_declares_the_channels_with_their_descriptions(window: Window, shop: Path) -> None:
    tree = window.channels.model
    assert window.channels.view.isColumnHidden(ChannelTreeModel.INVALID)
    assert not tree.index_for("user/signedup").isValid()
    document = window.controller.load(shop)
    window.controller.apply(document)
    assert window.controller.document is document
    assert not window.channels.view.isColumnHidden(ChannelTreeModel.INVALID)
    tip = str(cell(tree, "user/signedup", 0, Qt.ItemDataRole.ToolTipRole))
    assert "A user signed up &lt;with name and age&gt;" in tip
    assert "AsyncAPI: payloads validated" in tip
    assert cell(tree, "user/signedup", ChannelTreeModel.INVALID) == "0"
    assert cell(tree, "sensor/avro", ChannelTreeModel.INVALID) == "n/a"
    avro_tip = cell(tree, "sensor/avro", ChannelTreeModel.INVALID, Qt.ItemDataRole.ToolTipRole)
    assert "not validated: avro" in str(avro_tip)
    assert not tree.index_for("light").isValid()  # a {parameter} address is a pattern, not a channel
    assert AsyncApiController.summary(document) == (
        "shop.yaml: AsyncAPI 3.0.0, 3 channels, 3 messages, 1 operation; avroReading: not validated: avro"
    )


def test_invalid_traffic_is_flagged_in_stream_inspector_and_channels(qtbot: QtBot, window: Window, shop: Path) -> None:
    window.controller.apply(window.controller.load(shop))
    good, bad = {"name": "Ada", "age": 36}, {"name": "Bob", "age": -1}
    with qtbot.waitSignal(window.bridge.validated, timeout=WAIT):
        publish(qtbot, window.bridge, "user/signedup", good)
        publish(qtbot, window.bridge, "user/signedup", bad)
    publish(qtbot, window.bridge, "light/7/measured", {"lumens": "bright"})
    qtbot.waitUntil(lambda: window.model.rowCount() == 3, timeout=WAIT)

    model = window.model
    good_index = model.index(row_of(window, "user/signedup", good), KIND_COLUMN)
    bad_index = model.index(row_of(window, "user/signedup", bad), KIND_COLUMN)
    invalid_key = icon("invalid").cacheKey()
    assert model.data(bad_index, Qt.ItemDataRole.DecorationRole).cacheKey() == invalid_key
    assert model.data(good_index, Qt.ItemDataRole.DecorationRole).cacheKey() != invalid_key
    assert model.data(good_index, Qt.ItemDataRole.ToolTipRole) is None
    assert model.data(bad_index, Qt.ItemDataRole.ToolTipRole) == (
        "Does not match the AsyncAPI schema:\n$.age: -1 is less than the minimum of 0"
    )

    window.stream.view.selectRow(bad_index.row())  # the inspector builds its banners for its first message
    banner = window.inspector.findChild(QLabel, "inspectorSchemaIssues")
    assert banner is window.inspector.schema_banner
    assert not banner.isHidden()
    assert banner.text() == "Does not match the AsyncAPI schema:\n• $.age: -1 is less than the minimum of 0"
    window.stream.view.selectRow(good_index.row())
    assert banner.isHidden()

    tree = window.channels.model
    window.bridge.take_snapshot()
    assert cell(tree, "user/signedup", ChannelTreeModel.INVALID) == "1"
    assert cell(tree, "user/signedup", ChannelTreeModel.INVALID, Qt.ItemDataRole.ForegroundRole) is not None
    assert cell(tree, "light/7/measured", ChannelTreeModel.INVALID) == "1"
    assert cell(tree, "light", ChannelTreeModel.INVALID) == "1"  # a parent sums its subtree
    assert "1 of 2 payloads checked" in str(
        cell(tree, "user/signedup", ChannelTreeModel.INVALID, Qt.ItemDataRole.ToolTipRole)
    )


def test_the_inspector_says_when_a_schema_format_is_not_validated(qtbot: QtBot, window: Window, shop: Path) -> None:
    window.controller.apply(window.controller.load(shop))
    publish(qtbot, window.bridge, "sensor/avro", {"value": 1.5})
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    window.stream.view.selectRow(0)
    banner = window.inspector.schema_banner
    assert not banner.isHidden()
    assert banner.text() == "AsyncAPI: payloads on this channel are not validated: avro"


def test_composer_templates_fill_an_example_that_validates(qtbot: QtBot, window: Window, shop: Path) -> None:
    composer = window.composer
    combo = composer.findChild(QComboBox, "composerTemplate")
    assert combo is composer.template_combo
    window.controller.apply(window.controller.load(shop))
    composer.set_channel("user/signedup")
    assert not combo.isHidden()
    assert [combo.itemText(i) for i in range(combo.count())] == ["User signed up"]
    combo.activated.emit(0)
    assert json.loads(composer.payload_text()) == {"name": "Ada", "age": 0}
    assert composer.content_type() == "application/json"
    assert composer.schema_label.isHidden()
    assert composer.send_button.isEnabled()

    composer.set_channel("nowhere/known")
    assert combo.isHidden()


def test_a_payload_against_the_schema_warns_but_may_be_sent(qtbot: QtBot, window: Window, shop: Path) -> None:
    composer = window.composer
    window.controller.apply(window.controller.load(shop))
    composer.set_channel("user/signedup")
    composer.payload_edit.clear()
    qtbot.keyClicks(composer.payload_edit, '{"name": "Ada", "age": -1}')
    warning = composer.findChild(QLabel, "composerSchemaIssues")
    qtbot.waitUntil(lambda: not warning.isHidden(), timeout=WAIT)
    assert "$.age: -1 is less than the minimum of 0" in warning.text()
    assert composer.send_button.isEnabled()  # people send bad payloads on purpose

    composer.payload_edit.setPlainText('{"name": "Ada", "age": ')  # broken JSON still stops Send
    composer.validate()
    assert not composer.send_button.isEnabled()
    assert warning.isHidden()

    window.controller.clear()
    composer.payload_edit.setPlainText('{"age": -1}')
    composer.validate()
    assert warning.isHidden()
    assert composer.template_combo.isHidden()
    assert window.channels.view.isColumnHidden(ChannelTreeModel.INVALID)


def test_a_broken_document_changes_nothing(window: Window, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SHOP.replace("$ref: '#/channels/signedup'", "$ref: '#/channels/nowhere'"), encoding="utf-8")
    with pytest.raises(AsyncApiError):
        window.controller.load(broken)
    assert window.controller.document is None
    assert window.bridge.validator is None


def test_export_describes_the_traffic_and_imports_back(qtbot: QtBot, window: Window) -> None:
    publish(qtbot, window.bridge, "user/signedup", {"name": "Ada", "email": "ada@example.com"})
    publish(qtbot, window.bridge, "fridge/level", {"percent": 40})
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    text = window.controller.export_yaml(redact_values=True)
    assert "ada@example.com" not in text
    document = parse_document(text, "observed.yaml")
    assert sorted(c.address or "" for c in document.channels) == ["fridge/level", "user/signedup"]


def test_a_burst_is_recorded_a_chunk_a_loop_turn_and_whole_for_an_export(
    qtbot: QtBot, window: Window, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = window.controller.recorder
    chunks: list[int] = []
    add_all = recorder.add_all
    monkeypatch.setattr(recorder, "add_all", lambda batch: (chunks.append(len(batch)), add_all(batch)))
    burst = [Message.build("meter/reading", {"n": number}) for number in range(2 * RECORD_CHUNK + 10)]
    window.bridge.messages.emit(burst)  # as a Kafka fetch's burst reaches the window
    qtbot.waitUntil(lambda: sum(chunks) == len(burst), timeout=WAIT)
    assert chunks == [RECORD_CHUNK, RECORD_CHUNK, 10]

    window.bridge.messages.emit(burst)
    assert f"{2 * len(burst):,} seen" in window.controller.export_yaml()  # all of it, without waiting for the loop
    assert chunks[-1] == len(burst)


def test_the_corpus_streetlights_document_loads(window: Window) -> None:
    path = CORPUS / "v2.6" / "streetlights-mqtt.yml"
    if not path.is_file():
        pytest.skip(f"the shared AsyncAPI corpus is absent ({path} not found)")
    document = window.controller.load(path)
    window.controller.apply(document)
    assert AsyncApiController.summary(document).startswith("streetlights-mqtt.yml: AsyncAPI 2.6.0, ")
    assert window.bridge.validator is not None


def test_models_stay_consistent_with_a_validator(
    qtbot: QtBot, window: Window, shop: Path, qtmodeltester: ModelTester
) -> None:
    publish(qtbot, window.bridge, "user/signedup", {"age": -1})
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=WAIT)
    window.controller.apply(window.controller.load(shop))
    publish(qtbot, window.bridge, "user/signedup", {"age": -2})
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    window.bridge.take_snapshot()
    qtmodeltester.check(window.model)
    qtmodeltester.check(window.channels.model)
    window.controller.clear()
    window.bridge.take_snapshot()
    qtmodeltester.check(window.model)
    qtmodeltester.check(window.channels.model)


def test_a_flood_is_validated_on_its_own_loop_turn_and_flagged(qtbot: QtBot, window: Window, shop: Path) -> None:
    window.controller.apply(window.controller.load(shop))
    assert window.controller.document is not None
    window.bridge.set_validator(LiveValidator(window.controller.document, budget=60.0))  # no sampling here
    emitted: list[None] = []
    window.bridge.validated.connect(lambda: emitted.append(None))

    async def flood() -> None:
        for number in range(INLINE_CHECK + 100):  # one flush's worth, beyond the inline limit
            await window.bridge.broker.publish("user/signedup", json.dumps({"name": "x", "age": -number - 1}).encode())

    window.bridge._flush_timer.stop()  # no flush while publishing: the whole flood arrives as one batch
    window.bridge.spawn(flood(), "flood")
    qtbot.waitUntil(lambda: window.bridge.broker.stats().published == INLINE_CHECK + 100, timeout=WAIT)
    window.bridge.flush()
    window.bridge._flush_timer.start()
    assert window.bridge.validator is not None
    assert window.bridge.validator.totals().checked == 0  # not inside the flush
    qtbot.waitUntil(lambda: bool(emitted), timeout=WAIT)
    assert len(emitted) == 1  # one signal for the batch, never one per message
    assert window.bridge.validator.totals() == (INLINE_CHECK + 100, INLINE_CHECK + 100, 0)
    qtbot.waitUntil(lambda: window.model.rowCount() == INLINE_CHECK + 100, timeout=WAIT)
    last = window.model.index(window.model.rowCount() - 1, KIND_COLUMN)
    assert window.model.data(last, Qt.ItemDataRole.DecorationRole).cacheKey() == icon("invalid").cacheKey()


def test_no_signal_without_traffic_the_document_describes(qtbot: QtBot, window: Window, shop: Path) -> None:
    window.controller.apply(window.controller.load(shop))
    emitted: list[None] = []
    window.bridge.validated.connect(lambda: emitted.append(None))
    publish(qtbot, window.bridge, "fridge/level", {"percent": 40})
    publish(qtbot, window.bridge, "sensor/avro", {"value": 1})
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=WAIT)
    assert emitted == []
