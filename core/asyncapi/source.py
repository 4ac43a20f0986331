"""One file of an AsyncAPI document set: its text, its data, line numbers for errors, and the size caps.

A document and every file its ``$ref``s reach form one *document set*; :class:`Budget` counts the
bytes read and the values parsed over all of them, so splitting a bomb across files does not
get it past the caps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeAlias

import yaml

from eventdeck.core.asyncapi.errors import AsyncApiError

Parts: TypeAlias = tuple[str | int, ...]
"""Where a node is: the keys and list indices that lead to it from its file's root."""

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024  # a document and the files it references; real ones are a few hundred KiB
MAX_EXPANDED_NODES = 2_000_000  # values in a document set once YAML aliases and $refs are expanded

JSON_SUFFIXES = frozenset({".json", ".avsc"})
TEXT_SUFFIXES = frozenset({".proto", ".avdl", ".xsd", ".graphql", ".gql", ".thrift", ".txt"})
"""Schemas in other formats that are neither YAML nor JSON: a ``$ref`` to one gets the file's text."""
FileKind: TypeAlias = Literal["json", "yaml", "text"]

# libyaml's parser where it is installed (PyYAML wheels ship it): ten times faster on large documents.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Yaml12Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader with YAML 1.2 scalars, as AsyncAPI specifies: ``on``/``off``/``yes``/``no`` stay
    strings (an ``enum: [on, off]`` must not become booleans) and dates stay strings (examples
    must stay JSON)."""


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def pointer(parts: Parts) -> str:
    """``parts`` as a JSON Pointer fragment: ``#/channels/user~1signedup``."""
    return "#" + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def kind_of(value: Any) -> str:
    """What ``value`` is, for error messages: ``a mapping``, ``str 'x'``, ``nothing``..."""
    if value is None:
        return "nothing"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and "$ref" in value


def file_kind(name: str) -> FileKind:
    """How a file is read, by the suffix of its name (a path or a URL's path): YAML unless it says otherwise."""
    suffix = PurePosixPath(name.split("?", 1)[0]).suffix.lower()
    if suffix in JSON_SUFFIXES:
        return "json"
    return "text" if suffix in TEXT_SUFFIXES else "yaml"


def expanded_size(value: Any, limit: int = MAX_EXPANDED_NODES) -> int:
    """How many values ``value`` holds once every shared part (a YAML alias, an inlined ``$ref``) is
    written out in full; counted in time linear in the *distinct* parts, stopping past ``limit``."""
    sizes: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (Mapping, list)):
            return 1
        known = sizes.get(id(node))
        if known is None:
            children = node.values() if isinstance(node, Mapping) else node
            known = 1
            for child in children:
                known += size(child)
                if known > limit:
                    break
            sizes[id(node)] = known
        return known

    return size(value)


def check_expansion(value: Any, name: str, where: str = "", limit: int = MAX_EXPANDED_NODES) -> int:
    """The expanded size of ``value``; AsyncApiError past ``limit``."""
    size = expanded_size(value, limit)
    if size > limit:
        raise AsyncApiError(
            name,
            f"expands to more than {MAX_EXPANDED_NODES:,} values once its YAML aliases and $refs are written out "
            "(an alias or reference bomb?); refusing it",
            path=where,
        )
    return size


class Budget:
    """The caps of one document set, counted over all its files: bytes read and values parsed."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.values = 0

    @property
    def bytes_left(self) -> int:
        return MAX_DOCUMENT_BYTES - self.bytes

    def take_bytes(self, size: int, name: str) -> None:
        """Count ``size`` bytes of the file ``name``; AsyncApiError if the set would grow past the cap."""
        if size > self.bytes_left:
            cap = f"{MAX_DOCUMENT_BYTES // 2**20} MiB"
            if not self.files:
                raise AsyncApiError(name, f"larger than {cap}; refusing to read it")
            raise AsyncApiError(
                name,
                f"refusing to read it: with it, the document and the files it references would be larger than "
                f"{cap} together ({self.bytes / 2**20:.1f} MiB in {self.files} file(s) before it)",
            )
        self.files += 1
        self.bytes += size

    def take_values(self, data: Any, name: str) -> int:
        """Count the values of ``data`` (parsed from the file ``name``); AsyncApiError past the cap."""
        values = check_expansion(data, name, limit=MAX_EXPANDED_NODES - self.values)
        self.values += values
        return values

    @classmethod
    def starting_with(cls, root: Source) -> Budget:
        """A budget for the document set of ``root``, with ``root`` already counted."""
        budget = cls()
        budget.files, budget.bytes, budget.values = 1, len(root.text), root.values
        return budget


class Source:
    """One file's text and data; line numbers are looked up only when an error needs them.

    ``path`` is where a local file is (None for a text given directly), ``url`` where a fetched one came from.
    """

    def __init__(
        self, name: str, text: str, data: Any, path: Path | None = None, *, url: str | None = None, values: int = 0
    ) -> None:
        self.name = name
        self.text = text
        self.data = data
        self.path = path
        self.url = url
        self.values = values
        """How many values ``data`` holds once its YAML aliases are written out."""
        self._root: yaml.Node | bool | None = False  # False: not composed yet

    def line_of(self, parts: Parts) -> int | None:
        """The 1-based line of the node at ``parts`` (or of its deepest existing parent)."""
        if self._root is False:
            try:
                self._root = yaml.compose(self.text, Loader=_Yaml12Loader)
            except yaml.YAMLError:
                self._root = None
        node = self._root
        if not isinstance(node, yaml.Node):
            return None
        for key in parts:
            if isinstance(node, yaml.MappingNode):
                found = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(key)), None)
                if found is None:
                    break
                node = found
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                node = node.value[key]
            else:
                break
        return int(node.start_mark.line) + 1

    def error(self, parts: Parts, problem: str) -> AsyncApiError:
        return AsyncApiError(self.name, problem, line=self.line_of(parts), path=pointer(parts) if parts else "")


def parse_text(
    text: str,
    name: str,
    *,
    as_json: bool = False,
    path: Path | None = None,
    budget: Budget | None = None,
    kind: FileKind | None = None,
    url: str | None = None,
) -> Source:
    """Parse YAML (or JSON when ``as_json``, or ``kind``) text; syntax errors name ``name`` and the line.

    ``budget`` counts the text and its values in a document set's caps (a fresh one: this text alone).
    """
    budget = budget if budget is not None else Budget()
    budget.take_bytes(len(text), name)
    kind = kind or ("json" if as_json else "yaml")
    if kind == "text":
        return Source(name, text, text, path, url=url, values=budget.take_values(text, name))
    try:
        data = json.loads(text) if kind == "json" else yaml.load(text, Loader=_Yaml12Loader)
    except json.JSONDecodeError as exc:
        raise AsyncApiError(name, f"invalid JSON, column {exc.colno}: {exc.msg}", line=exc.lineno) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "invalid YAML"
        line = None if mark is None else mark.line + 1
        column = "" if mark is None else f", column {mark.column + 1}"
        raise AsyncApiError(name, f"invalid YAML{column}: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise AsyncApiError(name, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise AsyncApiError(name, "nested too deeply") from None
    return Source(name, text, data, path, url=url, values=budget.take_values(data, name))


def read_file(path: Path, name: str, budget: Budget | None = None) -> Source:
    """Read and parse the file at ``path`` (JSON when it ends in ``.json``); ``name`` is how errors call it."""
    budget = budget if budget is not None else Budget()
    try:
        if path.stat().st_size > budget.bytes_left:
            budget.take_bytes(path.stat().st_size, name)  # raises, saying which cap
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AsyncApiError(name, "no such file") from None
    except IsADirectoryError:
        raise AsyncApiError(name, "is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise AsyncApiError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise AsyncApiError(name, f"cannot be read: {exc.strerror or exc}") from None
    return parse_text(text, name, path=path, budget=budget, kind=file_kind(path.name))
