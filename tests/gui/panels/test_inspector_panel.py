"""The inspector shows every field, header and byte of a message, as plain text, and links commands to replies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPlainTextEdit, QToolButton
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker, Kind, Message
from eventdeck.core.connectors.backend import EmbeddedBackend
from eventdeck.gui.bridge import NO_DELIVERIES, Bridge
from eventdeck.gui.panels.delivery_timeline import NOBODY, REPLY
from eventdeck.gui.panels.inspector_panel import EMPTY_TEXT, InspectorPanel, hex_dump
from tests.gui.gui_support import ShowPanel

Seen = list[Message]


@pytest.fixture
def seen(bridge: Bridge) -> Seen:
    messages: Seen = []
    bridge.messages.connect(messages.extend)
    return messages


@pytest.fixture
def panel(show_panel: ShowPanel) -> InspectorPanel:
    return show_panel(InspectorPanel, (420, 360))


def _published(qtbot: QtBot, bridge: Bridge, seen: Seen, channel: str, payload: Any, **kw: Any) -> Message:
    bridge.spawn(bridge.broker.publish(channel, payload, **kw), "publish")
    qtbot.waitUntil(lambda: any(m.channel == channel for m in seen), timeout=3000)
    return next(m for m in reversed(seen) if m.channel == channel)


def _first(seen: Seen, test: Callable[[Message], bool]) -> Message | None:
    return next((m for m in seen if test(m)), None)


def test_empty_state_until_a_message_is_shown(panel: InspectorPanel) -> None:
    assert panel.objectName() == "inspectorView"
    assert panel.stack.currentWidget() is panel.empty
    assert panel.empty.text() == EMPTY_TEXT


def test_shows_fields_headers_pretty_json_and_hex(
    qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen
) -> None:
    message = _published(
        qtbot,
        bridge,
        seen,
        "user/signed-up",
        {"name": "Ada", "email": "ada@example.com", "age": 36},
        headers={"source": "web", "trace-id": "abc123"},
        publisher="signup-form",
    )
    panel.show_message(message)
    fields = {key: edit.text() for key, edit in panel.fields.items()}
    assert fields["id"] == str(message.id)
    assert fields["channel"] == "user/signed-up"
    assert fields["kind"] == "event"
    assert fields["publisher"] == "signup-form"
    assert fields["content_type"] == "application/json"
    assert fields["size"].startswith(f"{len(message.payload)} B")
    assert "T" in fields["time"]
    assert "." in fields["time"].split("T")[1]  # milliseconds
    assert fields["correlation_id"] == "—"
    table = panel.headers_table
    cells = [(table.item(row, 0), table.item(row, 1)) for row in range(table.rowCount())]
    headers = {name.text(): value.text() for name, value in cells if name is not None and value is not None}
    assert headers == {"source": "web", "trace-id": "abc123"}
    assert panel.tabs.tabText(3) == "Headers (2)"
    assert [panel.tabs.tabText(i) for i in range(3)] == ["Payload", "Raw", "Hex"]
    assert panel.payload_edit.toPlainText() == '{\n  "name": "Ada",\n  "email": "ada@example.com",\n  "age": 36\n}'
    assert panel.raw_edit.toPlainText() == message.payload.decode()
    hex_text = panel.hex_edit.toPlainText()
    assert hex_text.startswith("00000000  7b 22 6e 61 6d 65 22 3a")
    assert '|{"name":"Ada","e|' in hex_text
    assert panel.payload_edit.isReadOnly()
    assert not panel.link_box.isVisible()
    assert not panel.dead_banner.isVisible()
    panel.show_message(None)
    assert panel.stack.currentWidget() is panel.empty


def test_non_json_text_and_binary_payloads(qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen) -> None:
    text = _published(qtbot, bridge, seen, "notes/plain", "fridge is almost empty", content_type="text/plain")
    panel.show_message(text)
    assert panel.payload_edit.toPlainText() == "fridge is almost empty"
    assert not panel.note.text()

    broken = _published(qtbot, bridge, seen, "notes/broken", '{"percent": 23', content_type="application/json")
    panel.show_message(broken)
    assert panel.payload_edit.toPlainText() == '{"percent": 23'
    assert "not valid JSON" in panel.note.text()

    blob = bytes(range(256))
    binary = _published(qtbot, bridge, seen, "camera/frame", blob, content_type="application/octet-stream")
    panel.show_message(binary)
    assert "not UTF-8" in panel.payload_edit.toPlainText()
    assert "Hex tab" in panel.payload_edit.toPlainText()
    lines = panel.hex_edit.toPlainText().splitlines()
    assert len(lines) == 16
    assert lines[1] == "00000010  10 11 12 13 14 15 16 17  18 19 1a 1b 1c 1d 1e 1f  |................|"
    assert lines[2].endswith("| !\"#$%&'()*+,-./|")


def test_hex_dump_is_capped_with_a_note() -> None:
    dump = hex_dump(b"x" * 100_000, limit=64 * 1024).splitlines()
    assert len(dump) == 64 * 1024 // 16 + 1
    assert dump[-1] == f"… {100_000 - 65_536:,} more bytes not shown (the hex view stops at 64 KiB)"
    assert hex_dump(b"") == "(empty payload)"


def test_html_in_a_payload_is_shown_literally(qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen) -> None:
    message = _published(qtbot, bridge, seen, "chat/message", {"text": "<b>x</b> & <i>y</i>"})
    panel.show_message(message)
    assert isinstance(panel.payload_edit, QPlainTextEdit)
    assert "<b>x</b> & <i>y</i>" in panel.payload_edit.toPlainText()
    raw = _published(qtbot, bridge, seen, "chat/raw", "<b>x</b>", content_type="text/html")
    panel.show_message(raw)
    assert panel.payload_edit.toPlainText() == "<b>x</b>"
    assert panel.raw_edit.toPlainText() == "<b>x</b>"


def test_copy_and_resend(qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen) -> None:
    message = _published(qtbot, bridge, seen, "fridge/level", {"percent": 23})
    panel.show_message(message)
    copy = panel.findChild(QToolButton, "inspectorCopy")
    resend = panel.findChild(QToolButton, "inspectorResend")
    assert copy is panel.copy_button
    assert resend is panel.resend_button
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == '{"percent":23}'
    with qtbot.waitSignal(panel.resend_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.resend_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [message]


def test_command_links_to_its_reply_and_back(
    qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, broker: Broker, seen: Seen
) -> None:
    responder = broker.subscribe("groceries/order", name="grocery-service")
    gate = asyncio.Event()

    async def respond() -> None:
        delivery = await responder.get()
        await gate.wait()
        await broker.reply(delivery.message, {"orderId": "ord-1"}, publisher="grocery-service")

    bridge.spawn(respond(), "respond")
    answers: list[Message] = []

    async def ask() -> None:
        answers.append(await broker.request("groceries/order", {"items": ["milk"]}, publisher="fridge"))

    bridge.spawn(ask(), "request")
    qtbot.waitUntil(lambda: _first(seen, lambda m: m.kind is Kind.COMMAND) is not None, timeout=3000)
    command = _first(seen, lambda m: m.kind is Kind.COMMAND)
    assert command is not None
    panel.show_message(command)
    assert panel.link_text.text() == "No reply yet"
    assert not panel.link_button.isVisible()

    gate.set()  # the reply arrives while the command is shown: the link appears by itself
    qtbot.waitUntil(lambda: panel.link_text.text().startswith("Reply after"), timeout=3000)
    qtbot.waitUntil(lambda: bool(answers), timeout=3000)  # the reply reached the panel first; the requester next
    reply = answers[0]
    latency_ms = (reply.timestamp - command.timestamp) * 1000
    assert panel.link_text.text() == f"Reply after {latency_ms:.1f} ms"
    assert panel.link_button.isVisible()
    assert panel.link_button.objectName() == "inspectorLinked"
    with qtbot.waitSignal(panel.select_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.link_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [reply.id]

    panel.show_message(reply)
    assert panel.link_text.text() == f"Answers command {command.id} on groceries/order ({latency_ms:.1f} ms)"
    with qtbot.waitSignal(panel.select_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.link_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [command.id]


def test_dead_letter_shows_its_reason(qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen) -> None:
    sub = bridge.broker.subscribe("fridge/#", name="picky", ack="manual", max_attempts=1)

    async def reject() -> None:
        delivery = await sub.get()
        await delivery.nack(requeue=False, reason="cannot parse percent")

    bridge.spawn(reject(), "reject")
    _published(qtbot, bridge, seen, "fridge/level", {"percent": "lots"})
    qtbot.waitUntil(lambda: _first(seen, lambda m: m.channel.startswith("$dead/")) is not None, timeout=3000)
    dead = _first(seen, lambda m: m.channel.startswith("$dead/"))
    assert dead is not None
    panel.show_message(dead)
    assert panel.dead_banner.isVisible()
    assert "cannot parse percent" in panel.dead_banner.text()
    assert "fridge/level" in panel.dead_banner.text()
    assert "picky" in panel.dead_banner.text()


def test_set_dark_keeps_the_text(qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen) -> None:
    message = _published(qtbot, bridge, seen, "fridge/level", {"percent": 23})
    panel.show_message(message)
    before = panel.payload_edit.toPlainText()
    panel.set_dark(True)
    panel.set_dark(False)
    assert panel.payload_edit.toPlainText() == before


# -- the delivery timeline ------------------------------------------------------------


def _timeline(panel: InspectorPanel) -> dict[str, list[str]]:
    table = panel.deliveries.table
    return {
        table.item(row, 0).text(): [table.item(row, column).text() for column in (1, 2, 3)]
        for row in range(table.rowCount())
    }


def test_the_timeline_shows_each_subscription_and_follows_its_outcome_while_it_is_pending(
    qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen
) -> None:
    fast = bridge.broker.subscribe("orders/new", name="audit")
    slow = bridge.broker.subscribe("orders/#", name="warehouse", ack="manual")
    bridge.broker.subscribe("fridge/#", name="elsewhere")
    message = _published(qtbot, bridge, seen, "orders/new", {"id": 1})
    panel.show_message(message)
    assert _timeline(panel) == {"audit": ["—", "—", "… queued"], "warehouse": ["—", "—", "… queued"]}
    fast.take()
    (delivery,) = slow.take()
    qtbot.waitUntil(lambda: _timeline(panel)["warehouse"][2] == "… awaiting ack", timeout=3000)  # refreshed by itself
    delivered, attempts, outcome = _timeline(panel)["audit"]
    assert delivered.startswith("+")
    assert delivered.endswith(" ms")
    assert attempts == "1"
    assert outcome.startswith("✓ acked +")
    qtbot.waitUntil(bridge.spawn(delivery.nack(), "nack").done, timeout=3000)
    qtbot.waitUntil(lambda: _timeline(panel)["warehouse"][2] == "↻ failed: redelivering", timeout=3000)
    (again,) = slow.take()
    qtbot.waitUntil(bridge.spawn(again.ack(), "ack").done, timeout=3000)
    qtbot.waitUntil(lambda: _timeline(panel)["warehouse"][2].startswith("↻ acked on attempt 2 +"), timeout=3000)
    assert _timeline(panel)["warehouse"][1] == "2"
    qtbot.waitUntil(lambda: not panel.deliveries._timer.isActive(), timeout=3000)  # all settled: no more asking
    assert panel.deliveries.empty.isHidden()


def test_a_message_nobody_subscribed_to_says_so_and_what_to_do(
    qtbot: QtBot, panel: InspectorPanel, bridge: Bridge, seen: Seen
) -> None:
    panel.show_message(_published(qtbot, bridge, seen, "nobody/home", "hello"))
    assert panel.deliveries.table.isHidden()
    assert panel.deliveries.empty.text() == NOBODY.format(channel="nobody/home")
    assert "Add a subscriber" in panel.deliveries.empty.text()
    panel.show_message(_published(qtbot, bridge, seen, "$reply/someone", "ok", kind=Kind.REPLY, correlation_id="c1"))
    assert panel.deliveries.empty.text() == REPLY


def test_a_connector_backend_says_it_cannot_report_deliveries(qtbot: QtBot, broker: Broker) -> None:
    class Connector:
        """Looks like a connector to the GUI: a backend that is not the embedded broker."""

        def __init__(self) -> None:
            self._inner = EmbeddedBackend(broker, name="mqtt://broker.example")

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    bridge = Bridge(Connector())  # type: ignore[arg-type]
    assert bridge.journal is None
    panel = InspectorPanel(bridge)
    qtbot.addWidget(panel)
    panel.show()
    broker.subscribe("fridge/#", name="someone")
    panel.show_message(Message.build("fridge/level", b"{}"))
    assert panel.deliveries.empty.text() == NO_DELIVERIES.format(backend="mqtt://broker.example")
    assert "does not report deliveries" in panel.deliveries.empty.text()
    assert panel.deliveries.table.isHidden()
