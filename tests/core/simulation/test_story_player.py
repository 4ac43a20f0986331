"""The story player on the demo household: every kind of action does what it says, step by step."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from eventdeck.core import Broker, Kind, State
from eventdeck.core.simulation.faults import FaultKind, Faults
from eventdeck.core.simulation.simulation import Simulation
from eventdeck.core.simulation.story import Action, ActionKind, Step, Story
from eventdeck.core.simulation.story_player import StoryPlayer
from tests.core.simulation.waiting import wait_for

A = Action
K = ActionKind
STORY = Story(
    "Everything a story can do",
    (
        Step(
            "A quiet stage",
            "The publishers stop; the presenter publishes by hand.",
            (
                A(K.PUBLISHERS, rate=0),
                A(K.HIGHLIGHT, names=("user/signedup", "welcome-mailer")),
                A(K.PUBLISH, channel="user/signedup", payload={"name": "Ada"}, publisher="sign-up service"),
                A(K.PUBLISH, channel="fridge/level"),  # no payload: one like the simulation's
            ),
        ),
        Step("Pause", "The mailer stops taking messages.", (A(K.PAUSE, "welcome-mailer"),)),
        Step(
            "Resume and order",
            "It drains; an order goes out.",
            (A(K.RESUME, "welcome-mailer"), A(K.COMMAND, channel="groceries/order", payload={"items": ["milk"]})),
        ),
        Step(
            "Trouble",
            "The mailer crashes, notifications slow down, analytics is flaky and scaled out.",
            (
                A(K.CRASH, "welcome-mailer"),
                A(K.SLOW, "notifications", seconds=2),
                A(K.FLAKY, "analytics", rate=0.5),
                A(K.CONSUMERS, "analytics", count=3),
            ),
        ),
        Step(
            "A lossy network",
            "The mailer is back; the network drops, duplicates and delays.",
            (
                A(K.RESTART, "welcome-mailer"),
                A(K.DROP, "fridge/level", count=1),
                A(K.DUPLICATE, "user/followed", count=1),
                A(K.DELAY, "user/signedup", count=1, seconds=1),
            ),
        ),
        Step(
            "A burst, and a cut cable",
            "The fridge sensor goes wild; the shopping list loses its connection.",
            (A(K.BURST, "fridge-sensor", rate=3, seconds=60), A(K.CUT_OFF, "shopping-list")),
        ),
        Step(
            "Back together, then the broker restarts",
            "",
            (A(K.RECONNECT, "shopping-list"), A(K.SPEED, rate=2), A(K.RESTART_BROKER)),
        ),
        Step("All clear", "Everything as it was.", (A(K.CLEAR_FAULTS), A(K.PUBLISHERS, rate=1))),
    ),
)


@pytest.fixture
async def sim(broker: Broker) -> AsyncIterator[Simulation]:
    async with Simulation(broker, speed=5, seed=31) as simulation:
        yield simulation


@pytest.fixture
def player(sim: Simulation) -> StoryPlayer:
    return StoryPlayer(sim, Faults(sim), STORY)


def test_the_story_uses_every_kind_of_action() -> None:
    assert {action.kind for step in STORY.steps for action in step.actions} == set(ActionKind)


async def test_every_action_does_what_it_says(broker: Broker, sim: Simulation, player: StoryPlayer) -> None:
    watcher = broker.subscribe("#", name="watcher")
    replies = broker.subscribe("$reply/story", name="replies")
    mailer = broker.subscription("welcome-mailer")
    faults = player.faults
    assert (player.index, player.count, player.step, player.started) == (-1, 8, None, False)

    await player.start()
    assert player.step is not None
    assert (player.index, player.step.title) == (0, "A quiet stage")
    assert sim.paused
    assert player.highlights == ("user/signedup", "welcome-mailer")
    seen = [(await watcher.get(1)).message for _ in range(watcher.pending)]
    signed_up, fridge = [m for m in seen if m.publisher in ("sign-up service", "story")]
    assert (signed_up.json(), signed_up.publisher) == ({"name": "Ada"}, "sign-up service")
    assert fridge.publisher == "story"
    assert set(fridge.json()) == {"fridge", "percentage", "status"}

    assert await player.next()
    assert mailer.state is State.PAUSED
    assert player.highlights == ()

    assert await player.next()
    assert mailer.state is State.ACTIVE
    reply = (await replies.get(2)).message  # the command went out in the background and was answered
    assert reply.kind is Kind.REPLY
    assert reply.json()["items"] == ["milk"]

    assert await player.next()
    assert [(f.kind, f.target) for f in faults.active] == [
        (FaultKind.CRASH, "welcome-mailer"),
        (FaultKind.SLOW, "notifications"),
        (FaultKind.FLAKY, "analytics"),
    ]
    analytics = sim.consumer("analytics")
    assert analytics is not None
    assert (sim.consumer_count("analytics"), analytics.consumers) == (3, 3)  # a setting, not a fault

    assert await player.next()
    kinds = {f.kind for f in faults.active}
    assert FaultKind.CRASH not in kinds
    assert {FaultKind.DROP, FaultKind.DUPLICATE, FaultKind.DELAY} <= kinds
    assert broker.subscription("welcome-mailer").state is State.ACTIVE

    assert await player.next()
    assert {(f.kind, f.target) for f in faults.active} >= {
        (FaultKind.BURST, "fridge-sensor"),
        (FaultKind.CUT_OFF, "shopping-list"),
    }

    assert await player.next()
    assert sim.speed == 2
    assert FaultKind.CUT_OFF not in {f.kind for f in faults.active}
    assert FaultKind.BROKER_RESTART in {f.kind for f in faults.active}
    assert broker.retained("fridge/level") is None

    assert await player.next()
    assert faults.active == []
    assert not sim.paused
    assert not await player.next()  # the last step: nothing happens
    assert player.index == 7
    assert player.errors == []


async def test_a_failing_action_is_reported_and_the_story_carries_on(broker: Broker, sim: Simulation) -> None:
    story = Story(
        "Typos",
        (
            Step(
                "Oops",
                "",
                (
                    A(K.CRASH, "welcome-mailr", line=12),
                    A(K.SPEED, rate=50),
                    A(K.PUBLISH, channel="user/signedup", payload={"still": "here"}),
                ),
            ),
        ),
    )
    watcher = broker.subscribe("user/signedup", name="watcher")
    player = StoryPlayer(sim, Faults(sim), story)
    await player.start()
    assert len(player.errors) == 2
    assert player.errors[0].startswith(
        "step 1 (Oops), action 1 (crash welcome-mailr) (line 12): no subscriber or responder named 'welcome-mailr'"
    )
    assert player.errors[1].startswith("step 1 (Oops), action 2 (speed): speed must be a number from 0.1 to 5")
    assert (await watcher.get(1)).message.json() == {"still": "here"}


async def test_a_command_that_fails_later_is_reported_with_its_step(broker: Broker, sim: Simulation) -> None:
    story = Story("Bad order", (Step("Order", "", (A(K.COMMAND, channel="groceries/order", payload=b"\xff"),)),))
    player = StoryPlayer(sim, Faults(sim), story)
    changes: list[int] = []
    player.on_change.append(lambda: changes.append(len(player.errors)))
    sim.stop_consumer("grocery-service")
    await player.start()
    await asyncio.sleep(0.01)
    assert player.errors == []  # nobody answers: an outcome the stream shows, not a mistake
    await broker.close()
    story_closed = Story("Closed", (Step("Order", "", (A(K.COMMAND, channel="groceries/order"),)),))
    late = StoryPlayer(sim, Faults(sim), story_closed)
    await late.start()
    await wait_for(lambda: len(late.errors) == 1)
    assert late.errors[0].startswith("step 1 (Order), action 1 (command groceries/order): broker is closed")
    assert changes == [0, 0]


async def test_back_runs_the_previous_step_again_and_go_to_checks_the_index(
    broker: Broker, sim: Simulation, player: StoryPlayer
) -> None:
    watcher = broker.subscribe("user/signedup", name="watcher")
    moves: list[int] = []
    player.on_change.append(lambda: moves.append(player.index))
    assert not await player.back()  # at the first step: nothing happens
    await player.go_to(1)
    assert await player.back()
    assert player.index == 0
    await wait_for(lambda: watcher.pending == 1)  # step 0's publish ran again
    await player.go_to(3)
    await player.restart()
    assert player.index == 0
    assert moves == [1, 1, 0, 0, 3, 3, 0, 0]
    for bad in (-1, 8, 1.0):
        with pytest.raises(IndexError, match=r"story 'Everything a story can do' has steps 0 to 7; there is no step"):
            await player.go_to(bad)  # type: ignore[arg-type]


async def test_two_clicks_on_next_go_two_steps(player: StoryPlayer) -> None:
    await player.start()
    assert await asyncio.gather(player.next(), player.next()) == [True, True]
    assert player.index == 2


async def test_pause_and_resume_reach_a_hand_made_subscription_too(broker: Broker, sim: Simulation) -> None:
    broker.subscribe("fridge/#", name="kitchen-display")
    story = Story("Hand-made", (Step("Pause it", "", (A(K.PAUSE, "kitchen-display"), A(K.PAUSE, "nobody"))),))
    player = StoryPlayer(sim, Faults(sim), story)
    await player.start()
    assert broker.subscription("kitchen-display").state is State.PAUSED
    assert "no subscriber named 'nobody'; the broker's subscriptions: " in player.errors[0]


def test_a_story_needs_a_step(broker: Broker) -> None:
    sim = Simulation(broker)
    with pytest.raises(ValueError, match="story 'Empty' has no steps"):
        StoryPlayer(sim, Faults(sim), Story("Empty", ()))


async def test_stop_while_a_story_command_waits_for_its_reply(broker: Broker, sim: Simulation) -> None:
    story = Story(
        "Ask",
        (
            Step(
                "Ask",
                "Nobody answers in time.",
                (Action(ActionKind.COMMAND, channel="groceries/order", payload={}, seconds=30),),
            ),
        ),
    )
    player = StoryPlayer(sim, Faults(sim), story)
    broker.subscription("grocery-service").pause()  # it will answer, but not now: the command waits
    await player.start()
    await wait_for(lambda: broker.stats().pending_requests == 1)
    await player.stop()  # cancels the waiting command; its done-callback must not upset the loop over them
