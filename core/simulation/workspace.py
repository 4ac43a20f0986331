"""Workspaces: an AsyncAPI 3 document plus EventDeck's simulation settings.

A workspace is an AsyncAPI 3.x document (YAML or JSON), imported by :mod:`eventdeck.core.asyncapi`
(its ``$ref``s, channels, messages, operations and replies). This module only interprets the
``x-eventdeck-...`` fields that drive the simulation: publishers with a rate on send operations,
a responder with a delay on receive operations with a reply, subscribers with a delay, a failure
rate and durability on the other receive operations, and per-field payload generators on messages.

Every problem raises :class:`WorkspaceError` naming the file, the line when it is known, the
JSON path inside the document, and what is wrong::

    workspace = load_demo()
    workspace = load_workspace("my-system.yaml")
"""

from __future__ import annotations

import importlib.resources
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.loader import Parts, Resolver, Source, kind_of, parse_text, read_file
from eventdeck.core.asyncapi.model import Channel, Document, MessageSpec, Operation
from eventdeck.core.asyncapi.normalise import normalise
from eventdeck.core.broker.channels import matches, validate_pattern
from eventdeck.core.broker.errors import InvalidChannel

__all__ = [
    "DEMO_RESOURCE",
    "Bands",
    "Choice",
    "Const",
    "FieldGenerator",
    "FromRequest",
    "IntRange",
    "NumberRange",
    "OperationSpec",
    "PublisherSettings",
    "ResponderSettings",
    "Sample",
    "SubscriberSettings",
    "Template",
    "Walk",
    "Workspace",
    "WorkspaceError",
    "load_demo",
    "load_workspace",
    "parse_workspace",
]

DEMO_RESOURCE = "workspaces/demo.yaml"
"""Where the demo workspace lives inside the ``eventdeck.resources`` package."""
SUPPORTED_MAJOR = "3"
MAX_RATE = 1000.0
"""Highest simulated rate per publisher (messages per second); the demo wants a few per second."""
MAX_DELAY = 60.0
"""Longest simulated processing delay (seconds) of a responder or a subscriber."""
MAX_ATTEMPTS = 100
"""Most deliveries of one message a simulated subscriber may be given before it is dead-lettered."""
SUBSCRIBER_FIELDS = ("name", "delay", "failureRate", "maxAttempts", "durable", "pattern")
GENERATOR_KINDS = ("const", "choice", "int", "number", "sample", "walk", "label", "template", "request")
TEMPLATE_FILTERS = frozenset({"slug", "handle", "lower", "upper", "first"})
TEMPLATE_FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class WorkspaceError(AsyncApiError):
    """A workspace document could not be read: names the file, the line, the JSON path, and what is wrong."""

    @property
    def source(self) -> str:
        """The file (or resource) the document came from."""
        return self.file


# -- payload generators (the x-eventdeck-generate field) --------------------

# -- payload generators (the x-eventdeck-generate field) --------------------


@dataclass(frozen=True, slots=True)
class Const:
    """Always ``value``."""

    value: Any


@dataclass(frozen=True, slots=True)
class Choice:
    """One of ``values``, picked at random."""

    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class IntRange:
    """A whole number from ``low`` to ``high``, both included."""

    low: int
    high: int


@dataclass(frozen=True, slots=True)
class NumberRange:
    """A number from ``low`` to ``high`` rounded to ``decimals``."""

    low: float
    high: float
    decimals: int = 2


@dataclass(frozen=True, slots=True)
class Sample:
    """A list of ``low`` to ``high`` different values from ``values``."""

    values: tuple[Any, ...]
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Walk:
    """A value that moves by a random step in ``[step_low, step_high]`` each time; back to ``start``
    when it leaves ``[low, high]``. Whole numbers when every bound is whole."""

    low: float
    high: float
    start: float
    step_low: float
    step_high: float

    @property
    def whole(self) -> bool:
        return all(float(v).is_integer() for v in (self.low, self.high, self.start, self.step_low, self.step_high))


@dataclass(frozen=True, slots=True)
class Bands:
    """The label of the first band whose upper bound the value of ``field`` is at or below."""

    field: str
    bands: tuple[tuple[float, Any], ...]  # sorted by bound


@dataclass(frozen=True, slots=True)
class Template:
    """Text with ``{field}``/``{field|filter}`` taken from the payload, and ``{seq}``, ``{hex}``, ``{now}``."""

    text: str


@dataclass(frozen=True, slots=True)
class FromRequest:
    """In a reply: the value of ``field`` in the command being answered."""

    field: str


FieldGenerator: TypeAlias = Const | Choice | IntRange | NumberRange | Sample | Walk | Bands | Template | FromRequest


@dataclass(frozen=True)
class PublisherSettings:
    """``x-eventdeck-publisher`` on a send operation: the simulated publisher and its rate."""

    name: str
    rate: float
    """Messages (or commands) per second."""
    timeout: float = 2.0
    """For commands: seconds to wait for the reply."""


@dataclass(frozen=True)
class ResponderSettings:
    """``x-eventdeck-responder`` on a receive operation with a reply: the simulated service."""

    name: str
    delay: float = 0.2
    failure_rate: float = 0.0


@dataclass(frozen=True)
class SubscriberSettings:
    """``x-eventdeck-subscriber`` on a receive operation without a reply: a simulated consumer.

    It subscribes (manual acks) to ``pattern`` and takes ``delay`` seconds per message; it fails
    (nacks) ``failure_rate`` of them, which the broker redelivers up to ``max_attempts`` deliveries
    and then dead-letters to ``$dead/<channel>``. A ``durable`` subscription keeps queueing while
    its consumer is away.
    """

    name: str
    pattern: str
    """What it subscribes to: the operation's channel, or the ``pattern`` field (e.g. ``user/#``)."""
    delay: float = 0.0
    failure_rate: float = 0.0
    durable: bool = False
    max_attempts: int = 5


@dataclass(frozen=True)
class OperationSpec(Operation):
    """A document operation with the simulation settings its ``x-eventdeck-...`` fields give it."""

    publisher: PublisherSettings | None = None
    responder: ResponderSettings | None = None
    subscriber: SubscriberSettings | None = None


@dataclass(frozen=True)
class Workspace:
    """A loaded workspace: the imported document and the simulation it describes."""

    document: Document
    operations: tuple[OperationSpec, ...] = ()
    """The document's operations, in order, with their simulation settings."""
    message_generators: Mapping[str, Mapping[str, FieldGenerator]] = field(default_factory=lambda: _EMPTY)
    """Each message's ``x-eventdeck-generate`` generators, by the message's ``origin``."""

    @property
    def source(self) -> str:
        """Where it came from (a file path, or ``eventdeck.resources/workspaces/demo.yaml``)."""
        return self.document.source

    @property
    def asyncapi(self) -> str:
        return self.document.version

    @property
    def title(self) -> str:
        return self.document.title

    @property
    def version(self) -> str:
        return self.document.api_version

    @property
    def description(self) -> str:
        return self.document.description

    @property
    def channels(self) -> tuple[Channel, ...]:
        return self.document.channels

    @property
    def extensions(self) -> Mapping[str, Any]:
        """Top-level ``x-...`` fields, kept for later features."""
        return self.document.extensions

    def channel(self, key: str) -> Channel:
        """The channel with id ``key`` (KeyError if none)."""
        return self.document.channel(key)

    def channel_at(self, address: str) -> Channel | None:
        """The channel whose address is ``address``, if any."""
        return next((c for c in self.channels if c.address == address), None)

    def operation(self, key: str) -> OperationSpec:
        for operation in self.operations:
            if operation.key == key:
                return operation
        raise KeyError(f"no operation {key!r} in {self.source}")

    def generators(self, message: MessageSpec) -> Mapping[str, FieldGenerator]:
        """How the simulation varies each payload field of ``message``, in document order."""
        return self.message_generators.get(message.origin, _EMPTY)

    @property
    def addresses(self) -> list[str]:
        """Addresses of channels that can be published to (known, without parameters)."""
        return [c.address for c in self.channels if c.address is not None and not c.parameterized]

    @property
    def commands(self) -> list[OperationSpec]:
        return [op for op in self.operations if op.is_command]

    @property
    def publishers(self) -> list[OperationSpec]:
        """Send operations with simulation settings."""
        return [op for op in self.operations if op.publisher is not None]

    @property
    def responders(self) -> list[OperationSpec]:
        """Receive operations with a reply and a simulated responder."""
        return [op for op in self.operations if op.responder is not None]

    @property
    def subscribers(self) -> list[OperationSpec]:
        """Receive operations (without a reply) with a simulated subscriber."""
        return [op for op in self.operations if op.subscriber is not None]


# -- loading ---------------------------------------------------------------


def load_workspace(path: str | os.PathLike[str]) -> Workspace:
    """Read a workspace document from ``path`` (YAML, or JSON when it ends in ``.json``)."""
    name = os.fspath(path)
    return _read(lambda: read_file(Path(name), name))


def load_demo() -> Workspace:
    """The demo workspace packaged with EventDeck."""
    resource = importlib.resources.files("eventdeck.resources").joinpath(DEMO_RESOURCE)
    return parse_workspace(resource.read_text(encoding="utf-8"), f"eventdeck.resources/{DEMO_RESOURCE}")


def parse_workspace(text: str, source: str = "<workspace>") -> Workspace:
    """Read a workspace from the text of a document (JSON when ``source`` ends in ``.json``)."""
    return _read(lambda: parse_text(text, source, as_json=source.lower().endswith(".json")))


def _read(parse: Callable[[], Source]) -> Workspace:
    try:
        source = parse()
        _check_version(source)
        return _Interpreter(source, normalise(source)).workspace()
    except AsyncApiError as exc:
        raise WorkspaceError(exc.file, exc.problem, line=exc.line, path=exc.path) from None


def _check_version(source: Source) -> None:
    """The simulation settings are read from 3.x operations; the importer alone also reads 2.x."""
    data = source.data
    if isinstance(data, Mapping) and "asyncapi" in data:
        version = str(data["asyncapi"])
        if version.split(".", maxsplit=1)[0] != SUPPORTED_MAJOR:
            raise source.error(
                ("asyncapi",), f"AsyncAPI {version} is not supported yet; workspaces are AsyncAPI 3.x documents"
            )


@dataclass(frozen=True)
class _At:
    """A place in a document, to name in errors."""

    source: Source
    parts: Parts

    def __truediv__(self, key: str | int) -> _At:
        return _At(self.source, (*self.parts, key))

    def fail(self, problem: str) -> AsyncApiError:
        return self.source.error(self.parts, problem)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mapping(parent: Mapping[str, Any], key: str, at: _At) -> Mapping[str, Any]:
    value = parent[key]
    if not isinstance(value, Mapping):
        raise (at / key).fail(f"{key!r} must be a mapping, got {kind_of(value)}")
    return value


def _text(parent: Mapping[str, Any], key: str, at: _At, *, required: bool = False) -> str:
    if key not in parent:
        if required:
            raise at.fail(f"missing required field {key!r}")
        return ""
    value = parent[key]
    if not isinstance(value, str):
        raise (at / key).fail(f"{key!r} must be a string, got {kind_of(value)}")
    return value


def _number(parent: Mapping[str, Any], key: str, at: _At, *, default: float, low: float, high: float) -> float:
    value = parent.get(key, default)
    if not _finite(value) or not low <= value <= high:
        raise (at / key).fail(f"{key!r} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _whole(parent: Mapping[str, Any], key: str, at: _At, *, default: int, low: int, high: int) -> int:
    value = parent.get(key, default)
    if not _finite(value) or not float(value).is_integer() or not low <= value <= high:
        raise (at / key).fail(f"{key!r} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def _bool(parent: Mapping[str, Any], key: str, at: _At, *, default: bool) -> bool:
    value = parent.get(key, default)
    if not isinstance(value, bool):
        raise (at / key).fail(f"{key!r} must be true or false, got {kind_of(value)}")
    return value


class _Interpreter:
    """Reads the ``x-eventdeck-...`` fields of an imported document into simulation settings."""

    def __init__(self, source: Source, document: Document) -> None:
        self.source = source
        self.document = document
        self.resolver = Resolver(source)

    def at(self, origin: str) -> _At:
        """Where the object defined at ``origin`` (a message's or operation's) is."""
        _, source, parts = self.resolver.target(origin, self.source, ())
        return _At(source, parts)

    def workspace(self) -> Workspace:
        generators = {m.origin: self.generators(m) for m in self.document.messages}
        operations = tuple(self.operation(op) for op in self.document.operations)
        self.check_consumer_names(operations)
        return Workspace(document=self.document, operations=operations, message_generators=MappingProxyType(generators))

    def generators(self, message: MessageSpec) -> Mapping[str, FieldGenerator]:
        if "x-eventdeck-generate" not in message.extensions:
            return _EMPTY
        at = self.at(message.origin)
        spec = _mapping(message.extensions, "x-eventdeck-generate", at)
        at = at / "x-eventdeck-generate"
        return MappingProxyType({str(name): _generator(raw, at / str(name)) for name, raw in spec.items()})

    def operation(self, op: Operation) -> OperationSpec:
        at = self.at(op.origin)
        extensions = op.extensions
        publisher = responder = subscriber = None
        if "x-eventdeck-publisher" in extensions:
            publisher = _publisher(op, _mapping(extensions, "x-eventdeck-publisher", at), at / "x-eventdeck-publisher")
        if "x-eventdeck-responder" in extensions:
            responder = _responder(op, _mapping(extensions, "x-eventdeck-responder", at), at / "x-eventdeck-responder")
        if "x-eventdeck-subscriber" in extensions:
            where = at / "x-eventdeck-subscriber"
            subscriber = _subscriber(op, _mapping(extensions, "x-eventdeck-subscriber", at), where)
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


def _publisher(op: Operation, settings: Mapping[str, Any], at: _At) -> PublisherSettings:
    if op.action != "send":
        raise at.fail("x-eventdeck-publisher belongs on a 'send' operation")
    if op.channel.address is None or op.channel.parameterized:
        raise at.fail(f"cannot simulate publishing to channel {op.channel.key!r}: no fixed address")
    publisher = PublisherSettings(
        name=_text(settings, "name", at, required=True),
        rate=_number(settings, "rate", at, default=1.0, low=0.0, high=MAX_RATE),
        timeout=_number(settings, "timeout", at, default=2.0, low=0.001, high=3600.0),
    )
    if publisher.rate <= 0:
        raise (at / "rate").fail("'rate' must be more than 0 messages per second")
    return publisher


def _responder(op: Operation, settings: Mapping[str, Any], at: _At) -> ResponderSettings:
    if op.action != "receive" or op.reply is None:
        raise at.fail("x-eventdeck-responder belongs on a 'receive' operation with a 'reply'")
    if op.channel.address is None:
        raise at.fail(f"cannot simulate a responder on channel {op.channel.key!r}: no address")
    return ResponderSettings(
        name=_text(settings, "name", at, required=True),
        delay=_number(settings, "delay", at, default=0.2, low=0.0, high=MAX_DELAY),
        failure_rate=_number(settings, "failureRate", at, default=0.0, low=0.0, high=1.0),
    )


def _subscriber(op: Operation, settings: Mapping[str, Any], at: _At) -> SubscriberSettings:
    channel = op.channel
    if op.action != "receive" or op.reply is not None:
        raise at.fail(
            "x-eventdeck-subscriber belongs on a 'receive' operation without a 'reply' "
            "(a command's receiver is an x-eventdeck-responder)"
        )
    for key in settings:
        if key not in SUBSCRIBER_FIELDS:
            raise (at / str(key)).fail(f"unknown field {key!r} (known: {', '.join(SUBSCRIBER_FIELDS)})")
    name = _text(settings, "name", at, required=True)
    if not name.strip():
        raise (at / "name").fail("'name' must not be empty")
    if "pattern" in settings:
        pattern = _text(settings, "pattern", at)
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
        delay=_number(settings, "delay", at, default=0.0, low=0.0, high=MAX_DELAY),
        failure_rate=_number(settings, "failureRate", at, default=0.0, low=0.0, high=1.0),
        durable=_bool(settings, "durable", at, default=False),
        max_attempts=_whole(settings, "maxAttempts", at, default=5, low=1, high=MAX_ATTEMPTS),
    )


def _covers(pattern: str, channel_pattern: str) -> bool:
    """Does ``pattern`` receive every message of a channel whose own pattern is ``channel_pattern``?

    A ``+`` level of the channel (a parameter) is only covered by ``+`` or ``#``, so it is
    matched as a level no literal pattern level equals.
    """
    levels = ("\0" if level == "+" else level for level in channel_pattern.split("/"))
    return matches(pattern, "/".join(levels))


# -- the generators of a message (x-eventdeck-generate) -------------------------


def _generator(raw: Any, at: _At) -> FieldGenerator:
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
    arg = raw[kind]
    where = at / kind
    if kind == "const":
        return Const(arg)
    if kind in ("choice", "sample"):
        if not isinstance(arg, list) or not arg:
            raise where.fail(f"'{kind}' needs a non-empty list of values")
        if kind == "choice":
            return Choice(tuple(arg))
        low, high = _pair(raw.get("count", [1, len(arg)]), at / "count", whole=True)
        if low < 0 or high > len(arg):
            raise (at / "count").fail(f"'count' must stay within 0..{len(arg)} (the number of values)")
        return Sample(tuple(arg), int(low), int(high))
    if kind == "int":
        low, high = _pair(arg, where, whole=True)
        return IntRange(int(low), int(high))
    if kind == "number":
        low, high = _pair(arg, where)
        decimals = raw.get("decimals", 2)
        if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 12:
            raise (at / "decimals").fail("'decimals' must be a whole number from 0 to 12")
        return NumberRange(low, high, decimals)
    if kind == "walk":
        low, high = _pair(arg, where)
        start = raw.get("start", (low + high) / 2)
        if not _finite(start) or not low <= start <= high:
            raise (at / "start").fail(f"'start' must be a number from {low:g} to {high:g}")
        step_low, step_high = _pair(raw.get("step", [-1, 1]), at / "step")
        return Walk(low, high, float(start), step_low, step_high)
    if kind == "label":
        if not isinstance(arg, str):
            raise where.fail("'label' names the payload field whose value picks the band")
        bands = raw.get("bands")
        if not isinstance(bands, Mapping) or not bands or not all(_finite(bound) for bound in bands):
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


def _pair(raw: Any, at: _At, *, whole: bool = False) -> tuple[float, float]:
    kind = "whole numbers" if whole else "numbers"
    if (
        not isinstance(raw, Sequence)
        or isinstance(raw, str)
        or len(raw) != 2
        or not all(_finite(v) and (not whole or float(v).is_integer()) for v in raw)
    ):
        raise at.fail(f"expected [low, high] ({kind}), got {raw!r}")
    low, high = float(raw[0]), float(raw[1])
    if low > high:
        raise at.fail(f"low ({raw[0]}) is above high ({raw[1]})")
    return low, high
