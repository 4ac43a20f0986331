"""Live payload validation: one compiled validator per schema, reused for every message.

::

    check = validator_for(message_spec)       # cached: the same schema compiles once
    issues = check.validate(message.payload, message.content_type)
    # [ValidationIssue(path='$.lumens', message="-3 is less than the minimum of 0")]

JSON Schema and AsyncAPI schemas (JSON Schema draft 7 with a few extra keywords such as
``discriminator``, which are ignored) are validated with ``jsonschema``; a ``$schema`` keyword or
the ``schemaFormat``'s version picks another draft. Other formats (Avro, Protobuf, RAML...) are
not validated: their validator's ``status`` says so and names the format; nor are schemas that
need a remote document that was not fetched (``not available (remote reference, not fetched)``).

Each validator also carries a ``fast`` predicate compiled by ``jsonschema-rs`` (~0.5 µs for a
small payload, against ~35 µs for jsonschema): live validation asks it first and asks jsonschema
only for the reasons a payload was rejected.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from eventdeck.core.asyncapi.formats import CHECKS
from eventdeck.core.asyncapi.model import VALIDATED, MessageSpec, is_json_schema_format
from eventdeck.core.broker.message import is_json_type, media_type

if TYPE_CHECKING:
    from jsonschema.protocols import Validator  # type: ignore[import-untyped]

MAX_ISSUES = 20
"""Most issues reported for one payload (the first ones, by path)."""
MAX_MESSAGE = 200
FastCheck = Callable[[Any], bool]

# jsonschema and jsonschema-rs load on the first schema checked, not with this module (jsonschema takes
# ~50 ms to import, and the window imports this module before its first paint).


@functools.cache
def _format_checker() -> Any:
    """jsonschema's format checker with EventDeck's formats (and no others)."""
    from jsonschema import FormatChecker  # type: ignore[import-untyped]  # noqa: PLC0415 - see above

    checker = FormatChecker(formats=())
    for name, check in CHECKS.items():
        checker.checks(name)(_strings_only(check))
    return checker


def _strings_only(check: Callable[[str], bool]) -> Callable[[object], bool]:
    """JSON Schema formats constrain strings only: any other value passes (``type`` judges it)."""
    return lambda value: not isinstance(value, str) or check(value)


@functools.cache
def _drafts() -> dict[str, Any]:
    """jsonschema's validator class for each draft name a ``schemaFormat`` version may give."""
    import jsonschema  # noqa: PLC0415 - see above

    return {
        "draft-04": jsonschema.Draft4Validator,
        "draft-06": jsonschema.Draft6Validator,
        "draft-07": jsonschema.Draft7Validator,
        "2019-09": jsonschema.Draft201909Validator,
        "draft-2019-09": jsonschema.Draft201909Validator,
        "2020-12": jsonschema.Draft202012Validator,
        "draft-2020-12": jsonschema.Draft202012Validator,
    }


@functools.cache
def _fast_drafts() -> dict[Any, Any]:
    """jsonschema-rs's validator class for each of jsonschema's."""
    import jsonschema  # noqa: PLC0415 - see above
    import jsonschema_rs  # noqa: PLC0415 - see above

    return {
        jsonschema.Draft4Validator: jsonschema_rs.Draft4Validator,
        jsonschema.Draft6Validator: jsonschema_rs.Draft6Validator,
        jsonschema.Draft7Validator: jsonschema_rs.Draft7Validator,
        jsonschema.Draft201909Validator: jsonschema_rs.Draft201909Validator,
        jsonschema.Draft202012Validator: jsonschema_rs.Draft202012Validator,
    }


class ValidationIssue(NamedTuple):
    """One reason a payload does not fit its schema; ``path`` is a JSONPath (``$.items[0].name``)."""

    path: str
    message: str


def _dialect(schema: Any, schema_format: str) -> Any:
    """The jsonschema validator class for a schema: its ``$schema``, else its format's version, else draft 7."""
    import jsonschema  # noqa: PLC0415 - loaded on first use (see above)

    base, _, params = schema_format.partition(";")
    version = next((p.split("=", 1)[1].strip() for p in params.split(";") if p.strip().startswith("version=")), "")
    default = jsonschema.Draft7Validator  # AsyncAPI's schema format is JSON Schema draft 7 plus a few keywords
    if base.strip().lower().startswith("application/schema"):
        default = _drafts().get(version, default)
    if isinstance(schema, dict) and "$schema" in schema:
        return jsonschema.validators.validator_for(schema, default=default)
    return default


def schema_problem(schema: Any, schema_format: str) -> str | None:
    """Why ``schema`` is not a valid schema of its format (None if it is, or if EventDeck cannot tell)."""
    if not is_json_schema_format(schema_format):
        return None
    if not isinstance(schema, dict | bool):
        return f"a schema must be a mapping or a boolean, not {type(schema).__name__}"
    from jsonschema import SchemaError  # noqa: PLC0415 - loaded on first use (see above)

    try:
        _dialect(schema, schema_format).check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"/{p}" for p in exc.path)
        return f"not a valid JSON Schema{' at ' + where if where else ''}: {_short(exc.message)}"
    return None


class PayloadValidator:
    """Checks payloads against one message's schema; build it with :func:`validator_for`."""

    __slots__ = ("_validator", "content_type", "fast", "status")

    def __init__(
        self, validator: Validator | None, status: str, content_type: str, fast: FastCheck | None = None
    ) -> None:
        self._validator = validator
        self.fast = fast
        """True only for decoded values the schema accepts (None: jsonschema only); False proves nothing."""
        self.status = status
        """``validated``, ``no schema``, ``not validated: <schema format>`` or ``not available (...)``."""
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
    status = message.schema_status
    if status != VALIDATED:
        return PayloadValidator(None, status, message.content_type)
    key = _key(message.payload, message.schema_format)
    return PayloadValidator(_compiled(key), VALIDATED, message.content_type, _fast(key))


def fast_check(schema: Any, schema_format: str = "") -> FastCheck | None:
    """The ``fast`` predicate of ``schema`` (None when jsonschema-rs cannot stand in for jsonschema)."""
    return _fast(_key(schema, schema_format))


def _key(schema: Any, schema_format: str) -> str:
    return json.dumps([schema_format, schema], sort_keys=True, default=str)


@functools.lru_cache(maxsize=1024)
def _compiled(key: str) -> Validator:
    schema_format, schema = json.loads(key)
    return _dialect(schema, schema_format)(schema, format_checker=_format_checker())


@functools.lru_cache(maxsize=1024)
def _fast(key: str) -> FastCheck | None:
    """jsonschema-rs for the draft jsonschema uses, with EventDeck's formats.

    It may only be stricter than jsonschema (a rejection goes to jsonschema for the reasons): it
    checks its other known formats too, and reads ``pattern`` as ECMA 262, where ``\\d`` and ``\\w``
    are ASCII only. The one known laxer case, ``\\s`` matching U+FEFF, is left as it is. No draft 3,
    no pattern only Python reads, no fetching referenced documents: then jsonschema alone decides.
    """
    schema_format, schema = json.loads(key)
    draft = _fast_drafts().get(_dialect(schema, schema_format))
    if draft is None:
        return None
    import jsonschema_rs  # noqa: PLC0415 - loaded on first use (see above)

    try:
        validator = draft(schema, formats=CHECKS, validate_formats=True, offline=True)
    except jsonschema_rs.ValidationError:  # raised for schemas it cannot compile
        return None
    is_valid: FastCheck = validator.is_valid
    return is_valid


def _payload_kind(content_type: str) -> str:
    if not media_type(content_type) or is_json_type(content_type):
        return "json"
    if media_type(content_type).startswith("text/"):
        return "text"
    return "other"


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."
