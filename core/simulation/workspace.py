"""Workspaces: an AsyncAPI 3 document plus EventDeck's simulation settings.

A workspace is an AsyncAPI 3.x document (YAML or JSON), imported by :mod:`eventdeck.core.asyncapi`
(its ``$ref``s, channels, messages, operations and replies); :mod:`.interpreter` reads the
``x-eventdeck-...`` fields that drive the simulation: publishers with a rate on send operations
(:mod:`.settings`), a responder with a delay on receive operations with a reply, subscribers with
a delay, a failure rate and durability on the other receive operations, and per-field payload
generators on messages (:mod:`.generators`); :mod:`.story_parser` reads the ``x-eventdeck-story``
a presenter walks a room through (:mod:`.story`).

Every problem raises :class:`WorkspaceError` naming the file, the line when it is known, the
JSON path inside the document, and what is wrong::

    workspace = load_demo()
    workspace = load_workspace("my-system.yaml")
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.loader import Source, parse_text, read_file
from eventdeck.core.asyncapi.model import Channel, Document, MessageSpec
from eventdeck.core.asyncapi.normalise import normalise
from eventdeck.core.simulation.extension_schema import check_extensions
from eventdeck.core.simulation.generators import NO_GENERATORS, FieldGenerators
from eventdeck.core.simulation.interpreter import interpret
from eventdeck.core.simulation.settings import OperationSpec
from eventdeck.core.simulation.story import Story
from eventdeck.core.simulation.story_parser import parse_story

__all__ = [
    "DEMO_RESOURCE",
    "Workspace",
    "WorkspaceError",
    "load_demo",
    "load_resource",
    "load_workspace",
    "parse_workspace",
]

DEMO_RESOURCE = "scenarios/household.yaml"
"""Where the demo workspace (the household scenario) lives inside the ``eventdeck.resources`` package."""
SUPPORTED_MAJOR = "3"


class WorkspaceError(AsyncApiError):
    """A workspace document could not be read: names the file, the line, the JSON path, and what is wrong."""

    @property
    def source(self) -> str:
        """The file (or resource) the document came from."""
        return self.file


@dataclass(frozen=True)
class Workspace:
    """A loaded workspace: the imported document and the simulation it describes."""

    document: Document
    operations: tuple[OperationSpec, ...] = ()
    """The document's operations, in order, with their simulation settings."""
    message_generators: Mapping[str, FieldGenerators] = field(default_factory=lambda: MappingProxyType({}))
    """Each message's ``x-eventdeck-generate`` generators, by the message's ``origin``."""
    story: Story | None = None
    """The ``x-eventdeck-story`` a presenter walks through, if the document tells one."""

    @property
    def source(self) -> str:
        """Where it came from (a file path, or ``eventdeck.resources/scenarios/household.yaml``)."""
        return self.document.source

    @property
    def version(self) -> str:
        """The AsyncAPI version (``3.0.0``), as :attr:`Document.version`."""
        return self.document.version

    @property
    def title(self) -> str:
        return self.document.title

    @property
    def api_version(self) -> str:
        """The document's own version (``info.version``), as :attr:`Document.api_version`."""
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

    def generators(self, message: MessageSpec) -> FieldGenerators:
        """How the simulation varies each payload field of ``message``, in document order."""
        return self.message_generators.get(message.origin, NO_GENERATORS)

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
    """The demo workspace packaged with EventDeck: the household scenario."""
    return load_resource(DEMO_RESOURCE)


def load_resource(resource: str) -> Workspace:
    """A workspace packaged with EventDeck, by its path inside ``eventdeck.resources`` (``scenarios/...``)."""
    text = importlib.resources.files("eventdeck.resources").joinpath(resource).read_text(encoding="utf-8")
    return parse_workspace(text, f"eventdeck.resources/{resource}")


def parse_workspace(text: str, source: str = "<workspace>") -> Workspace:
    """Read a workspace from the text of a document (JSON when ``source`` ends in ``.json``)."""
    return _read(lambda: parse_text(text, source, as_json=source.lower().endswith(".json")))


def _read(parse: Callable[[], Source]) -> Workspace:
    try:
        source = parse()
        _check_version(source)
        document = normalise(source)
        operations, generators = interpret(source, document)
        story = parse_story(source, document, operations)
        check_extensions(source)  # after the reader, whose messages are more specific
        return Workspace(document, operations, generators, story)
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
