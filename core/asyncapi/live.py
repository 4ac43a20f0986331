"""Live validation of traffic against a loaded AsyncAPI document, within a time budget.

::

    live = LiveValidator(document)
    live.check(batch)                  # once per GUI flush; True if any counter moved
    live.issues_for(message.id)        # (ValidationIssue(path='$.value', message="'x' is not of type 'number'"),)
    live.counts()["bench/sensor0"]     # ValidationCounts(checked=..., invalid=..., skipped=...)
    live.status_for("bench/sensor0")   # "validated", "no schema", "not validated: avro", or None
    live.notes_for("shop/customers")   # ("Customer: not available (remote reference, not fetched)",)

A payload is valid when any message the document allows on its channel accepts it. jsonschema
takes ~35 µs per small payload, too slow for 20,000 msg/s in a 33 ms flush, so each payload is
first put to its schema's *fast check* (jsonschema-rs, see ``validate.py``), which only ever
answers "valid" for payloads jsonschema accepts; a payload it rejects goes to jsonschema for the
reasons (and is valid after all if jsonschema finds none). When a batch would still cost more
than ``budget`` seconds, a random sample of it is checked and the rest is counted as
``skipped``: the counts then say ``sampled`` instead of the window stalling.

Messages whose schemas cannot be checked (another format, or a remote schema that was not fetched)
are skipped; ``status_for`` and ``notes_for`` say so.
"""

from __future__ import annotations

import json
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache, partial
from typing import Any, NamedTuple

from eventdeck.core.asyncapi import Document, MessageSpec, PayloadValidator, ValidationIssue, validator_for
from eventdeck.core.asyncapi.model import NO_SCHEMA, VALIDATED
from eventdeck.core.broker.message import Message, is_json_type, media_type

BUDGET = 0.008
"""Seconds of validation allowed per batch (a 33 ms flush must leave the window time to paint)."""
MAX_INVALID = 20_000
"""Invalid messages whose issues are remembered (the oldest are forgotten first)."""
UNLABELLED = "application/octet-stream"
"""A payload of this type carries no type of its own (e.g. MQTT 3): it is read as the document says."""
_FIRST_COST = 5e-6  # seconds per payload assumed before anything was measured (a small valid JSON payload)


class ValidationCounts(NamedTuple):
    """Per channel: payloads checked, found invalid, and left unchecked to stay within the budget."""

    checked: int = 0
    invalid: int = 0
    skipped: int = 0

    @property
    def sampled(self) -> bool:
        """Were some payloads not checked (so ``invalid`` counts only the checked ones)?"""
        return self.skipped > 0


class _Route:
    """What the document says about one concrete channel."""

    __slots__ = ("notes", "schemas", "status")

    def __init__(self, specs: Iterable[MessageSpec]) -> None:
        unique = list({id(spec): spec for spec in specs}.values())  # a message listed twice is checked once
        validators = [validator_for(spec) for spec in unique]
        self.schemas: tuple[PayloadValidator, ...] = tuple(v for v in validators if v.active)
        unchecked = [
            (spec, short_status(v.status)) for spec, v in zip(unique, validators, strict=True) if _unchecked(v)
        ]
        self.notes = tuple(f"{spec.label}: {status}" for spec, status in unchecked)
        """Why each message with a schema that is not checked is not (another format, a remote schema)."""
        if self.schemas:
            self.status = VALIDATED
        else:
            self.status = next((status for _, status in unchecked), NO_SCHEMA)


def _unchecked(validator: PayloadValidator) -> bool:
    """Has the message a schema that is not checked?"""
    return not validator.active and validator.status != NO_SCHEMA


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
        """``validated``, ``no schema``, ``not validated: <format>`` or ``not available (remote reference, ...)``;
        None if the document lacks the channel."""
        route = self._route(channel)
        return route.status if route is not None else None

    def notes_for(self, channel: str) -> tuple[str, ...]:
        """The channel's messages whose schemas are not checked, and why: ``Parcel: not validated: avro``,
        ``Customer: not available (remote reference, not fetched)`` (live validation skips them)."""
        route = self._route(channel)
        return route.notes if route is not None else ()

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
        return _closest(partial(schema.validate, message.payload, content_type) for schema in route.schemas)

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
    return not media_type(content_type) or is_json_type(content_type)


def short_status(status: str) -> str:
    """``not validated: application/vnd.apache.avro;version=1.9.0`` -> ``not validated: avro``; others as they are."""
    prefix, _, schema_format = status.partition(": ")
    if prefix != "not validated" or not schema_format:
        return status
    base = schema_format.split(";", maxsplit=1)[0].strip().lower()
    name = base.rsplit("/", 1)[-1].split("+", 1)[0].rsplit(".", 1)[-1]
    return f"{prefix}: {name or base}"
