"""Following one message in the presenter, a command that waits for its reply, and the speed control."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from eventdeck.core import Message, RequestTimeout, Subscription
from eventdeck.gui.bridge import Bridge
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.models.message_path import ACKED_COLOUR, PENDING_COLOUR
from eventdeck.gui.presenter.view import PresenterView
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR
from tests.gui.gui_support import WAIT, publish, start_scenario


def sent(qtbot: QtBot, bridge: Bridge, channel: str, payload: object) -> Message:
    """Publish, hand the batch to the window, and return the message."""
    task = bridge.spawn(bridge.broker.publish(channel, payload), "publish")  # type: ignore[arg-type]
    qtbot.waitUntil(task.done, timeout=WAIT)
    bridge.flush()
    return task.result().message  # type: ignore[no-any-return]


def three_subscriptions(qtbot: QtBot, bridge: Bridge) -> tuple[Subscription, Subscription]:
    analytics = bridge.broker.subscribe("user/#", name="analytics")
    mailer = bridge.broker.subscribe("user/signedup", name="mailer", ack="manual")
    bridge.broker.subscribe("fridge/#", name="shopping")
    publish(qtbot, bridge, "user/signedup", {"n": -1})  # the boxes come to exist
    bridge.take_snapshot()
    analytics.take()
    mailer.take()
    return analytics, mailer


def test_following_a_stream_row_highlights_exactly_the_subscriptions_that_got_it(
    qtbot: QtBot, window: MainWindow, presenter: PresenterView, bridge: Bridge
) -> None:
    analytics, mailer = three_subscriptions(qtbot, bridge)
    message = sent(qtbot, bridge, "user/signedup", {"n": 1})
    analytics.take()  # auto-ack: acked as it is taken
    (delivery,) = mailer.take()
    assert window.stream.select_message(message.id)  # a row of the (hidden) stream: the presenter follows it

    path = presenter.path
    assert path is not None
    assert path.message is message
    assert set(path.marks) == {"s:analytics", "s:mailer"}  # not the fridge's subscription
    assert path.marks["s:analytics"].text == "✓ acked"
    assert path.marks["s:mailer"].text == "… awaiting ack"
    assert path.edges[("c:user/signedup", "s:analytics")] == ACKED_COLOUR
    assert path.edges[("c:user/signedup", "s:mailer")] == PENDING_COLOUR
    assert ("p:local", "c:user/signedup") in path.edges
    assert "s:shopping" not in path.nodes
    assert presenter.follow_hint.isVisible()
    assert presenter.follow_hint.text() == (
        f"Following message #{message.id} on user/signedup — Esc or click empty space to stop"
    )

    qtbot.waitUntil(bridge.spawn(delivery.ack(), "ack").done, timeout=WAIT)
    qtbot.waitUntil(lambda: presenter.path is not None and presenter.path.marks["s:mailer"].text == "✓ acked")
    assert not presenter._follow_timer.isActive()  # everything settled: nothing left to ask

    qtbot.keyClick(presenter, Qt.Key.Key_Escape)  # stops following, stays presenting
    assert presenter.path is None
    assert bridge.followed_message is None
    assert not presenter.follow_hint.isVisible()
    assert presenter.isVisible()
    qtbot.keyClick(presenter, Qt.Key.Key_Escape)
    assert not presenter.isVisible()


def test_clicking_a_dot_follows_its_message_and_a_click_on_empty_space_stops(
    qtbot: QtBot, window: MainWindow, presenter: PresenterView, bridge: Bridge
) -> None:
    three_subscriptions(qtbot, bridge)
    message = sent(qtbot, bridge, "user/signedup", {"n": 2})
    qtbot.wait(300)  # the dots leave the publisher
    x, y, _kind = next(presenter.flow.positions(message.id))
    qtbot.mouseClick(presenter.canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(x), round(y)))
    assert bridge.followed_message is message
    assert presenter.path is not None
    assert set(presenter.path.marks) == {"s:analytics", "s:mailer"}
    assert window.inspector.message is message  # the inspector shows it too, for after the presentation
    qtbot.mouseClick(presenter.canvas, Qt.MouseButton.LeftButton, pos=QPoint(3, presenter.canvas.height() // 2))
    assert bridge.followed_message is None
    assert presenter.path is None


def test_a_dead_lettered_message_looks_dead_on_its_path(qtbot: QtBot, presenter: PresenterView, bridge: Bridge) -> None:
    _analytics, mailer = three_subscriptions(qtbot, bridge)
    message = sent(qtbot, bridge, "user/signedup", {"n": 3})
    (delivery,) = mailer.take()
    qtbot.waitUntil(bridge.spawn(delivery.nack(requeue=False, reason="bounced"), "nack").done, timeout=WAIT)
    bridge.follow(message)
    assert presenter.path is not None
    assert presenter.path.marks["s:mailer"].text == "☠ dead-lettered"
    assert presenter.path.edges[("c:user/signedup", "s:mailer")] == DEAD_LETTER_COLOUR


def test_a_command_waits_visibly_at_its_responder_and_requester_until_the_reply_comes(
    qtbot: QtBot, presenter: PresenterView, bridge: Bridge
) -> None:
    responder = bridge.broker.subscribe("groceries/order", name="grocery-service", ack="manual")

    def ask(timeout: float) -> asyncio.Task[Message]:
        request = bridge.broker.request("groceries/order", {"milk": 1}, publisher="shopping-app", timeout=timeout)
        return bridge.spawn(request, "ask")

    async def answer() -> None:
        for delivery in responder.take():
            await bridge.broker.reply(delivery.message, {"ok": True}, publisher="grocery-service")
            await delivery.ack()

    first = ask(5)
    qtbot.waitUntil(lambda: responder.pending == 1, timeout=WAIT)
    qtbot.waitUntil(bridge.spawn(answer(), "answer").done, timeout=WAIT)
    qtbot.waitUntil(first.done, timeout=WAIT)
    bridge.flush()
    bridge.take_snapshot()  # the requester's and the responder's boxes exist now

    waiting = ask(5)
    qtbot.waitUntil(lambda: responder.pending == 1, timeout=WAIT)
    bridge.flush()
    qtbot.waitUntil(lambda: len(presenter.badges) == 2, timeout=WAIT)
    at = {badge.key: badge for badge in presenter.badges}
    assert at["s:grocery-service"].ring  # the responder pulses while the command waits at it
    assert at["s:grocery-service"].text.startswith("◷ a command · ")
    assert at["p:shopping-app"].text.startswith("◷ waiting for reply · ")
    assert not at["p:shopping-app"].ring

    qtbot.waitUntil(bridge.spawn(answer(), "answer").done, timeout=WAIT)
    qtbot.waitUntil(waiting.done, timeout=WAIT)
    bridge.flush()
    qtbot.waitUntil(lambda: not presenter.badges, timeout=WAIT)

    lost = ask(0.2)  # nobody answers this one
    qtbot.waitUntil(lost.done, timeout=WAIT)
    assert isinstance(lost.exception(), RequestTimeout)
    bridge.flush()
    qtbot.waitUntil(lambda: [badge.key for badge in presenter.badges] == ["p:shopping-app"], timeout=WAIT)
    assert presenter.badges[0].text.startswith("✗ timed out after ")


def test_speed_goes_from_pause_to_5x_and_says_so(qtbot: QtBot, window: MainWindow, presenter: PresenterView) -> None:
    scenario = start_scenario(qtbot, window, "household", speed=1.0)
    speed = presenter.speed
    assert [speed.itemText(i) for i in range(speed.count())] == ["Pause", "0.1x", "0.25x", "0.5x", "1x", "2x", "5x"]
    with qtbot.waitSignal(presenter.speed_changed) as chosen:
        speed.setCurrentIndex(speed.findText("5x"))
    assert chosen.args == [5.0]
    assert presenter.flow.speed == 5.0
    with qtbot.waitSignal(presenter.speed_changed) as chosen:
        speed.setCurrentIndex(speed.findText("Pause"))
    assert chosen.args == [0.0]
    assert scenario.paused  # pause_requested pauses the scenario's publishers
    assert scenario.speed == 5.0
