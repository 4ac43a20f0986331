"""Every built-in scenario's story, first step to last, through the window's Next: the captions change, and what
each step says happens does happen (a crashed subscriber's queue grows, a dropped message never arrives, a
restarted non-durable subscriber comes back with nothing of what it missed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from eventdeck.core import BrokerEvent, EventKind
from eventdeck.core.simulation.catalogue import BUILT_IN
from eventdeck.core.simulation.scenario import Scenario
from eventdeck.gui.main_window import MainWindow
from eventdeck.gui.scenarios.story_controls import BEFORE, END_HINT
from tests.gui.gui_support import WAIT, start_scenario

Check = Callable[[QtBot, MainWindow, Scenario], None]


def pending(scenario: Scenario, name: str) -> int:
    return scenario.broker.subscription(name).pending


def queue_grows(name: str) -> Check:
    """``name`` is down (crashed, cut off or paused) and its queue at the broker keeps growing."""

    def check(qtbot: QtBot, _window: MainWindow, scenario: Scenario) -> None:
        before = pending(scenario, name)
        qtbot.waitUntil(lambda: pending(scenario, name) >= before + 3, timeout=WAIT)

    return check


def queue_drains(name: str) -> Check:
    def check(qtbot: QtBot, _window: MainWindow, scenario: Scenario) -> None:
        qtbot.waitUntil(lambda: pending(scenario, name) <= 1, timeout=3 * WAIT)

    return check


def dropped_messages_never_arrive(qtbot: QtBot, window: MainWindow, scenario: Scenario) -> None:
    """The next two shipping events are dropped: the customer mailer never gets them, though it gets the next."""
    dropped: list[BrokerEvent] = []
    window.bridge.events.connect(
        lambda events: dropped.extend(e for e in events if e.kind is EventKind.MESSAGE_DROPPED)
    )
    qtbot.waitUntil(lambda: len(dropped) == 2, timeout=3 * WAIT)  # two shipments: seconds apart, more under load
    assert {event.channel for event in dropped} == {"shipping/shipped"}
    qtbot.waitUntil(lambda: not window.scenarios.faults, timeout=WAIT)  # the fault ran out by itself
    mailer = scenario.broker.subscription("customer-mailer")
    acked = mailer.info().acked
    qtbot.waitUntil(lambda: mailer.info().acked > acked, timeout=WAIT)  # later shipping events reach it
    for event in dropped:
        assert event.message is not None
        timeline = window.bridge.timeline(event.message)
        assert timeline is not None
        line = timeline.of("customer-mailer")
        assert line is None or (line.attempts, line.delivered_at) == (0, None)  # never handed to it


def the_feed_is_gone_and_the_jobs_wait(qtbot: QtBot, window: MainWindow, scenario: Scenario) -> None:
    names = {info.name for info in scenario.broker.subscriptions()}
    assert "activity-feed" not in names  # not durable: the broker keeps nothing for it
    queue_grows("thumbnail-workers")(qtbot, window, scenario)


def the_feed_starts_from_now(qtbot: QtBot, window: MainWindow, scenario: Scenario) -> None:
    feed = scenario.broker.subscription("activity-feed")
    assert feed.info().delivered == feed.info().acked == 0  # nothing of what it missed
    queue_drains("thumbnail-workers")(qtbot, window, scenario)


CHECKS: dict[tuple[str, str], Check] = {
    ("household", "The broker keeps what it cannot deliver yet"): queue_grows("shopping-list"),
    ("household", "Nothing was lost"): queue_drains("shopping-list"),
    ("online-shop", "A durable consumer survives a crash"): queue_grows("invoice-generator"),
    ("online-shop", "A lost event is a lost fact"): dropped_messages_never_arrive,
    ("iot-fleet", "A controller loses its network"): queue_grows("greenhouse-1-controller"),
    ("iot-fleet", "Back online, nothing missed"): queue_drains("greenhouse-1-controller"),
    ("delivery-patterns", "Durable and non-durable"): the_feed_is_gone_and_the_jobs_wait,
    ("delivery-patterns", "Back again"): the_feed_starts_from_now,
}


@pytest.mark.parametrize("name", [info.name for info in BUILT_IN])
def test_the_whole_story_plays_through_the_windows_next(qtbot: QtBot, scenario_window: MainWindow, name: str) -> None:
    window = scenario_window
    scenario = start_scenario(qtbot, window, name)
    player = scenario.player
    assert player is not None, f"{name} tells no story"
    bar, caption = window.scenario_view.story_bar, window.presenter.caption
    assert bar.index == BEFORE
    assert bar.title.text() == f"Story: {player.story.title} — press Next (Space) to begin"
    moves = [0]
    window.scenarios.story_changed.connect(lambda: moves.__setitem__(0, moves[0] + 1))
    shown: list[tuple[str, str]] = []
    checked = 0
    for index, step in enumerate(player.steps):
        before = moves[0]
        qtbot.mouseClick(bar.next_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda before=before: moves[0] >= before + 2, timeout=WAIT)  # moved, then its actions ran
        assert (bar.index, caption.index) == (index, index)
        assert (bar.title.text(), bar.caption.text()) == (step.title, step.caption)
        assert caption.title.text() == step.title
        assert player.errors == [], player.errors  # every action of a built-in story works
        check = CHECKS.get((name, step.title))
        if check is not None:
            check(qtbot, window, scenario)
            checked += 1
        shown.append((bar.title.text(), bar.caption.text()))
    assert len(set(shown)) == len(player.steps)  # each step says something new
    assert checked == sum(1 for scenario_name, _title in CHECKS if scenario_name == name)  # no check left behind
    assert not bar.next_button.isEnabled()
    assert bar.end_hint.isVisible()
    assert bar.end_hint.text() == END_HINT
