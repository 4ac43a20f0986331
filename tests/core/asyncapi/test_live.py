"""Live validation of traffic against an AsyncAPI document: results, counts, the fast check and the budget."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventdeck.core import Kind, Message
from eventdeck.core.asyncapi import MessageSpec, ValidationIssue, parse_document, validator_for
from eventdeck.core.asyncapi.live import LiveValidator, ValidationCounts, short_status
from eventdeck.core.asyncapi.validate import fast_check

DOCUMENT = """
asyncapi: 3.0.0
info: {title: Shop, version: 1.0.0}
channels:
  signedup:
    address: user/signedup
    messages:
      signedUp:
        payload:
          type: object
          required: [name, age]
          properties:
            name: {type: string, minLength: 1}
            age: {type: integer, minimum: 0}
  reading:
    address: 'sensor/{id}/reading'
    parameters: {id: {}}
    messages:
      celsius:
        payload: {type: object, required: [celsius], properties: {celsius: {type: number}}}
      kelvin:
        payload: {type: object, required: [kelvin], properties: {kelvin: {type: number, minimum: 0}}}
  avro:
    address: sensor/avro
    messages:
      avroReading:
        payload:
          schemaFormat: application/vnd.apache.avro;version=1.9.0
          schema: {type: record, name: Reading, fields: [{name: value, type: double}]}
  bare:
    address: notes
    messages:
      note: {name: note}
"""


def message(number: int, channel: str, payload: Any, content_type: str = "application/json") -> Message:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Message(number, channel, Kind.EVENT, data, content_type, {}, 0.0, "test", None, None)


@pytest.fixture
def live() -> LiveValidator:
    return LiveValidator(parse_document(DOCUMENT))


def test_invalid_payloads_get_their_issues_and_are_counted(live: LiveValidator) -> None:
    batch = [message(1, "user/signedup", {"name": "Ada", "age": 36}), message(2, "user/signedup", {"age": -1})]
    assert live.check(batch)
    assert live.issues_for(1) == ()
    assert live.issues_for(2) == (
        ValidationIssue("$", "'name' is a required property"),
        ValidationIssue("$.age", "-1 is less than the minimum of 0"),
    )
    assert live.counts() == {"user/signedup": ValidationCounts(checked=2, invalid=1, skipped=0)}
    assert not live.counts()["user/signedup"].sampled
    assert live.totals() == ValidationCounts(2, 1, 0)


def test_a_payload_is_valid_if_any_message_of_the_channel_accepts_it(live: LiveValidator) -> None:
    live.check(
        [
            message(1, "sensor/a/reading", {"celsius": 21.5}),
            message(2, "sensor/b/reading", {"kelvin": 290}),
            message(3, "sensor/a/reading", {"kelvin": -4}),
        ]
    )
    assert live.issues_for(1) == live.issues_for(2) == ()
    assert live.issues_for(3) == (ValidationIssue("$.kelvin", "-4 is less than the minimum of 0"),)  # the closest
    assert live.counts()["sensor/a/reading"] == ValidationCounts(2, 1, 0)


def test_payloads_that_are_not_json_are_invalid(live: LiveValidator) -> None:
    live.check([message(1, "user/signedup", b"{not json")])
    assert live.issues_for(1)[0].message.startswith("not valid JSON")


def test_an_unlabelled_payload_is_read_as_the_document_says(live: LiveValidator) -> None:
    live.check([message(1, "user/signedup", {"name": "Ada", "age": 1}, "application/octet-stream")])
    assert live.issues_for(1) == ()
    assert live.counts()["user/signedup"].checked == 1


def test_channels_without_a_usable_schema_are_skipped_and_say_why(live: LiveValidator) -> None:
    assert not live.check([message(1, "sensor/avro", b"\x00\x01"), message(2, "notes", b"hi"), message(3, "x/y", b"")])
    assert live.counts() == {}
    assert live.status_for("sensor/avro") == "not validated: avro"
    assert live.status_for("notes") == "no schema"
    assert live.status_for("user/signedup") == "validated"
    assert live.status_for("sensor/7/reading") == "validated"
    assert live.status_for("x/y") is None


def test_status_names_the_format_briefly() -> None:
    assert short_status("not validated: application/vnd.apache.avro+json;version=1.9.0") == "not validated: avro"
    assert short_status("not validated: application/vnd.google.protobuf") == "not validated: protobuf"
    assert short_status("not validated: application/raml+yaml;version=1.0") == "not validated: raml"
    assert short_status("validated") == "validated"


def test_only_the_latest_invalid_messages_are_remembered() -> None:
    live = LiveValidator(parse_document(DOCUMENT), max_invalid=3)
    live.check([message(n, "user/signedup", {"age": -n}) for n in range(1, 6)])
    assert [bool(live.issues_for(n)) for n in range(1, 6)] == [False, False, True, True, True]
    assert live.counts()["user/signedup"].invalid == 5  # counted all the same


def test_a_batch_beyond_the_budget_is_sampled_and_says_so() -> None:
    live = LiveValidator(parse_document(DOCUMENT), budget=0.0005)
    batch = [message(n, "user/signedup", {"age": -1}) for n in range(2000)]  # invalid: the slow path
    live.check(batch)
    counts = live.counts()["user/signedup"]
    assert counts.sampled
    assert counts.checked + counts.skipped == 2000
    assert 0 < counts.checked < 2000
    assert counts.invalid == counts.checked
    assert live.last_batch_seconds < 0.5  # bounded by the budget, with a wide margin for a loaded machine


def test_a_batch_within_the_budget_is_checked_whole() -> None:
    live = LiveValidator(parse_document(DOCUMENT), budget=10.0)
    live.check([message(n, "user/signedup", {"name": "x", "age": n}) for n in range(500)])
    assert live.counts()["user/signedup"] == ValidationCounts(500, 0, 0)


def test_values_for_the_composer(live: LiveValidator) -> None:
    specs = live.messages_for("sensor/3/reading")
    assert [spec.name for spec in specs] == ["celsius", "kelvin"]
    assert live.check_value({"celsius": 1}, specs) == ()
    assert live.check_value({"kelvin": "cold"}, specs[1:]) == (
        ValidationIssue("$.kelvin", "'cold' is not of type 'number'"),
    )
    assert live.messages_for("nowhere") == ()


def one_channel(payload: Any) -> LiveValidator:
    """A validator for a document with one channel ``c`` and one message, whose ``payload`` is given."""
    channel = {"address": "c", "messages": {"m": {"payload": payload}}}
    document = {"asyncapi": "3.0.0", "info": {"title": "T", "version": "1.0.0"}, "channels": {"c": channel}}
    return LiveValidator(parse_document(json.dumps(document)))


def test_a_format_only_judges_strings() -> None:
    live = one_channel({"type": ["string", "integer"], "format": "date-time"})
    live.check([message(1, "c", 5), message(2, "c", "2026-11-27T10:00:00Z"), message(3, "c", "yesterday")])
    assert live.issues_for(1) == ()  # a number is not held to a string format
    assert live.issues_for(2) == ()
    assert "date-time" in live.issues_for(3)[0].message


# -- the fast check agrees with jsonschema -------------------------------------------------

SCHEMAS: list[Any] = [
    {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 0, "maximum": 10}}},
    {"type": "object", "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^a"}}},
    {"type": "object", "additionalProperties": False, "properties": {"a": {}, "b": {"type": "null"}}},
    {"type": "array", "items": {"enum": [1, "x", True, None]}, "minItems": 1, "maxItems": 3},
    {"anyOf": [{"type": "string", "format": "email"}, {"type": "number", "exclusiveMinimum": 0}]},
    {"allOf": [{"type": ["object", "null"]}, {"properties": {"t": {"const": 1.0}}}], "title": "x", "x-note": 1},
    {"type": "string", "format": "date-time"},
    {"type": "object", "additionalProperties": {"type": "boolean"}, "minProperties": 1, "maxProperties": 2},
    {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
    {"not": {"type": "string"}},
    {"type": "number", "multipleOf": 0.1},
    {"patternProperties": {"^a": {"type": "integer"}}, "additionalProperties": False},
    {"items": [{"type": "string"}]},
    {"type": "object", "unknownKeyword": 1},
    {"enum": [{"a": 1}, [1, "x"]]},
    {"type": "string", "format": "uuid"},
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 12)
    | st.floats(-3, 12, allow_nan=False)
    | st.sampled_from(["", "a", "ab", "abc", "abcde", "x", "a@b.io", "2024-05-01T12:00:00Z", "a", "t", "s", "b"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "s", "t", "z"]), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(SCHEMAS) - 1), value=JSON_VALUES)
def test_the_fast_check_never_accepts_what_jsonschema_rejects(index: int, value: Any) -> None:
    schema = SCHEMAS[index]
    check = fast_check(schema)
    assert check is not None
    try:
        expected = not validator_for(MessageSpec(name="m", payload=schema)).validate_value(value)
    except TypeError:  # the format checks expect strings (JSON Schema applies formats to strings only)
        return
    if check(value):
        assert expected, (schema, value)


@pytest.mark.parametrize(
    "schema",
    [
        {"$schema": "http://json-schema.org/draft-03/schema#", "type": "integer"},  # a draft it lacks
        {"type": "string", "pattern": "(?P<word>a)"},  # Python's syntax, not ECMA 262's
        {"$ref": "https://example.com/reading.json"},  # never fetched
    ],
)
def test_schemas_beyond_the_fast_check_get_jsonschema_only(schema: Any) -> None:
    assert fast_check(schema) is None


def test_draft_04_schemas_are_read_as_draft_04() -> None:
    live = one_channel({"schemaFormat": "application/schema+json;version=draft-04", "schema": {"type": "integer"}})
    live.check([message(1, "c", 1.0)])  # an integer in draft 6 and later, not in draft 4
    assert live.issues_for(1) == (ValidationIssue("$", "1.0 is not of type 'integer'"),)
