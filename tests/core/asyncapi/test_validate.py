"""Payload validation against message schemas, and example payloads for the composer."""

from __future__ import annotations

import json

import pytest

from eventdeck.core.asyncapi import MessageSpec, ValidationIssue, load_document, parse_document, validator_for
from eventdeck.core.asyncapi.examples import example_from_schema, example_payload
from eventdeck.core.asyncapi.validate import _compiled
from tests.paths import ASYNCAPI_FIXTURES

LIGHT = MessageSpec(
    name="lightMeasured",
    payload={
        "type": "object",
        "required": ["lumens"],
        "properties": {
            "lumens": {"type": "integer", "minimum": 0},
            "sentAt": {"type": "string", "format": "date-time"},
            "by": {"type": "string", "format": "email"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    },
)


def test_a_valid_payload_has_no_issues() -> None:
    check = validator_for(LIGHT)
    assert check.status == "validated"
    assert check.active
    assert check.validate(b'{"lumens": 3, "sentAt": "2024-05-01T12:00:00Z", "by": "a@b.io", "tags": ["x"]}') == []


def test_issues_name_the_json_path() -> None:
    issues = validator_for(LIGHT).validate(b'{"lumens": -1, "sentAt": "yesterday", "by": "nobody", "tags": ["x", 7]}')
    assert issues == [
        ValidationIssue("$.by", "'nobody' is not a 'email'"),
        ValidationIssue("$.lumens", "-1 is less than the minimum of 0"),
        ValidationIssue("$.sentAt", "'yesterday' is not a 'date-time'"),
        ValidationIssue("$.tags[1]", "7 is not of type 'string'"),
    ]
    assert validator_for(LIGHT).validate(b"{}") == [ValidationIssue("$", "'lumens' is a required property")]


@pytest.mark.parametrize(
    ("payload", "content_type", "problem"),
    [
        (b'{"lumens": ', "application/json", "not valid JSON: Expecting value"),
        (b"\xff\xfe", "application/json", "not valid JSON"),
        (b"\x00\x01", "application/octet-stream", "a application/octet-stream payload cannot be checked"),
    ],
)
def test_payloads_that_cannot_be_decoded(payload: bytes, content_type: str, problem: str) -> None:
    (issue,) = validator_for(LIGHT).validate(payload, content_type)
    assert issue.path == "$"
    assert issue.message.startswith(problem)


def test_text_payloads_are_checked_as_strings() -> None:
    message = MessageSpec(name="note", content_type="text/plain", payload={"type": "string", "maxLength": 3})
    assert validator_for(message).validate(b"abc") == []
    assert validator_for(message).validate(b"abcd") == [ValidationIssue("$", "'abcd' is too long")]
    assert validator_for(message).validate(b"1", "application/cloudevents+json") == [
        ValidationIssue("$", "1 is not of type 'string'")
    ]


def test_other_formats_and_no_schema_are_not_validated() -> None:
    avro = MessageSpec(name="a", payload={"type": "record"}, schema_format="application/vnd.apache.avro;version=1.9.0")
    check = validator_for(avro)
    assert check.status == "not validated: application/vnd.apache.avro;version=1.9.0"
    assert not check.active
    assert check.validate(b"anything") == []
    assert validator_for(MessageSpec(name="b")).status == "no schema"


def test_draft_2020_12_is_used_when_asked_for() -> None:
    # prefixItems only exists in 2020-12: with it the second item is checked, with draft 7 it is ignored.
    schema = {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]}
    as_2020 = MessageSpec(name="x", payload=schema, schema_format="application/schema+json;version=draft-2020-12")
    as_draft7 = MessageSpec(name="x", payload=schema)
    assert validator_for(as_2020).validate(b"[1, 2]") == [ValidationIssue("$[1]", "2 is not of type 'string'")]
    assert validator_for(as_draft7).validate(b"[1, 2]") == []
    dollar = MessageSpec(name="x", payload={"$schema": "https://json-schema.org/draft/2020-12/schema", **schema})
    assert validator_for(dollar).validate(b"[1, 2]") != []


def test_asyncapi_discriminator_is_ignored() -> None:
    message = MessageSpec(name="pet", payload={"type": "object", "discriminator": "petType", "required": ["petType"]})
    assert validator_for(message).validate(b'{"petType": "cat"}') == []


def test_each_schema_is_compiled_once() -> None:
    first = validator_for(LIGHT)
    misses = _compiled.cache_info().misses
    twin = MessageSpec(name="other", payload=json.loads(json.dumps(LIGHT.payload)))
    for _ in range(100):
        validator_for(twin)
    assert _compiled.cache_info().misses == misses
    assert validator_for(twin)._validator is first._validator


def test_document_payloads_are_checked_against_their_schemas() -> None:
    document = load_document(ASYNCAPI_FIXTURES / "v2.6" / "greenhouse-mqtt.yaml")
    switch, reading = (
        next(m for m in document.messages if m.name == name) for name in ("heaterSwitch", "climateReading")
    )
    check = validator_for(switch)
    assert check.validate(b'{"state": "on", "takenAt": "2024-05-01T12:00:00Z"}') == []
    assert check.validate(b'{"state": true}') == [
        ValidationIssue("$.state", "True is not of type 'string'"),
        ValidationIssue("$.state", "True is not one of ['on', 'off']"),
    ]
    # Formats reached through a $ref are checked too.
    assert validator_for(reading).validate(
        b'{"celsius": 21.5, "humidity": 60, "readingId": "r1", "takenAt": "noon"}'
    ) == [
        ValidationIssue("$.readingId", "'r1' is not a 'uuid'"),
        ValidationIssue("$.takenAt", "'noon' is not a 'date-time'"),
    ]


def test_documented_examples_come_first() -> None:
    document = parse_document(
        """\
asyncapi: 3.0.0
info: {title: t, version: '1'}
channels:
  c:
    address: c
    messages:
      m:
        payload: {type: object, properties: {n: {type: integer}}}
        examples:
          - {name: first, headers: {h: v}}
          - {name: second, payload: {n: 42}}
"""
    )
    (message,) = document.messages
    assert [e.name for e in message.examples] == ["first", "second"]
    assert message.examples[0].headers == {"h": "v"}
    assert example_payload(message) == {"n": 42}
    assert example_payload(MessageSpec(name="x", payload={"type": "record"}, schema_format="avro")) is None


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string", "minLength": 12}, "b": {"type": "number"}}},
        {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}, "x": {}}},
        {"type": "integer", "exclusiveMinimum": 5, "multipleOf": 4},
        {"type": "number", "maximum": -3},
        {"type": ["null", "string"], "format": "date"},
        {"type": "array", "minItems": 2, "items": {"enum": ["x", "y"]}},
        {"oneOf": [{"type": "boolean"}, {"type": "string"}]},
        {"allOf": [{"type": "object", "properties": {"a": {"const": 1}}}, {"required": ["b"]}]},
        {"properties": {"when": {"type": "string", "format": "date-time"}}},
        {"type": "string", "maxLength": 3},
    ],
)
def test_examples_made_from_schemas_fit_them(schema: dict[str, object]) -> None:
    message = MessageSpec(name="m", payload=schema)
    value = example_from_schema(schema)
    assert validator_for(message).validate_value(value) == [], value


def test_every_document_message_gets_a_fitting_example() -> None:
    messages = [m for path in sorted(ASYNCAPI_FIXTURES.glob("v*/*.yaml")) for m in load_document(path).messages]
    assert len(messages) == 8
    for message in messages:
        assert validator_for(message).validate_value(example_from_schema(message.payload)) == [], message.name


def test_formats_only_judge_strings() -> None:
    spec = MessageSpec(name="when", payload={"type": ["string", "integer"], "format": "date-time"})
    validator = validator_for(spec)
    assert validator.validate_value(5) == []
    assert validator.validate_value("2026-11-27T10:00:00Z") == []
    assert validator.validate_value("yesterday")
