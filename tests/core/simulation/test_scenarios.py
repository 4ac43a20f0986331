"""The built-in scenarios: each loads, passes `asyncapi check`, tells a story whose every name exists, makes
payloads its own schemas accept, and keeps a pace a room can follow; the catalogue finds them by name or file."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from eventdeck.core.asyncapi import validator_for
from eventdeck.core.cli.asyncapi_check import asyncapi_check_main
from eventdeck.core.simulation.catalogue import BUILT_IN, ScenarioInfo, built_in, load_scenario
from eventdeck.core.simulation.generators import PayloadFactory
from eventdeck.core.simulation.story import ActionKind
from eventdeck.core.simulation.story_parser import caption_sentences
from eventdeck.core.simulation.workspace import DEMO_RESOURCE, Workspace, WorkspaceError, load_demo
from tests.paths import SCENARIOS

NAMES = [info.name for info in BUILT_IN]
MAX_TOTAL_RATE = 5.0
"""Messages per second of all simulated publishers together: a room must be able to follow."""
FAULTS = {
    ActionKind.CRASH,
    ActionKind.SLOW,
    ActionKind.FLAKY,
    ActionKind.DROP,
    ActionKind.DUPLICATE,
    ActionKind.DELAY,
    ActionKind.BURST,
    ActionKind.CUT_OFF,
    ActionKind.RESTART_BROKER,
}


@pytest.fixture(scope="module", params=NAMES)
def scenario(request: pytest.FixtureRequest) -> tuple[ScenarioInfo, Workspace]:
    return built_in(request.param), load_scenario(request.param)


def test_every_scenario_file_is_in_the_catalogue_household_first() -> None:
    assert NAMES[0] == "household"
    assert sorted(f"scenarios/{path.name}" for path in SCENARIOS.glob("*.yaml")) == sorted(i.resource for i in BUILT_IN)
    assert built_in("household").resource == DEMO_RESOURCE
    assert load_demo() == load_scenario("household")


def test_the_catalogue_matches_the_documents(scenario: tuple[ScenarioInfo, Workspace]) -> None:
    info, workspace = scenario
    assert workspace.title == info.title
    assert workspace.version == "3.0.0"
    assert workspace.source == f"eventdeck.resources/{info.resource}"
    assert 20 < len(info.summary) <= 80
    assert workspace.publishers
    assert workspace.subscribers


def test_every_built_in_passes_asyncapi_check(
    scenario: tuple[ScenarioInfo, Workspace], capsys: pytest.CaptureFixture[str]
) -> None:
    info, workspace = scenario
    assert asyncapi_check_main(SCENARIOS / Path(info.resource).name) == 0
    out, err = capsys.readouterr()
    assert err == ""
    summary = json.loads(out)["scenario"]
    assert summary["publishers"] == list(
        dict.fromkeys(op.publisher.name for op in workspace.publishers if op.publisher)
    )
    assert workspace.story is not None
    assert summary["story"] == {"title": workspace.story.title, "steps": [step.title for step in workspace.story.steps]}


def test_every_story_step_names_only_what_exists(scenario: tuple[ScenarioInfo, Workspace]) -> None:
    _, workspace = scenario
    story = workspace.story
    assert story is not None
    assert 5 <= len(story.steps) <= 9
    consumers = {s.name for op in workspace.operations for s in (op.subscriber, op.responder) if s}
    publishers = {op.publisher.name for op in workspace.publishers if op.publisher}
    addresses = {c.address for c in workspace.channels if c.address}
    for step in story.steps:
        assert step.title
        assert 1 <= caption_sentences(step.caption) <= 3
        assert step.highlights, f"step {step.title!r} points at nothing"
        for action in step.actions:
            assert action.line is not None
            if action.kind in (ActionKind.PUBLISH, ActionKind.COMMAND):
                assert action.channel in addresses
                assert action.publisher in publishers
                assert action.payload is not None
            elif action.kind in (ActionKind.DROP, ActionKind.DUPLICATE, ActionKind.DELAY):
                assert action.target in addresses
            elif action.kind is ActionKind.BURST:
                assert action.target in {*publishers, ""}
            elif action.kind is ActionKind.HIGHLIGHT:
                assert set(action.names) <= addresses | consumers | publishers
            elif action.target:
                assert action.target in consumers, action
    kinds = {action.kind for step in story.steps for action in step.actions}
    assert kinds & FAULTS, "a story teaches with faults"


def test_story_payloads_fit_their_channels(scenario: tuple[ScenarioInfo, Workspace]) -> None:
    _, workspace = scenario
    assert workspace.story is not None
    for step in workspace.story.steps:
        for action in step.actions:
            if action.kind in (ActionKind.PUBLISH, ActionKind.COMMAND):
                channel = workspace.channel_at(action.channel)
                assert channel is not None
                issues = [validator_for(m).validate_value(action.payload) for m in channel.messages]
                assert [] in issues, f"step {step.title!r}: {issues}"


def test_generated_payloads_fit_their_schemas(scenario: tuple[ScenarioInfo, Workspace]) -> None:
    _, workspace = scenario
    rng = random.Random(7)
    for message in workspace.document.messages:
        factory = PayloadFactory(message, workspace.generators(message), rng)
        validator = validator_for(message)
        for _ in range(30):
            payload = factory.make({"items": ["milk"], "orderId": "ord-1"})
            assert validator.validate_value(payload) == [], (message.name, payload)


def test_every_scenario_keeps_a_pace_a_room_can_follow(scenario: tuple[ScenarioInfo, Workspace]) -> None:
    _, workspace = scenario
    total = sum(op.publisher.rate for op in workspace.publishers if op.publisher)
    assert 1.0 <= total <= MAX_TOTAL_RATE


def test_the_household_story_follows_the_seed_in_order() -> None:
    story = load_demo().story
    assert story is not None
    assert 8 <= len(story.steps) <= 9
    concepts = (ActionKind.PUBLISH, ActionKind.PAUSE, ActionKind.FLAKY, ActionKind.COMMAND, ActionKind.CRASH)
    first = {
        kind: next(i for i, step in enumerate(story.steps) for a in step.actions if a.kind is kind) for kind in concepts
    }
    # an event is a fact, fan-out, channels; the broker stores (pause); retries and dead letters; a command
    # gets a reply; a command nobody handles
    assert list(first) == sorted(first, key=first.__getitem__)
    channels_step = story.steps[2]
    assert {a.channel for a in channels_step.actions if a.kind is ActionKind.PUBLISH} == {
        "user/followed",
        "fridge/level",
    }
    nobody = next(step for step in story.steps if any(a.kind is ActionKind.CRASH for a in step.actions))
    assert [a.kind for a in nobody.actions][:2] == [ActionKind.CRASH, ActionKind.COMMAND]
    assert nobody.actions[0].target == "grocery-service"


def test_what_each_scenario_is_about() -> None:
    shop = load_scenario("online-shop")
    assert [op.key for op in shop.commands] == ["chargeCard", "processPayment"]
    orders = shop.operation("announceOrder").publisher
    assert orders is not None
    on_orders = [
        op.subscriber for op in shop.subscribers if op.subscriber and op.channel.address == orders_channel(shop)
    ]
    slow = [s.name for s in on_orders if s and s.delay * orders.rate > 1]  # more work per second than a second
    assert slow == ["invoice-generator"]
    assert shop.channel_at("inventory/released") is not None  # the compensation
    fleet = load_scenario("iot-fleet")
    assert {op.publisher.name for op in fleet.publishers if op.publisher and op.publisher.retain} == {
        "greenhouse-1-gateway",
        "greenhouse-2-gateway",
    }
    assert {op.subscriber.pattern for op in fleet.subscribers if op.subscriber} >= {"farm/+/temperature", "farm/#"}
    patterns = load_scenario("delivery-patterns")
    fan_out = [op for op in patterns.subscribers if op.channel.address == "photos/uploaded"]
    assert len(fan_out) == 3
    pool = patterns.operation("makeThumbnails").subscriber
    queue = patterns.operation("queueThumbnails").publisher
    assert pool is not None
    assert queue is not None
    assert pool.consumers == 3
    assert pool.delay * queue.rate > 1 > pool.delay * queue.rate / pool.consumers  # one alone is too slow, 3 are not
    assert patterns.story is not None
    scaled = [a.count for step in patterns.story.steps for a in step.actions if a.kind is ActionKind.CONSUMERS]
    assert scaled == [1, 5]


def orders_channel(shop: Workspace) -> str | None:
    return shop.operation("announceOrder").channel.address


# -- the catalogue ---------------------------------------------------------------


def test_an_unknown_built_in_lists_the_names() -> None:
    with pytest.raises(ValueError, match=r"no built-in scenario 'shop' \(built-in: household, online-shop, iot-fleet"):
        built_in("shop")


def test_a_missing_file_says_so_and_lists_the_built_ins(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(WorkspaceError) as caught:
        load_scenario(missing)
    assert str(caught.value).startswith(f"{missing}: no such file, and no built-in scenario of that name (built-in: ")
    with pytest.raises(WorkspaceError, match=r"^houshold: no such file"):
        load_scenario("houshold")


def test_a_file_is_loaded_and_a_bad_one_names_its_line(tmp_path: Path) -> None:
    text = (SCENARIOS / "household.yaml").read_text(encoding="utf-8")
    good = tmp_path / "mine.yaml"
    good.write_text(text, encoding="utf-8")
    assert load_scenario(str(good)).story == load_demo().story
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("- pause: shopping-list", "- pause: shoping-list"), encoding="utf-8")
    with pytest.raises(WorkspaceError) as caught:
        load_scenario(bad)
    error = caught.value
    assert error.file == str(bad)
    assert error.line is not None
    assert bad.read_text(encoding="utf-8").splitlines()[error.line - 1].strip() == "- pause: shoping-list"
    assert "no subscriber or responder named 'shoping-list'" in error.problem
