"""x-eventdeck-story: what each action reads into, its defaults, and errors naming the file, the line and why."""

from __future__ import annotations

import pytest

from eventdeck.core.simulation.story import Action, ActionKind, Step, Story
from eventdeck.core.simulation.story_parser import caption_sentences
from eventdeck.core.simulation.workspace import WorkspaceError, parse_workspace
from tests.core.simulation.story_documents import STORY_BASE, with_action, with_text


def action(text: str) -> Action:
    document, line = with_action(text)
    story = parse_workspace(document, "story.yaml").story
    assert story is not None
    (step,) = story.steps
    (read,) = step.actions
    assert read.line == line
    return read


def fails(text: str) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as caught:
        parse_workspace(text, "story.yaml")
    return caught.value


def test_the_story_is_read_into_the_model() -> None:
    text, line = with_action("pause: ponger")
    story = parse_workspace(text).story
    assert story == Story(
        "A test story", (Step("First", "One sentence.", (Action(ActionKind.PAUSE, target="ponger", line=line),)),)
    )
    assert parse_workspace(STORY_BASE[: STORY_BASE.index("x-eventdeck-story")]).story is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "publish: {channel: ping, payload: {n: 7}, publisher: asker}",
            Action(ActionKind.PUBLISH, channel="ping", payload={"n": 7}, publisher="asker"),
        ),
        # No payload: the channel's first example; no publisher: the channel's simulated publisher.
        ("publish: {channel: ping}", Action(ActionKind.PUBLISH, channel="ping", payload={"n": 1}, publisher="pinger")),
        (
            "command: {channel: ask, payload: {q: 1}}",
            Action(ActionKind.COMMAND, channel="ask", payload={"q": 1}, publisher="asker", seconds=3.0),
        ),
        (
            "command: {channel: ask, payload: {}, timeout: 0.5}",
            Action(ActionKind.COMMAND, channel="ask", payload={}, publisher="asker", seconds=0.5),
        ),
        ("resume: ponger", Action(ActionKind.RESUME, target="ponger")),
        ("crash: answerer", Action(ActionKind.CRASH, target="answerer")),  # a responder is a consumer too
        ("restart: answerer", Action(ActionKind.RESTART, target="answerer")),
        ("cutOff: ponger", Action(ActionKind.CUT_OFF, target="ponger")),
        ("reconnect: ponger", Action(ActionKind.RECONNECT, target="ponger")),
        ("slow: {subscriber: ponger, seconds: 2}", Action(ActionKind.SLOW, target="ponger", seconds=2.0)),
        ("flaky: {subscriber: ponger, rate: 0.5}", Action(ActionKind.FLAKY, target="ponger", rate=0.5)),
        ("consumers: {subscriber: ponger, count: 4}", Action(ActionKind.CONSUMERS, target="ponger", count=4)),
        ("consumers: {subscriber: answerer, count: 1}", Action(ActionKind.CONSUMERS, target="answerer", count=1)),
        ("drop: {channel: ping}", Action(ActionKind.DROP, target="ping", count=1)),
        ("duplicate: {channel: ping, count: 2}", Action(ActionKind.DUPLICATE, target="ping", count=2)),
        ("delay: {channel: ping, count: 2, seconds: 3}", Action(ActionKind.DELAY, target="ping", count=2, seconds=3)),
        ("burst: {}", Action(ActionKind.BURST, target="", rate=10.0, seconds=5.0)),
        (
            "burst: {publisher: pinger, factor: 3, seconds: 8}",
            Action(ActionKind.BURST, target="pinger", rate=3, seconds=8),
        ),
        ("restartBroker", Action(ActionKind.RESTART_BROKER)),
        ("restartBroker: {}", Action(ActionKind.RESTART_BROKER)),
        ("restartBroker: true", Action(ActionKind.RESTART_BROKER)),
        ("clearFaults", Action(ActionKind.CLEAR_FAULTS)),
        ("speed: 0.5", Action(ActionKind.SPEED, rate=0.5)),
        ("speed: 5", Action(ActionKind.SPEED, rate=5.0)),
        ("publishers: off", Action(ActionKind.PUBLISHERS, rate=0.0)),
        ("publishers: on", Action(ActionKind.PUBLISHERS, rate=1.0)),
        ("highlight: ping", Action(ActionKind.HIGHLIGHT, names=("ping",))),
        (
            "highlight: [ask, ponger, asker, answerer]",
            Action(ActionKind.HIGHLIGHT, names=("ask", "ponger", "asker", "answerer")),
        ),
    ],
)
def test_each_kind_of_action(text: str, expected: Action) -> None:
    read = action(text)
    assert read == Action(**{**expected.__dict__, "line": read.line})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("unknownThing: x", "unknown action 'unknownThing' (known: publish, command, pause,"),
        ("{pause: ponger, resume: ponger}", "an action is a mapping with one key"),
        ("pause", "an action is a mapping with one key, its kind"),
        ("pause: nobody", "no subscriber or responder named 'nobody' in this document (known: ponger, answerer)"),
        ("pause: pinger", "no subscriber or responder named 'pinger'"),
        ("crash: 3", "expected the name of a subscriber or responder, got 3"),
        ("publish: {channel: nowhere}", "no channel address named 'nowhere' in this document (known: ping, ask)"),
        ("publish: {channel: ping, colour: red}", "unknown field 'colour' (known: channel, payload, publisher)"),
        ("publish: {payload: {}}", "missing required field 'channel'"),
        ("publish: ping", "'publish' must be a mapping, got str 'ping'"),
        (
            "publish: {channel: ping, publisher: ghost}",
            "no publisher named 'ghost' in this document (known: pinger, asker)",
        ),
        ("publish: {channel: ask}", "give a 'payload': the messages of channel 'ask' have no example to send"),
        (
            "command: {channel: ping, payload: {}}",
            "no operation on channel 'ping' has a reply, so it takes no commands",
        ),
        ("command: {channel: ask, payload: {}, timeout: 0}", "'timeout' must be a number from 0.001 to 3600, got 0"),
        ("slow: {subscriber: ponger}", "missing required field 'seconds'"),
        ("slow: {subscriber: ponger, seconds: 61}", "'seconds' must be a number from 0 to 60, got 61"),
        ("slow: {seconds: 1}", "missing required field 'subscriber'"),
        ("flaky: {subscriber: ponger, rate: 1.5}", "'rate' must be a number from 0 to 1, got 1.5"),
        ("flaky: {subscriber: ghost, rate: 0.5}", "no subscriber or responder named 'ghost'"),
        ("consumers: {subscriber: ponger}", "missing required field 'count' (how many consumers share"),
        ("consumers: {count: 3}", "missing required field 'subscriber'"),
        ("consumers: {subscriber: ghost, count: 3}", "no subscriber or responder named 'ghost'"),
        ("consumers: {subscriber: ponger, count: 0}", "'count' must be a whole number from 1 to 20, got 0"),
        ("consumers: {subscriber: ponger, count: 21}", "'count' must be a whole number from 1 to 20, got 21"),
        ("consumers: {subscriber: ponger, count: 3, pool: x}", "unknown field 'pool' (known: subscriber, count)"),
        ("consumers: ponger", "'consumers' must be a mapping, got str 'ponger'"),
        ("drop: {channel: ping, count: 0}", "'count' must be a whole number from 1 to 1000, got 0"),
        ("duplicate: {channel: ping, count: 1.5}", "'count' must be a whole number from 1 to 1000, got 1.5"),
        ("delay: {channel: ping, count: 2}", "missing required field 'seconds'"),
        ("delay: {channel: pong, seconds: 1}", "no channel address named 'pong'"),
        ("burst: {publisher: ponger}", "no publisher named 'ponger'"),
        ("burst: {factor: 0.5}", "'factor' must be a number from 1 to 100, got 0.5"),
        ("speed: 10", "'speed' must be a number from 0.1 to 5 (1 is normal speed), got 10"),
        ("speed: fast", "'speed' must be a number from 0.1 to 5"),
        ("publishers: maybe", "'publishers' must be on or off, got 'maybe'"),
        ("highlight: []", "'highlight' takes a name or a non-empty list of names"),
        ("highlight: [ping, nobody]", "'nobody' is neither a channel address nor a subscriber or publisher name"),
        ("highlight: nobody", "'nobody' is neither"),
        ("restartBroker: false", "'restartBroker' takes no settings: write '- restartBroker' or 'restartBroker: {}'"),
        ("clearFaults: {now: true}", "'clearFaults' takes no settings"),
    ],
)
def test_a_bad_action_names_its_line_and_why(text: str, reason: str) -> None:
    document, line = with_action(text)
    error = fails(document)
    assert reason in error.problem
    assert error.line == line
    assert str(error).startswith(f"story.yaml, line {line}: #/x-eventdeck-story/steps/0/actions/0")


CAPTION = "      caption: One sentence.\n"
STEP = "    - title: First\n"


@pytest.mark.parametrize(
    ("old", "new", "path", "reason"),
    [
        (CAPTION, "      caption: One. Two. Three. Four.\n", "/steps/0/caption", "at most 3 sentences"),
        (CAPTION, "      caption: '  '\n", "/steps/0/caption", "'caption' must not be empty"),
        (CAPTION, "      caption: [a]\n", "/steps/0/caption", "'caption' must be a string, got a list"),
        (CAPTION, "", "/steps/0", "missing required field 'caption'"),
        (STEP, "    - caption: x\n      title: ''\n      x: 1\n", "/steps/0/x", "unknown field 'x'"),
        (STEP, "    - note: x\n", "/steps/0/note", "unknown field 'note' (known: title, caption, actions)"),
        (STEP, "    - \n", "/steps/0", "missing required field 'title'"),
        ("      actions:\n        - pause: ponger\n", "      actions: []\n", "/steps/0/actions", "non-empty list"),
        ("  title: A test story\n", "", "", "missing required field 'title'"),
        ("  title: A test story\n", "  title: A test story\n  chapters: 2\n", "/chapters", "unknown field 'chapters'"),
        ("  steps:\n", "  pages:\n", "/pages", "unknown field 'pages'"),
    ],
)
def test_a_bad_story_or_step_names_its_line_and_why(old: str, new: str, path: str, reason: str) -> None:
    text = with_text(old, new)
    error = fails(text)
    assert reason in error.problem
    assert error.path == "#/x-eventdeck-story" + path
    assert error.line is not None


def test_a_step_without_a_title_is_refused_at_its_line() -> None:
    text = with_text(STEP + CAPTION, "    - caption: One sentence.\n")
    error = fails(text)
    assert error.problem == "missing required field 'title'"
    assert text.splitlines()[(error.line or 0) - 1] == "    - caption: One sentence."


def test_the_story_itself_must_be_a_mapping_with_steps() -> None:
    head = STORY_BASE[: STORY_BASE.index("x-eventdeck-story")]
    assert "'x-eventdeck-story' must be a mapping, got a list" in fails(head + "x-eventdeck-story: [a]\n").problem
    error = fails(head + "x-eventdeck-story: {title: T}\n")
    assert "missing required field 'steps'" in error.problem
    assert error.line == head.count("\n") + 1
    assert "'steps' must be a non-empty list" in fails(head + "x-eventdeck-story: {title: T, steps: []}\n").problem


@pytest.mark.parametrize(
    ("caption", "sentences"),
    [
        ("One sentence.", 1),
        ("No full stop at the end", 1),
        ("Hi! Really? Yes.", 3),
        ("It fails 0.5 of them, e.g. every other one.", 1),
        ("Subscribe to user/#. Then wait...", 2),
        ("", 0),
    ],
)
def test_caption_sentences(caption: str, sentences: int) -> None:
    assert caption_sentences(caption) == sentences


def test_a_payload_may_be_a_reference() -> None:
    text = with_text("operations:\n", "components:\n  examples:\n    big: {n: 99}\noperations:\n")
    text = text.replace("- pause: ponger", "- publish: {channel: ping, payload: {$ref: '#/components/examples/big'}}")
    story = parse_workspace(text).story
    assert story is not None
    assert story.steps[0].actions[0].payload == {"n": 99}
