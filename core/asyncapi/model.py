"""What an imported AsyncAPI document means to EventDeck, the same for 2.x and 3.x documents.

Frozen dataclasses; schemas and examples are plain JSON-like data (dicts, lists, scalars) with
every ``$ref`` already inlined, to be treated as read-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from eventdeck.core.broker.channels import matches

JSON_SCHEMA_FORMATS = ("application/schema+json", "application/schema+yaml")
ASYNCAPI_SCHEMA_FORMATS = (
    "application/vnd.aai.asyncapi",
    "application/vnd.aai.asyncapi+json",
    "application/vnd.aai.asyncapi+yaml",
)
VALIDATED = "validated"
NO_SCHEMA = "no schema"
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_PARAMETER = re.compile(r"\{[^{}]*\}")


def is_json_schema_format(schema_format: str) -> bool:
    """Is ``schema_format`` JSON Schema or the AsyncAPI schema (a superset of JSON Schema draft 7)?"""
    base = schema_format.split(";", maxsplit=1)[0].strip().lower()
    return base in JSON_SCHEMA_FORMATS or base in ASYNCAPI_SCHEMA_FORMATS


@dataclass(frozen=True)
class Example:
    """One example of a message (AsyncAPI Message Example Object)."""

    name: str = ""
    summary: str = ""
    payload: Any = None
    headers: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class MessageSpec:
    """A message definition; the same instance is shared by every channel and operation using it."""

    name: str
    """The message's ``name``, else its key in ``components.messages``, else the key under which a
    channel lists it (3.x) or the operation id (2.x)."""
    title: str = ""
    summary: str = ""
    description: str = ""
    content_type: str = "application/json"
    headers: Mapping[str, Any] | None = None
    """JSON Schema of the headers, if any."""
    payload: Any = None
    """The payload schema (in ``schema_format``), if any."""
    schema_format: str = "application/vnd.aai.asyncapi+json;version=3.0.0"
    examples: tuple[Example, ...] = ()
    correlation_id: str | None = None
    """Where the correlation id is, as a runtime expression (``$message.header#/correlation_id``)."""
    origin: str = ""
    """Where it is defined (``#/components/messages/lightMeasured``); distinct definitions differ."""
    key: str = ""
    """Its id: its key in ``components.messages``, else the key under which a channel first lists it
    (3.x), else the operation id (2.x)."""
    extensions: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """Its ``x-...`` fields (after traits), e.g. ``x-eventdeck-generate``."""
    unavailable: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """The remote references its payload schema needs that are not available (absolute URL -> status,
    e.g. ``not available (remote reference, not fetched)``); the whole message when it is one."""

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def schema_status(self) -> str:
        """``validated``, ``no schema``, ``not validated: <schema format>`` (Avro, Protobuf...), or
        ``not available (remote reference, ...)`` when its schema needs a remote document EventDeck lacks."""
        if self.payload is None and not self.unavailable:
            return NO_SCHEMA
        if not is_json_schema_format(self.schema_format):
            return f"not validated: {self.schema_format}"
        if self.unavailable:
            return next(iter(self.unavailable.values()))
        return VALIDATED

    @property
    def validatable(self) -> bool:
        """Has it a payload schema EventDeck can validate with (JSON Schema or AsyncAPI schema), all there?"""
        return self.schema_status == VALIDATED


@dataclass(frozen=True)
class Channel:
    """A channel; ``address`` is None when only known at run time (e.g. a reply channel)."""

    key: str
    """The channel's id: its key under ``channels`` (in 2.x, that is also its address)."""
    address: str | None
    title: str = ""
    summary: str = ""
    description: str = ""
    messages: tuple[MessageSpec, ...] = ()
    parameters: tuple[str, ...] = ()

    @property
    def pattern(self) -> str | None:
        """The address as a subscription pattern: each level with a ``{parameter}`` becomes ``+``."""
        if self.address is None:
            return None
        return "/".join("+" if _PARAMETER.search(level) else level for level in self.address.split("/"))

    @property
    def parameterized(self) -> bool:
        """Is part of the address a ``{parameter}``, so that it cannot be published to as is?"""
        return self.address is not None and _PARAMETER.search(self.address) is not None

    def message(self, key: str) -> MessageSpec:
        """The message with id ``key`` (KeyError if the channel carries none)."""
        for message in self.messages:
            if message.key == key:
                return message
        raise KeyError(f"channel {self.key!r} has no message {key!r}")

    def carries(self, channel: str) -> bool:
        """Does a message published to ``channel`` (a concrete name) belong to this channel?"""
        pattern = self.pattern
        return pattern is not None and matches(pattern, channel)


@dataclass(frozen=True)
class Reply:
    """A 3.x operation's ``reply``: where the answer goes and what it looks like."""

    channel: Channel | None = None
    address_location: str | None = None
    """A runtime expression naming where the reply address is, e.g. ``$message.header#/replyTo``."""
    messages: tuple[MessageSpec, ...] = ()


@dataclass(frozen=True)
class Operation:
    """What the application does on a channel: ``send`` or ``receive``; one with a ``reply`` is a command."""

    key: str
    action: Literal["send", "receive"]
    channel: Channel
    messages: tuple[MessageSpec, ...] = ()
    reply: Reply | None = None
    title: str = ""
    summary: str = ""
    description: str = ""
    origin: str = ""
    """Where it is defined (``#/operations/sendPing``)."""
    extensions: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """Its ``x-...`` fields (after traits), e.g. ``x-eventdeck-publisher``."""

    @property
    def is_command(self) -> bool:
        return self.reply is not None


@dataclass(frozen=True)
class Server:
    """A server (broker) the document's application connects to."""

    name: str
    host: str
    """Host and port as written, possibly with ``{variables}``."""
    protocol: str
    protocol_version: str = ""
    pathname: str = ""
    description: str = ""
    variables: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """Each variable's default value."""

    @property
    def resolved_host(self) -> str:
        """``host`` with each ``{variable}`` replaced by its default (left as is when it has none)."""
        return _PARAMETER.sub(lambda m: self.variables.get(m.group(0)[1:-1], m.group(0)), self.host)


@dataclass(frozen=True)
class Document:
    """An imported AsyncAPI document."""

    source: str
    version: str
    """The ``asyncapi`` field: ``2.6.0``, ``3.0.0``..."""
    title: str
    api_version: str = ""
    description: str = ""
    default_content_type: str = "application/json"
    channels: tuple[Channel, ...] = ()
    messages: tuple[MessageSpec, ...] = ()
    """Each distinct message definition once, in the order channels first use them."""
    operations: tuple[Operation, ...] = ()
    servers: tuple[Server, ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    """The top-level ``x-...`` fields."""
    files: tuple[str, ...] = ()
    """The other files of its document set that were read: local paths, and URLs of fetched documents."""
    remote_refs: Mapping[str, str | None] = field(default_factory=lambda: _EMPTY)
    """Each remote document its ``$ref``s name (URL without fragment): None when fetched, else why it
    is not available (``not available (remote reference, not fetched)``)."""

    def channel(self, key: str) -> Channel:
        """The channel with id ``key`` (KeyError if none)."""
        for channel in self.channels:
            if channel.key == key:
                return channel
        raise KeyError(f"no channel {key!r} in {self.source}")

    def channels_for(self, channel: str) -> tuple[Channel, ...]:
        """The document's channels a message published to ``channel`` belongs to."""
        return tuple(c for c in self.channels if c.carries(channel))

    @property
    def unchecked(self) -> tuple[tuple[MessageSpec, str], ...]:
        """Each message whose payload schema is not validated, with why: ``not validated: <schema format>``
        or ``not available (remote reference, ...)``."""
        statuses = ((message, message.schema_status) for message in self.messages)
        return tuple((message, status) for message, status in statuses if status not in (VALIDATED, NO_SCHEMA))

    @property
    def commands(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.operations if op.is_command)
