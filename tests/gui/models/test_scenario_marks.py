"""A running scenario's marks on the diagrams: which box each fault hits, what it says, and who can be given one."""

from __future__ import annotations

import dataclasses

from eventdeck.core import State
from eventdeck.core.broker.receipts import BrokerStats
from eventdeck.gui.bridge import Snapshot
from eventdeck.gui.models.topology import BROKER_KEY, NO_MARKS, ScenarioMarks, with_down_subscribers

MARKS = ScenarioMarks(
    highlights=frozenset({"fridge/level", "shopping-list"}),
    faults=(
        (1, "crash", "welcome-mailer", "crashed: lost 2 queued messages"),
        (2, "slow", "shopping-list", "slow: takes 2 s per message"),
        (3, "flaky", "shopping-list", "flaky: fails 50% of its messages"),
        (4, "drop", "fridge/level", "drops the next 3 messages on fridge/level (3 left)"),
        (5, "burst", "", "every publisher publishes 10x faster for 5 s"),
        (6, "restartBroker", "", "broker restarted: nothing survived"),
    ),
    subscribers=frozenset({"welcome-mailer", "shopping-list"}),
    patterns=(("welcome-mailer", "user/signedup"), ("shopping-list", "fridge/level")),
    publishers=frozenset({"fridge-sensor", "signup-service"}),
    running=True,
    restart="restarted: nothing survived",
)


def test_each_fault_is_written_on_the_box_it_hits() -> None:
    assert MARKS.fault_text("s:welcome-mailer") == "⚠ crashed"
    assert MARKS.fault_text("s:shopping-list") == "⚠ slow · flaky"
    assert MARKS.fault_text("c:fridge/level") == "⚠ dropping"
    assert MARKS.fault_text("p:fridge-sensor") == MARKS.fault_text("p:signup-service") == "⚠ bursting"
    assert MARKS.fault_text(BROKER_KEY) == "⚠ restarted: nothing survived"
    assert MARKS.fault_text("c:user/signedup") == ""
    assert [ident for ident, *_rest in MARKS.faults_on("s:shopping-list")] == [2, 3]


def test_a_broker_restart_says_what_it_kept() -> None:
    on_store = dataclasses.replace(MARKS, restart="restarted: kept 2 queues on disk")
    assert on_store.fault_text(BROKER_KEY) == "⚠ restarted: kept 2 queues on disk"
    assert dataclasses.replace(MARKS, restart="").fault_text(BROKER_KEY) == "⚠ restarted"  # no words yet


def test_highlights_and_who_can_be_given_a_fault() -> None:
    assert MARKS.highlighted("c:fridge/level")
    assert MARKS.highlighted("s:shopping-list")
    assert not MARKS.highlighted("p:fridge-sensor")
    assert MARKS.can_fault("s:welcome-mailer")
    assert not MARKS.can_fault("s:a-hand-made-one")  # not the scenario's: the simulation cannot crash it
    assert MARKS.can_fault("c:anything/at/all")
    assert not MARKS.can_fault("c:$dead/fridge/level")
    assert MARKS.can_fault("p:fridge-sensor")
    assert not NO_MARKS.can_fault("c:fridge/level")  # nothing runs


def test_a_subscriber_the_broker_forgot_stays_drawn_closed() -> None:
    snapshot = Snapshot(0.0, [], [], BrokerStats(0.0, 0, 0, 0, 0, 0, 0))
    ghosts = with_down_subscribers(snapshot, MARKS).subscriptions
    assert [(info.name, info.pattern, info.state, info.pending) for info in ghosts] == [
        ("welcome-mailer", "user/signedup", State.CLOSED, 0)
    ]
    assert with_down_subscribers(snapshot, NO_MARKS) is snapshot
