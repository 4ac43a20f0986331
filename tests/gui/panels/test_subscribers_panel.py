"""The subscribers panel: counters from snapshots, virtual subscribers, pause grows the queue, resume drains it."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from eventdeck.core import AckMode, Broker, Overflow, State, SubscriptionInfo
from eventdeck.core.connectors.backend import Capabilities, EmbeddedBackend
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.models.subscriptions_model import (
    ACKED,
    DEAD,
    DELIVERED,
    NAME,
    PENDING,
    PENDING_BYTES,
    REDELIVERED,
    STATE,
    STATE_COLOURS,
    SubscriptionsModel,
)
from eventdeck.gui.panels.subscribers_panel import NAME_MIN, SubscribersPanel
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR
from tests.gui.gui_support import ShowPanel, shown_window


@pytest.fixture
def panel(show_panel: ShowPanel) -> SubscribersPanel:
    return show_panel(SubscribersPanel, (640, 360))


def _cell(panel: SubscribersPanel, name: str, column: int) -> Any:
    row = panel.model.row_of(name)
    assert row is not None, f"no row for {name!r}"
    return panel.model.index(row, column).data()


def _count(panel: SubscribersPanel, name: str, column: int) -> int:
    return int(str(_cell(panel, name, column)).replace(",", ""))


def _child(panel: SubscribersPanel, name: str) -> Any:
    widget = panel.findChild(QWidget, name)
    assert widget is not None, name
    return widget


def _add_through_form(qtbot: QtBot, panel: SubscribersPanel, pattern: str, name: str, **options: Any) -> None:
    qtbot.mouseClick(_child(panel, "subscribersAdd"), Qt.MouseButton.LeftButton)
    assert panel.form.isVisible()
    _child(panel, "virtualPattern").setText(pattern)
    _child(panel, "virtualName").setText(name)
    if "delay_ms" in options:
        _child(panel, "virtualDelay").setValue(options["delay_ms"])
    if "failure" in options:
        _child(panel, "virtualFailure").setValue(options["failure"])
    if "attempts" in options:
        _child(panel, "virtualAttempts").setValue(options["attempts"])
    if "reply" in options:
        _child(panel, "virtualReply").setText(options["reply"])
    if options.get("durable"):
        _child(panel, "virtualDurable").setChecked(True)
    qtbot.mouseClick(_child(panel, "virtualCreate"), Qt.MouseButton.LeftButton)


def _publish(bridge: Bridge, channel: str, count: int) -> None:
    async def burst() -> None:
        for i in range(count):
            await bridge.broker.publish(channel, {"percent": i})

    bridge.spawn(burst(), "publish")


def test_virtual_subscriber_added_through_the_form_shows_counters(
    qtbot: QtBot, panel: SubscribersPanel, bridge: Bridge, broker: Broker
) -> None:
    assert panel.findChild(QWidget, "subscribersView") is panel.view
    assert "brokers store messages until they are delivered" in _child(panel, "subscribersHint").text()
    _add_through_form(qtbot, panel, "fridge/#", "shopping-list")
    assert not panel.form.isVisible()
    assert "shopping-list" in panel.virtuals
    assert broker.subscription("shopping-list").pattern == "fridge/#"
    assert panel.selected_name() == "shopping-list"
    _publish(bridge, "fridge/level", 5)
    qtbot.waitUntil(lambda: _count(panel, "shopping-list", DELIVERED) == 5, timeout=3000)
    row = panel.model.row_of("shopping-list")
    assert row is not None
    values = [panel.model.index(row, column).data() for column in range(panel.model.columnCount())]
    assert values[:4] == ["shopping-list", "fridge/#", "no", "active"]
    assert values[4:10] == ["0", "5", "5", "0", "0", "0"]
    assert panel.model.headerData(10, Qt.Orientation.Horizontal) == "msg/s"


def test_pausing_grows_pending_and_resuming_drains_it(
    qtbot: QtBot, panel: SubscribersPanel, bridge: Bridge, broker: Broker
) -> None:
    _add_through_form(qtbot, panel, "fridge/#", "shopping-list")
    assert panel.select("shopping-list")
    pause, resume = _child(panel, "subscribersPause"), _child(panel, "subscribersResume")
    assert pause.isEnabled()
    assert not resume.isEnabled()
    qtbot.mouseClick(pause, Qt.MouseButton.LeftButton)
    assert broker.subscription("shopping-list").state is State.PAUSED
    assert _cell(panel, "shopping-list", STATE) == "paused"
    assert (
        panel.model.index(panel.model.row_of("shopping-list") or 0, STATE).data(Qt.ItemDataRole.ForegroundRole).name()
        == "#d97706"
    )
    assert resume.isEnabled()
    assert not pause.isEnabled()

    _publish(bridge, "fridge/level", 40)
    qtbot.waitUntil(lambda: _count(panel, "shopping-list", PENDING) == 40, timeout=3000)  # the queue grew
    assert _count(panel, "shopping-list", DELIVERED) == 0

    qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _count(panel, "shopping-list", PENDING) == 0, timeout=3000)  # and drained
    qtbot.waitUntil(lambda: _count(panel, "shopping-list", DELIVERED) == 40, timeout=3000)
    assert _cell(panel, "shopping-list", STATE) == "active"


def test_remove_deletes_the_row_and_the_subscription(
    qtbot: QtBot, panel: SubscribersPanel, bridge: Bridge, broker: Broker
) -> None:
    broker.subscribe("user/#", name="welcome-mailer")
    _add_through_form(qtbot, panel, "fridge/#", "shopping-list")
    assert panel.model.rowCount() == 2
    assert panel.select("shopping-list")
    qtbot.mouseClick(_child(panel, "subscribersRemove"), Qt.MouseButton.LeftButton)
    assert panel.model.row_of("shopping-list") is None
    assert "shopping-list" not in panel.virtuals
    assert [info.name for info in broker.subscriptions()] == ["welcome-mailer"]
    # a plain (not virtual) subscription is removed too
    assert panel.select("welcome-mailer")
    qtbot.mouseClick(_child(panel, "subscribersRemove"), Qt.MouseButton.LeftButton)
    assert broker.subscriptions() == []
    assert panel.model.rowCount() == 0
    assert not _child(panel, "subscribersRemove").isEnabled()


@pytest.mark.parametrize(
    "case",
    [
        ("fridge/#/level", "x", "", "Pattern:"),
        ("", "x", "", "Pattern:"),
        ("fridge/#", "bad name!", "", "Name:"),
        ("fridge/#", "ok", '{"orderId": ', "Reply is not JSON"),
    ],
)
def test_invalid_input_shows_the_reason_and_creates_nothing(
    qtbot: QtBot, panel: SubscribersPanel, broker: Broker, case: tuple[str, str, str, str]
) -> None:
    pattern, name, reply, reason = case
    _add_through_form(qtbot, panel, pattern, name, reply=reply)
    error = _child(panel, "virtualError")
    assert error.isVisible()
    assert error.text().startswith(reason)
    assert panel.form.isVisible()
    assert broker.subscriptions() == []
    assert panel.virtuals == {}


def test_a_taken_name_shows_the_reason(qtbot: QtBot, panel: SubscribersPanel, broker: Broker) -> None:
    broker.subscribe("user/#", name="welcome-mailer")
    _add_through_form(qtbot, panel, "fridge/#", "welcome-mailer")
    assert "already exists" in _child(panel, "virtualError").text()
    assert len(broker.subscriptions()) == 1


def test_add_virtual_prefills_the_pattern(panel: SubscribersPanel) -> None:
    panel.add_virtual("fridge/+")
    assert panel.form.isVisible()
    assert _child(panel, "virtualPattern").text() == "fridge/+"
    assert _child(panel, "virtualName").text() == "virtual-fridge-1"


def test_auto_reply_answers_commands(qtbot: QtBot, panel: SubscribersPanel, bridge: Bridge, broker: Broker) -> None:
    _add_through_form(qtbot, panel, "groceries/order", "grocery-service", reply='{"orderId": "ord-1"}')
    replies: list[Any] = []

    async def ask() -> None:
        replies.append((await broker.request("groceries/order", {"items": ["milk"]})).json())

    bridge.spawn(ask(), "request")
    qtbot.waitUntil(lambda: bool(replies), timeout=3000)
    assert replies == [{"orderId": "ord-1"}]


def test_failures_end_as_dead_letters(qtbot: QtBot, panel: SubscribersPanel, bridge: Bridge) -> None:
    _add_through_form(qtbot, panel, "fridge/#", "flaky", failure=100, attempts=3)
    _publish(bridge, "fridge/level", 4)
    qtbot.waitUntil(lambda: _count(panel, "flaky", DEAD) == 4, timeout=3000)
    assert _count(panel, "flaky", DELIVERED) == 12  # 3 attempts each
    row = panel.model.row_of("flaky") or 0
    assert panel.model.index(row, DEAD).data(Qt.ItemDataRole.ForegroundRole) == QColor(DEAD_LETTER_COLOUR)


def _info(name: str, pending: int = 0, state: State = State.ACTIVE) -> SubscriptionInfo:
    return SubscriptionInfo(
        name, "a/#", False, state, Overflow.DROP_OLDEST, AckMode.AUTO, 100, pending, 0, 0, 0, 0, 0, 0
    )


def test_model_merges_snapshots_without_resets(qtmodeltester: ModelTester) -> None:
    model = SubscriptionsModel()
    qtmodeltester.check(model)
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.update([_info("a"), _info("b"), _info("c")], {"a": 1.5})
    qtmodeltester.check(model)
    model.update([_info("a", 3), _info("c", state=State.PAUSED), _info("d")], {"a": 2.0})
    qtmodeltester.check(model)
    assert model.names() == ["a", "c", "d"]
    assert model.index(0, PENDING).data() == "3"
    assert model.index(0, 10).data() == "2.0"
    assert model.index(1, STATE).data() == "paused"
    model.update([], {})
    qtmodeltester.check(model)
    assert model.rowCount() == 0
    assert resets == []


def test_selection_survives_snapshot_updates(
    qtbot: QtBot, panel: SubscribersPanel, bridge: Bridge, broker: Broker, qtmodeltester: ModelTester
) -> None:
    for name in ("first", "second", "third"):
        broker.subscribe("fridge/#", name=name)
    panel.refresh()
    assert panel.select("second")
    broker.subscription("first").unsubscribe()  # a row above the selection goes away
    broker.subscribe("user/#", name="fourth")
    _publish(bridge, "fridge/level", 3)
    qtbot.waitUntil(lambda: panel.model.row_of("first") is None and panel.model.row_of("fourth") is not None)
    qtbot.waitUntil(lambda: _count(panel, "second", PENDING) == 3, timeout=3000)  # nobody consumes: it queues
    assert panel.selected_name() == "second"
    qtmodeltester.check(panel.model)


@pytest.mark.parametrize(
    ("why", "words"),
    [
        ("", "Not exposed by this broker"),
        ("the management API is not asked: cleartext", "Not exposed: the management API is not asked: cleartext."),
    ],
)
def test_a_broker_that_hides_its_subscribers_says_so(qtbot: QtBot, bridge: Bridge, why: str, words: str) -> None:
    class HiddenSubscribers(EmbeddedBackend):
        capabilities = Capabilities(lists_subscribers=False, why_no_subscribers=why, virtual_subscribers=False)

        def subscriptions(self) -> None:  # type: ignore[override]
            return None

    hidden = Bridge(HiddenSubscribers(bridge.broker))
    panel = SubscribersPanel(hidden)
    qtbot.addWidget(panel)
    panel.show()
    bridge.broker.subscribe("a/#", name="someone")
    snap = hidden.take_snapshot()
    assert not snap.subscriptions_exposed
    assert panel.not_exposed.isVisible()
    assert not panel.view.isVisible()
    assert not panel.add_button.isEnabled()
    assert words in panel.not_exposed.text()
    assert snap.subscriptions == []


def test_pending_bytes_column_shows_what_a_stuck_subscriber_holds(
    qtbot: QtBot, panel: SubscribersPanel, bridge: Bridge, broker: Broker
) -> None:
    broker.subscribe("big/#", name="stuck", max_pending_bytes=4096).pause()

    async def burst() -> None:
        for _ in range(3):
            await bridge.broker.publish("big/x", b"x" * 1536)

    bridge.spawn(burst(), "publish")
    qtbot.waitUntil(lambda: _cell(panel, "stuck", PENDING) == "2", timeout=3000)  # the third passed the bound
    assert _cell(panel, "stuck", PENDING_BYTES) == "3 KiB"
    assert panel.model.headerData(PENDING_BYTES, Qt.Orientation.Horizontal) == "Pending bytes"
    header = panel.view.horizontalHeader()
    assert header.visualIndex(PENDING_BYTES) == header.visualIndex(PENDING) + 1
    assert "4 KiB" in panel.model.index(panel.model.row_of("stuck") or 0, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_at_the_default_window_size_pending_acked_redelivered_and_dead_fit_without_scrolling(
    qtbot: QtBot, bridge: Bridge, broker: Broker, settings: QSettings
) -> None:
    for n in range(25):  # enough rows for a vertical scroll bar, long names, big counts
        broker.subscribe("orders/#", name=f"order-fulfilment-service-{n}", ack="manual", max_pending=100_000)
    for _ in range(3):
        _publish(bridge, "orders/new", 4_000)
    window = next(shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000)))
    panel = window.subscribers
    qtbot.waitUntil(lambda: _cell(panel, "order-fulfilment-service-0", PENDING) == "12,000", timeout=5000)
    bridge.take_snapshot()
    view, header = panel.view, panel.view.horizontalHeader()
    qtbot.waitUntil(view.verticalScrollBar().isVisible)  # shown once the view lays itself out
    assert view.horizontalScrollBar().maximum() == 0  # nothing to scroll to
    shown = [column for column in range(panel.model.columnCount()) if not header.isSectionHidden(column)]
    assert shown[0] == NAME
    assert {PENDING, ACKED, REDELIVERED, DEAD} <= set(shown)
    assert header.length() <= view.viewport().width()
    assert header.sectionSize(NAME) >= NAME_MIN
    titles = [panel.model.headerData(column, Qt.Orientation.Horizontal) for column in shown]
    assert titles[:5] == ["Name", "Pending", "Acked", "Retried", "Dead"]  # narrow: short words, full ones in tips
    assert "Redelivered" in panel.model.headerData(REDELIVERED, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "Dead-lettered" in panel.model.headerData(DEAD, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    bytes_tip = panel.model.index(0, PENDING).data(Qt.ItemDataRole.ToolTipRole)
    assert bytes_tip.startswith("12,000 messages, ")  # the bytes column is merged into Pending's tooltip
    window.close()


def test_a_wide_dock_shows_more_columns_with_their_full_names(panel: SubscribersPanel, broker: Broker) -> None:
    broker.subscribe("fridge/#", name="shopping-list").pause()
    panel.refresh()
    header = panel.view.horizontalHeader()
    panel.resize(1400, 360)
    shown = {column for column in range(panel.model.columnCount()) if not header.isSectionHidden(column)}
    assert shown == set(range(panel.model.columnCount()))
    assert panel.model.headerData(REDELIVERED, Qt.Orientation.Horizontal) == "Redelivered"
    assert panel.model.headerData(DEAD, Qt.Orientation.Horizontal) == "Dead-lettered"
    assert panel.view.horizontalScrollBar().maximum() == 0
    panel.resize(330, 360)
    shown = {column for column in range(panel.model.columnCount()) if not header.isSectionHidden(column)}
    assert shown == {NAME, PENDING, ACKED, REDELIVERED, DEAD}
    # With the State column gone, the name says it: its colour and icon.
    row = panel.model.row_of("shopping-list") or 0
    assert panel.model.index(row, NAME).data(Qt.ItemDataRole.ForegroundRole) == STATE_COLOURS[State.PAUSED]
    assert "paused" in panel.model.index(row, NAME).data(Qt.ItemDataRole.ToolTipRole)
