"""The presenter view on the real window: F5 and Esc, dots that reach the right subscriptions, queue bars, zoom."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from eventdeck.core import Kind, Subscription
from eventdeck.core.simulation.virtual import VirtualSubscriber
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.presenter.canvas import queue_fill
from eventdeck.gui.presenter.view import PresenterView
from tests.gui.gui_support import WAIT, publish, start_scenario


def test_f5_opens_the_presenter_over_the_whole_window_and_esc_leaves(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F5)
    presenter = window.findChild(PresenterView, "presenterView")
    assert presenter is not None
    qtbot.waitUntil(presenter.isVisible, timeout=WAIT)
    assert presenter.geometry() == window.rect()  # menus, toolbar, docks and status bar are covered
    qtbot.keyClick(presenter, Qt.Key.Key_Escape)
    assert not presenter.isVisible()


def test_a_published_message_travels_to_exactly_the_matching_subscriptions(
    qtbot: QtBot, presenter: PresenterView, bridge: Bridge
) -> None:
    bridge.broker.subscribe("user/#", name="analytics")
    bridge.broker.subscribe("user/signedup", name="mailer")
    bridge.broker.subscribe("fridge/#", name="shopping")
    publish(qtbot, bridge, "user/signedup", {"n": 0})  # the channel and its publisher come to exist
    bridge.take_snapshot()
    assert {"c:user/signedup", "s:analytics", "s:mailer", "s:shopping"} <= set(presenter.placement.boxes)  # type: ignore[union-attr]
    presenter.flow.arrived.clear()
    publish(qtbot, bridge, "user/signedup", {"n": 1})
    assert {dot.target for dot in presenter.flow.dots} == {"s:analytics", "s:mailer"}
    assert {kind for _x, _y, kind in presenter.flow.positions()} == {"event"}
    qtbot.waitUntil(lambda: not presenter.flow.dots, timeout=WAIT)
    assert presenter.flow.arrived == {"s:analytics": 1, "s:mailer": 1}
    assert presenter.frames > 0  # the timer painted frames meanwhile


def test_a_reply_travels_back_to_the_requester(qtbot: QtBot, presenter: PresenterView, bridge: Bridge) -> None:
    responder = VirtualSubscriber(bridge.broker, "groceries/order", name="grocery-service", reply=lambda _m: {"ok": 1})
    responder.start()
    try:
        request = bridge.spawn(bridge.broker.request("groceries/order", {"milk": 1}, publisher="shopping-app"), "ask")
        qtbot.waitUntil(request.done, timeout=WAIT)
        bridge.flush()
        bridge.take_snapshot()
        request = bridge.spawn(bridge.broker.request("groceries/order", {"milk": 2}, publisher="shopping-app"), "ask")
        qtbot.waitUntil(request.done, timeout=WAIT)
        bridge.flush()
        kinds = {dot.kind: dot.target for dot in presenter.flow.dots}
        assert kinds == {Kind.COMMAND.value: "s:grocery-service", Kind.REPLY.value: "p:shopping-app"}
    finally:
        qtbot.waitUntil(bridge.spawn(responder.stop(), "stop").done, timeout=WAIT)


def test_a_paused_subscribers_queue_bar_grows_and_drains_after_resume(
    qtbot: QtBot, presenter: PresenterView, bridge: Bridge
) -> None:
    consumer = VirtualSubscriber(bridge.broker, "fridge/level", name="shopping-list")
    consumer.start()
    try:
        consumer.subscription.pause()
        for n in range(30):
            publish(qtbot, bridge, "fridge/level", {"n": n})
        bridge.take_snapshot()
        paused = presenter._subscriptions["shopping-list"]
        assert paused.pending == 30
        assert queue_fill(paused) > 0.3
        consumer.subscription.resume()
        qtbot.waitUntil(lambda: bridge.take_snapshot() and presenter._subscriptions["shopping-list"].pending == 0)
        drained = presenter._subscriptions["shopping-list"]
        assert queue_fill(drained) == 0
        assert drained.acked == 30
    finally:
        qtbot.waitUntil(bridge.spawn(consumer.stop(), "stop").done, timeout=WAIT)


def test_body_text_is_at_least_18_px_at_1920x1080_and_zoom_keys_change_it(
    qtbot: QtBot, presenter: PresenterView
) -> None:
    assert presenter.canvas.width() == 1920
    assert presenter.body_px >= 18
    before = presenter.body_px
    qtbot.keyClick(presenter, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert presenter.body_px > before
    qtbot.keyClick(presenter, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(presenter, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert presenter.body_px < before
    qtbot.keyClick(presenter, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert presenter.body_px == before
    presenter.findChild(object, "presenterFontLarger").click()  # type: ignore[union-attr]
    assert presenter.body_px > before


def test_pause_speed_pauses_the_scenario_and_freezes_the_dots(
    qtbot: QtBot, window: MainWindow, presenter: PresenterView, bridge: Bridge
) -> None:
    scenario = start_scenario(qtbot, window, "household", speed=1.0)
    speed = presenter.findChild(object, "presenterSpeed")
    assert speed is not None
    speed.setCurrentIndex(0)  # type: ignore[attr-defined]
    assert scenario.paused
    assert window.simulation_action.isChecked()  # the toolbar says so too
    clock = presenter.flow.clock
    qtbot.wait(100)
    assert presenter.flow.clock == clock
    speed.setCurrentIndex(speed.findText("0.5x"))  # type: ignore[attr-defined]
    assert not scenario.paused
    assert scenario.speed == presenter.flow.speed == 0.5
    assert window.scenario_view.speed.currentText() == "0.5x"


def test_leaving_brings_the_console_back_as_it_was(qtbot: QtBot, window: MainWindow) -> None:
    window.docks["composer"].hide()
    shown = {key for key, dock in window.docks.items() if dock.isVisible()}
    window.present()
    assert not any(dock.isVisible() for dock in window.docks.values())  # hidden beneath: no repaints, no work
    window.leave_presentation()
    assert {key for key, dock in window.docks.items() if dock.isVisible()} == shown


def dead_letter(qtbot: QtBot, bridge: Bridge, subscription: Subscription) -> None:
    publish(qtbot, bridge, "fridge/level", {"percent": 3})
    (delivery,) = subscription.take(1)
    qtbot.waitUntil(bridge.spawn(delivery.nack(requeue=False, reason="out of milk"), "nack").done, timeout=WAIT)
    bridge.flush()


def test_a_dead_letter_is_red_and_travels_from_the_subscription_that_gave_up(
    qtbot: QtBot, presenter: PresenterView, bridge: Bridge
) -> None:
    failing = bridge.broker.subscribe("fridge/level", name="shopping-list", ack="manual")
    dead_letter(qtbot, bridge, failing)
    bridge.take_snapshot()
    assert presenter.graph is not None
    edges = {(edge.source, edge.target) for edge in presenter.graph.edges}
    assert ("s:shopping-list", "c:$dead/fridge/level") in edges  # drawn back into the broker, dashed red
    assert "p:broker: dead letters" not in presenter.placement.boxes  # type: ignore[union-attr]
    presenter.flow.dots.clear()  # the first dead letter's dot may still be on its way on a slow machine
    dead_letter(qtbot, bridge, failing)
    dead = [dot for dot in presenter.flow.dots if dot.kind == "dead letter"]
    assert [dot.target for dot in dead] == ["c:$dead/fridge/level"]
    assert dead[0].path.at(0)[0] == presenter.placement.boxes["s:shopping-list"].x  # type: ignore[union-attr]
