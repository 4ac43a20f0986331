"""JSON Schemas inferred from sample values, for documents written from observed traffic.

Types are the union of what was seen (whole and decimal numbers make ``number``); an object
property is ``required`` when every object sample has it; a string gets a ``format``
(``date-time``, ``email``, ``uri``) only when every sample fits it; arrays get one ``items``
schema inferred from all their elements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eventdeck.core.asyncapi.formats import INFERRED


def json_type(value: Any) -> str:
    """The JSON Schema type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def infer_schema(samples: Iterable[Any]) -> dict[str, Any]:
    """A JSON Schema every sample validates against (``{}`` when there are none)."""
    by_type: dict[str, list[Any]] = {}
    for sample in samples:
        by_type.setdefault(json_type(sample), []).append(sample)
    if "integer" in by_type and "number" in by_type:
        by_type["number"] += by_type.pop("integer")
    schemas = [_infer_one(kind, values) for kind, values in by_type.items()]
    if not schemas:
        return {}
    if len(schemas) == 1:
        return schemas[0]
    if all(len(schema) == 1 for schema in schemas):  # only "type": a type list says it all
        return {"type": [schema["type"] for schema in schemas]}
    return {"anyOf": schemas}


def _infer_one(kind: str, values: Sequence[Any]) -> dict[str, Any]:
    if kind == "object":
        return _infer_object(values)
    if kind == "array":
        elements = [element for value in values for element in value]
        return {"type": "array", "items": infer_schema(elements)} if elements else {"type": "array"}
    if kind == "string":
        fitting = next((name for name, fits in INFERRED.items() if all(fits(value) for value in values)), None)
        return {"type": "string", "format": fitting} if fitting else {"type": "string"}
    return {"type": kind}


def _infer_object(values: Sequence[dict[str, Any]]) -> dict[str, Any]:
    seen: dict[str, list[Any]] = {}
    for value in values:
        for key, item in value.items():
            seen.setdefault(key, []).append(item)
    schema: dict[str, Any] = {"type": "object"}
    if seen:
        schema["properties"] = {key: infer_schema(items) for key, items in seen.items()}
        required = [key for key, items in seen.items() if len(items) == len(values)]
        if required:
            schema["required"] = required
    return schema
