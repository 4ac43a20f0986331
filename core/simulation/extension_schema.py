"""The JSON Schema of EventDeck's ``x-eventdeck-*`` fields, and checking a document against it.

``resources/schemas/eventdeck-extensions.schema.json`` describes the ``x-eventdeck-*`` fields one
object of an AsyncAPI document may hold; other tools (editors, CI) can use it too. The scenario
reader (:mod:`.interpreter`, :mod:`.story_parser`) checks the same rules and more (names, ranges,
where each field belongs), with its own messages; a workspace is checked against the schema after
it is read, which catches what the reader does not look at (an unknown ``x-eventdeck-*`` name)::

    check_extensions(source)    # AsyncApiError naming the file, the line and the reason
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema_rs

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.loader import Parts, Source

__all__ = ["PREFIX", "SCHEMA_RESOURCE", "check_extensions", "extension_fields", "schema"]

PREFIX = "x-eventdeck-"
SCHEMA_RESOURCE = "schemas/eventdeck-extensions.schema.json"
"""Where the schema lives inside the ``eventdeck.resources`` package."""
MAX_PROBLEM = 300


def schema() -> dict[str, Any]:
    """The schema, as JSON data."""
    text = importlib.resources.files("eventdeck.resources").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(schema())


def extension_fields(data: Any) -> Iterator[tuple[Parts, dict[str, Any]]]:
    """Each mapping of ``data`` holding ``x-eventdeck-*`` fields: where it is, and those fields."""
    stack: list[tuple[Parts, Any]] = [((), data)]
    while stack:
        parts, node = stack.pop()
        if isinstance(node, Mapping):
            found = {str(key): value for key, value in node.items() if str(key).startswith(PREFIX)}
            if found:
                yield parts, found
            stack.extend(((*parts, key), value) for key, value in node.items() if not str(key).startswith(PREFIX))
        elif isinstance(node, list):
            stack.extend(((*parts, index), value) for index, value in enumerate(node))


def check_extensions(source: Source) -> None:
    """Check every object's ``x-eventdeck-*`` fields in ``source`` against the schema.

    Raises :class:`AsyncApiError` for the first problem in the file (by line)."""
    validator = _validator()
    problems: list[AsyncApiError] = []
    for parts, fields in extension_fields(source.data):
        as_json = json.loads(json.dumps(fields, default=str))  # YAML's number keys (bands) become JSON's strings
        for error in validator.iter_errors(as_json):
            message = error.message if len(error.message) <= MAX_PROBLEM else error.message[: MAX_PROBLEM - 3] + "..."
            unexpected = getattr(error.kind, "unexpected", None) or []  # point at the first unknown key itself
            problems.append(source.error((*parts, *error.instance_path, *unexpected[:1]), message))
    if problems:
        raise min(problems, key=lambda problem: (problem.line or 0, problem.path))
