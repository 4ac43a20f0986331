"""Reads the ``x-eventdeck-...`` fields of an imported AsyncAPI 3 document into simulation settings.

::

    operations, generators = interpret(source, normalise(source))   # AsyncApiError names where and what
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from types import MappingProxyType
from typing import Any, TypeAlias

from eventdeck.core.asyncapi.loader import Resolver, Source, kind_of
from eventdeck.core.asyncapi.model import Document, MessageSpec, Operation
from eventdeck.core.broker.channels import matches, validate_pattern
from eventdeck.core.broker.errors import InvalidChannel
from eventdeck.core.simulation.fields import At, finite, flag, mapping, number, only, pair, text, whole_number
from eventdeck.core.simulation.generators import (
    GENERATOR_KINDS,
    NO_GENERATORS,
    TEMPLATE_FIELD,
    TEMPLATE_FILTERS,
    Bands,
    Choice,
    Const,
    FieldGenerator,
    FieldGenerators,
    FromRequest,
    IntRange,
    NumberRange,
    Sample,
    Template,
    Walk,
)
from eventdeck.core.simulation.settings import (
    MAX_ATTEMPTS,
    MAX_CONSUMERS,
    MAX_DELAY,
    MAX_RATE,
    OperationSpec,
    PublisherSettings,
    ResponderSettings,
    SubscriberSettings,
)

PUBLISHER_FIELDS = ("name", "rate", "timeout", "retain")
RESPONDER_FIELDS = ("name", "delay", "failureRate")
SUBSCRIBER_FIELDS = ("name", "delay", "failureRate", "maxAttempts", "durable", "pattern", "consumers")
GENERATOR_OPTIONS = {"sample": ("count",), "number": ("decimals",), "walk": ("start", "step"), "label": ("bands",)}
"""The keys a generator may have beside its kind, by kind."""

Interpreted: TypeAlias = tuple[tuple[OperationSpec, ...], Mapping[str, FieldGenerators]]
"""The operations with their settings, and each message's generators by the message's ``origin``."""


def interpret(source: Source, document: Document) -> Interpreted:
    """The document's operations with their simulation settings, and each message's generators by its origin."""
    return _Interpreter(source, document).settings()


class _Interpreter:
    """Reads the ``x-eventdeck-...`` fields of an imported document into simulation settings."""

    def __init__(self, source: Source, document: Document) -> None:
        self.source = source
        self.document = document
        self.resolver = Resolver(source)

    def at(self, origin: str) -> At:
        """Where the object defined at ``origin`` (a message's or operation's) is."""
        _, source, parts = self.resolver.target(origin, self.source, ())
        return At(source, parts)

    def settings(self) -> Interpreted:
        generators = {m.origin: self.generators(m) for m in self.document.messages}
        operations = tuple(self.operation(op) for op in self.document.operations)
        self.check_consumer_names(operations)
        return operations, MappingProxyType(generators)

    def generators(self, message: MessageSpec) -> FieldGenerators:
        if "x-eventdeck-generate" not in message.extensions:
            return NO_GENERATORS
        at = self.at(message.origin)
        spec = mapping(message.extensions, "x-eventdeck-generate", at)
        at = at / "x-eventdeck-generate"
        return MappingProxyType({str(name): _generator(raw, at / str(name)) for name, raw in spec.items()})

    def operation(self, op: Operation) -> OperationSpec:
        at = self.at(op.origin)
        extensions = op.extensions
        publisher = responder = subscriber = None
        if "x-eventdeck-publisher" in extensions:
            publisher = _publisher(op, mapping(extensions, "x-eventdeck-publisher", at), at / "x-eventdeck-publisher")
        if "x-eventdeck-responder" in extensions:
            responder = _responder(op, mapping(extensions, "x-eventdeck-responder", at), at / "x-eventdeck-responder")
        if "x-eventdeck-subscriber" in extensions:
            where = at / "x-eventdeck-subscriber"
            subscriber = _subscriber(op, mapping(extensions, "x-eventdeck-subscriber", at), where)
        own = {f.name: getattr(op, f.name) for f in fields(op)}
        return OperationSpec(**own, publisher=publisher, responder=responder, subscriber=subscriber)

    def check_consumer_names(self, operations: Sequence[OperationSpec]) -> None:
        """Responders and subscribers become broker subscriptions: their names must differ."""
        seen: dict[str, str] = {}
        for op in operations:
            for kind, settings in (("x-eventdeck-responder", op.responder), ("x-eventdeck-subscriber", op.subscriber)):
                if settings is None:
                    continue
                first = seen.setdefault(settings.name, op.key)
                if first != op.key:
                    raise (self.at(op.origin) / kind / "name").fail(
                        f"the name {settings.name!r} is already taken by operation {first!r}"
                    )


# -- the x-eventdeck settings of an operation ----------------------------------


def _publisher(op: Operation, settings: Mapping[str, Any], at: At) -> PublisherSettings:
    if op.action != "send":
        raise at.fail("x-eventdeck-publisher belongs on a 'send' operation")
    if op.channel.address is None or op.channel.parameterized:
        raise at.fail(f"cannot simulate publishing to channel {op.channel.key!r}: no fixed address")
    only(settings, PUBLISHER_FIELDS, at)
    publisher = PublisherSettings(
        name=_name(settings, at),
        rate=number(settings, "rate", at, default=1.0, low=0.0, high=MAX_RATE),
        timeout=number(settings, "timeout", at, default=2.0, low=0.001, high=3600.0),
        retain=flag(settings, "retain", at, default=False),
    )
    if publisher.rate <= 0:
        raise (at / "rate").fail("'rate' must be more than 0 messages per second")
    if publisher.retain and op.is_command:
        raise (at / "retain").fail("a command cannot be retained: only events are kept as a channel's last value")
    return publisher


def _responder(op: Operation, settings: Mapping[str, Any], at: At) -> ResponderSettings:
    if op.action != "receive" or op.reply is None:
        raise at.fail("x-eventdeck-responder belongs on a 'receive' operation with a 'reply'")
    if op.channel.address is None:
        raise at.fail(f"cannot simulate a responder on channel {op.channel.key!r}: no address")
    only(settings, RESPONDER_FIELDS, at)
    return ResponderSettings(
        name=_name(settings, at),
        delay=number(settings, "delay", at, default=0.2, low=0.0, high=MAX_DELAY),
        failure_rate=number(settings, "failureRate", at, default=0.0, low=0.0, high=1.0),
    )


def _subscriber(op: Operation, settings: Mapping[str, Any], at: At) -> SubscriberSettings:
    channel = op.channel
    if op.action != "receive" or op.reply is not None:
        raise at.fail(
            "x-eventdeck-subscriber belongs on a 'receive' operation without a 'reply' "
            "(a command's receiver is an x-eventdeck-responder)"
        )
    only(settings, SUBSCRIBER_FIELDS, at)
    name = _name(settings, at)
    if "pattern" in settings:
        pattern = text(settings, "pattern", at)
        try:
            validate_pattern(pattern)
        except InvalidChannel as exc:
            raise (at / "pattern").fail(f"'pattern' is not a valid subscription pattern: {exc}") from None
        if channel.pattern is not None and not _covers(pattern, channel.pattern):
            raise (at / "pattern").fail(
                f"'pattern' {pattern!r} does not cover the operation's channel {channel.address!r}"
            )
    elif channel.pattern is None:
        raise at.fail(f"cannot simulate a subscriber on channel {channel.key!r}: no address (give a 'pattern')")
    else:
        pattern = channel.pattern
    return SubscriberSettings(
        name=name,
        pattern=pattern,
        delay=number(settings, "delay", at, default=0.0, low=0.0, high=MAX_DELAY),
        failure_rate=number(settings, "failureRate", at, default=0.0, low=0.0, high=1.0),
        durable=flag(settings, "durable", at, default=False),
        max_attempts=whole_number(settings, "maxAttempts", at, default=5, low=1, high=MAX_ATTEMPTS),
        consumers=whole_number(settings, "consumers", at, default=1, low=1, high=MAX_CONSUMERS),
    )


def _name(settings: Mapping[str, Any], at: At) -> str:
    """The ``name`` of a publisher, responder or subscriber: stories and the window point at it."""
    name = text(settings, "name", at, required=True)
    if not name.strip():
        raise (at / "name").fail("'name' must not be empty")
    return name


def _covers(pattern: str, channel_pattern: str) -> bool:
    """Does ``pattern`` receive every message of a channel whose own pattern is ``channel_pattern``?

    A ``+`` level of the channel (a parameter) is only covered by ``+`` or ``#``, so it is
    matched as a level no literal pattern level equals.
    """
    levels = ("\0" if level == "+" else level for level in channel_pattern.split("/"))
    return matches(pattern, "/".join(levels))


# -- the generators of a message (x-eventdeck-generate) -------------------------


def _generator(raw: Any, at: At) -> FieldGenerator:
    if not isinstance(raw, Mapping):
        return Const(raw)
    kinds = [k for k in GENERATOR_KINDS if k in raw]
    if len(kinds) != 1:
        found = f"found {', '.join(kinds)}" if kinds else f"found keys {', '.join(map(str, raw))}"
        raise at.fail(
            f"a generator needs exactly one of {', '.join(GENERATOR_KINDS)} ({found}); "
            "write {const: {...}} for a constant mapping"
        )
    kind = kinds[0]
    only(raw, (kind, *GENERATOR_OPTIONS.get(kind, ())), at)
    arg = raw[kind]
    where = at / kind
    if kind == "const":
        return Const(arg)
    if kind in ("choice", "sample"):
        if not isinstance(arg, list) or not arg:
            raise where.fail(f"'{kind}' needs a non-empty list of values")
        if kind == "choice":
            return Choice(tuple(arg))
        low, high = pair(raw.get("count", [1, len(arg)]), at / "count", whole=True)
        if low < 0 or high > len(arg):
            raise (at / "count").fail(f"'count' must stay within 0..{len(arg)} (the number of values)")
        return Sample(tuple(arg), int(low), int(high))
    if kind == "int":
        low, high = pair(arg, where, whole=True)
        return IntRange(int(low), int(high))
    if kind == "number":
        low, high = pair(arg, where)
        decimals = raw.get("decimals", 2)
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 12:
            raise (at / "decimals").fail("'decimals' must be a whole number from 0 to 12")
        return NumberRange(low, high, decimals)
    if kind == "walk":
        low, high = pair(arg, where)
        start = raw.get("start", (low + high) / 2)
        if not finite(start) or not low <= start <= high:
            raise (at / "start").fail(f"'start' must be a number from {low:g} to {high:g}")
        step_low, step_high = pair(raw.get("step", [-1, 1]), at / "step")
        return Walk(low, high, float(start), step_low, step_high)
    if kind == "label":
        if not isinstance(arg, str):
            raise where.fail("'label' names the payload field whose value picks the band")
        bands = raw.get("bands")
        if not isinstance(bands, Mapping) or not bands or not all(finite(bound) for bound in bands):
            raise (at / "bands").fail("'bands' must map upper bounds (numbers) to values")
        return Bands(arg, tuple(sorted((float(bound), label) for bound, label in bands.items())))
    if kind == "template":
        if not isinstance(arg, str):
            raise where.fail(f"'template' must be a string, got {kind_of(arg)}")
        for match in TEMPLATE_FIELD.finditer(arg):
            if match.group(2) and match.group(2) not in TEMPLATE_FILTERS:
                known = ", ".join(sorted(TEMPLATE_FILTERS))
                raise where.fail(f"unknown filter {match.group(2)!r} in {match.group(0)!r} (known: {known})")
        return Template(arg)
    # request
    if not isinstance(arg, str):
        raise where.fail("'request' names a field of the command being answered")
    return FromRequest(arg)
