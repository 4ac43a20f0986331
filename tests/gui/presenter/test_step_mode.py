"""Step mode in the presenter: the broker holds each new message at its channel, Next moves it one hop:
on to its subscriptions, then what each of them did with it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from eventdeck.core import Broker, Message, Receipt
from eventdeck.core.connectors.backend import EmbeddedBackend
from eventdeck.core.simulation.virtual import VirtualSubscriber
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.presenter.steps import Hop
from eventdeck.gui.presenter.view import NO_STEP_TIP, PresenterView
from tests.gui.gui_support import WAIT, publish


class Connector:
    """Looks like a connector to the GUI: a backend that is not the embedded broker."""

    def __init__(self) -> None:
        self._inner = EmbeddedBackend(Broker(), name="mqtt://broker.example")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def button(presenter: PresenterView, name: str) -> QToolButton:
    found = presenter.findChild(QToolButton, name)
    assert found is not None
    return found


def pending(bridge: Bridge, *names: str) -> list[int]:
    return [bridge.broker.subscription(name).pending for name in names]


def publish_held(qtbot: QtBot, bridge: Bridge, presenter: PresenterView, count: int) -> list[asyncio.Task[Receipt]]:
    """Publish ``count`` messages in step mode: each publisher waits while its message is held."""
    tasks = [bridge.spawn(bridge.broker.publish("user/signedup", {"n": n}), "publish") for n in range(count)]
    qtbot.waitUntil(lambda: len(presenter.held_dots) == count, timeout=WAIT)
    return tasks


@pytest.fixture
def stepping(qtbot: QtBot, presenter: PresenterView, bridge: Bridge) -> PresenterView:
    """The presenter in step mode, with two subscriptions of user/signedup and one elsewhere."""
    bridge.broker.subscribe("user/#", name="analytics")
    bridge.broker.subscribe("user/signedup", name="mailer")
    bridge.broker.subscribe("fridge/#", name="shopping")
    publish(qtbot, bridge, "user/signedup", {"n": -1})  # the channel and its publisher come to exist
    bridge.take_snapshot()
    button(presenter, "presenterStep").click()
    assert button(presenter, "presenterNext").isEnabled()
    return presenter


def test_a_held_message_waits_at_its_channel_and_each_next_moves_one_hop(
    qtbot: QtBot, stepping: PresenterView, bridge: Bridge
) -> None:
    first, second = publish_held(qtbot, bridge, stepping, 2)
    qtbot.wait(100)
    assert pending(bridge, "analytics", "mailer", "shopping") == [1, 1, 0]  # held: no subscription has them
    assert not first.done()
    placement = stepping.placement
    assert placement is not None
    channel, broker = placement.boxes["c:user/signedup"], placement.broker
    for x, y, kind in stepping.held_dots:  # in the broker's box, at the end of the channel
        assert kind == "event"
        assert channel.right < x < broker.right
        assert channel.y < y < channel.y + channel.height

    stepping.flow.dots.clear()
    button(stepping, "presenterNext").click()
    qtbot.waitUntil(first.done, timeout=WAIT)
    bridge.flush()
    assert pending(bridge, "analytics", "mailer", "shopping") == [2, 2, 0]  # exactly one message went on
    assert not second.done()
    qtbot.waitUntil(lambda: len(stepping.held_dots) == 1, timeout=WAIT)
    # One dot per matching subscription, leaving from the channel (not again from the publisher).
    assert sorted(dot.target for dot in stepping.flow.dots) == ["s:analytics", "s:mailer"]
    assert {dot.path.at(0) for dot in stepping.flow.dots} == {(channel.right, channel.middle)}

    # Nobody consumes: the next hop says who the room waits for, and moves nothing.
    assert stepping.next_hop().hop is Hop.WAITING
    assert "waiting for analytics, mailer" in stepping.step_status.text()
    qtbot.wait(100)
    assert not second.done()
    button(stepping, "presenterNext").click()  # still waiting: the next held message goes on meanwhile
    qtbot.waitUntil(second.done, timeout=WAIT)
    assert pending(bridge, "analytics", "mailer") == [3, 3]
    qtbot.waitUntil(lambda: not stepping.held_dots, timeout=WAIT)


def test_space_right_and_page_down_each_move_one_hop(qtbot: QtBot, stepping: PresenterView, bridge: Bridge) -> None:
    tasks = publish_held(qtbot, bridge, stepping, 2)
    keys = (Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_PageDown)
    for key, released in zip(keys, (1, 1, 2), strict=True):  # release, "waiting for ...", release
        qtbot.keyClick(stepping, key)
        qtbot.waitUntil(lambda released=released: sum(t.done() for t in tasks) == released, timeout=WAIT)
        assert pending(bridge, "mailer") == [1 + released]


def test_leaving_the_presenter_releases_everything_held(
    qtbot: QtBot, window: MainWindow, stepping: PresenterView, bridge: Bridge
) -> None:
    tasks = publish_held(qtbot, bridge, stepping, 2)
    window.leave_presentation()
    qtbot.waitUntil(lambda: all(task.done() for task in tasks), timeout=WAIT)
    assert pending(bridge, "analytics", "mailer") == [3, 3]
    assert not button(stepping, "presenterStep").isChecked()
    assert not button(stepping, "presenterNext").isEnabled()
    publish(qtbot, bridge, "user/signedup", {"n": 9})  # step mode is off: a publish goes straight through
    assert pending(bridge, "mailer") == [4]


def test_with_a_connector_step_mode_is_disabled_and_says_why(
    qtbot: QtBot, presenter: PresenterView, bridge: Bridge
) -> None:
    step = button(presenter, "presenterStep")
    assert step.isEnabled()
    bridge.set_backend(Connector())  # type: ignore[arg-type]
    assert not step.isEnabled()
    assert step.toolTip() == NO_STEP_TIP
    assert "embedded broker" in step.toolTip()
    presenter.set_step_mode(True)
    assert not step.isChecked()
    assert not button(presenter, "presenterNext").isEnabled()


def test_a_command_and_its_reply_each_wait_at_the_commands_channel(
    qtbot: QtBot, presenter: PresenterView, bridge: Bridge
) -> None:
    responder = VirtualSubscriber(bridge.broker, "groceries/order", name="grocery-service", reply=lambda _m: {"ok": 1})
    responder.start()

    def ask() -> asyncio.Task[Message]:
        return bridge.spawn(bridge.broker.request("groceries/order", {"milk": 1}, publisher="shopping-app"), "ask")

    try:
        qtbot.waitUntil(ask().done, timeout=WAIT)  # the boxes come to exist
        bridge.flush()
        bridge.take_snapshot()
        button(presenter, "presenterStep").click()
        request = ask()
        channel = presenter.placement.boxes["c:groceries/order"]  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: [kind for _x, _y, kind in presenter.held_dots] == ["command"], timeout=WAIT)
        qtbot.keyClick(presenter, Qt.Key.Key_Space)  # the command reaches the responder, whose reply is held
        qtbot.waitUntil(lambda: [kind for _x, _y, kind in presenter.held_dots] == ["reply"], timeout=WAIT)
        assert channel.y < presenter.held_dots[0][1] < channel.y + channel.height
        assert not request.done()
        qtbot.keyClick(presenter, Qt.Key.Key_Space)  # the responder has not acked: it waits for its held reply
        assert "waiting for grocery-service" in presenter.step_status.text()
        presenter.flow.dots.clear()
        qtbot.keyClick(presenter, Qt.Key.Key_Space)
        qtbot.waitUntil(request.done, timeout=WAIT)
        assert [(dot.kind, dot.target) for dot in presenter.flow.dots] == [("reply", "p:shopping-app")]
        qtbot.waitUntil(lambda: responder.processed == 2, timeout=WAIT)
        qtbot.keyClick(presenter, Qt.Key.Key_Space)  # now its outcome: it acked the command
        assert "grocery-service: ✓ acked" in presenter.step_status.text()
    finally:
        presenter.set_step_mode(False)
        qtbot.waitUntil(bridge.spawn(responder.stop(), "stop").done, timeout=WAIT)


def test_each_next_moves_exactly_one_hop_and_the_one_after_a_release_shows_each_outcome(
    qtbot: QtBot, presenter: PresenterView, bridge: Bridge
) -> None:
    mailer = VirtualSubscriber(bridge.broker, "user/signedup", name="mailer")
    analytics = VirtualSubscriber(bridge.broker, "user/#", name="analytics", failure_rate=1.0, max_attempts=2)
    mailer.start()
    analytics.start()
    try:
        publish(qtbot, bridge, "user/signedup", {"n": -1})  # the boxes come to exist
        qtbot.waitUntil(lambda: analytics.failed == 2, timeout=WAIT)
        bridge.take_snapshot()
        button(presenter, "presenterStep").click()
        first, second = publish_held(qtbot, bridge, presenter, 2)

        assert presenter.next_hop().hop is Hop.RELEASED  # 1: on to the subscriptions, nothing else
        qtbot.waitUntil(first.done, timeout=WAIT)
        message = first.result().message
        assert not second.done()
        assert presenter._step_marks == {}
        qtbot.waitUntil(lambda: bridge.timeline(message).settled, timeout=WAIT)  # type: ignore[union-attr]

        step = presenter.next_hop()  # 2: what each did with it, and nothing moves
        assert (step.hop, step.message) == (Hop.OUTCOME, message)
        marks = {key: mark.text for key, mark in presenter._step_marks.items()}
        assert marks == {"s:mailer": "✓ acked", "s:analytics": "☠ dead-lettered after 2 attempts"}
        assert "mailer: ✓ acked" in presenter.step_status.text()
        assert "analytics: ☠ dead-lettered after 2 attempts" in presenter.step_status.text()
        qtbot.wait(100)
        assert not second.done()
        assert len(presenter.held_dots) == 1

        assert presenter.next_hop().hop is Hop.RELEASED  # 3: the next one goes on; the old marks go
        qtbot.waitUntil(second.done, timeout=WAIT)
        assert presenter._step_marks == {}
        later = second.result().message
        qtbot.waitUntil(lambda: bridge.timeline(later).settled, timeout=WAIT)  # type: ignore[union-attr]
        assert presenter.next_hop().hop is Hop.OUTCOME  # 4
        assert presenter.next_hop().hop is Hop.NONE  # 5: nothing held, nothing owed
    finally:
        presenter.set_step_mode(False)
        qtbot.waitUntil(bridge.spawn(mailer.stop(), "stop").done, timeout=WAIT)
        qtbot.waitUntil(bridge.spawn(analytics.stop(), "stop").done, timeout=WAIT)
