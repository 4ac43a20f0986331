"""Workspaces: an AsyncAPI 3 document plus EventDeck's simulation settings, read into plain data.

A workspace is an AsyncAPI 3.x document (YAML or JSON). This module reads the
parts EventDeck needs today into frozen dataclasses: channels and their messages
(name, title, content type, payload schema, examples), operations (send/receive,
with ``reply`` for commands) and the ``x-eventdeck-...`` extension fields that drive
the simulation (publishers with a rate, a responder with a delay, subscribers with a
delay, a failure rate and durability, per-field payload generators). It resolves
local ``$ref``s (``#/...``). It is deliberately not a full AsyncAPI importer (no 2.x,
no external ``$ref``s, no servers, bindings, traits or parameters yet); the
dataclasses have room to grow into one.

Every problem raises :class:`WorkspaceError` naming the file, the line when it is
known, the path inside the document, and what is wrong::

    workspace = load_demo()
    workspace = load_workspace("my-system.yaml")
"""

from __future__ import annotations

import importlib.resources
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import yaml

from .channels import matches, validate_pattern
from .errors import EventDeckError, InvalidChannel

__all__ = [
    "DEMO_RESOURCE",
    "Bands",
    "ChannelSpec",
    "Choice",
    "Const",
    "ExampleSpec",
    "FieldGenerator",
    "FromRequest",
    "IntRange",
    "MessageSpec",
    "NumberRange",
    "OperationSpec",
    "PublisherSettings",
    "ReplySpec",
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
DEFAULT_CONTENT_TYPE = "application/json"
DEFAULT_SCHEMA_FORMAT = "application/vnd.aai.asyncapi+json;version=3.0.0"
MAX_RATE = 1000.0
"""Highest simulated rate per publisher (messages per second); the demo wants a few per second."""
MAX_DELAY = 60.0
"""Longest simulated processing delay (seconds) of a responder or a subscriber."""
MAX_ATTEMPTS = 100
"""Most deliveries of one message a simulated subscriber may be given before it is dead-lettered."""
SUBSCRIBER_FIELDS = ("name", "delay", "failureRate", "maxAttempts", "durable", "pattern")
TEMPLATE_FILTERS = frozenset({"slug", "handle", "lower", "upper", "first"})
TEMPLATE_FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")

Path_: TypeAlias = tuple[str | int, ...]
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class WorkspaceError(EventDeckError, ValueError):
    """A workspace document could not be read: names the file, the line, where, and what is wrong."""

    def __init__(self, source: str, problem: str, *, path: str = "", line: int | None = None) -> None:
        where = source if line is None else f"{source}, line {line}"
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")
        self.source = source
        self.problem = problem
        self.path = path
        self.line = line


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


# -- the document model ------------------------------------------------------


@dataclass(frozen=True)
class ExampleSpec:
    """One message example (AsyncAPI Message Example Object)."""

    name: str = ""
    summary: str = ""
    payload: Any = None
    headers: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class MessageSpec:
    """A message a channel carries. ``key`` is its id in the channel's ``messages`` map."""

    key: str
    name: str
    title: str = ""
    summary: str = ""
    description: str = ""
    content_type: str = DEFAULT_CONTENT_TYPE
    payload_schema: Mapping[str, Any] | None = None
    schema_format: str = DEFAULT_SCHEMA_FORMAT
    examples: tuple[ExampleSpec, ...] = ()
    generators: Mapping[str, FieldGenerator] = field(default_factory=lambda: _EMPTY)
    """``x-eventdeck-generate``: how the simulation varies each payload field, in document order."""

    @property
    def label(self) -> str:
        return self.title or self.name or self.key


@dataclass(frozen=True)
class ChannelSpec:
    """A channel. ``address`` is None when it is only known at run time (e.g. a reply-to channel)."""

    key: str
    address: str | None
    title: str = ""
    summary: str = ""
    description: str = ""
    messages: tuple[MessageSpec, ...] = ()

    @property
    def pattern(self) -> str | None:
        """The address as an EventDeck subscription pattern: ``{parameter}`` levels become ``+``."""
        if self.address is None:
            return None
        return "/".join("+" if "{" in level else level for level in self.address.split("/"))

    @property
    def parameterized(self) -> bool:
        return self.address is not None and "{" in self.address

    def message(self, key: str) -> MessageSpec:
        for message in self.messages:
            if message.key == key:
                return message
        raise KeyError(f"channel {self.key!r} has no message {key!r}")


@dataclass(frozen=True)
class ReplySpec:
    """An operation's ``reply``: where the answer goes and what it looks like."""

    channel: ChannelSpec | None = None
    address_location: str | None = None
    """A runtime expression naming where the reply address is, e.g. ``$message.header#/replyTo``."""
    messages: tuple[MessageSpec, ...] = ()


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
class OperationSpec:
    """A send or receive operation; one with a ``reply`` is a command."""

    key: str
    action: Literal["send", "receive"]
    channel: ChannelSpec
    messages: tuple[MessageSpec, ...] = ()
    reply: ReplySpec | None = None
    title: str = ""
    summary: str = ""
    description: str = ""
    publisher: PublisherSettings | None = None
    responder: ResponderSettings | None = None
    subscriber: SubscriberSettings | None = None

    @property
    def is_command(self) -> bool:
        return self.reply is not None


@dataclass(frozen=True)
class Workspace:
    """A loaded workspace document."""

    source: str
    """Where it came from (a file path, or ``eventdeck.resources/workspaces/demo.yaml``)."""
    asyncapi: str
    title: str
    version: str
    description: str = ""
    default_content_type: str = DEFAULT_CONTENT_TYPE
    channels: tuple[ChannelSpec, ...] = ()
    operations: tuple[OperationSpec, ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """Top-level ``x-...`` fields, kept for later features."""

    def channel(self, key: str) -> ChannelSpec:
        """The channel with id ``key`` (KeyError if none)."""
        for channel in self.channels:
            if channel.key == key:
                return channel
        raise KeyError(f"no channel {key!r} in {self.source}")

    def channel_at(self, address: str) -> ChannelSpec | None:
        """The channel whose address is ``address``, if any."""
        return next((c for c in self.channels if c.address == address), None)

    def operation(self, key: str) -> OperationSpec:
        for operation in self.operations:
            if operation.key == key:
                return operation
        raise KeyError(f"no operation {key!r} in {self.source}")

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
    """Read a workspace document from ``path`` (YAML or JSON)."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkspaceError(source, "no such file") from None
    except UnicodeDecodeError as exc:
        raise WorkspaceError(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise WorkspaceError(source, f"cannot be read: {exc.strerror or exc}") from None
    return parse_workspace(text, source)


def load_demo() -> Workspace:
    """The demo workspace packaged with EventDeck."""
    resource = importlib.resources.files("eventdeck.resources").joinpath(DEMO_RESOURCE)
    return parse_workspace(resource.read_text(encoding="utf-8"), f"eventdeck.resources/{DEMO_RESOURCE}")


def parse_workspace(text: str, source: str = "<workspace>") -> Workspace:
    """Read a workspace from the text of a document; ``source`` names it in errors."""
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "invalid YAML"
        line = None if mark is None else mark.line + 1
        column = "" if mark is None else f", column {mark.column + 1}"
        raise WorkspaceError(source, f"invalid YAML{column}: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise WorkspaceError(source, f"invalid YAML: {exc}") from None
    return _Reader(source, text, document).workspace()


def _line_of(text: str, path: Path_) -> int | None:
    """The 1-based line of the node at ``path`` (or of its deepest existing parent). Only used for errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                    found = value_node
                    break
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            node = node.value[key]
        else:
            break
    return int(node.start_mark.line) + 1


def _show(path: Path_) -> str:
    shown = ""
    for key in path:
        shown += f"[{key}]" if isinstance(key, int) else (f".{key}" if shown else str(key))
    return shown


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Reader:
    """Walks the loaded document, checking types and following local ``$ref``s."""

    def __init__(self, source: str, text: str, document: Any) -> None:
        self.source = source
        self.text = text
        self.document = document
        self.default_content_type = DEFAULT_CONTENT_TYPE

    def fail(self, path: Path_, problem: str) -> WorkspaceError:
        return WorkspaceError(self.source, problem, path=_show(path), line=_line_of(self.text, path))

    # -- typed access ------------------------------------------------------

    def resolve(self, value: Any, path: Path_) -> tuple[Any, Path_]:
        """Follow ``$ref`` chains; return the target and its path in the document."""
        seen: list[str] = []
        while isinstance(value, Mapping) and "$ref" in value:
            ref = value["$ref"]
            if not isinstance(ref, str):
                raise self.fail((*path, "$ref"), "a $ref must be a string")
            if not ref.startswith("#/") and ref != "#":
                raise self.fail((*path, "$ref"), f"only local $refs ('#/...') are supported yet, got {ref!r}")
            if ref in seen:
                raise self.fail(path, f"$ref cycle: {' -> '.join([*seen, ref])}")
            seen.append(ref)
            value, path = self.pointer(ref, path)
        return value, path

    def pointer(self, ref: str, at: Path_) -> tuple[Any, Path_]:
        node = self.document
        path: Path_ = ()
        for raw in ref[2:].split("/") if ref != "#" else []:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
                path = (*path, part)
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                path = (*path, int(part))
            else:
                raise self.fail((*at, "$ref"), f"$ref {ref!r} points to nothing (no {part!r} in {_show(path) or '#'})")
        return node, path

    def mapping(self, value: Any, path: Path_, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"{what} must be a mapping, got {_kind(value)}")
        return value

    def get_mapping(
        self, parent: Mapping[str, Any], key: str, path: Path_, *, required: bool = False
    ) -> Mapping[str, Any]:
        if key not in parent:
            if required:
                raise self.fail(path, f"missing required field {key!r}")
            return _EMPTY
        return self.mapping(parent[key], (*path, key), repr(key))

    def text_field(self, parent: Mapping[str, Any], key: str, path: Path_, *, required: bool = False) -> str:
        if key not in parent:
            if required:
                raise self.fail(path, f"missing required field {key!r}")
            return ""
        value = parent[key]
        if not isinstance(value, str):
            raise self.fail((*path, key), f"{key!r} must be a string, got {_kind(value)}")
        return value

    def number_field(
        self, parent: Mapping[str, Any], key: str, path: Path_, *, default: float, low: float, high: float
    ) -> float:
        if key not in parent:
            return default
        value = parent[key]
        if not _number(value) or not low <= value <= high:
            raise self.fail((*path, key), f"{key!r} must be a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

    def whole_field(
        self, parent: Mapping[str, Any], key: str, path: Path_, *, default: int, low: int, high: int
    ) -> int:
        if key not in parent:
            return default
        value = parent[key]
        if not _number(value) or not float(value).is_integer() or not low <= value <= high:
            raise self.fail((*path, key), f"{key!r} must be a whole number from {low} to {high}, got {value!r}")
        return int(value)

    def bool_field(self, parent: Mapping[str, Any], key: str, path: Path_, *, default: bool) -> bool:
        if key not in parent:
            return default
        value = parent[key]
        if not isinstance(value, bool):
            raise self.fail((*path, key), f"{key!r} must be true or false, got {_kind(value)}")
        return value

    # -- the document --------------------------------------------------------

    def workspace(self) -> Workspace:
        doc = self.mapping(self.document, (), "a workspace document")
        if "asyncapi" not in doc:
            if "openapi" in doc or "swagger" in doc:
                raise self.fail((), "this is an OpenAPI document; a workspace is an AsyncAPI 3 document")
            raise self.fail((), "missing required field 'asyncapi' (the AsyncAPI version, e.g. 3.0.0)")
        version = doc["asyncapi"]
        if not isinstance(version, str):
            raise self.fail(("asyncapi",), f"'asyncapi' must be a version string such as '3.0.0', got {_kind(version)}")
        if version.split(".")[0] != SUPPORTED_MAJOR:
            raise self.fail(
                ("asyncapi",), f"AsyncAPI {version} is not supported yet; workspaces are AsyncAPI 3.x documents"
            )
        info = self.get_mapping(doc, "info", (), required=True)
        title = self.text_field(info, "title", ("info",), required=True)
        info_version = self.text_field(info, "version", ("info",), required=True)
        self.default_content_type = self.text_field(doc, "defaultContentType", ()) or DEFAULT_CONTENT_TYPE

        channels: dict[str, ChannelSpec] = {}
        for key, raw in self.get_mapping(doc, "channels", ()).items():
            channels[str(key)] = self.channel(str(key), raw, ("channels", str(key)))
        operations = [
            self.operation(str(key), raw, ("operations", str(key)), channels)
            for key, raw in self.get_mapping(doc, "operations", ()).items()
        ]
        self.check_consumer_names(operations)
        return Workspace(
            source=self.source,
            asyncapi=version,
            title=title,
            version=info_version,
            description=self.text_field(info, "description", ("info",)),
            default_content_type=self.default_content_type,
            channels=tuple(channels.values()),
            operations=tuple(operations),
            extensions=MappingProxyType({k: v for k, v in doc.items() if isinstance(k, str) and k.startswith("x-")}),
        )

    def channel(self, key: str, raw: Any, path: Path_) -> ChannelSpec:
        value, path = self.resolve(raw, path)
        spec = self.mapping(value, path, f"channel {key!r}")
        if "address" in spec and spec["address"] is not None and not isinstance(spec["address"], str):
            raise self.fail((*path, "address"), f"'address' must be a string or null, got {_kind(spec['address'])}")
        # AsyncAPI 3: an omitted, null or empty address means "unknown, decided at run time".
        address: str | None = spec.get("address") or None
        messages = tuple(
            self.message(str(mkey), mraw, (*path, "messages", str(mkey)))
            for mkey, mraw in self.get_mapping(spec, "messages", path).items()
        )
        return ChannelSpec(
            key=key,
            address=address,
            title=self.text_field(spec, "title", path),
            summary=self.text_field(spec, "summary", path),
            description=self.text_field(spec, "description", path),
            messages=messages,
        )

    def message(self, key: str, raw: Any, path: Path_) -> MessageSpec:
        value, path = self.resolve(raw, path)
        spec = self.mapping(value, path, f"message {key!r}")
        schema: Mapping[str, Any] | None = None
        schema_format = DEFAULT_SCHEMA_FORMAT
        if "payload" in spec:
            payload, payload_path = self.resolve(spec["payload"], (*path, "payload"))
            if isinstance(payload, Mapping) and "schemaFormat" in payload and "schema" in payload:
                schema_format = self.text_field(payload, "schemaFormat", payload_path)
                payload, payload_path = self.resolve(payload["schema"], (*payload_path, "schema"))
            if isinstance(payload, Mapping):
                schema = payload
            elif not isinstance(payload, bool | str):  # JSON Schema allows true/false; other formats may be text
                raise self.fail(payload_path, f"'payload' must be a schema (a mapping), got {_kind(payload)}")
        examples = []
        raw_examples = spec.get("examples", [])
        if not isinstance(raw_examples, list):
            raise self.fail((*path, "examples"), f"'examples' must be a list, got {_kind(raw_examples)}")
        for index, raw_example in enumerate(raw_examples):
            example_path: Path_ = (*path, "examples", index)
            example = self.mapping(raw_example, example_path, "an example")
            if "payload" not in example and "headers" not in example:
                raise self.fail(example_path, "an example needs a 'payload' or 'headers'")
            examples.append(
                ExampleSpec(
                    name=self.text_field(example, "name", example_path),
                    summary=self.text_field(example, "summary", example_path),
                    payload=example.get("payload"),
                    headers=MappingProxyType(dict(self.get_mapping(example, "headers", example_path))),
                )
            )
        generators = {
            str(name): self.generator(gen, (*path, "x-eventdeck-generate", str(name)))
            for name, gen in self.get_mapping(spec, "x-eventdeck-generate", path).items()
        }
        return MessageSpec(
            key=key,
            name=self.text_field(spec, "name", path) or key,
            title=self.text_field(spec, "title", path),
            summary=self.text_field(spec, "summary", path),
            description=self.text_field(spec, "description", path),
            content_type=self.text_field(spec, "contentType", path) or self.default_content_type,
            payload_schema=schema,
            schema_format=schema_format,
            examples=tuple(examples),
            generators=MappingProxyType(generators),
        )

    def operation(self, key: str, raw: Any, path: Path_, channels: Mapping[str, ChannelSpec]) -> OperationSpec:
        value, path = self.resolve(raw, path)
        spec = self.mapping(value, path, f"operation {key!r}")
        action = self.text_field(spec, "action", path, required=True)
        if action not in ("send", "receive"):
            raise self.fail((*path, "action"), f"'action' must be 'send' or 'receive', got {action!r}")
        if "channel" not in spec:
            raise self.fail(path, "missing required field 'channel'")
        channel = self.channel_ref(spec["channel"], (*path, "channel"), channels)
        messages = self.message_refs(spec.get("messages"), (*path, "messages"), channels, channel)
        reply = None
        if "reply" in spec:
            reply = self.reply(spec["reply"], (*path, "reply"), channels)
        publisher = responder = None
        if "x-eventdeck-publisher" in spec:
            settings_path: Path_ = (*path, "x-eventdeck-publisher")
            if action != "send":
                raise self.fail(settings_path, "x-eventdeck-publisher belongs on a 'send' operation")
            if channel.address is None or channel.parameterized:
                raise self.fail(
                    settings_path, f"cannot simulate publishing to channel {channel.key!r}: no fixed address"
                )
            settings = self.get_mapping(spec, "x-eventdeck-publisher", path)
            publisher = PublisherSettings(
                name=self.text_field(settings, "name", settings_path, required=True),
                rate=self.number_field(settings, "rate", settings_path, default=1.0, low=0.0, high=MAX_RATE),
                timeout=self.number_field(settings, "timeout", settings_path, default=2.0, low=0.001, high=3600.0),
            )
            if publisher.rate <= 0:
                raise self.fail((*settings_path, "rate"), "'rate' must be more than 0 messages per second")
        if "x-eventdeck-responder" in spec:
            settings_path = (*path, "x-eventdeck-responder")
            if action != "receive" or reply is None:
                raise self.fail(settings_path, "x-eventdeck-responder belongs on a 'receive' operation with a 'reply'")
            if channel.address is None:
                raise self.fail(settings_path, f"cannot simulate a responder on channel {channel.key!r}: no address")
            settings = self.get_mapping(spec, "x-eventdeck-responder", path)
            responder = ResponderSettings(
                name=self.text_field(settings, "name", settings_path, required=True),
                delay=self.number_field(settings, "delay", settings_path, default=0.2, low=0.0, high=MAX_DELAY),
                failure_rate=self.number_field(settings, "failureRate", settings_path, default=0.0, low=0.0, high=1.0),
            )
        subscriber = None
        if "x-eventdeck-subscriber" in spec:
            subscriber = self.subscriber(spec, path, action, channel, reply)
        return OperationSpec(
            key=key,
            action="send" if action == "send" else "receive",
            channel=channel,
            messages=messages,
            reply=reply,
            title=self.text_field(spec, "title", path),
            summary=self.text_field(spec, "summary", path),
            description=self.text_field(spec, "description", path),
            publisher=publisher,
            responder=responder,
            subscriber=subscriber,
        )

    def subscriber(
        self, spec: Mapping[str, Any], path: Path_, action: str, channel: ChannelSpec, reply: ReplySpec | None
    ) -> SubscriberSettings:
        """Read ``x-eventdeck-subscriber`` (``spec`` is the operation at ``path``)."""
        where: Path_ = (*path, "x-eventdeck-subscriber")
        if action != "receive" or reply is not None:
            raise self.fail(
                where,
                "x-eventdeck-subscriber belongs on a 'receive' operation without a 'reply' "
                "(a command's receiver is an x-eventdeck-responder)",
            )
        settings = self.get_mapping(spec, "x-eventdeck-subscriber", path)
        for key in settings:
            if key not in SUBSCRIBER_FIELDS:
                raise self.fail((*where, str(key)), f"unknown field {key!r} (known: {', '.join(SUBSCRIBER_FIELDS)})")
        name = self.text_field(settings, "name", where, required=True)
        if not name.strip():
            raise self.fail((*where, "name"), "'name' must not be empty")
        if "pattern" in settings:
            pattern = self.text_field(settings, "pattern", where)
            try:
                validate_pattern(pattern)
            except InvalidChannel as exc:
                raise self.fail((*where, "pattern"), f"'pattern' is not a valid subscription pattern: {exc}") from None
            if channel.pattern is not None and not _covers(pattern, channel.pattern):
                raise self.fail(
                    (*where, "pattern"),
                    f"'pattern' {pattern!r} does not cover the operation's channel {channel.address!r}",
                )
        elif channel.pattern is None:
            raise self.fail(
                where, f"cannot simulate a subscriber on channel {channel.key!r}: no address (give a 'pattern')"
            )
        else:
            pattern = channel.pattern
        return SubscriberSettings(
            name=name,
            pattern=pattern,
            delay=self.number_field(settings, "delay", where, default=0.0, low=0.0, high=MAX_DELAY),
            failure_rate=self.number_field(settings, "failureRate", where, default=0.0, low=0.0, high=1.0),
            durable=self.bool_field(settings, "durable", where, default=False),
            max_attempts=self.whole_field(settings, "maxAttempts", where, default=5, low=1, high=MAX_ATTEMPTS),
        )

    def check_consumer_names(self, operations: Sequence[OperationSpec]) -> None:
        """Responders and subscribers become broker subscriptions: their names must differ."""
        seen: dict[str, str] = {}
        for op in operations:
            for kind, settings in (("x-eventdeck-responder", op.responder), ("x-eventdeck-subscriber", op.subscriber)):
                if settings is None:
                    continue
                first = seen.setdefault(settings.name, op.key)
                if first != op.key:
                    raise self.fail(
                        ("operations", op.key, kind, "name"),
                        f"the name {settings.name!r} is already taken by operation {first!r}",
                    )

    def channel_ref(self, raw: Any, path: Path_, channels: Mapping[str, ChannelSpec]) -> ChannelSpec:
        ref = raw.get("$ref") if isinstance(raw, Mapping) else None
        match = re.fullmatch(r"#/channels/([^/]+)", ref) if isinstance(ref, str) else None
        if match is None:
            raise self.fail(path, "must be a $ref to a channel of this document ('#/channels/<id>')")
        key = match.group(1).replace("~1", "/").replace("~0", "~")
        if key not in channels:
            raise self.fail(path, f"$ref {ref!r} points to nothing (no channel {key!r})")
        return channels[key]

    def message_refs(
        self, raw: Any, path: Path_, channels: Mapping[str, ChannelSpec], channel: ChannelSpec | None
    ) -> tuple[MessageSpec, ...]:
        if raw is None:  # AsyncAPI: omitted means "every message of the channel"
            return channel.messages if channel is not None else ()
        if not isinstance(raw, list):
            raise self.fail(path, f"'messages' must be a list of $refs, got {_kind(raw)}")
        found = []
        for index, item in enumerate(raw):
            ref = item.get("$ref") if isinstance(item, Mapping) else None
            match = re.fullmatch(r"#/channels/([^/]+)/messages/([^/]+)", ref) if isinstance(ref, str) else None
            if match is None:
                raise self.fail(
                    (*path, index), "must be a $ref to a channel's message ('#/channels/<id>/messages/<id>')"
                )
            ckey, mkey = match.groups()
            owner = channels.get(ckey)
            if owner is None or not any(m.key == mkey for m in owner.messages):
                raise self.fail((*path, index), f"$ref {ref!r} points to nothing")
            if channel is not None and owner is not channel:
                raise self.fail((*path, index), f"$ref {ref!r} is a message of another channel than {channel.key!r}")
            found.append(owner.message(mkey))
        return tuple(found)

    def reply(self, raw: Any, path: Path_, channels: Mapping[str, ChannelSpec]) -> ReplySpec:
        value, path = self.resolve(raw, path)
        spec = self.mapping(value, path, "'reply'")
        channel = self.channel_ref(spec["channel"], (*path, "channel"), channels) if "channel" in spec else None
        location = None
        if "address" in spec:
            address, address_path = self.resolve(spec["address"], (*path, "address"))
            address = self.mapping(address, address_path, "'address'")
            location = self.text_field(address, "location", address_path, required=True)
        messages = self.message_refs(spec.get("messages"), (*path, "messages"), channels, channel)
        return ReplySpec(channel=channel, address_location=location, messages=messages)

    # -- generators ----------------------------------------------------------

    def generator(self, raw: Any, path: Path_) -> FieldGenerator:
        if not isinstance(raw, Mapping):
            return Const(raw)
        kinds = [
            k
            for k in ("const", "choice", "int", "number", "sample", "walk", "label", "template", "request")
            if k in raw
        ]
        if len(kinds) != 1:
            found = f"found {', '.join(kinds)}" if kinds else f"found keys {', '.join(map(str, raw))}"
            raise self.fail(
                path,
                "a generator needs exactly one of const, choice, int, number, sample, walk, label, template, "
                f"request ({found}); write {{const: {{...}}}} for a constant mapping",
            )
        kind = kinds[0]
        arg = raw[kind]
        where: Path_ = (*path, kind)
        if kind == "const":
            return Const(arg)
        if kind in ("choice", "sample"):
            if not isinstance(arg, list) or not arg:
                raise self.fail(where, f"'{kind}' needs a non-empty list of values")
            if kind == "choice":
                return Choice(tuple(arg))
            low, high = self.pair(raw.get("count", [1, len(arg)]), (*path, "count"), whole=True)
            if low < 0 or high > len(arg):
                raise self.fail((*path, "count"), f"'count' must stay within 0..{len(arg)} (the number of values)")
            return Sample(tuple(arg), int(low), int(high))
        if kind == "int":
            low, high = self.pair(arg, where, whole=True)
            return IntRange(int(low), int(high))
        if kind == "number":
            low, high = self.pair(arg, where)
            decimals = raw.get("decimals", 2)
            if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 12:
                raise self.fail((*path, "decimals"), "'decimals' must be a whole number from 0 to 12")
            return NumberRange(low, high, decimals)
        if kind == "walk":
            low, high = self.pair(arg, where)
            start = raw.get("start", (low + high) / 2)
            if not _number(start) or not low <= start <= high:
                raise self.fail((*path, "start"), f"'start' must be a number from {low:g} to {high:g}")
            step_low, step_high = self.pair(raw.get("step", [-1, 1]), (*path, "step"))
            return Walk(low, high, float(start), step_low, step_high)
        if kind == "label":
            if not isinstance(arg, str):
                raise self.fail(where, "'label' names the payload field whose value picks the band")
            bands = raw.get("bands")
            if not isinstance(bands, Mapping) or not bands or not all(_number(bound) for bound in bands):
                raise self.fail((*path, "bands"), "'bands' must map upper bounds (numbers) to values")
            return Bands(arg, tuple(sorted((float(bound), label) for bound, label in bands.items())))
        if kind == "template":
            if not isinstance(arg, str):
                raise self.fail(where, f"'template' must be a string, got {_kind(arg)}")
            for match in TEMPLATE_FIELD.finditer(arg):
                if match.group(2) and match.group(2) not in TEMPLATE_FILTERS:
                    known = ", ".join(sorted(TEMPLATE_FILTERS))
                    raise self.fail(where, f"unknown filter {match.group(2)!r} in {match.group(0)!r} (known: {known})")
            return Template(arg)
        # request
        if not isinstance(arg, str):
            raise self.fail(where, "'request' names a field of the command being answered")
        return FromRequest(arg)

    def pair(self, raw: Any, path: Path_, *, whole: bool = False) -> tuple[float, float]:
        kind = "whole numbers" if whole else "numbers"
        if (
            not isinstance(raw, Sequence)
            or isinstance(raw, str)
            or len(raw) != 2
            or not all(_number(v) and (not whole or float(v).is_integer()) for v in raw)
        ):
            raise self.fail(path, f"expected [low, high] ({kind}), got {raw!r}")
        low, high = float(raw[0]), float(raw[1])
        if low > high:
            raise self.fail(path, f"low ({raw[0]}) is above high ({raw[1]})")
        return low, high


def _covers(pattern: str, channel_pattern: str) -> bool:
    """Does ``pattern`` receive every message of a channel whose own pattern is ``channel_pattern``?

    A ``+`` level of the channel (a parameter) is only covered by ``+`` or ``#``, so it is
    matched as a level no literal pattern level equals.
    """
    levels = ("\0" if level == "+" else level for level in channel_pattern.split("/"))
    return matches(pattern, "/".join(levels))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return type(value).__name__
