"""Scenario: simulation, faults and story as one; Reset returns to the start quickly."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from eventdeck.core import Broker, State
from eventdeck.core.simulation.scenario import Scenario
from eventdeck.core.simulation.story import Action, ActionKind, Step, Story
from eventdeck.core.simulation.virtual import VirtualSubscriber
from eventdeck.core.simulation.workspace import load_demo
from tests.core.simulation.waiting import other_tasks, stop_cleanly, wait_for

DECLARED = {"user/signedup", "user/followed", "fridge/level", "groceries/order"}
STORY = Story(
    "Hello",
    (
        Step("Hello", "A user signs up.", (Action(ActionKind.PUBLISH, channel="user/signedup", payload={"n": 0}),)),
        Step("Crash", "The mailer crashes.", (Action(ActionKind.CRASH, "welcome-mailer"),)),
    ),
)


async def test_reset_returns_to_a_zeroed_broker_quickly(broker: Broker) -> None:
    display = VirtualSubscriber(broker, "fridge/#", name="kitchen-display", delay=0.5)  # hand-made: kept, emptied
    display.start()
    async with Scenario(broker, replace(load_demo(), story=None), seed=41, speed=5) as scenario:  # publishers on
        await wait_for(lambda: broker.stats().delivered >= 20)
        scenario.faults.crash("shopping-list")
        scenario.faults.drop("user/followed", 100)
        scenario.set_speed(0.5)
        scenario.pause()
        await broker.publish("fridge/level", {"percentage": 3}, retain=True)
        seconds = await scenario.reset()
        assert seconds < 1
        stats = broker.stats()
        assert (stats.published, stats.delivered, stats.dropped, stats.pending_requests) == (0, 0, 0, 0)
        assert {c.name for c in broker.channels()} == DECLARED
        assert all(c.declared and c.messages == 0 for c in broker.channels())
        assert broker.retained("fridge/level") is None
        assert scenario.faults.active == []
        assert list(broker.channel_faults) == []
        assert (scenario.speed, scenario.paused) == (5, False)  # the pace of the start
        assert scenario.simulation.published.total() == 0
        assert broker.subscription("shopping-list").state is State.ACTIVE
        assert (display.subscription.pending, display.subscription.delivered) == (0, 0)
        processed = display.processed
        await wait_for(lambda: scenario.simulation.published.total() >= 3)  # and it runs again
        await wait_for(lambda: display.processed > processed)  # the hand-made consumer goes on too
    await display.stop()


async def test_the_story_waits_for_its_first_next_and_reset_takes_it_back_to_step_0(broker: Broker) -> None:
    watcher = broker.subscribe("user/signedup", name="watcher")
    scenario = Scenario(broker, replace(load_demo(), story=None), story=STORY, seed=42, speed=5)
    assert scenario.player is not None
    async with scenario:
        assert (scenario.player.index, scenario.player.step, scenario.player.highlights) == (-1, None, ())
        await scenario.reset()  # before the story: it still waits
        assert scenario.player.index == -1
        await scenario.player.next()  # the first Next begins it
        assert scenario.player.index == 0
        story_messages = [(await watcher.get(1)).message for _ in range(watcher.pending)]
        assert {"n": 0} in [m.json() for m in story_messages if m.publisher == "story"]  # step 0's action ran
        await scenario.player.next()
        assert scenario.faults.active
        await scenario.reset()
        assert scenario.player.index == 0
        assert scenario.faults.active == []
        messages = [(await watcher.get(1)).message for _ in range(watcher.pending)]
        assert {"n": 0} in [m.json() for m in messages if m.publisher == "story"]  # step 0 again


async def test_the_story_comes_from_the_workspace_unless_given(broker: Broker) -> None:
    demo = load_demo()
    assert demo.story is not None
    assert Scenario(broker, demo).player is not None  # the household tells one
    with_story = replace(demo, story=STORY)
    from_document = Scenario(broker, with_story)
    assert from_document.player is not None
    assert from_document.player.story is STORY
    assert from_document.title == "EventDeck demo household"
    other = Story("Other", STORY.steps[:1])
    given = Scenario(Broker(), with_story, story=other)
    assert given.player is not None
    assert given.player.story is other
    assert Scenario(Broker(), replace(demo, story=None)).player is None


async def test_stop_is_clean_and_clears_the_faults(broker: Broker) -> None:
    before = other_tasks()
    scenario = Scenario(broker, load_demo(), story=STORY, seed=43, speed=5)
    scenario.start()
    scenario.start()  # already running: nothing more
    await asyncio.sleep(0.05)
    scenario.faults.burst(None, seconds=600)
    scenario.faults.delay("fridge/level", 5, 10)
    await stop_cleanly(scenario.stop, before)
    assert scenario.faults.active == []
    assert not scenario.simulation.running


@pytest.mark.parametrize("speed", [0, 10])
def test_the_speed_at_the_start_is_in_the_toolbar_range(broker: Broker, speed: float) -> None:
    with pytest.raises(ValueError, match=r"speed must be a number from 0\.1 to 5"):
        Scenario(broker, load_demo(), speed=speed)
