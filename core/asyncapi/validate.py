"""Live payload validation: one compiled validator per schema, reused for every message.

::

    check = validator_for(message_spec)       # cached: the same schema compiles once
    issues = check.validate(message.payload, message.content_type)
    # [ValidationIssue(path='$.lumens', message="-3 is less than the minimum of 0")]

JSON Schema and AsyncAPI schemas (JSON Schema draft 7 with a few extra keywords such as
``discriminator``, which are ignored) are validated with ``jsonschema``; a ``$schema`` keyword or
the ``schemaFormat``'s version picks another draft. Other formats (Avro, Protobuf, RAML...) are
not validated: their validator's ``status`` says so and names the format.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable
from typing import Any, NamedTuple

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the environment
from jsonschema import FormatChecker
from jsonschema.protocols import Validator  # type: ignore[import-untyped]

from eventdeck.core.asyncapi.formats import CHECKS
from eventdeck.core.asyncapi.model import MessageSpec, is_json_schema_format

MAX_ISSUES = 20
"""Most issues reported for one payload (the first ones, by path)."""
MAX_MESSAGE = 200
VALIDATED = "validated"
NO_SCHEMA = "no schema"

_FORMATS = FormatChecker(formats=())


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    """JSON Schema formats constrain strings only: any other value passes (``type`` judges it)."""
    return lambda value: not isinstance(value, str) or check(value)


for _name, _check in CHECKS.items():
    _FORMATS.checks(_name)(_strings_only(_check))

_DRAFTS: dict[str, Any] = {
    "draft-04": jsonschema.Draft4Validator,
    "draft-06": jsonschema.Draft6Validator,
    "draft-07": jsonschema.Draft7Validator,
    "2019-09": jsonschema.Draft201909Validator,
    "draft-2019-09": jsonschema.Draft201909Validator,
    "2020-12": jsonschema.Draft202012Validator,
    "draft-2020-12": jsonschema.Draft202012Validator,
}


class ValidationIssue(NamedTuple):
    """One reason a payload does not fit its schema; ``path`` is a JSONPath (``$.items[0].name``)."""

    path: str
    message: str


def _dialect(schema: Any, schema_format: str) -> Any:
    """The jsonschema validator class for a schema: its ``$schema``, else its format's version, else draft 7."""
    base, _, params = schema_format.partition(";")
    version = next((p.split("=", 1)[1].strip() for p in params.split(";") if p.strip().startswith("version=")), "")
    default = jsonschema.Draft7Validator  # AsyncAPI's schema format is JSON Schema draft 7 plus a few keywords
    if base.strip().lower().startswith("application/schema"):
        default = _DRAFTS.get(version, default)
    if isinstance(schema, dict) and "$schema" in schema:
        return jsonschema.validators.validator_for(schema, default=default)
    return default


def schema_problem(schema: Any, schema_format: str) -> str | None:
    """Why ``schema`` is not a valid schema of its format (None if it is, or if EventDeck cannot tell)."""
    if not is_json_schema_format(schema_format):
        return None
    if not isinstance(schema, dict | bool):
        return f"a schema must be a mapping or a boolean, not {type(schema).__name__}"
    try:
        _dialect(schema, schema_format).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "".join(f"/{p}" for p in exc.path)
        return f"not a valid JSON Schema{' at ' + where if where else ''}: {_short(exc.message)}"
    return None


class PayloadValidator:
    """Checks payloads against one message's schema; build it with :func:`validator_for`."""

    __slots__ = ("_validator", "content_type", "status")

    def __init__(self, validator: Validator | None, status: str, content_type: str) -> None:
        self._validator = validator
        self.status = status
        """``validated``, ``no schema``, or ``not validated: <schema format>``."""
        self.content_type = content_type

    @property
    def active(self) -> bool:
        """Does it check anything? (False: no schema, or a format EventDeck cannot validate.)"""
        return self._validator is not None

    def validate(self, payload: bytes, content_type: str | None = None) -> list[ValidationIssue]:
        """The issues of a payload (empty when valid or not checked); ``content_type`` defaults to the message's."""
        if self._validator is None:
            return []
        kind = _payload_kind(content_type or self.content_type)
        if kind == "json":
            try:
                value = json.loads(payload)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                return [ValidationIssue("$", f"not valid JSON: {_short(str(exc))}")]
        elif kind == "text":
            value = payload.decode("utf-8", errors="replace")
        else:
            return [ValidationIssue("$", f"a {content_type} payload cannot be checked against a JSON Schema")]
        return self.validate_value(value)

    def validate_value(self, value: Any) -> list[ValidationIssue]:
        """The issues of an already decoded payload (e.g. the composer's JSON as the user types)."""
        if self._validator is None:
            return []
        errors = itertools.islice(self._validator.iter_errors(value), MAX_ISSUES)
        issues = [ValidationIssue(error.json_path, _short(error.message)) for error in errors]
        issues.sort()
        return issues


def validator_for(message: MessageSpec) -> PayloadValidator:
    """The validator of ``message``'s payload schema; the schema is compiled once (cached by content)."""
    if message.payload is None:
        return PayloadValidator(None, NO_SCHEMA, message.content_type)
    if not is_json_schema_format(message.schema_format):
        return PayloadValidator(None, f"not validated: {message.schema_format}", message.content_type)
    key = json.dumps([message.schema_format, message.payload], sort_keys=True, default=str)
    return PayloadValidator(_compiled(key), VALIDATED, message.content_type)


@functools.lru_cache(maxsize=1024)
def _compiled(key: str) -> Validator:
    schema_format, schema = json.loads(key)
    return _dialect(schema, schema_format)(schema, format_checker=_FORMATS)


def _payload_kind(content_type: str) -> str:
    base = content_type.split(";", maxsplit=1)[0].strip().lower()
    if base in ("application/json", "text/json") or base.endswith("+json") or not base:
        return "json"
    if base.startswith("text/"):
        return "text"
    return "other"


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
