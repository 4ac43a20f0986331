"""The composer's Qt-free checks: JSON with line and column, channel names, size, history."""

from __future__ import annotations

import json

import pytest

from eventdeck.gui.models.payload_check import (
    History,
    check,
    json_problem,
    one_line,
    pretty_json,
)


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/cloudevents+json", True),
        ("application/vnd.api+json", True),
        ("text/json", True),
        ("text/plain", False),
        ("application/octet-stream", False),
        ("", False),
    ],
)
def test_only_json_content_types_are_checked_as_json(content_type: str, expected: bool) -> None:
    # the one rule is core's is_json_type; the composer follows it
    problems = check("c", "{nope", content_type, 1024).problems
    assert any(problem.startswith("Invalid JSON") for problem in problems) is expected


def test_json_problem_names_line_and_column() -> None:
    assert json_problem('{"a": 1}') is None
    assert json_problem("   ") is None  # blank means an empty payload, not broken JSON
    assert (
        json_problem('{\n  "a": 1,\n}')
        == "Invalid JSON: Expecting property name enclosed in double quotes at line 3, column 1"
    )
    problem = json_problem("[1, 2")
    assert problem is not None
    assert problem.startswith("Invalid JSON: ")
    assert "line 1, column 6" in problem


@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "-Infinity"])
def test_nan_and_infinity_are_not_json_here_or_at_the_gateways(text: str) -> None:
    problem = json_problem(text)
    assert problem is not None
    assert "NaN or Infinity" in problem


def test_the_brokers_own_channels_cannot_be_composed_to() -> None:
    problems = check("$dead/orders", "{}", "application/json", 1024).problems
    assert problems == (
        "Channel: channels starting with $ belong to the broker ($dead/…, $reply/…); publish to a channel of your own",
    )


def test_check_reports_every_problem() -> None:
    verdict = check("a/+/b", "{oops", "application/json", 3)
    assert not verdict.ok
    assert len(verdict.problems) == 3
    assert verdict.problems[0] == "Channel: wildcards '+' and '#' are only allowed in subscription patterns"
    assert verdict.problems[1].startswith("Invalid JSON: ")
    assert verdict.problems[2] == "Payload too large: 5 B exceeds the broker's limit of 3 B"
    assert verdict.reason().count("\n") == 2


def test_check_accepts_valid_input_and_ignores_json_for_other_types() -> None:
    good = check("user/signedup", '{"name": "Ada"}', "application/json", 1024)
    assert good.ok
    assert good.json_ok
    assert good.payload == b'{"name": "Ada"}'
    plain = check("notes", "{not json", "text/plain", 1024)
    assert plain.ok
    assert not plain.json_ok
    empty = check("", "", "application/json", 1024)
    assert empty.problems == ("Channel: name is empty",)
    assert empty.channel_empty


def test_size_counts_utf8_bytes() -> None:
    verdict = check("c", '"ééé"', "application/json", 7)  # 5 characters, 8 bytes
    assert verdict.problems == ("Payload too large: 8 B exceeds the broker's limit of 7 B",)


def test_size_problem_names_sizes_in_binary_units() -> None:
    verdict = check("c", "x" * 1536, "text/plain", 1024)
    assert verdict.problems == ("Payload too large: 1.5 KiB (1,536 B) exceeds the broker's limit of 1 KiB",)


def test_pretty_json_and_one_line() -> None:
    assert pretty_json('{"a":1,"b":[1,2],"c":"é"}') == json.dumps(
        {"a": 1, "b": [1, 2], "c": "é"}, indent=2, ensure_ascii=False
    )
    assert pretty_json("{nope") is None
    assert one_line('{\n  "a":   1\n}') == '{ "a": 1 }'
    assert one_line("x" * 50, 10) == "x" * 9 + "…"


def test_history_is_per_channel_recent_first_deduplicated_and_bounded() -> None:
    history = History(per_channel=3)
    for text in ("1", "2", "1", "3", "4"):
        history.record("a", text)
    history.record("b", "x")
    assert history.for_channel("a") == ["4", "3", "1"]
    assert history.for_channel("b") == ["x"]
    assert history.for_channel("nowhere") == []
    assert history.channels() == ["a", "b"]
