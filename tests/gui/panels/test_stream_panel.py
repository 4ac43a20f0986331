"""The live stream: ring eviction, following, holding still, filters, pause, flood coalescing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from eventdeck.core import Kind, Message
from eventdeck.core.connectors.backend import GAP_CHANNEL
from eventdeck.core.simulation.faults import BrokerRestart
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.models.broker_restart import RESTART_BACKGROUND, RESTART_CHANNEL, restart_notice
from eventdeck.gui.models.stream_model import KIND_COLUMN, StreamFilter, StreamModel
from eventdeck.gui.panels.stream_panel import FLOOD_BATCH, FLOOD_RATE, ROW_HEIGHT, StreamPanel
from eventdeck.gui.widgets.icons import icon
from eventdeck.gui.widgets.theme import DEAD_LETTER_BACKGROUND, DEAD_LETTER_COLOUR


def messages(count: int, channel: str = "a/b", kind: Kind = Kind.EVENT, start: int = 0) -> list[Message]:
    return [Message.build(channel, {"n": start + i}, kind=kind, publisher="test") for i in range(count)]


@pytest.fixture
def panel(qtbot: QtBot, bridge: Bridge) -> StreamPanel:
    widget = StreamPanel(bridge, StreamModel(capacity=100))
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    return widget


def test_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = StreamModel(capacity=50)
    model.append_batch(messages(30))
    qtmodeltester.check(model)
    model.append_batch(messages(40, kind=Kind.COMMAND))  # evicts 20
    qtmodeltester.check(model)
    model.set_filter(StreamFilter(kinds=frozenset({Kind.COMMAND})))
    qtmodeltester.check(model)
    model.clear()
    qtmodeltester.check(model)


def test_ring_keeps_the_newest_rows_with_one_insert_and_one_removal_per_batch() -> None:
    model = StreamModel(capacity=100)
    inserted: list[tuple[int, int]] = []
    removed: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.rowsRemoved.connect(lambda _p, first, last: removed.append((first, last)))
    model.append_batch(messages(80))
    model.append_batch(messages(50, start=80))
    assert model.rowCount() == 100
    assert model.held == 100
    assert model.message_at(0).json() == {"n": 30}
    assert model.message_at(99).json() == {"n": 129}
    assert inserted == [(0, 79), (50, 99)]
    assert removed == [(0, 29)]
    model.append_batch(messages(500, start=130))  # bigger than the ring: only its newest 100 stay
    assert model.message_at(0).json() == {"n": 530}
    assert model.rowCount() == 100


def test_display_roles_show_time_kind_payload_and_size() -> None:
    model = StreamModel()
    model.append_batch([Message.build("fridge/level", {"percent": 23}, kind=Kind.COMMAND, publisher="sensor")])
    row = [model.index(0, column).data() for column in range(model.columnCount())]
    assert row[1:] == ["fridge/level", "command", "sensor", '{"percent":23}', "14 B"]
    assert len(row[0]) == len("12:34:56.789")
    assert model.index(0, 2).data(Qt.ItemDataRole.DecorationRole) is not None
    assert model.index(0, 4).data(Qt.ItemDataRole.DisplayRole) == '{"percent":23}'


def test_payload_preview_is_plain_single_line_text() -> None:
    model = StreamModel()
    model.append_batch([Message.build("a", b"<b>bold</b>\nnext line\x00")])
    assert model.index(0, 4).data() == "<b>bold</b> next line "


def test_selected_row_survives_arrivals_and_eviction(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch(messages(60))
    panel.view.selectRow(50)
    chosen = panel.selected_message()
    assert chosen is not None
    panel.model.append_batch(messages(30, start=60))  # 90 rows: nothing evicted yet
    panel.model.append_batch(messages(30, start=90))  # evicts 20 rows above the selection
    selected = panel.selected_message()
    assert selected is not None
    assert selected.id == chosen.id
    assert panel.view.selectionModel().currentIndex().row() == 30


def test_follows_newest_until_scrolled_up_then_holds_still_and_counts(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch(messages(100))
    bar = panel.view.verticalScrollBar()
    assert panel.following
    assert bar.value() == bar.maximum()

    bar.setValue(bar.maximum() - 30)  # the user scrolls up
    assert not panel.following
    top_before = panel.view.rowAt(0)
    first_visible = panel.model.message_at(top_before).id
    panel.model.append_batch(messages(10, start=100))  # 10 evicted at the top, 10 added below
    assert panel.model.message_at(panel.view.rowAt(0)).id == first_visible  # held still
    panel.refresh_status()
    assert panel.new_button.isVisible()
    assert panel.new_button.text() == "10 new"

    panel.new_button.click()
    assert panel.following
    assert bar.value() == bar.maximum()
    assert not panel.new_button.isVisible()


def test_end_key_resumes_following(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch(messages(100))
    panel.view.verticalScrollBar().setValue(0)
    assert not panel.following
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_End)
    assert panel.following


def test_filters_by_pattern_kind_and_text(qtbot: QtBot, panel: StreamPanel) -> None:
    model = panel.model
    model.append_batch(messages(3, "user/signedup"))
    model.append_batch(messages(2, "fridge/level", kind=Kind.COMMAND))
    model.append_batch([Message.build("user/followed", {"username": "grace"})])
    panel.pattern_edit.setText("user/#")
    qtbot.waitUntil(lambda: model.rowCount() == 4, timeout=2000)
    panel.text_edit.setText("GRACE")
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=2000)
    panel.text_edit.clear()
    panel.pattern_edit.clear()
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=2000)
    panel.kind_buttons[Kind.EVENT].click()
    assert model.rowCount() == 2
    model.append_batch(messages(5, "x"))  # filtered at ingest too
    assert model.rowCount() == 2


def test_invalid_filter_pattern_is_explained_and_not_applied(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch(messages(5))
    panel.set_channel_pattern("a/#/b")
    assert panel.filter_error.isVisible()
    assert "'#' is only allowed as the last level" in panel.filter_error.text()
    assert panel.model.rowCount() == 5


def test_pause_counts_arrivals_and_resume_shows_them(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch(messages(5))
    panel.pause_button.click()
    assert panel.model.paused
    panel.model.append_batch(messages(7, start=5))
    assert panel.model.rowCount() == 5
    panel.refresh_status()
    assert panel.status.text().startswith("Paused: 7 arrived meanwhile")
    panel.pause_button.click()
    assert panel.model.rowCount() == 12


def test_clear_empties_the_stream(qtbot: QtBot, panel: StreamPanel) -> None:
    panel.model.append_batch(messages(5))
    panel.clear_button.click()
    assert panel.model.rowCount() == 0
    assert panel.model.held == 0


def test_a_flood_is_added_in_coalesced_batches(qtbot: QtBot, panel: StreamPanel, bridge: Bridge) -> None:
    inserts: list[int] = []
    panel.model.rowsInserted.connect(lambda _p, first, last: inserts.append(last - first + 1))
    bridge.messages.emit(messages(FLOOD_BATCH))
    bridge.messages.emit(messages(10, start=FLOOD_BATCH))
    assert inserts == []  # held back for a moment
    qtbot.waitUntil(lambda: panel.model.rowCount() == 100, timeout=2000)
    assert inserts == [100]  # one insertion for both batches, capped to the ring
    bridge.messages.emit(messages(3))  # a trickle goes straight in
    assert inserts[-1] == 3


def test_many_small_batches_in_a_second_are_a_flood_too(qtbot: QtBot, bridge: Bridge) -> None:
    panel = StreamPanel(bridge, StreamModel(capacity=10_000))  # a connector hands its traffic over in small bits
    qtbot.addWidget(panel)
    panel.show()
    inserts: list[int] = []
    panel.model.rowsInserted.connect(lambda _p, first, last: inserts.append(last - first + 1))
    small = FLOOD_RATE // 20
    for i in range(30):
        bridge.messages.emit(messages(small, start=i * small))
    assert inserts == [small] * 19  # straight in until the last second's count reaches the flood's rate
    qtbot.waitUntil(lambda: panel.model.rowCount() == 30 * small, timeout=2000)
    assert inserts == [small] * 19 + [11 * small]  # the rest in one insertion
    assert panel.model.message_at(30 * small - 1).json() == {"n": 30 * small - 1}  # none lost


def test_capacity_can_change(panel: StreamPanel) -> None:
    panel.model.append_batch(messages(100))
    panel.model.set_capacity(10)
    assert panel.model.rowCount() == 10
    with pytest.raises(ValueError, match="at least 1 row"):
        panel.model.set_capacity(0)


def test_a_connector_gap_is_one_amber_row_that_says_so() -> None:
    model = StreamModel()
    gap = Message.build(
        GAP_CHANNEL,
        {"seconds": 3.2},
        headers={"x-gap-seconds": "3.200", "x-gap-reason": "lost connection to mqtt://127.0.0.1:1884"},
    )
    model.append_batch([*messages(1), gap])
    assert model.index(1, 4).data() == "⚠ gap: no traffic seen for 3.2 s (lost connection to mqtt://127.0.0.1:1884)"
    assert model.index(1, 1).data() == "connection"
    assert model.index(1, 2).data() == ""
    assert model.index(1, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None


def test_a_broker_restart_is_one_row_written_across_and_moves_with_the_ring(panel: StreamPanel) -> None:
    across = len(StreamModel.COLUMNS) - KIND_COLUMN
    restart = BrokerRestart(True, {"audit": 3}, {"feed": 2}, 0, 0, 0)
    panel.model.append_batch(messages(10))
    assert panel.model.index(0, KIND_COLUMN).data(Qt.ItemDataRole.FontRole) is None  # fonts: not even asked
    panel.set_paused(True)
    panel.add_notice(restart_notice(restart))  # held while paused: written across when it shows
    assert panel.model.rowCount() == 10
    panel.set_paused(False)
    assert panel.model.message_at(10).channel == RESTART_CHANNEL
    assert (panel.view.columnSpan(10, KIND_COLUMN), panel.view.rowHeight(10)) == (across, 2 * ROW_HEIGHT)
    panel.model.append_batch(messages(95))  # the ring evicts 6 rows: the notice moves up
    assert panel.model.message_at(4).channel == RESTART_CHANNEL
    assert (panel.view.columnSpan(4, KIND_COLUMN), panel.view.rowHeight(4)) == (across, 2 * ROW_HEIGHT)
    assert (panel.view.columnSpan(10, KIND_COLUMN), panel.view.rowHeight(10)) == (1, ROW_HEIGHT)
    assert panel.model.index(4, 0).data(Qt.ItemDataRole.BackgroundRole) == RESTART_BACKGROUND
    panel.add_notice(restart_notice(restart))  # shown at once
    assert panel.view.columnSpan(100 - 1, KIND_COLUMN) == across
    font = Qt.ItemDataRole.FontRole
    assert panel.model.index(99, KIND_COLUMN).data(font).bold()  # its text; no message is bold
    assert [panel.model.index(98, column).data(font) for column in range(6)] == [None] * 6


def test_a_dead_letter_has_its_own_badge_colour_and_row() -> None:
    model = StreamModel(capacity=10)
    model.append_batch([*messages(1), *messages(1, channel="$dead/a/b")])
    alive, dead = model.index(0, KIND_COLUMN), model.index(1, KIND_COLUMN)
    assert (alive.data(), dead.data()) == ("event", "dead letter")
    assert dead.data(Qt.ItemDataRole.ForegroundRole) == QColor(DEAD_LETTER_COLOUR)
    assert alive.data(Qt.ItemDataRole.ForegroundRole) != dead.data(Qt.ItemDataRole.ForegroundRole)
    assert dead.data(Qt.ItemDataRole.DecorationRole).cacheKey() == icon("dead").cacheKey()
    assert model.index(1, 4).data(Qt.ItemDataRole.BackgroundRole) == DEAD_LETTER_BACKGROUND
    assert model.index(0, 4).data(Qt.ItemDataRole.BackgroundRole) is None


def test_selecting_a_row_follows_its_message_and_clearing_stops(
    qtbot: QtBot, panel: StreamPanel, bridge: Bridge
) -> None:
    batch = messages(5)
    panel.model.append_batch(batch)
    with qtbot.waitSignal(bridge.followed) as followed:
        assert panel.select_message(batch[2].id)
    assert followed.args == [batch[2]]
    assert bridge.followed_message is batch[2]
    with qtbot.waitSignal(bridge.followed) as followed:
        panel.clear()
    assert followed.args == [None]
    assert bridge.followed_message is None


def test_hidden_beneath_a_shown_window_batches_are_gathered_and_added_when_it_shows(
    qtbot: QtBot, bridge: Bridge
) -> None:
    window = QWidget()  # the main window whose docks the presenter covers
    qtbot.addWidget(window)
    panel = StreamPanel(bridge, StreamModel(capacity=100), window)
    window.show()
    panel.hide()
    inserted: list[tuple[int, int]] = []
    panel.model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    bridge.messages.emit(messages(3))
    bridge.messages.emit(messages(FLOOD_BATCH, start=3))
    qtbot.wait(150)  # longer than the flood's coalescing: still nothing added row by row
    assert panel.model.rowCount() == 0
    assert inserted == []

    panel.show()
    assert inserted == [(0, 99)]  # one insertion, the newest 100 of them (the ring's capacity)
    assert panel.model.message_at(99).json() == {"n": FLOOD_BATCH + 2}
    bridge.messages.emit(messages(1, start=1_000))
    assert panel.model.message_at(99).json() == {"n": 1_000}  # shown again: rows go straight in


def test_a_row_that_came_while_hidden_can_still_be_selected(qtbot: QtBot, bridge: Bridge) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    panel = StreamPanel(bridge, StreamModel(capacity=100), window)
    window.show()
    panel.hide()
    batch = messages(5)
    bridge.messages.emit(batch)
    assert panel.select_message(batch[3].id)
    assert panel.selected_message() == batch[3]
