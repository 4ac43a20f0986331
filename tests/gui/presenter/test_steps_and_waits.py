"""The models under the presenter (no Qt): step mode's hops, waiting commands, and a followed message's path."""

from __future__ import annotations

from collections import deque

from eventdeck.core import Kind, Message
from eventdeck.core.broker.journal import MessageTimeline, Outcome, SubscriptionTimeline
from eventdeck.gui.models.message_path import ACKED_COLOUR, REPLY_COLOUR, message_path
from eventdeck.gui.presenter.steps import Hop, StepPlan
from eventdeck.gui.presenter.waits import TIMED_OUT_SECONDS, CommandWaits
from eventdeck.gui.widgets.icons import KIND_COLOURS
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR


class Broker:
    """What the step plan sees: messages held in order, and each one's outcomes as the test sets them."""

    def __init__(self, *held: Message) -> None:
        self.held = deque(held)
        self.outcomes: dict[int, tuple[Outcome, ...]] = {}

    def release(self) -> Message | None:
        return self.held.popleft() if self.held else None

    def timeline(self, message: Message) -> MessageTimeline:
        lines = tuple(
            SubscriptionTimeline(f"sub{n}", outcome) for n, outcome in enumerate(self.outcomes.get(message.id, ()))
        )
        return MessageTimeline(message.id, message.timestamp, lines)


def test_a_release_is_followed_by_its_outcome_then_the_next_release() -> None:
    first, second = Message.build("a"), Message.build("a")
    broker, plan = Broker(first, second), StepPlan()
    assert (plan.press(broker.release, broker.timeline).hop, broker.held) == (Hop.RELEASED, deque([second]))
    broker.outcomes[first.id] = (Outcome.ACKED, Outcome.DEAD_LETTERED)
    step = plan.press(broker.release, broker.timeline)
    assert (step.hop, step.message, len(broker.held)) == (Hop.OUTCOME, first, 1)  # nothing moved
    assert plan.press(broker.release, broker.timeline).message is second
    assert plan.owed == [second]


def test_an_unknown_outcome_says_who_it_waits_for_then_lets_the_held_go_first() -> None:
    command, reply = Message.build("ask", kind=Kind.COMMAND), Message.build("$reply/x", kind=Kind.REPLY)
    broker, plan = Broker(command), StepPlan()
    plan.press(broker.release, broker.timeline)
    broker.outcomes[command.id] = (Outcome.DELIVERED,)  # the responder's reply is held: it cannot ack yet
    broker.held.append(reply)
    step = plan.press(broker.release, broker.timeline)
    assert (step.hop, step.waiting_for) == (Hop.WAITING, ["sub0"])
    assert plan.press(broker.release, broker.timeline).message is reply  # the held reply goes on meanwhile
    broker.outcomes[command.id] = (Outcome.ACKED,)
    assert (plan.press(broker.release, broker.timeline).hop, plan.owed) == (Hop.OUTCOME, [reply])
    assert plan.press(broker.release, broker.timeline).hop is Hop.NONE  # the reply reached no subscription: no hop


def test_with_nothing_held_an_outcome_still_unknown_is_shown_as_it_stands() -> None:
    message = Message.build("a")
    broker, plan = Broker(message), StepPlan()
    plan.press(broker.release, broker.timeline)
    broker.outcomes[message.id] = (Outcome.QUEUED,)
    assert plan.press(broker.release, broker.timeline).hop is Hop.WAITING
    step = plan.press(broker.release, broker.timeline)
    assert (step.hop, step.waiting_for) == (Hop.OUTCOME, ["sub0"])
    assert plan.owed == []


def test_waits_end_with_the_reply_and_a_timeout_marks_the_longest_waiting_command() -> None:
    waits = CommandWaits(max_waiting=2)
    older = Message.build("ask", kind=Kind.COMMAND, correlation_id="1", reply_to="$reply/app", publisher="app")
    newer = older._replace(id=older.id + 1, correlation_id="2")
    event = Message.build("ask")
    assert waits.add([older, event], now=10.0)
    assert waits.add([newer], now=11.0)
    assert waits.by_requester(12.0) == {"p:app": (2, 2.0)}
    assert waits.by_channel(12.0) == {"ask": (2, 2.0)}
    assert waits.time_out("ask", now=15.0) is older
    assert [(mark.command, mark.waited) for mark in waits.timed_out] == [(older, 5.0)]
    reply = Message.build("$reply/app", kind=Kind.REPLY, correlation_id="2")
    assert waits.add([reply], now=15.5)
    assert not waits.waiting
    waits.prune(15.0 + TIMED_OUT_SECONDS)
    assert not waits.timed_out
    for n in range(3):  # more than it keeps: the oldest go
        waits.add([older._replace(correlation_id=f"c{n}")], now=20.0)
    assert list(waits.waiting) == ["c1", "c2"]


def test_a_commands_path_carries_its_reply_home_in_the_presenter_and_on_the_wire_in_the_topology() -> None:
    command = Message.build("ask", kind=Kind.COMMAND, correlation_id="1", reply_to="$reply/app", publisher="app")
    reply = Message.build("$reply/app", kind=Kind.REPLY, correlation_id="1", publisher="grocer")
    timeline = MessageTimeline(command.id, command.timestamp, (SubscriptionTimeline("grocer", Outcome.ACKED, 1),))
    presented = message_path(command, timeline, lambda _m: None, lambda _m: reply, presenter=True)
    assert presented.edges == {
        ("p:app", "c:ask"): KIND_COLOURS[Kind.COMMAND],
        ("c:ask", "s:grocer"): ACKED_COLOUR,
        ("s:grocer", "c:ask"): REPLY_COLOUR,
        ("c:ask", "p:app"): REPLY_COLOUR,
    }
    assert presented.marks["p:app"].text.startswith("↩ reply after ")
    wire = message_path(command, timeline, lambda _m: None, lambda _m: reply)
    assert ("p:grocer", "c:$reply/app") in wire.edges
    assert "s:grocer" in wire.nodes


def test_a_dead_letter_comes_from_the_subscription_in_the_presenter_and_from_the_broker_in_the_topology() -> None:
    dead = Message.build("$dead/a", headers={"x-dead-subscription": "flaky"})
    assert message_path(dead, None, lambda _m: None, lambda _m: None, presenter=True).edges == {
        ("s:flaky", "c:$dead/a"): DEAD_LETTER_COLOUR
    }
    assert message_path(dead, None, lambda _m: None, lambda _m: None).edges == {
        ("p:broker: dead letters", "c:$dead/a"): DEAD_LETTER_COLOUR
    }


def test_a_subscription_that_dead_letters_the_message_sends_it_on_to_its_dead_letter_channel() -> None:
    message = Message.build("jobs/new", publisher="app")
    timeline = MessageTimeline(message.id, message.timestamp, (SubscriptionTimeline("flaky", Outcome.DEAD_LETTERED),))
    presented = message_path(message, timeline, lambda _m: None, lambda _m: None, presenter=True)
    assert presented.edges[("s:flaky", "c:$dead/jobs/new")] == DEAD_LETTER_COLOUR
    wire = message_path(message, timeline, lambda _m: None, lambda _m: None)
    assert wire.edges[("p:broker: dead letters", "c:$dead/jobs/new")] == DEAD_LETTER_COLOUR
    assert "c:$dead/jobs/new" in wire.nodes
