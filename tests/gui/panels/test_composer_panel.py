"""The composer with real widgets on a real broker: what is sent is checked where it arrives."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QPlainTextEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker, Kind, Message
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.panels.composer_panel import EMPTY_CHANNEL_HINT, ComposerPanel

WAIT = 3000
TASKS: list[asyncio.Task[None]] = []  # helper tasks of the running test, ended before the loop goes away


@pytest.fixture
def panel(qtbot: QtBot, bridge: Bridge) -> ComposerPanel:
    widget = ComposerPanel(bridge)
    qtbot.addWidget(widget)
    widget.resize(420, 480)
    return widget


def collect(broker: Broker, pattern: str) -> list[Message]:
    """Subscribe to ``pattern`` and gather what really arrives (the qloop fixture cancels the task)."""
    sub = broker.subscribe(pattern)
    arrived: list[Message] = []

    async def drain() -> None:
        async for delivery in sub:
            arrived.append(delivery.message)  # noqa: PERF401 - kept as each one arrives

    TASKS.append(asyncio.ensure_future(drain()))
    return arrived


def respond(broker: Broker, pattern: str, reply: object, *, times: int = 1) -> None:
    """A handler task: answer ``times`` commands on ``pattern`` with ``reply``."""
    sub = broker.subscribe(pattern, name=f"handler-{pattern}")

    async def serve() -> None:
        for _ in range(times):
            delivery = await sub.get()
            await broker.reply(delivery.message, reply, publisher="handler")  # type: ignore[arg-type]

    TASKS.append(asyncio.ensure_future(serve()))


def show_active(qtbot: QtBot, panel: ComposerPanel) -> None:
    """Shortcuts and focus need the panel's window to be the active one."""
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is panel, timeout=WAIT)


def compose(qtbot: QtBot, panel: ComposerPanel, channel: str, payload: str) -> None:
    """Type ``channel`` and ``payload`` like a person would, then let validation run."""
    edit = panel.channel_combo.lineEdit()
    assert edit is not None
    edit.clear()
    qtbot.keyClicks(edit, channel)
    panel.payload_edit.clear()
    qtbot.keyClicks(panel.payload_edit, payload)
    panel.validate()


def test_required_object_names(panel: ComposerPanel) -> None:
    for name, kind in (
        ("composerChannel", QComboBox),
        ("composerKind", QComboBox),
        ("composerPayload", QPlainTextEdit),
        ("composerSend", QPushButton),
        ("composerResult", QLabel),
        ("composerError", QLabel),
        ("composerHistory", QComboBox),
        ("composerContentType", QComboBox),
    ):
        assert panel.findChild(kind, name) is not None, name
    assert panel.findChild(QWidget, "composerHeaders") is None  # built when the headers are first opened
    panel.headers_toggle.click()
    for name in (
        "composerRetain",
        "composerFormat",
        "composerHeaders",
        "composerAddHeader",
        "composerRemoveHeader",
        "composerRepeatCount",
        "composerRepeatInterval",
        "composerRepeat",
        "composerStop",
        "composerProgress",
        "composerTimeout",
        "composerHeadersToggle",
    ):
        assert panel.findChild(QWidget, name) is not None, name


def test_event_arrives_with_channel_kind_payload_headers_and_content_type(
    qtbot: QtBot, panel: ComposerPanel, broker: Broker
) -> None:
    arrived = collect(broker, "user/#")
    said: list[str] = []
    panel.sent.connect(said.append)
    compose(qtbot, panel, "user/signedup", '{"name": "Ada", "age": 36}')
    panel.content_type_combo.setEditText("application/cloudevents+json")
    qtbot.mouseClick(panel.add_header_button, Qt.MouseButton.LeftButton)
    name_item, value_item = panel.headers_table.item(0, 0), panel.headers_table.item(0, 1)
    assert name_item is not None
    assert value_item is not None
    name_item.setText("trace-id")
    value_item.setText("abc123")
    assert panel.headers_toggle.text() == "Headers (1)"
    assert panel.send_button.isEnabled()
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(arrived) == 1, timeout=WAIT)
    message = arrived[0]
    assert message.channel == "user/signedup"
    assert message.kind is Kind.EVENT
    assert json.loads(message.payload) == {"name": "Ada", "age": 36}
    assert dict(message.headers) == {"trace-id": "abc123"}
    assert message.content_type == "application/cloudevents+json"
    assert message.publisher == "composer"
    qtbot.waitUntil(lambda: "Event sent to user/signedup" in panel.result_label.text(), timeout=WAIT)
    assert said
    assert "user/signedup" in said[-1]


def test_removed_headers_are_not_sent(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    arrived = collect(broker, "h")
    compose(qtbot, panel, "h", "{}")
    panel.set_headers({"a": "1", "b": "2"})
    panel.headers_table.selectRow(0)
    qtbot.mouseClick(panel.remove_header_button, Qt.MouseButton.LeftButton)
    assert panel.headers() == {"b": "2"}
    panel.send()
    qtbot.waitUntil(lambda: len(arrived) == 1, timeout=WAIT)
    assert dict(arrived[0].headers) == {"b": "2"}


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter])
def test_ctrl_enter_sends_from_the_editor(qtbot: QtBot, panel: ComposerPanel, broker: Broker, key: Qt.Key) -> None:
    arrived = collect(broker, "fridge/level")
    show_active(qtbot, panel)
    compose(qtbot, panel, "fridge/level", '{"percent": 23}')
    panel.payload_edit.setFocus()
    modifiers = Qt.KeyboardModifier.ControlModifier
    if key == Qt.Key.Key_Enter:
        modifiers |= Qt.KeyboardModifier.KeypadModifier
    qtbot.keyClick(panel.payload_edit, key, modifiers)
    qtbot.waitUntil(lambda: len(arrived) == 1, timeout=WAIT)
    assert arrived[0].payload == b'{"percent": 23}'
    assert panel.payload_edit.toPlainText() == '{"percent": 23}'  # no newline typed


def test_invalid_json_disables_send_with_line_and_column(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    panel.channel_combo.setEditText("user/signedup")
    panel.payload_edit.setPlainText('{\n  "name": "Ada",\n}')
    # the debounced check runs by itself
    qtbot.waitUntil(lambda: "Invalid JSON" in panel.error_label.text(), timeout=WAIT)
    assert not panel.send_button.isEnabled()
    expected = "Invalid JSON: Expecting property name enclosed in double quotes at line 3, column 1"
    assert panel.error_label.text() == expected
    assert panel.error_label.isVisibleTo(panel)
    assert expected in panel.send_button.toolTip()
    assert not panel.repeat_button.isEnabled()
    qtbot.mouseClick(panel.send_button, Qt.MouseButton.LeftButton)
    assert panel.send() is None
    assert panel.start_repeat() is None
    qtbot.wait(50)
    assert broker.published == 0
    # fixing it enables Send again; a non-JSON content type is not checked as JSON
    panel.payload_edit.setPlainText('{"name": "Ada"}')
    qtbot.waitUntil(panel.send_button.isEnabled, timeout=WAIT)
    assert not panel.error_label.isVisibleTo(panel)
    panel.payload_edit.setPlainText("{not json")
    panel.content_type_combo.setEditText("text/plain")
    qtbot.waitUntil(panel.send_button.isEnabled, timeout=WAIT)


@pytest.mark.parametrize(
    ("channel", "reason"),
    [("a/+/b", "wildcards '+' and '#' are only allowed in subscription patterns"), ("", "name is empty")],
)
def test_invalid_channel_disables_send_with_the_reason(
    qtbot: QtBot, panel: ComposerPanel, broker: Broker, channel: str, reason: str
) -> None:
    compose(qtbot, panel, channel, '{"a": 1}')
    assert not panel.send_button.isEnabled()
    assert reason in panel.send_button.toolTip()
    shown = EMPTY_CHANNEL_HINT if channel == "" else reason  # no channel yet: a hint, not an error
    assert shown in panel.error_label.text()
    panel.send()
    qtbot.wait(50)
    assert broker.published == 0


def test_oversized_payload_disables_send(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> None:
    small = Broker(max_payload=16)
    bridge = Bridge(small)
    bridge.start()
    try:
        panel = ComposerPanel(bridge)
        qtbot.addWidget(panel)
        panel.content_type_combo.setEditText("text/plain")
        compose(qtbot, panel, "big", "x" * 17)
        assert not panel.send_button.isEnabled()
        assert panel.error_label.text() == "Payload too large: 17 B exceeds the broker's limit of 16 B"
        assert panel.send() is None
        qtbot.wait(50)
        assert small.published == 0
        panel.payload_edit.setPlainText("x" * 16)
        qtbot.waitUntil(panel.send_button.isEnabled, timeout=WAIT)
    finally:
        bridge.stop()
        closing = qloop.create_task(small.close())
        qtbot.waitUntil(closing.done, timeout=WAIT)


def test_command_gets_its_reply_with_latency(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    respond(broker, "orders/groceries", {"order_id": "A-1042"})
    panel.set_kind(Kind.COMMAND)
    assert not panel.retain_check.isEnabled()
    compose(qtbot, panel, "orders/groceries", '{"items": ["milk"]}')
    task = panel.send()
    assert task is not None
    qtbot.waitUntil(lambda: panel.result_label.text().startswith("Reply in"), timeout=WAIT)
    assert re.fullmatch(r'Reply in \d+\.\d ms: \{"order_id":"A-1042"\}', panel.result_label.text())


def test_command_shows_waiting_then_timeout(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    broker.subscribe("slow/service")  # listens, never answers
    panel.set_kind(Kind.COMMAND)
    panel.timeout_spin.setValue(0.3)
    compose(qtbot, panel, "slow/service", "{}")
    panel.send()
    qtbot.waitUntil(lambda: panel.result_label.text() == "Waiting for reply…", timeout=WAIT)
    qtbot.waitUntil(lambda: panel.result_label.text().startswith("Timed out after"), timeout=WAIT)
    assert re.fullmatch(r"Timed out after 0\.3 s", panel.result_label.text())


def test_command_without_handler(qtbot: QtBot, panel: ComposerPanel) -> None:
    panel.set_kind(Kind.COMMAND)
    compose(qtbot, panel, "nobody/home", "{}")
    panel.send()
    qtbot.waitUntil(lambda: panel.result_label.text() == "No handler for nobody/home", timeout=WAIT)
    compose(qtbot, panel, "somebody/home", "{}")  # another message: the old result must not look like its own
    qtbot.waitUntil(lambda: panel.result_label.text() == "", timeout=WAIT)


def test_an_empty_body_is_not_sent_as_json(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    arrived = collect(broker, "door/bell")
    compose(qtbot, panel, "door/bell", "")
    assert panel.content_type() == "application/json"
    panel.send()
    qtbot.waitUntil(lambda: len(arrived) == 1, timeout=WAIT)
    assert (arrived[0].payload, arrived[0].content_type) == (b"", "application/octet-stream")


def test_repeat_publishes_exactly_n_and_fills_the_progress(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    arrived = collect(broker, "tick")
    compose(qtbot, panel, "tick", '{"n": 1}')
    panel.repeat_count.setValue(50)
    panel.repeat_interval.setValue(0)
    assert not panel.progress.isVisibleTo(panel)  # no empty bar before the first repeat
    qtbot.mouseClick(panel.repeat_button, Qt.MouseButton.LeftButton)
    assert panel.progress.isVisibleTo(panel)
    assert panel.repeating
    assert panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.repeating, timeout=WAIT)
    qtbot.waitUntil(lambda: len(arrived) == 50, timeout=WAIT)
    qtbot.wait(50)
    assert len(arrived) == 50
    assert broker.published == 50
    assert panel.progress.maximum() == 50
    assert panel.progress.value() == 50
    assert "50 of 50 events sent" in panel.result_label.text()
    assert not panel.stop_button.isEnabled()
    assert panel.repeat_button.isEnabled()


@pytest.mark.parametrize("interval", [0, 5])
def test_stop_cancels_a_long_repeat(qtbot: QtBot, panel: ComposerPanel, broker: Broker, interval: int) -> None:
    compose(qtbot, panel, "flood", "{}")
    panel.repeat_count.setValue(1_000_000)
    panel.repeat_interval.setValue(interval)
    task = panel.start_repeat()
    assert task is not None
    assert panel.start_repeat() is None  # one repeat at a time
    qtbot.waitUntil(lambda: broker.published >= 3, timeout=WAIT)  # the window keeps processing events
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.repeating, timeout=WAIT)
    assert task.cancelled()
    sent = broker.published
    assert 3 <= sent < 1_000_000
    qtbot.wait(60)
    assert broker.published == sent
    assert panel.result_label.text().startswith("Stopped:")
    assert 0 < panel.progress.value() < 1_000_000


def test_repeated_commands_count_replies_and_timeouts(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    respond(broker, "orders/place", {"ok": True}, times=3)
    panel.set_kind(Kind.COMMAND)
    panel.timeout_spin.setValue(0.1)
    compose(qtbot, panel, "orders/place", "{}")
    panel.repeat_count.setValue(4)
    panel.repeat_interval.setValue(0)
    # wait for the panel's own word that the repeat is over, not for a task to end (the flake was that gap)
    with qtbot.waitSignal(panel.repeat_finished, timeout=WAIT) as finished:
        panel.start_repeat()
    assert not panel.repeating
    assert "4 of 4 commands: 3 replies, 1 timed out, 0 no handler" in panel.result_label.text()
    assert finished.args == [panel.result_label.text()]


def test_history_per_channel_and_loading(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    arrived = collect(broker, "#")
    for channel, payload in (("a", '{"v": 1}'), ("a", '{"v": 2}'), ("b", '{"w": 1}'), ("a", '{"v": 1}')):
        compose(qtbot, panel, channel, payload)
        panel.send()
    qtbot.waitUntil(lambda: len(arrived) == 4, timeout=WAIT)
    assert panel.history("a") == ['{"v": 1}', '{"v": 2}']
    assert panel.history("b") == ['{"w": 1}']
    panel.set_channel("a")
    assert panel.history_combo.count() == 2
    assert panel.history_combo.isEnabled()
    panel.history_combo.activated.emit(1)  # what picking the second entry does
    assert panel.payload_edit.toPlainText() == '{"v": 2}'
    assert panel.history_combo.currentIndex() == -1
    panel.set_channel("b")
    assert panel.history_combo.count() == 1
    panel.set_channel("c")
    assert panel.history_combo.count() == 0
    assert not panel.history_combo.isEnabled()


def test_history_keeps_twenty_per_channel(qtbot: QtBot, panel: ComposerPanel) -> None:
    panel.set_channel("many")
    for n in range(25):
        panel.payload_edit.setPlainText(f'{{"n": {n}}}')
        panel.send()
    assert len(panel.history()) == 20
    assert panel.history()[0] == '{"n": 24}'
    assert panel.history_combo.count() == 20


def test_load_message_fills_every_field(qtbot: QtBot, panel: ComposerPanel) -> None:
    panel.retain_check.setChecked(True)
    reply = Message.build(
        "$reply/someone",
        {"order_id": "A-1", "items": ["milk"]},
        kind=Kind.REPLY,
        headers={"x-trace": "42"},
        content_type="application/cloudevents+json",
    )
    panel.load_message(reply)
    assert panel.channel() == "$reply/someone"
    assert panel.kind() is Kind.EVENT
    assert panel.content_type() == "application/cloudevents+json"
    assert panel.headers() == {"x-trace": "42"}
    assert panel.headers_box.isVisibleTo(panel)
    assert panel.payload_text() == json.dumps({"order_id": "A-1", "items": ["milk"]}, indent=2)
    assert not panel.retain_check.isChecked()
    assert not panel.send_button.isEnabled()  # $reply/... is the broker's: pick a channel of your own
    assert "belong to the broker" in panel.error_label.text()

    command = Message.build("orders/place", "not json at all", kind=Kind.COMMAND, content_type="text/plain")
    panel.load_message(command)
    assert panel.kind() is Kind.COMMAND
    assert panel.headers() == {}
    assert panel.payload_text() == "not json at all"
    assert not panel.retain_check.isEnabled()


def test_format_pretty_prints_and_can_be_undone(qtbot: QtBot, panel: ComposerPanel) -> None:
    compose(qtbot, panel, "c", '{"a":1,"b":[1,2]}')
    assert panel.format_button.isEnabled()
    qtbot.mouseClick(panel.format_button, Qt.MouseButton.LeftButton)
    assert panel.payload_text() == '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}'
    panel.payload_edit.undo()
    assert panel.payload_text() == '{"a":1,"b":[1,2]}'
    panel.payload_edit.setPlainText("{broken")
    panel.validate()
    assert not panel.format_button.isEnabled()
    assert panel.format_payload() is False
    assert panel.payload_text() == "{broken"


def test_retained_event(qtbot: QtBot, panel: ComposerPanel, broker: Broker) -> None:
    compose(qtbot, panel, "fridge/level", '{"percent": 23}')
    panel.retain_check.setChecked(True)
    panel.send()
    qtbot.waitUntil(lambda: broker.retained("fridge/level") is not None, timeout=WAIT)
    panel.set_kind(Kind.COMMAND)
    assert not panel.retain_check.isChecked()
    assert panel.timeout_spin.isVisibleTo(panel)


def test_known_channels_complete_without_disturbing_typing(
    qtbot: QtBot, panel: ComposerPanel, broker: Broker, bridge: Bridge
) -> None:
    broker.declare_channel("fridge/level")
    broker.declare_channel("user/signedup")
    edit = panel.channel_combo.lineEdit()
    assert edit is not None
    qtbot.keyClicks(edit, "fri")
    bridge.take_snapshot()
    assert [panel.channel_combo.itemText(i) for i in range(panel.channel_combo.count())] == [
        "fridge/level",
        "user/signedup",
    ]
    assert edit.text() == "fri"
    assert edit.cursorPosition() == 3
    broker.subscribe("orders/place")
    bridge.take_snapshot()
    assert panel.channel_combo.count() == 3
    assert edit.text() == "fri"
    completer = panel.channel_combo.completer()
    assert completer is not None
    completer.setCompletionPrefix("level")
    assert completer.currentCompletion() == "fridge/level"


def test_set_channel_focuses_the_editor(qtbot: QtBot, panel: ComposerPanel) -> None:
    show_active(qtbot, panel)
    panel.set_channel("user/followed")
    assert panel.channel() == "user/followed"
    qtbot.waitUntil(panel.payload_edit.hasFocus, timeout=WAIT)


def test_set_dark_switches_colours(qtbot: QtBot, panel: ComposerPanel) -> None:
    compose(qtbot, panel, "a/#", "{}")
    light = panel.error_label.styleSheet()
    panel.set_dark(True)
    assert panel.error_label.styleSheet() != light
    panel.set_dark(False)
    assert panel.error_label.styleSheet() == light


def test_closing_the_panel_while_a_command_waits(qtbot: QtBot, bridge: Bridge, broker: Broker) -> None:
    broker.subscribe("slow")  # listens, never answers
    panel = ComposerPanel(bridge)
    panel.set_kind(Kind.COMMAND)
    panel.timeout_spin.setValue(0.2)
    panel.set_channel("slow")
    panel.payload_edit.setPlainText("{}")
    task = panel.send()
    assert task is not None
    shiboken6.delete(panel)  # the dock goes away while the command still waits
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert task.exception() is None  # the late result is dropped, not raised


@pytest.fixture(autouse=True)
def _end_helper_tasks(qtbot: QtBot, qloop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Cancel the subscribers and handlers a test started while the loop still runs them to the end."""
    yield
    for task in TASKS:
        task.cancel()
    qtbot.waitUntil(lambda: all(task.done() for task in TASKS), timeout=WAIT)
    TASKS.clear()
