"""Example payloads for the composer: the document's own, or one made from the schema.

:func:`example_from_schema` makes a small value meant to validate against the schema: required
properties (all properties when none are required), one item per array, values that respect
``const``/``enum``/``default``/``examples``, numeric bounds and the common string formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventdeck.core.asyncapi.model import MessageSpec

MAX_DEPTH = 8
"""Deeper than this, a schema gets ``None`` (a guard against very deep or unusual schemas)."""

_FORMAT_EXAMPLES = {
    "date-time": "2024-01-01T12:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
}


def example_payload(message: MessageSpec) -> Any:
    """The first example payload the document gives ``message``, else one made from its JSON schema
    (None when it has neither, or its schema is in another format)."""
    for example in message.examples:
        if example.payload is not None:
            return example.payload
    if not message.validatable:
        return None
    return example_from_schema(message.payload)


def example_from_schema(schema: Any, depth: int = 0) -> Any:
    """A value made from a JSON Schema (draft 7 / 2020-12 keywords)."""
    if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
        return None
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    for key in ("examples", "enum"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return values[0]
    for key in ("oneOf", "anyOf"):
        choices = schema.get(key)
        if isinstance(choices, list) and choices:
            return example_from_schema(choices[0], depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        return _merged_example(schema, all_of, depth)
    kind = _type_of(schema)
    if kind == "object":
        return _object_example(schema, depth)
    if kind == "array":
        return _array_example(schema, depth)
    if kind == "string":
        return _string_example(schema)
    if kind in ("integer", "number"):
        return _number_example(schema, whole=kind == "integer")
    if kind == "boolean":
        return True
    return None


def _type_of(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def _object_example(schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    names = [n for n in required if isinstance(n, str)] if isinstance(required, list) and required else list(properties)
    return {name: example_from_schema(properties.get(name, {}), depth + 1) for name in names}


def _merged_example(schema: Mapping[str, Any], parts: list[Any], depth: int) -> Any:
    """``allOf``: the object parts' examples merged (else the first part's example)."""
    own = {k: v for k, v in schema.items() if k != "allOf"}
    examples = [example_from_schema(part, depth + 1) for part in [own, *parts]]
    objects = [e for e in examples if isinstance(e, dict)]
    if not objects:
        return next((e for e in examples if e is not None), None)
    merged: dict[str, Any] = {}
    for example in objects:
        merged.update(example)
    return merged


def _array_example(schema: Mapping[str, Any], depth: int) -> list[Any]:
    items = schema.get("items")
    if isinstance(items, list):  # draft 7 tuple form
        return [example_from_schema(item, depth + 1) for item in items]
    count = max(1, int(schema.get("minItems", 1)))
    return [example_from_schema(items, depth + 1) for _ in range(count)]


def _string_example(schema: Mapping[str, Any]) -> str:
    text = _FORMAT_EXAMPLES.get(str(schema.get("format", "")), "string")
    minimum, maximum = schema.get("minLength"), schema.get("maxLength")
    if isinstance(minimum, int) and len(text) < minimum:
        text = text + "x" * (minimum - len(text))
    if isinstance(maximum, int) and len(text) > maximum:
        text = text[:maximum]
    return text


def _number_example(schema: Mapping[str, Any], *, whole: bool) -> int | float:
    low = schema.get("minimum")
    high = schema.get("maximum")
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        low = schema["exclusiveMinimum"] + (1 if whole else 0.5)
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        high = schema["exclusiveMaximum"] - (1 if whole else 0.5)
    value: float = 0
    if isinstance(low, int | float):
        value = low
    elif isinstance(high, int | float) and high < 0:
        value = high
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and step > 0 and value % step:
        value = value + (step - value % step)
    return int(value) if whole else value
