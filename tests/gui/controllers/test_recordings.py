"""Export the stream to a recording and replay one, through the window's menus, dialog and status bar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDropEvent
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker
from eventdeck.core.connectors.backend import GAP_CHANNEL, EmbeddedBackend
from eventdeck.core.recording import read_recording
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.controllers.recordings import ReplayDialog
from eventdeck.gui.main_window import MainWindow
from tests.gui.gui_support import publish, shown_window

WAIT = 5000


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000))


def write_lines(path: Path, *records: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def replay_dialog(qtbot: QtBot, window: MainWindow) -> ReplayDialog:
    qtbot.waitUntil(lambda: isinstance(window.recordings.replay_dialog, ReplayDialog), timeout=WAIT)
    dialog = window.recordings.replay_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=WAIT)
    return dialog


def test_the_file_menu_offers_export_and_replay(window: MainWindow) -> None:
    names = [action.objectName() for action in window.file_menu.actions()]
    assert names.index("exportMessagesAction") < names.index("replayMessagesAction") < names.index("quitAction")
    replay = window.findChild(QAction, "replayMessagesAction")
    assert replay is not None
    assert replay.shortcut().toString() == "Ctrl+R"
    assert not window.recordings.stop_replay_action.isVisible()


def test_export_writes_the_rows_the_stream_shows(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    publish(qtbot, bridge, "user/signedup", {"name": "Ada"})
    publish(qtbot, bridge, "fridge/level", {"percent": 23})
    publish(qtbot, bridge, GAP_CHANNEL, "connection lost for 2 s")
    window.stream.set_channel_pattern("user/#")
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 1, timeout=WAIT)
    target = tmp_path / "users.jsonl"
    task = window.recordings.export_messages(str(target))
    qtbot.waitUntil(task.done, timeout=WAIT)
    (saved,) = read_recording(target)
    assert (saved.channel, saved.json()) == ("user/signedup", {"name": "Ada"})
    assert "1 message written to" in window.statusBar().currentMessage()

    window.stream.set_channel_pattern("")
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 3, timeout=WAIT)
    task = window.recordings.export_messages(str(target))
    qtbot.waitUntil(task.done, timeout=WAIT)
    assert [m.channel for m in read_recording(target)] == ["user/signedup", "fridge/level"]  # no gap marker


def test_export_of_an_empty_stream_or_to_a_bad_place_says_why(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    window.recordings.ask_export_file()
    assert "nothing to export" in window.statusBar().currentMessage()
    publish(qtbot, bridge, "a/b", 1)
    task = window.recordings.export_messages(str(tmp_path / "missing-folder" / "x.jsonl"))
    qtbot.waitUntil(task.done, timeout=WAIT)
    box = window.host.problem_box
    assert box is not None
    assert isinstance(box, QMessageBox)
    assert box.text() == "The messages were not exported"
    assert "missing-folder" in box.informativeText()


def test_replaying_a_recording_sends_it_again_and_reports(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    seen = bridge.broker.subscribe("#", name="watch")
    path = write_lines(
        tmp_path / "morning.jsonl",
        {"timestamp": 10.0, "channel": "user/signedup", "payload": '{"name": "Ada"}'},
        {"timestamp": 10.5, "channel": "fridge/level", "payload": '{"percent": 23}', "headers": {"unit": "%"}},
        {"timestamp": 10.6, "channel": "$reply/shop", "kind": "reply", "payload": "{}", "correlation_id": "c"},
    )
    window.recordings.open(str(path))
    dialog = replay_dialog(qtbot, window)
    summary = dialog.findChild(object, "replaySummary").text()  # type: ignore[union-attr]
    assert "2 messages to send: 2 events, 0 commands." in summary
    assert "Left out: 1 reply or $-channel message; responders" in summary
    dialog.speed.setCurrentIndex(dialog.speed.count() - 1)
    assert dialog.speed.currentText() == "As fast as the window keeps up (50,000 msg/s)"
    assert dialog.chosen_speed() is None
    qtbot.mouseClick(dialog.findChild(object, "replayStart"), Qt.MouseButton.LeftButton)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: "Replay done" in window.statusBar().currentMessage(), timeout=WAIT)
    assert "2 of 2 sent" in window.statusBar().currentMessage()
    got = [d.message for d in seen.take(10)]
    assert [(m.channel, m.json(), dict(m.headers)) for m in got] == [
        ("user/signedup", {"name": "Ada"}, {}),
        ("fridge/level", {"percent": 23}, {"unit": "%"}),
    ]
    assert window.recordings.replay_action.isEnabled()
    assert not window.recordings.stop_replay_action.isVisible()


def test_a_slow_replay_shows_progress_and_can_be_stopped(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    path = write_lines(
        tmp_path / "slow.jsonl",
        {"timestamp": 0, "channel": "tick", "payload": "1"},
        {"timestamp": 600, "channel": "tick"},
    )
    window.recordings.open(str(path))
    dialog = replay_dialog(qtbot, window)
    dialog.accept()  # "As recorded": the second message is ten minutes away
    qtbot.waitUntil(lambda: bridge.broker.published == 1, timeout=WAIT)
    assert window.recordings.stop_replay_action.isVisible()
    assert not window.recordings.replay_action.isEnabled()
    label = window.status_labels["replay"]
    qtbot.waitUntil(lambda: label.text() == "Replaying: 1 of 2 sent", timeout=WAIT)
    assert label.isVisible()
    window.recordings.stop_replay_action.trigger()
    qtbot.waitUntil(lambda: "Replay stopped: 1 of 2 sent" in window.statusBar().currentMessage(), timeout=WAIT)
    assert not label.isVisible()
    assert bridge.broker.published == 1


def test_a_broken_recording_is_explained_and_nothing_is_sent(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"channel": "a/b"}\n{"channel": "a/#"}\n', encoding="utf-8")
    task = window.recordings.open(str(path))
    qtbot.waitUntil(task.done, timeout=WAIT)
    box = window.host.problem_box
    assert box is not None
    assert box.text() == "This recording cannot be replayed"
    assert "broken.jsonl, line 2: invalid channel 'a/#'" in box.informativeText()
    assert window.recordings.replay_dialog is None
    assert bridge.broker.published == 0


def test_dropping_a_recording_on_the_window_offers_to_replay_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "dropped.jsonl", {"channel": "a/b", "payload": "1"})
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(drop)
    dialog = replay_dialog(qtbot, window)
    assert "1 message to send: 1 event, 0 commands." in dialog.findChild(object, "replaySummary").text()  # type: ignore[union-attr]


def test_switching_brokers_stops_a_replay_and_says_why(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    embedded = bridge.broker
    path = write_lines(
        tmp_path / "slow.jsonl", {"timestamp": 0, "channel": "tick"}, {"timestamp": 600, "channel": "tick"}
    )
    window.recordings.open(str(path))
    dialog = replay_dialog(qtbot, window)
    dialog.accept()
    qtbot.waitUntil(lambda: embedded.published == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog), timeout=WAIT)  # closed dialogs free their recording
    other = EmbeddedBackend(Broker(), name="the other broker")
    bridge.set_backend(other)
    expected = "Replay stopped (the window switched to the other broker): 1 of 2 sent"
    qtbot.waitUntil(lambda: expected in window.statusBar().currentMessage(), timeout=WAIT)
    assert other.broker.published == 0


def test_a_replay_only_goes_into_the_broker_its_dialog_named(
    qtbot: QtBot, window: MainWindow, bridge: Bridge, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "one.jsonl", {"channel": "a/b", "payload": "1"})
    window.recordings.open(str(path))
    dialog = replay_dialog(qtbot, window)
    other = EmbeddedBackend(Broker(), name="the other broker")
    bridge.set_backend(other)
    dialog.accept()
    assert "Not replayed: the window now shows the other broker" in window.statusBar().currentMessage()
    qtbot.wait(50)
    assert other.broker.published == 0
    assert not window.recordings.replaying
