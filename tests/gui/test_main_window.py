"""The whole window: panels wired together, shortcuts, theme, settings, non-modal errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDockWidget, QGraphicsView, QMessageBox, QTableView, QTreeView, QWidget
from pytestqt.qtbot import QtBot

from eventdeck.core import Kind
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow, fitted_size
from tests.gui.gui_support import publish, shown_window


@pytest.fixture
def window(qtbot: QtBot, bridge: Bridge, settings: QSettings) -> Iterator[MainWindow]:
    yield from shown_window(qtbot, MainWindow(bridge, settings, ring_size=1_000))


def test_every_promised_object_name_is_there(window: MainWindow) -> None:
    for name, kind in [
        ("channelsView", QTreeView),
        ("streamView", QTableView),
        ("subscribersView", QTableView),
    ]:
        assert window.findChild(kind, name) is not None, name
    for name in ("inspectorView", "composerChannel", "composerKind", "composerPayload", "composerSend", "ratesEmpty"):
        assert window.findChild(object, name) is not None, name  # type: ignore[arg-type]
    assert len(window.findChildren(QDockWidget)) == 7
    assert window.findChild(QGraphicsView, "topologyView") is None  # a tab behind Rates: built when first shown
    window.docks["topology"].raise_()
    assert window.findChild(QGraphicsView, "topologyView") is not None


def test_the_rates_plot_is_made_with_the_first_channel_rate(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    assert window.findChild(QWidget, "ratesPlot") is None  # the dock says what will be drawn there meanwhile
    bridge.take_snapshot()
    publish(qtbot, bridge, "user/signedup", {"name": "Ada"})
    bridge.take_snapshot()
    plot = window.findChild(QWidget, "ratesPlot")
    assert plot is not None
    assert plot.isVisible()
    assert window.rates.legend_labels() == ["user/signedup"]


def test_composed_event_reaches_stream_channels_and_inspector(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    composer = window.composer
    composer.set_channel("user/signedup")
    composer.findChild(object, "composerPayload").setPlainText('{"name": "Ada", "age": 36}')  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: composer.findChild(object, "composerSend").isEnabled(), timeout=3000)  # type: ignore[union-attr]
    editor = composer.findChild(object, "composerPayload")
    qtbot.keyClick(editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 1, timeout=3000)
    assert window.stream_model.message_at(0).json() == {"name": "Ada", "age": 36}
    bridge.take_snapshot()
    assert window.channels.model.channel_node("user/signedup") is not None

    window.stream.view.selectRow(0)
    assert window.inspector.message is not None
    assert window.inspector.message.channel == "user/signedup"


def test_selecting_a_channel_filters_the_stream(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    publish(qtbot, bridge, "user/signedup", {"n": 1})
    publish(qtbot, bridge, "fridge/level", {"percent": 23})
    assert window.stream_model.rowCount() == 2
    bridge.take_snapshot()
    window.channels.select_channel("fridge/level")
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 1, timeout=3000)
    assert window.stream_model.message_at(0).channel == "fridge/level"
    window.channels.findChild(object, "channelsShowAll").click()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: window.stream_model.rowCount() == 2, timeout=3000)


def test_inspector_resend_fills_the_composer(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    publish(qtbot, bridge, "fridge/level", {"percent": 23})
    window.stream.view.selectRow(0)
    window.inspector.findChild(object, "inspectorResend").click()  # type: ignore[union-attr]
    assert window.composer.channel() == "fridge/level"
    assert '"percent": 23' in window.composer.payload_text()


def test_command_reply_link_selects_the_reply_in_the_stream(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    broker = bridge.broker
    sub = broker.subscribe("groceries/order", name="grocer")

    async def respond() -> None:
        delivery = await sub.get()
        await broker.reply(delivery.message, {"orderId": "ord-1"})

    bridge.spawn(respond(), "respond")
    request = bridge.spawn(broker.request("groceries/order", {"items": ["milk"]}), "request")
    qtbot.waitUntil(request.done, timeout=3000)
    bridge.flush()
    assert window.stream_model.rowCount() == 2
    window.stream.view.selectRow(0)
    linked = window.inspector.findChild(object, "inspectorLinked")
    assert linked is not None
    linked.click()  # type: ignore[attr-defined]
    selected = window.stream.selected_message()
    assert selected is not None
    assert selected.kind is Kind.REPLY


def test_channel_context_menu_opens_composer_and_subscriber_form(
    qtbot: QtBot, window: MainWindow, bridge: Bridge
) -> None:
    window.channels.publish_requested.emit("fridge/level")
    assert window.composer.channel() == "fridge/level"
    window.channels.subscribe_requested.emit("user/#")
    assert window.subscribers.findChild(object, "virtualPattern").text() == "user/#"  # type: ignore[union-attr]


def test_toolbar_pauses_the_stream(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert window.stream_model.paused
    publish(qtbot, bridge, "a", "x")
    assert window.stream_model.rowCount() == 0
    assert window.stream_model.held_back == 1
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert not window.stream_model.paused
    assert window.stream_model.rowCount() == 1
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.stream_model.rowCount() == 0


def test_find_shortcut_focuses_the_text_filter(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(window.stream.text_edit.hasFocus, timeout=3000)


def test_status_bar_shows_totals(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    publish(qtbot, bridge, "a", "x")
    bridge.take_snapshot()
    assert window.status_labels["rows"].text() == "1 rows held"
    assert "msg/s in" in window.status_labels["rate"].text()
    assert "deliveries/s" in window.status_labels["deliveries"].text()
    assert window.status_labels["memory"].text().endswith("MB")


def test_errors_are_shown_without_a_modal_dialog(qtbot: QtBot, window: MainWindow, bridge: Bridge) -> None:
    async def boom() -> None:
        raise RuntimeError("the broker said no")

    task = bridge.spawn(boom(), "demo action")
    qtbot.waitUntil(lambda: "the broker said no" in window.statusBar().currentMessage(), timeout=3000)
    assert task.done()
    assert QMessageBox not in {type(w) for w in window.findChildren(QMessageBox) if w.isModal() and w.isVisible()}


def test_theme_switch_is_remembered(window: MainWindow, settings: QSettings) -> None:
    window.set_theme("dark")
    assert settings.value("view/theme") == "dark"
    assert QApplication.palette().window().color().lightness() < 80
    window.set_theme("light")
    assert QApplication.palette().window().color().lightness() > 180
    window.set_theme("nonsense")
    assert settings.value("view/theme") == "system"


def test_about_box_is_not_modal(window: MainWindow) -> None:
    window.show_about()
    box = window.findChild(QMessageBox, "aboutBox")
    assert box is not None
    assert box.isVisible()
    assert "EventDeck" in box.text()
    box.close()


def test_layout_and_ring_size_are_restored(qtbot: QtBot, bridge: Bridge, settings: QSettings) -> None:
    first = MainWindow(bridge, settings)
    qtbot.addWidget(first)
    first.show()
    first.docks["rates"].hide()
    first.set_ring_size(5_000)
    first.close()

    second = MainWindow(bridge, settings)
    qtbot.addWidget(second)
    second.show()
    assert not second.docks["rates"].isVisible()
    assert second.docks["stream"].isVisible()
    assert second.stream_model.capacity == 5_000
    second.close()


def test_the_window_fits_a_small_laptop_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    class Laptop:
        def availableGeometry(self) -> QRect:
            return QRect(0, 0, 1366, 736)  # 1366x768 less a panel

    monkeypatch.setattr(QGuiApplication, "screens", lambda: [Laptop()])
    monkeypatch.setattr(QGuiApplication, "platformName", lambda: "xcb")
    assert fitted_size(1520, 900) == (1366, 704)
    monkeypatch.setattr(QGuiApplication, "screens", list)
    assert fitted_size(1520, 900) == (1520, 900)
