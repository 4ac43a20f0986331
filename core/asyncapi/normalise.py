"""AsyncAPI 2.x and 3.x documents read into the one model of :mod:`.model`.

Pure functions: they return a :class:`Document` or raise :class:`AsyncApiError` naming the file,
the line, the JSON path and the problem, so nothing is ever half-imported::

    document = load_document("streetlights.yaml")
    document = load_document("services/orders.yaml", fetch_remote_refs=True)   # https://... $refs too

2.x ``publish`` (others publish, the application receives) becomes a ``receive`` operation and
``subscribe`` a ``send`` one, as AsyncAPI 3 defines them. Traits are merged (2.x: the trait wins,
3.x: the object wins), every ``$ref`` in the document is checked, and each payload schema in JSON
Schema form is checked to be a valid schema. A message or payload schema that needs a remote
document that is not available is kept, marked ``unavailable`` (see :mod:`.remote`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.loader import (
    Parts,
    RemoteRefError,
    Resolver,
    Source,
    kind_of,
    parse_text,
    read_file,
    unavailable_in,
)
from eventdeck.core.asyncapi.model import Channel, Document, Example, MessageSpec, Operation, Reply, Server
from eventdeck.core.asyncapi.remote import RemoteRefs
from eventdeck.core.asyncapi.validate import schema_problem

_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_V2_VERBS: dict[str, Literal["send", "receive"]] = {"subscribe": "send", "publish": "receive"}


def load_document(path: str | os.PathLike[str], *, fetch_remote_refs: bool = False) -> Document:
    """Import the AsyncAPI document (YAML, or JSON when it ends in ``.json``) at ``path`` and the files it
    references; documents on the web too when ``fetch_remote_refs`` (else their schemas are not available)."""
    name = os.fspath(path)
    return normalise(read_file(Path(name), name), RemoteRefs(fetch=fetch_remote_refs))


def parse_document(text: str, name: str = "<document>", *, as_json: bool = False) -> Document:
    """Import a document from its text (it reaches other files by absolute path only: it has no folder)."""
    return normalise(parse_text(text, name, as_json=as_json))


def normalise(source: Source, remote: RemoteRefs | None = None) -> Document:
    """The parsed ``source`` as a :class:`Document`; ``remote`` says whether remote documents are fetched
    (by default not)."""
    data = source.data
    if not isinstance(data, Mapping):
        raise source.error((), f"not an AsyncAPI document: expected a mapping at the top, got {kind_of(data)}")
    version = _version(source, data)
    resolver = Resolver(source, remote)
    # Checks every $ref once, used or not: a dangling one or a cycle anywhere fails the import.
    resolver.inline(data, source, ())
    reader = _V2Reader if version.startswith("2.") else _V3Reader
    return reader(resolver, version).document()


def _version(source: Source, data: Mapping[str, Any]) -> str:
    if "asyncapi" not in data:
        other = next((k for k in ("openapi", "swagger") if k in data), None)
        if other is not None:
            raise source.error((other,), f"an OpenAPI document ({other}: {data[other]}), not an AsyncAPI one")
        raise source.error((), "not an AsyncAPI document: no 'asyncapi' field naming its version")
    version = str(data["asyncapi"])
    match = _VERSION.fullmatch(version)
    known = match is not None and (
        (match.group(1) == "2" and int(match.group(2)) <= 6) or (match.group(1) == "3" and int(match.group(2)) <= 1)
    )
    if not known:
        raise source.error(
            ("asyncapi",), f"unsupported AsyncAPI version {version!r}: EventDeck reads 2.0 to 2.6 and 3.0 to 3.1"
        )
    return version


def _extensions(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``x-...`` fields of an (inlined) object, read-only."""
    return MappingProxyType({k: v for k, v in value.items() if isinstance(k, str) and k.startswith("x-")})


def _merge_patch(target: Any, patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386 JSON Merge Patch: how AsyncAPI applies traits."""
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            result[key] = _merge_patch(result.get(key), value)
        else:
            result[key] = value
    return result


class _Reader:
    """What both versions share: type checks, messages, servers and the final assembly."""

    traits_win = False

    def __init__(self, resolver: Resolver, version: str) -> None:
        self.resolver = resolver
        self.source = resolver.root
        self.data: Mapping[str, Any] = resolver.root.data
        self.version = version
        self.default_content_type = "application/json"
        self.messages: dict[str, MessageSpec] = {}  # by where each is defined
        self.channels: dict[str, Channel] = {}  # by where each is defined

    # -- helpers -----------------------------------------------------------

    def fail(self, source: Source, parts: Parts, problem: str) -> AsyncApiError:
        return source.error(parts, problem)

    def mapping(self, value: Any, source: Source, parts: Parts, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(source, parts, f"{what} must be a mapping, got {kind_of(value)}")
        return value

    def entries(self, parent: Mapping[str, Any], key: str, source: Source, parts: Parts) -> Mapping[str, Any]:
        """The optional mapping ``parent[key]``, empty when absent."""
        value = parent.get(key)
        return {} if value is None else self.mapping(value, source, (*parts, key), f"'{key}'")

    def text(self, parent: Mapping[str, Any], key: str, source: Source, parts: Parts, default: str = "") -> str:
        value = parent.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(source, (*parts, key), f"'{key}' must be text, got {kind_of(value)}")
        return str(value)

    def follow(self, value: Any, source: Source, parts: Parts, what: str) -> tuple[Mapping[str, Any], Source, Parts]:
        value, source, parts = self.resolver.follow(value, source, parts)
        return self.mapping(value, source, parts, what), source, parts

    def with_traits(self, value: Mapping[str, Any], source: Source, parts: Parts) -> Mapping[str, Any]:
        """``value`` (already inlined) with its ``traits`` merged in."""
        traits = value.get("traits")
        if traits is None:
            return value
        if not isinstance(traits, list):
            raise self.fail(source, (*parts, "traits"), f"'traits' must be a list, got {kind_of(traits)}")
        own = {k: v for k, v in value.items() if k != "traits"}
        merged: dict[str, Any] = own if self.traits_win else {}
        for index, trait in enumerate(traits):
            merged = _merge_patch(merged, self.mapping(trait, source, (*parts, "traits", index), "a trait"))
        return merged if self.traits_win else _merge_patch(merged, own)

    # -- the document --------------------------------------------------------

    def document(self) -> Document:
        info = self.mapping(self.data.get("info"), self.source, ("info",), "'info'")
        for required in ("title", "version"):
            if required not in info:
                raise self.fail(self.source, ("info",), f"'info' has no '{required}'")
        self.default_content_type = self.text(self.data, "defaultContentType", self.source, (), "application/json")
        servers = tuple(
            self.server(name, node) for name, node in self.entries(self.data, "servers", self.source, ()).items()
        )
        channels, operations = self.read_channels_and_operations()
        messages: dict[str, MessageSpec] = {}
        for spec in (m for c in channels for m in c.messages):
            messages.setdefault(spec.origin, spec)
        for operation in operations:
            for spec in (*operation.messages, *(operation.reply.messages if operation.reply else ())):
                messages.setdefault(spec.origin, spec)
        return Document(
            source=self.source.name,
            version=self.version,
            title=self.text(info, "title", self.source, ("info",)),
            api_version=self.text(info, "version", self.source, ("info",)),
            description=self.text(info, "description", self.source, ("info",)),
            default_content_type=self.default_content_type,
            channels=channels,
            messages=tuple(messages.values()),
            operations=operations,
            servers=servers,
            extensions=_extensions(self.resolver.inline(_extensions(self.data), self.source, ())),
            files=self.resolver.files,
            remote_refs=MappingProxyType(dict(self.resolver.remote.outcomes)),
        )

    def read_channels_and_operations(self) -> tuple[tuple[Channel, ...], tuple[Operation, ...]]:
        raise NotImplementedError

    def server(self, name: str, node: Any) -> Server:
        value, source, parts = self.follow(node, self.source, ("servers", name), f"server {name!r}")
        variables = {
            str(var): str(spec.get("default", "")) if isinstance(spec, Mapping) else ""
            for var, spec in self.resolver.inline(
                self.entries(value, "variables", source, parts), source, parts
            ).items()
        }
        if "url" in value:  # 2.x: [scheme://]host[:port][/path]
            url = _SCHEME.sub("", self.text(value, "url", source, parts))
            host, slash, path = url.partition("/")
            pathname = slash + path
        else:
            host = self.text(value, "host", source, parts)
            pathname = self.text(value, "pathname", source, parts)
        return Server(
            name=name,
            host=host,
            protocol=self.text(value, "protocol", source, parts),
            protocol_version=self.text(value, "protocolVersion", source, parts),
            pathname=pathname,
            description=self.text(value, "description", source, parts),
            variables=MappingProxyType(variables),
        )

    def message(self, node: Any, source: Source, parts: Parts, fallback_name: str) -> MessageSpec:
        """The message at ``node`` (a Message Object or a ``$ref`` to one), built once per definition."""
        try:
            value, source, parts = self.follow(node, source, parts, "a message")
        except RemoteRefError as exc:
            return self.unavailable_message(exc, fallback_name)
        origin = self.resolver.where(source, parts)
        if origin in self.messages:
            return self.messages[origin]
        raw = self.with_traits(self.resolver.inline(value, source, parts), source, parts)
        component = parts[2] if len(parts) == 3 and parts[:2] == ("components", "messages") else None
        payload, schema_format = self.schema(raw, "payload", source, parts)
        headers, _ = self.schema(raw, "headers", source, parts)
        if headers is not None and not isinstance(headers, Mapping):
            raise self.fail(
                source, (*parts, "headers"), f"'headers' must be a schema (a mapping), got {kind_of(headers)}"
            )
        correlation = raw.get("correlationId")
        if correlation is not None:
            correlation = self.text(
                self.mapping(correlation, source, (*parts, "correlationId"), "'correlationId'"),
                "location",
                source,
                (*parts, "correlationId"),
            )
        spec = MessageSpec(
            name=self.text(raw, "name", source, parts) or str(component or fallback_name),
            title=self.text(raw, "title", source, parts),
            summary=self.text(raw, "summary", source, parts),
            description=self.text(raw, "description", source, parts),
            content_type=self.text(raw, "contentType", source, parts) or self.default_content_type,
            headers=headers,
            payload=payload,
            schema_format=schema_format,
            examples=self.examples(raw, source, parts),
            correlation_id=correlation or None,
            origin=origin,
            key=str(component or fallback_name),
            extensions=_extensions(raw),
            unavailable=MappingProxyType(unavailable_in(payload)),
        )
        self.messages[origin] = spec
        return spec

    def unavailable_message(self, exc: RemoteRefError, fallback_name: str) -> MessageSpec:
        """A message defined in a remote document that is not available: known by name only."""
        if exc.reference not in self.messages:
            self.messages[exc.reference] = MessageSpec(
                name=fallback_name,
                content_type=self.default_content_type,
                schema_format=self.default_schema_format,
                origin=exc.reference,
                key=fallback_name,
                unavailable=MappingProxyType({exc.reference: exc.status}),
            )
        return self.messages[exc.reference]

    def schema(self, raw: Mapping[str, Any], key: str, source: Source, parts: Parts) -> tuple[Any, str]:
        """A message's payload or headers schema and its format (unwrapping a 3.x Multi Format Schema)."""
        value = raw.get(key)
        schema_format = self.text(raw, "schemaFormat", source, parts) or self.default_schema_format
        if self.version.startswith("3.") and isinstance(value, Mapping) and "schemaFormat" in value:
            schema_format = self.text(value, "schemaFormat", source, (*parts, key))
            value = value.get("schema")
            parts = (*parts, key, "schema")
        else:
            parts = (*parts, key)
        if value is not None:
            problem = schema_problem(value, schema_format)
            if problem:
                raise self.fail(source, parts, problem)
        return value, schema_format

    @property
    def default_schema_format(self) -> str:
        return f"application/vnd.aai.asyncapi+json;version={self.version}"

    def examples(self, raw: Mapping[str, Any], source: Source, parts: Parts) -> tuple[Example, ...]:
        value = raw.get("examples")
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(source, (*parts, "examples"), f"'examples' must be a list, got {kind_of(value)}")
        examples = []
        for index, item in enumerate(value):
            where = (*parts, "examples", index)
            example = self.mapping(item, source, where, "an example")
            headers = example.get("headers")
            if headers is not None:
                headers = MappingProxyType(dict(self.mapping(headers, source, (*where, "headers"), "'headers'")))
            examples.append(
                Example(
                    name=self.text(example, "name", source, where),
                    summary=self.text(example, "summary", source, where),
                    payload=example.get("payload"),
                    headers=headers,
                )
            )
        return tuple(examples)


class _V2Reader(_Reader):
    """2.x: channels are keyed by address and carry ``publish``/``subscribe`` operations."""

    traits_win = True

    def read_channels_and_operations(self) -> tuple[tuple[Channel, ...], tuple[Operation, ...]]:
        channels: list[Channel] = []
        operations: list[Operation] = []
        for address, node in self.entries(self.data, "channels", self.source, ()).items():
            item, source, parts = self.follow(node, self.source, ("channels", address), f"channel {address!r}")
            found: list[tuple[str, Mapping[str, Any], Source, Parts, tuple[MessageSpec, ...]]] = []
            for verb in (k for k in item if k in _V2_VERBS):
                op_node, op_source, op_parts = self.follow(item[verb], source, (*parts, verb), f"'{verb}'")
                op = self.with_traits(self.resolver.inline(op_node, op_source, op_parts), op_source, op_parts)
                key = self.text(op, "operationId", op_source, op_parts) or f"{address}.{verb}"
                found.append(
                    (verb, op, op_source, op_parts, self.operation_messages(op_node, op_source, op_parts, key))
                )
            messages: dict[str, MessageSpec] = {}
            for spec in (m for *_, specs in found for m in specs):
                messages.setdefault(spec.origin, spec)
            channel = Channel(
                key=str(address),
                address=str(address),
                description=self.text(item, "description", source, parts),
                messages=tuple(messages.values()),
                parameters=tuple(str(p) for p in self.entries(item, "parameters", source, parts)),
            )
            channels.append(channel)
            for verb, op, op_source, op_parts, specs in found:
                operations.append(
                    Operation(
                        key=self.text(op, "operationId", op_source, op_parts) or f"{address}.{verb}",
                        action=_V2_VERBS[verb],
                        channel=channel,
                        messages=specs,
                        summary=self.text(op, "summary", op_source, op_parts),
                        description=self.text(op, "description", op_source, op_parts),
                        origin=self.resolver.where(op_source, op_parts),
                        extensions=_extensions(op),
                    )
                )
        return tuple(channels), tuple(operations)

    def operation_messages(
        self, op: Mapping[str, Any], source: Source, parts: Parts, key: str
    ) -> tuple[MessageSpec, ...]:
        node = op.get("message")
        if node is None:
            return ()
        try:
            value, msg_source, msg_parts = self.follow(node, source, (*parts, "message"), "'message'")
        except RemoteRefError as exc:
            return (self.unavailable_message(exc, key),)
        if "oneOf" not in value:
            return (self.message(node, source, (*parts, "message"), key),)
        choices = value["oneOf"]
        if not isinstance(choices, list):
            raise self.fail(msg_source, (*msg_parts, "oneOf"), f"'oneOf' must be a list, got {kind_of(choices)}")
        return tuple(
            self.message(choice, msg_source, (*msg_parts, "oneOf", index), f"{key}.{index}")
            for index, choice in enumerate(choices)
        )


class _V3Reader(_Reader):
    """3.x: channels have addresses and messages; operations point at them."""

    def read_channels_and_operations(self) -> tuple[tuple[Channel, ...], tuple[Operation, ...]]:
        channels = tuple(
            self.channel(key, node) for key, node in self.entries(self.data, "channels", self.source, ()).items()
        )
        operations = tuple(
            self.operation(key, node) for key, node in self.entries(self.data, "operations", self.source, ()).items()
        )
        return channels, operations

    def channel(self, key: str, node: Any) -> Channel:
        value, source, parts = self.follow(node, self.source, ("channels", key), f"channel {key!r}")
        address = value.get("address")
        if address is not None and not isinstance(address, str):
            raise self.fail(source, (*parts, "address"), f"'address' must be text or null, got {kind_of(address)}")
        messages = self.entries(value, "messages", source, parts)
        channel = Channel(
            key=str(key),
            address=address,
            title=self.text(value, "title", source, parts),
            summary=self.text(value, "summary", source, parts),
            description=self.text(value, "description", source, parts),
            messages=tuple(
                self.message(node, source, (*parts, "messages", name), str(name)) for name, node in messages.items()
            ),
            parameters=tuple(str(p) for p in self.entries(value, "parameters", source, parts)),
        )
        self.channels.setdefault(self.resolver.where(source, parts), channel)
        return channel

    def channel_at(self, node: Any, source: Source, parts: Parts) -> Channel:
        """The document channel ``node`` (a ``$ref``) points to."""
        if node is None:
            raise self.fail(source, parts[:-1], f"has no '{parts[-1]}'")
        _, target, target_parts = self.resolver.follow(node, source, parts)
        channel = self.channels.get(self.resolver.where(target, target_parts))
        if channel is None:
            raise self.fail(source, parts, "must be a $ref to one of the document's channels (#/channels/...)")
        return channel

    def message_list(self, value: Mapping[str, Any], source: Source, parts: Parts) -> tuple[MessageSpec, ...] | None:
        """The ``messages`` list of an operation or reply (None when absent)."""
        nodes = value.get("messages")
        if nodes is None:
            return None
        if not isinstance(nodes, list):
            raise self.fail(source, (*parts, "messages"), f"'messages' must be a list, got {kind_of(nodes)}")
        return tuple(
            self.message(node, source, (*parts, "messages", index), f"{parts[-1]}.{index}")
            for index, node in enumerate(nodes)
        )

    def operation(self, key: str, node: Any) -> Operation:
        value, source, parts = self.follow(node, self.source, ("operations", key), f"operation {key!r}")
        merged = self.with_traits(self.resolver.inline(value, source, parts), source, parts)
        action = value.get("action")
        if action is None:
            raise self.fail(source, parts, "missing required field 'action'")
        if action not in ("send", "receive"):
            raise self.fail(source, (*parts, "action"), f"'action' must be 'send' or 'receive', got {kind_of(action)}")
        channel = self.channel_at(value.get("channel"), source, (*parts, "channel"))
        messages = self.message_list(value, source, parts)
        reply = None
        if value.get("reply") is not None:
            reply = self.reply(value["reply"], source, (*parts, "reply"))
        return Operation(
            key=str(key),
            action=action,
            channel=channel,
            messages=channel.messages if messages is None else messages,
            reply=reply,
            title=self.text(merged, "title", source, parts),
            summary=self.text(merged, "summary", source, parts),
            description=self.text(merged, "description", source, parts),
            origin=self.resolver.where(source, parts),
            extensions=_extensions(merged),
        )

    def reply(self, node: Any, source: Source, parts: Parts) -> Reply:
        value, source, parts = self.follow(node, source, parts, "'reply'")
        channel = None
        if value.get("channel") is not None:
            channel = self.channel_at(value["channel"], source, (*parts, "channel"))
        location = None
        if value.get("address") is not None:
            address, address_source, address_parts = self.follow(
                value["address"], source, (*parts, "address"), "'address'"
            )
            location = self.text(address, "location", address_source, address_parts) or None
        messages = self.message_list(value, source, parts)
        if messages is None:
            messages = channel.messages if channel is not None else ()
        return Reply(channel=channel, address_location=location, messages=messages)
