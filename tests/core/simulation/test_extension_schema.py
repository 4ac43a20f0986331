"""The JSON Schema of the x-eventdeck fields: a valid schema, in agreement with the scenario reader, and its
errors name the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the environment
import pytest

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.loader import parse_text
from eventdeck.core.simulation.extension_schema import check_extensions, extension_fields, schema
from eventdeck.core.simulation.workspace import WorkspaceError, parse_workspace
from tests.core.simulation.story_documents import STORY_BASE, with_action, with_text
from tests.paths import SCENARIOS

BUILT_IN_FILES = sorted(SCENARIOS.glob("*.yaml"))


def schema_error(text: str) -> AsyncApiError:
    with pytest.raises(AsyncApiError) as caught:
        check_extensions(parse_text(text, "doc.yaml"))
    return caught.value


def reader_error(text: str) -> WorkspaceError:
    with pytest.raises(WorkspaceError) as caught:
        parse_workspace(text, "doc.yaml")
    return caught.value


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("path", BUILT_IN_FILES, ids=lambda path: path.stem)
def test_every_built_in_passes_the_schema_and_the_reader(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    source = parse_text(text, "built-in.yaml")
    assert len(list(extension_fields(source.data))) >= 5  # publishers, subscribers, generators, the story
    check_extensions(source)
    assert parse_workspace(text).story is not None


def test_the_base_document_passes_both() -> None:
    text, _ = with_action("pause: ponger")
    check_extensions(parse_text(text, "doc.yaml"))
    parse_workspace(text)


def test_a_pool_of_consumers_and_its_scaling_pass_both() -> None:
    text, _ = with_action("consumers: {subscriber: ponger, count: 20}")
    text = text.replace("{name: ponger}", "{name: ponger, consumers: 3}")
    check_extensions(parse_text(text, "doc.yaml"))
    assert parse_workspace(text).subscribers[0].subscriber is not None


# Each one line, so that the schema (which points at the object) and the reader (which points at the
# key) name the same line.
BAD_ACTIONS = [
    "unknownThing: x",
    "{pause: ponger, resume: ponger}",
    "pause",
    "crash: 3",
    "publish: {channel: ping, colour: red}",
    "publish: {payload: {}}",
    "publish: ping",
    "command: {channel: ask, payload: {}, timeout: 0}",
    "slow: {subscriber: ponger}",
    "slow: {subscriber: ponger, seconds: 61}",
    "slow: {seconds: 1}",
    "flaky: {subscriber: ponger, rate: 1.5}",
    "consumers: {subscriber: ponger}",
    "consumers: {count: 2}",
    "consumers: {subscriber: ponger, count: 0}",
    "consumers: {subscriber: ponger, count: 21}",
    "consumers: {subscriber: ponger, count: 2.5}",
    "consumers: {subscriber: ponger, count: 2, pool: x}",
    "consumers: ponger",
    "drop: {channel: ping, count: 0}",
    "duplicate: {channel: ping, count: 1.5}",
    "delay: {channel: ping, count: 2}",
    "delay: {channel: ping, seconds: 0}",
    "burst: {factor: 0.5}",
    "burst: {seconds: 1000}",
    "speed: 10",
    "speed: fast",
    "publishers: maybe",
    "highlight: []",
    "highlight: [ping, 3]",
    "restartBroker: false",
    "clearFaults: {now: true}",
]


@pytest.mark.parametrize("bad", BAD_ACTIONS)
def test_schema_and_reader_refuse_the_same_bad_actions_at_the_same_line(bad: str) -> None:
    text, line = with_action(bad)
    assert schema_error(text).line == line
    assert reader_error(text).line == line


PUBLISHER = "    x-eventdeck-publisher: {name: pinger, rate: 2}\n"
SUBSCRIBER = "    x-eventdeck-subscriber: {name: ponger}\n"
RESPONDER = "    x-eventdeck-responder: {name: answerer}\n"
MESSAGE = "        examples: [{payload: {n: 1}}]\n"

BAD_SETTINGS = [
    (PUBLISHER, "    x-eventdeck-publisher: {name: pinger, rate: 0}\n"),
    (PUBLISHER, "    x-eventdeck-publisher: {name: pinger, rate: 2, rat: 3}\n"),
    (PUBLISHER, "    x-eventdeck-publisher: {rate: 2}\n"),
    (PUBLISHER, "    x-eventdeck-publisher: {name: ' ', rate: 2}\n"),
    (PUBLISHER, "    x-eventdeck-publisher: {name: pinger, retain: 'yes'}\n"),
    (PUBLISHER, "    x-eventdeck-publisher: {name: pinger, timeout: 0}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, delay: -1}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, failureRate: 2}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, maxAttempts: 0}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, durable: 1}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, pattern: ''}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, colour: red}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, consumers: 0}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, consumers: 21}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, consumers: 1.5}\n"),
    (SUBSCRIBER, "    x-eventdeck-subscriber: {name: ponger, consumers: 'two'}\n"),
    (RESPONDER, "    x-eventdeck-responder: {name: answerer, failureRate: -1}\n"),
    (RESPONDER, "    x-eventdeck-responder: {name: answerer, retries: 3}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {int: [1, 2], choice: [3]}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {int: [1, 2], decimals: 2}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {number: [1, 2], decimals: 20}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {choice: []}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {int: [1.5, 2]}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {walk: [1, 2], step: 1}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {label: m}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {label: m, bands: {low: a}}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {template: 5}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: {n: {sample: [a, b], count: [-1, 1]}}\n"),
    (MESSAGE, MESSAGE + "        x-eventdeck-generate: [n]\n"),
]


@pytest.mark.parametrize(("old", "new"), BAD_SETTINGS, ids=lambda value: value.strip()[:60])
def test_schema_and_reader_refuse_the_same_bad_settings_at_the_same_line(old: str, new: str) -> None:
    text = with_text(old, new)
    line = text.splitlines().index(new.splitlines()[-1]) + 1
    assert schema_error(text).line == line
    assert reader_error(text).line == line


def test_good_generators_pass_both() -> None:
    generators = (
        "{a: {choice: [x, y]}, b: {sample: [x, y], count: [0, 2]}, c: {int: [1, 3]}, d: {number: [1, 2], decimals: 1},"
        " e: {walk: [0, 9], start: 3, step: [-1, 1]}, f: {label: c, bands: {2: low, 3.5: high}},"
        " g: {template: '{seq}'}, h: {request: q}, i: {const: {k: v}}, j: 7, k: [1, 2]}"
    )
    text = with_text(MESSAGE, MESSAGE + f"        x-eventdeck-generate: {generators}\n")
    check_extensions(parse_text(text, "doc.yaml"))
    parse_workspace(text)


def test_a_schema_error_names_the_file_the_line_the_path_and_the_reason() -> None:
    text = with_text(SUBSCRIBER, "    x-eventdeck-subscriber:\n      name: ponger\n      delay: -1\n")
    error = schema_error(text)
    assert error.line == text.splitlines().index("      delay: -1") + 1
    assert error.path == "#/operations/receivePing/x-eventdeck-subscriber/delay"
    assert str(error) == f"doc.yaml, line {error.line}: {error.path}: -1 is less than the minimum of 0"


def test_an_unknown_extension_is_named_by_the_schema_and_so_when_read() -> None:
    text = with_text(SUBSCRIBER, SUBSCRIBER + "    x-eventdeck-subscribers: {name: other}\n")
    error = schema_error(text)
    assert "'x-eventdeck-subscribers' was unexpected" in error.problem
    assert error.path == "#/operations/receivePing/x-eventdeck-subscribers"
    assert error.line == text.splitlines().index("    x-eventdeck-subscribers: {name: other}") + 1
    read = reader_error(text)
    assert (read.path, read.problem) == (error.path, error.problem)


def test_the_first_problem_in_the_file_is_reported() -> None:
    text = with_text(PUBLISHER, "    x-eventdeck-publisher: {name: pinger, rate: -1}\n")
    text = text.replace("- pause: ponger", "- speed: 99")
    assert schema_error(text).path == "#/operations/sendPing/x-eventdeck-publisher/rate"


def test_extension_fields_are_found_wherever_they_are() -> None:
    found = dict(extension_fields(parse_text(STORY_BASE, "doc.yaml").data))
    assert set(found) == {
        (),
        ("operations", "sendPing"),
        ("operations", "receivePing"),
        ("operations", "sendAsk"),
        ("operations", "answerAsk"),
    }
    assert set(found[()]) == {"x-eventdeck-story"}
