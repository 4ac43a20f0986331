"""Reading AsyncAPI documents: YAML or JSON text, line numbers for errors, and ``$ref`` resolution.

``$ref``s may point inside the document (``#/components/...``) or to a file beside it
(``schemas/user.yaml#/User``, relative to the file holding the ``$ref``, never outside the
document's folder, never a URL). Dangling references and cycles raise :class:`AsyncApiError`
naming the reference and where it is used.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import unquote

import yaml

from eventdeck.core.asyncapi.errors import AsyncApiError

Parts: TypeAlias = tuple[str | int, ...]
"""Where a node is: the keys and list indices that lead to it from its file's root."""


MAX_DOCUMENT_BYTES = 8 * 1024 * 1024  # a document or a file it references; real ones are a few hundred KiB
MAX_EXPANDED_NODES = 2_000_000  # values in a document once YAML aliases and $refs are expanded

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


def _cycle(chain: Sequence[str], here: str) -> str:
    """The problem of a chain of ``$ref``s that comes back to ``here``."""
    return "$ref cycle: " + " -> ".join([*chain[chain.index(here) :], here])


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


def _check_expansion(value: Any, name: str, where: str = "") -> None:
    if expanded_size(value) > MAX_EXPANDED_NODES:
        raise AsyncApiError(
            name,
            f"expands to more than {MAX_EXPANDED_NODES:,} values once its YAML aliases and $refs are written out "
            "(an alias or reference bomb?); refusing it",
            path=where,
        )


def is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and "$ref" in value


class Source:
    """One file's text and data; line numbers are looked up only when an error needs them."""

    def __init__(self, name: str, text: str, data: Any, path: Path | None = None) -> None:
        self.name = name
        self.text = text
        self.data = data
        self.path = path
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


def parse_text(text: str, name: str, *, as_json: bool = False, path: Path | None = None) -> Source:
    """Parse YAML (or JSON when ``as_json``) text; syntax errors name ``name`` and the line."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise AsyncApiError(name, f"larger than {MAX_DOCUMENT_BYTES // 2**20} MiB; refusing to read it")
    try:
        data = json.loads(text) if as_json else yaml.load(text, Loader=_Yaml12Loader)
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
    _check_expansion(data, name)
    return Source(name, text, data, path)


def read_file(path: Path, name: str) -> Source:
    """Read and parse the file at ``path`` (JSON when it ends in ``.json``); ``name`` is how errors call it."""
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise AsyncApiError(name, f"larger than {MAX_DOCUMENT_BYTES // 2**20} MiB; refusing to read it")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AsyncApiError(name, "no such file") from None
    except IsADirectoryError:
        raise AsyncApiError(name, "is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise AsyncApiError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise AsyncApiError(name, f"cannot be read: {exc.strerror or exc}") from None
    return parse_text(text, name, as_json=path.suffix.lower() == ".json", path=path)


class Resolver:
    """Follows and inlines ``$ref``s across the root document and the files beside it."""

    def __init__(self, root: Source) -> None:
        self.root = root
        self.folder = root.path.resolve().parent if root.path is not None else None
        self._files: dict[Path, Source] = {} if root.path is None else {root.path.resolve(): root}
        self._inlined: dict[str, Any] = {}
        self._copies: dict[int, tuple[Any, Any]] = {}  # id -> (original, copy): a YAML alias stays one object

    def where(self, source: Source, parts: Parts) -> str:
        """How a location is shown in messages: ``#/a/b`` in the root document, ``file#/a/b`` elsewhere."""
        if source is self.root or source.path is None or self.folder is None:
            return pointer(parts)
        return source.path.resolve().relative_to(self.folder).as_posix() + pointer(parts)

    def target(self, ref: Any, source: Source, parts: Parts) -> tuple[Any, Source, Parts]:
        """One step: the node ``ref`` (the ``$ref`` value found at ``parts`` of ``source``) points to."""
        if not isinstance(ref, str):
            raise source.error(parts, f"$ref must be a string, got {type(ref).__name__}")
        file_part, _, fragment = ref.partition("#")
        target_source = self._file(file_part, ref, source, parts) if file_part else source
        fragment = unquote(fragment)
        if fragment and not fragment.startswith("/"):
            raise source.error(parts, f"$ref {ref!r}: the part after '#' must be a JSON Pointer starting with '/'")
        node: Any = target_source.data
        node_parts: Parts = ()
        for raw in fragment.split("/")[1:] if fragment else ():
            key = raw.replace("~1", "/").replace("~0", "~")
            node, target_source, node_parts = self._follow_chain(node, target_source, node_parts)
            if isinstance(node, Mapping):
                found = next((k for k in node if str(k) == key), None)
                if found is None:
                    raise source.error(
                        parts, f"$ref {ref!r} points to nothing: no {key!r} in {self.where(target_source, node_parts)}"
                    )
                node, node_parts = node[found], (*node_parts, found)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node, node_parts = node[int(key)], (*node_parts, int(key))
            else:
                raise source.error(
                    parts, f"$ref {ref!r} points to nothing: no {key!r} in {self.where(target_source, node_parts)}"
                )
        return node, target_source, node_parts

    def follow(self, value: Any, source: Source, parts: Parts) -> tuple[Any, Source, Parts]:
        """``value`` itself, or what its chain of ``$ref``s ends at, with where that is."""
        return self._follow_chain(value, source, parts)

    def _follow_chain(self, value: Any, source: Source, parts: Parts) -> tuple[Any, Source, Parts]:
        seen: list[str] = []
        used_in, used_at = source, (*parts, "$ref")
        while is_ref(value):
            ref_parts = (*parts, "$ref")
            value, source, parts = self.target(value["$ref"], source, ref_parts)
            here = self.where(source, parts)
            if here in seen:
                raise used_in.error(used_at, _cycle(seen, here))
            seen.append(here)
        return value, source, parts

    def inline(self, value: Any, source: Source, parts: Parts) -> Any:
        """A copy of ``value`` with every ``$ref`` in it replaced by what it points to.

        Each target is inlined once and shared. A target that contains a reference to itself
        (directly or through others) is a cycle, reported with the chain of references.
        """
        try:
            inlined = self._inline(value, source, parts, ())
        except RecursionError:
            raise source.error(parts, "nested too deeply") from None
        _check_expansion(inlined, source.name, pointer(parts) if parts else "")
        return inlined

    def _inline(self, value: Any, source: Source, parts: Parts, stack: tuple[str, ...]) -> Any:
        if is_ref(value):
            ref_parts = (*parts, "$ref")
            target, target_source, target_parts = self.target(value["$ref"], source, ref_parts)
            here = self.where(target_source, target_parts)
            if here in stack:
                raise source.error(ref_parts, _cycle(stack, here))
            if here not in self._inlined:
                self._inlined[here] = self._inline(target, target_source, target_parts, (*stack, here))
            return self._inlined[here]
        if not isinstance(value, (Mapping, list)):
            return value
        copied = self._copies.get(id(value))
        if copied is not None and copied[0] is value:
            return copied[1]
        if isinstance(value, Mapping):
            copy: Any = {k: self._inline(v, source, (*parts, k), stack) for k, v in value.items()}
        else:
            copy = [self._inline(v, source, (*parts, i), stack) for i, v in enumerate(value)]
        self._copies[id(value)] = (value, copy)
        return copy

    def _file(self, file_part: str, ref: str, source: Source, parts: Parts) -> Source:
        if "://" in file_part or file_part.startswith(("/", "\\")) or os.path.isabs(file_part):
            raise source.error(parts, f"$ref {ref!r}: only files beside the document can be referenced")
        if self.folder is None or source.path is None:
            raise source.error(parts, f"$ref {ref!r}: refers to a file, but this document was not read from one")
        path = (source.path.resolve().parent / unquote(file_part)).resolve()
        if not path.is_relative_to(self.folder):
            raise source.error(parts, f"$ref {ref!r}: points outside the document's folder")
        if path not in self._files:
            if not path.is_file():
                raise source.error(parts, f"$ref {ref!r} points to nothing: no file {file_part!r}")
            shown = Path(self.root.name).parent / path.relative_to(self.folder)
            self._files[path] = read_file(path, str(shown))
        return self._files[path]
