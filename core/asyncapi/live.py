"""Live validation of traffic against a loaded AsyncAPI document, within a time budget.

::

    live = LiveValidator(document)
    live.check(batch)                  # once per GUI flush; True if any counter moved
    live.issues_for(message.id)        # (ValidationIssue(path='$.value', message="'x' is not of type 'number'"),)
    live.counts()["bench/sensor0"]     # ValidationCounts(checked=..., invalid=..., skipped=...)
    live.status_for("bench/sensor0")   # "validated", "no schema", "not validated: avro", or None

A payload is valid when any message the document allows on its channel accepts it. jsonschema
takes ~35 µs per small payload, too slow for 20,000 msg/s in a 33 ms flush, so each schema also
gets a *fast check*: a predicate compiled from the common keywords (type, properties, required,
enum, const, bounds, lengths, pattern, format, items, additionalProperties, allOf, anyOf), ~1-2 µs per payload. It
only ever answers "valid" for payloads jsonschema accepts: a schema with any keyword it does not
know gets no fast check, and a payload it rejects goes to jsonschema for the reasons (and is
valid after all if jsonschema finds none). When a batch would still cost more than ``budget``
seconds, a random sample of it is checked and the rest is counted as ``skipped``: the counts
then say ``sampled`` instead of the window stalling.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sized
from functools import lru_cache, partial
from typing import Any, NamedTuple

from eventdeck.core.asyncapi import Document, MessageSpec, PayloadValidator, ValidationIssue, validator_for
from eventdeck.core.asyncapi.formats import CHECKS
from eventdeck.core.broker.message import Message

BUDGET = 0.008
"""Seconds of validation allowed per batch (a 33 ms flush must leave the window time to paint)."""
MAX_INVALID = 20_000
"""Invalid messages whose issues are remembered (the oldest are forgotten first)."""
UNLABELLED = "application/octet-stream"
"""A payload of this type carries no type of its own (e.g. MQTT 3): it is read as the document says."""
_FIRST_COST = 5e-6  # seconds per payload assumed before anything was measured (a small valid JSON payload)
_MAX_DEPTH = 32

Check = Callable[[Any], bool]


class ValidationCounts(NamedTuple):
    """Per channel: payloads checked, found invalid, and left unchecked to stay within the budget."""

    checked: int = 0
    invalid: int = 0
    skipped: int = 0

    @property
    def sampled(self) -> bool:
        """Were some payloads not checked (so ``invalid`` counts only the checked ones)?"""
        return self.skipped > 0


class _Schema:
    """One message's compiled validator and, when its schema allows, its fast check."""

    __slots__ = ("content_type", "fast", "validator")

    def __init__(self, spec: MessageSpec, validator: PayloadValidator) -> None:
        self.validator = validator
        self.content_type = spec.content_type
        self.fast = fast_check(spec.payload) if _fast_dialect(spec) else None


class _Route:
    """What the document says about one concrete channel."""

    __slots__ = ("schemas", "status")

    def __init__(self, specs: Iterable[MessageSpec]) -> None:
        unique = {id(spec): spec for spec in specs}.values()  # a message listed twice is checked once
        validators = [(spec, validator_for(spec)) for spec in unique]
        self.schemas = tuple(_Schema(spec, v) for spec, v in validators if v.active)
        statuses = [v.status for _spec, v in validators]
        if self.schemas:
            self.status = "validated"
        else:
            self.status = next((short_status(s) for s in statuses if s.startswith("not validated")), "no schema")


class LiveValidator:
    """Checks batches of messages against ``document``; counters and issues for the panels."""

    def __init__(self, document: Document, *, budget: float = BUDGET, max_invalid: int = MAX_INVALID) -> None:
        self.document = document
        self.budget = budget
        self.max_invalid = max_invalid
        self._routes: dict[str, _Route | None] = {}  # concrete channel -> route (None: not in the document)
        self._counts: dict[str, list[int]] = {}  # channel -> [checked, invalid, skipped]
        self._invalid: OrderedDict[int, tuple[ValidationIssue, ...]] = OrderedDict()
        self._cost = _FIRST_COST
        self.last_batch_seconds = 0.0
        self.last_found = 0
        """Invalid messages found by the last ``check`` (views repaint only when it is not 0)."""

    # -- reading ---------------------------------------------------------------

    def issues_for(self, message_id: int) -> tuple[ValidationIssue, ...]:
        """Why the message does not fit the document (empty: valid, not checked, or forgotten)."""
        return self._invalid.get(message_id, ())

    def counts(self) -> dict[str, ValidationCounts]:
        """Counters per channel, for the channels that have a schema and got traffic."""
        return {name: ValidationCounts(*values) for name, values in self._counts.items()}

    def totals(self) -> ValidationCounts:
        checked = invalid = skipped = 0
        for c, i, s in self._counts.values():
            checked, invalid, skipped = checked + c, invalid + i, skipped + s
        return ValidationCounts(checked, invalid, skipped)

    def status_for(self, channel: str) -> str | None:
        """``validated``, ``no schema`` or ``not validated: <format>``; None if the document lacks the channel."""
        route = self._route(channel)
        return route.status if route is not None else None

    def messages_for(self, channel: str) -> tuple[MessageSpec, ...]:
        """The messages the document allows on ``channel`` (a concrete name), each once."""
        specs = (spec for c in self.document.channels_for(channel) for spec in c.messages)
        return tuple({id(spec): spec for spec in specs}.values())

    def check_value(self, value: Any, messages: Iterable[MessageSpec]) -> tuple[ValidationIssue, ...]:
        """Why a decoded payload fits none of ``messages`` (empty if one accepts it or none has a schema)."""
        validators = (validator_for(spec) for spec in messages)
        return _closest(partial(v.validate_value, value) for v in validators if v.active)

    # -- checking --------------------------------------------------------------

    def check(self, batch: Iterable[Message]) -> bool:
        """Validate one batch (a sample of it if the whole would exceed the budget); True if counts changed."""
        routes = self._routes
        todo = []
        for message in batch:
            route = routes[message.channel] if message.channel in routes else self._route(message.channel)
            if route is not None and route.schemas:
                todo.append((message, route))
        self.last_found = 0
        if not todo:
            self.last_batch_seconds = 0.0
            return False
        started = time.perf_counter()
        affordable = max(1, int(self.budget / self._cost))
        if len(todo) > affordable:
            chosen = set(random.sample(range(len(todo)), affordable))
            for index, (message, _route) in enumerate(todo):
                if index not in chosen:
                    self._counter(message.channel)[2] += 1
            todo = [todo[index] for index in sorted(chosen)]
        deadline = started + self.budget
        done = 0
        counts = self._counts
        for message, route in todo:
            counter = counts.get(message.channel) or self._counter(message.channel)
            if done & 31 == 31 and time.perf_counter() > deadline:
                counter[2] += 1  # the rest of the batch is skipped too
                continue
            done += 1
            counter[0] += 1
            issues = self._issues(message, route)
            if issues:
                counter[1] += 1
                self.last_found += 1
                self._remember(message.id, issues)
        self.last_batch_seconds = elapsed = time.perf_counter() - started
        # A moving average of the cost per payload decides how many the next batch can afford.
        self._cost = max(1e-7, 0.7 * self._cost + 0.3 * (elapsed / done))
        return True

    def _issues(self, message: Message, route: _Route) -> tuple[ValidationIssue, ...]:
        content_type = None if message.content_type == UNLABELLED else message.content_type
        value: Any = _UNDECODED
        for schema in route.schemas:
            if schema.fast is not None and _is_json(content_type or schema.content_type):
                if value is _UNDECODED:
                    value = _decode(message.payload)
                if value is not _UNDECODABLE and schema.fast(value):
                    return ()
        return _closest(partial(schema.validator.validate, message.payload, content_type) for schema in route.schemas)

    def _route(self, channel: str) -> _Route | None:
        if channel not in self._routes:
            channels = self.document.channels_for(channel)
            self._routes[channel] = _Route(spec for c in channels for spec in c.messages) if channels else None
        return self._routes[channel]

    def _counter(self, channel: str) -> list[int]:
        counter = self._counts.get(channel)
        if counter is None:
            counter = self._counts[channel] = [0, 0, 0]
        return counter

    def _remember(self, message_id: int, issues: tuple[ValidationIssue, ...]) -> None:
        self._invalid[message_id] = issues
        if len(self._invalid) > self.max_invalid:
            self._invalid.popitem(last=False)


_UNDECODED = object()
_UNDECODABLE = object()


def _closest(attempts: Iterable[Callable[[], list[ValidationIssue]]]) -> tuple[ValidationIssue, ...]:
    """No issues as soon as one message accepts the payload, else those of the closest message: the fewest
    issues, then the fewest at the top level (a missing required property there means another message)."""
    best: tuple[ValidationIssue, ...] = ()
    best_score = (0, 0)
    for attempt in attempts:
        try:
            issues = tuple(attempt())
        except Exception as exc:  # e.g. a format check handed a number: say so, never crash the flush
            issues = (ValidationIssue("$", f"could not be checked: {exc}"),)
        if not issues:
            return ()
        score = (len(issues), sum(issue.path == "$" for issue in issues))
        if not best or score < best_score:
            best, best_score = issues, score
    return best


def _decode(payload: bytes) -> Any:
    """The JSON value of a UTF-8 payload, or _UNDECODABLE (then jsonschema's path says why).

    ``raw_decode`` of a str is about three times as fast as ``json.loads`` of bytes, which
    detects the encoding and matches trailing whitespace with a regular expression.
    """
    try:
        text = payload.decode()
        value, end = _RAW_DECODE(text)
    except ValueError:  # UnicodeDecodeError too; leading whitespace as well, left to the slow path
        return _UNDECODABLE
    if end != len(text) and text[end:].strip(" \t\n\r"):
        return _UNDECODABLE
    return value


_RAW_DECODE = json.JSONDecoder().raw_decode


@lru_cache(maxsize=256)
def _is_json(content_type: str) -> bool:
    base = content_type.split(";", maxsplit=1)[0].strip().lower()
    return base in ("application/json", "text/json") or base.endswith("+json") or not base


def short_status(status: str) -> str:
    """``not validated: application/vnd.apache.avro;version=1.9.0`` -> ``not validated: avro``."""
    prefix, _, schema_format = status.partition(": ")
    if not schema_format:
        return status
    base = schema_format.split(";", maxsplit=1)[0].strip().lower()
    name = base.rsplit("/", 1)[-1].split("+", 1)[0].rsplit(".", 1)[-1]
    return f"{prefix}: {name or base}"


# -- the fast check ---------------------------------------------------------------

_ANNOTATIONS = frozenset(
    {
        "$comment",
        "$defs",
        "$id",
        "$schema",
        "default",
        "definitions",
        "deprecated",
        "description",
        "discriminator",
        "example",
        "examples",
        "externalDocs",
        "readOnly",
        "title",
        "writeOnly",
    }
)
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


class _UnsupportedError(Exception):
    """The schema uses something the fast check does not reproduce exactly."""


def _fast_dialect(spec: MessageSpec) -> bool:
    """Draft 4 reads ``integer`` and ``exclusiveMinimum`` differently: those schemas get jsonschema only."""
    marks = spec.schema_format + (str(spec.payload.get("$schema", "")) if isinstance(spec.payload, dict) else "")
    return "draft-04" not in marks and "draft-03" not in marks


def fast_check(schema: Any) -> Check | None:
    """A predicate that is True only for values ``schema`` accepts (None if the schema is beyond it)."""
    try:
        return _compile(schema, 0)
    except _UnsupportedError:
        return None


def _compile(schema: Any, depth: int) -> Check:
    if schema is True or schema == {}:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        raise _UnsupportedError
    checks: list[Check] = []
    for key, argument in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            continue
        builder = _KEYWORDS.get(key)
        if builder is None:
            raise _UnsupportedError(key)
        built = builder(argument, schema, depth + 1)
        if built is not None:
            checks.append(built)
    if not checks:
        return _always
    return _every(checks)


def _every(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        for check in checks:  # a plain loop: twice as fast as all() over a generator
            if not check(value):
                break
        else:
            return True
        return False

    return every


def _always(_value: Any) -> bool:
    return True


def _never(_value: Any) -> bool:
    return False


def _type(argument: Any, _schema: Mapping[str, Any], _depth: int) -> Check:
    names = [argument] if isinstance(argument, str) else argument
    if not isinstance(names, list) or not names or any(name not in _TYPES for name in names):
        raise _UnsupportedError("type")
    if len(names) == 1:
        return _TYPES[names[0]]
    checks = [_TYPES[name] for name in names]
    return lambda v: any(check(v) for check in checks)


def _scalar_key(value: Any) -> tuple[str, Any]:
    """Values as JSON compares them: ``1 == 1.0`` but ``True != 1``; only scalars are supported."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null", None)
    raise _UnsupportedError("non-scalar enum")


def _enum(argument: Any, _schema: Mapping[str, Any], _depth: int) -> Check:
    if not isinstance(argument, list):
        raise _UnsupportedError("enum")
    allowed = frozenset(_scalar_key(value) for value in argument)

    def check(value: Any) -> bool:
        if isinstance(value, dict | list):
            return False
        return _scalar_key(value) in allowed

    return check


def _const(argument: Any, schema: Mapping[str, Any], depth: int) -> Check:
    return _enum([argument], schema, depth)


def _properties(argument: Any, _schema: Mapping[str, Any], depth: int) -> Check:
    if not isinstance(argument, Mapping):
        raise _UnsupportedError("properties")
    checks = [(name, _compile(sub, depth)) for name, sub in argument.items()]
    checks = [(name, check) for name, check in checks if check is not _always]

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, sub in checks:  # a plain loop: twice as fast as all() over a generator
            if name in value and not sub(value[name]):
                break
        else:
            return True
        return False

    return check


def _required(argument: Any, _schema: Mapping[str, Any], _depth: int) -> Check:
    if not isinstance(argument, list) or not all(isinstance(name, str) for name in argument):
        raise _UnsupportedError("required")
    names = frozenset(argument)
    return lambda v: not isinstance(v, dict) or v.keys() >= names


def _additional(argument: Any, schema: Mapping[str, Any], depth: int) -> Check:
    if "patternProperties" in schema:
        raise _UnsupportedError("patternProperties")
    properties = schema.get("properties", {})
    known = frozenset(properties) if isinstance(properties, Mapping) else frozenset()
    sub = _compile(argument, depth)
    if sub is _always:
        return _always
    return lambda v: not isinstance(v, dict) or all(key in known or sub(item) for key, item in v.items())


def _items(argument: Any, _schema: Mapping[str, Any], depth: int) -> Check:
    if isinstance(argument, list):
        raise _UnsupportedError("tuple items")
    sub = _compile(argument, depth)
    return lambda v: not isinstance(v, list) or all(sub(item) for item in v)


def _bound(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Mapping[str, Any], int], Check]:
    def build(argument: Any, _schema: Mapping[str, Any], _depth: int) -> Check:
        if isinstance(argument, bool) or not isinstance(argument, int | float) or not math.isfinite(argument):
            raise _UnsupportedError("bound")
        return lambda v: isinstance(v, bool) or not isinstance(v, int | float) or compare(v, argument)

    return build


def _length(compare: Callable[[int, int], bool], kind: type[Sized]) -> Callable[[Any, Mapping[str, Any], int], Check]:
    def build(argument: Any, _schema: Mapping[str, Any], _depth: int) -> Check:
        if isinstance(argument, bool) or not isinstance(argument, int):
            raise _UnsupportedError("length")
        return lambda v: not isinstance(v, kind) or compare(len(v), argument)

    return build


def _pattern(argument: Any, _schema: Mapping[str, Any], _depth: int) -> Check:
    if not isinstance(argument, str):
        raise _UnsupportedError("pattern")
    try:
        search = re.compile(argument).search
    except re.error:
        raise _UnsupportedError("pattern") from None
    return lambda v: not isinstance(v, str) or search(v) is not None


def _format(argument: Any, _schema: Mapping[str, Any], _depth: int) -> Check | None:
    test = CHECKS.get(argument) if isinstance(argument, str) else None
    if test is None:
        return None  # formats not checked by the validator are annotations
    return lambda v: isinstance(v, str) and test(v)  # a non-string with a checked format goes to jsonschema


# No oneOf or not: "exactly one" and "none" cannot be decided by a predicate allowed to say False wrongly.
def _combination(every: bool) -> Callable[[Any, Mapping[str, Any], int], Check]:
    def build(argument: Any, _schema: Mapping[str, Any], depth: int) -> Check:
        if not isinstance(argument, list) or not argument:
            raise _UnsupportedError("allOf/anyOf")
        checks = [_compile(sub, depth) for sub in argument]
        if every:
            return _every(checks)
        return lambda v: any(check(v) for check in checks)

    return build


_KEYWORDS: dict[str, Callable[[Any, Mapping[str, Any], int], Check | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional,
    "items": _items,
    "minimum": _bound(lambda v, bound: v >= bound),
    "maximum": _bound(lambda v, bound: v <= bound),
    "exclusiveMinimum": _bound(lambda v, bound: v > bound),
    "exclusiveMaximum": _bound(lambda v, bound: v < bound),
    "minLength": _length(lambda n, bound: n >= bound, str),
    "maxLength": _length(lambda n, bound: n <= bound, str),
    "minItems": _length(lambda n, bound: n >= bound, list),
    "maxItems": _length(lambda n, bound: n <= bound, list),
    "minProperties": _length(lambda n, bound: n >= bound, dict),
    "maxProperties": _length(lambda n, bound: n <= bound, dict),
    "pattern": _pattern,
    "format": _format,
    "allOf": _combination(every=True),
    "anyOf": _combination(every=False),
}
