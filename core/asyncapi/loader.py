"""Reading AsyncAPI document sets: a document and the files its ``$ref``s reach, resolved into one.

A ``$ref`` may point inside its file (``#/components/...``), to any readable file by a path relative
to the file holding it (``../common/messages.yaml#/UserSignedUp``) or absolute (``/srv/api/x.yaml``,
``file:///srv/api/x.yaml``), or to a document on the web (``https://...``), which is fetched only
when allowed (:mod:`.remote`). Dangling references and cycles, across files too, raise
:class:`AsyncApiError` naming the file and line of the reference; the size caps count over all
files of the set (:class:`~.source.Budget`).

A remote reference that is not available is kept as written, as an :class:`UnavailableRef`; reading
through one where a schema is not expected raises :class:`RemoteRefError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.remote import FETCH_HINT, NOT_FETCHED, FetchError, RemoteRefs, is_remote, not_available
from eventdeck.core.asyncapi.source import (
    MAX_DOCUMENT_BYTES,
    MAX_EXPANDED_NODES,
    Budget,
    Parts,
    Source,
    check_expansion,
    file_kind,
    is_ref,
    kind_of,
    parse_text,
    pointer,
    read_file,
)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_EXPANDED_NODES",
    "Budget",
    "Parts",
    "RemoteRefError",
    "Resolver",
    "Source",
    "UnavailableRef",
    "is_ref",
    "kind_of",
    "parse_text",
    "pointer",
    "read_file",
    "unavailable_in",
]


class RemoteRefError(AsyncApiError):
    """A ``$ref`` leads to a remote document that is not available where EventDeck needs its content."""

    def __init__(self, source: Source, parts: Parts, reference: str, status: str) -> None:
        hint = f"; {FETCH_HINT}" if status == NOT_FETCHED else ""
        super().__init__(
            source.name, f"$ref {reference!r}: {status}{hint}", line=source.line_of(parts), path=pointer(parts)
        )
        self.reference = reference
        self.status = status


class UnavailableRef(dict[str, Any]):
    """A remote ``$ref`` that is not available, inlined as written; ``reference`` is its absolute URL."""

    def __init__(self, value: Mapping[str, Any], reference: str, status: str) -> None:
        super().__init__(value)
        self.reference = reference
        self.status = status


def unavailable_in(value: Any) -> dict[str, str]:
    """The remote references not available in an inlined ``value``: absolute URL -> status."""
    found: dict[str, str] = {}
    seen: set[int] = set()
    todo = [value]
    while todo:
        node = todo.pop()
        if not isinstance(node, (Mapping, list)) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, UnavailableRef):
            found.setdefault(node.reference, node.status)
        todo.extend(node.values() if isinstance(node, Mapping) else node)
    return found


def _cycle(chain: Sequence[str], here: str) -> str:
    """The problem of a chain of ``$ref``s that comes back to ``here``."""
    return "$ref cycle: " + " -> ".join([*chain[chain.index(here) :], here])


class Resolver:
    """Follows and inlines ``$ref``s across the root document and the files it reaches.

    ``remote`` decides whether remote documents are fetched (by default not) and records what
    became of each; ``files`` lists the document set's other files as messages show them.
    """

    def __init__(self, root: Source, remote: RemoteRefs | None = None) -> None:
        self.root = root
        self.remote = remote if remote is not None else RemoteRefs()
        self.budget = Budget.starting_with(root)
        self.folder = root.path.resolve().parent if root.path is not None else None
        self._files: dict[str, Source] = {} if root.path is None else {str(root.path.resolve()): root}
        self._inlined: dict[str, Any] = {}
        self._copies: dict[int, tuple[Any, Any]] = {}  # id -> (original, copy): a YAML alias stays one object

    @property
    def files(self) -> tuple[str, ...]:
        """The other files of the document set (local and fetched), in the order they were read."""
        return tuple(source.name for source in self._files.values() if source is not self.root)

    def where(self, source: Source, parts: Parts) -> str:
        """How a location is shown: ``#/a/b`` in the root document, ``../common/x.yaml#/a/b`` or a URL elsewhere."""
        if source is self.root:
            return pointer(parts)
        if source.url is not None:
            return source.url + pointer(parts)
        if source.path is None:
            return pointer(parts)
        return self._shown(source.path.resolve()) + pointer(parts)

    def _shown(self, path: Path) -> str:
        """``path`` relative to the root document's folder when it has one (and both are on one drive)."""
        if self.folder is not None:
            try:
                return Path(os.path.relpath(path, self.folder)).as_posix()
            except ValueError:  # another drive
                pass
        return path.as_posix()

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
        (directly or through others) is a cycle, reported with the chain of references. A remote
        reference that is not available stays as written, as an :class:`UnavailableRef`.
        """
        try:
            inlined = self._inline(value, source, parts, ())
        except RecursionError:
            raise source.error(parts, "nested too deeply") from None
        check_expansion(inlined, source.name, pointer(parts) if parts else "")
        return inlined

    def _inline(self, value: Any, source: Source, parts: Parts, stack: tuple[str, ...]) -> Any:
        if is_ref(value):
            ref_parts = (*parts, "$ref")
            try:
                target, target_source, target_parts = self.target(value["$ref"], source, ref_parts)
            except RemoteRefError as exc:
                return UnavailableRef(value, exc.reference, exc.status)
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
        if source.url is not None or is_remote(file_part):
            return self._remote(urljoin(source.url or "", file_part), ref, source, parts)
        path = self._local_path(file_part, ref, source, parts)
        key = str(path)
        if key not in self._files:
            if not path.is_file():
                problem = "a folder, not a file" if path.is_dir() else "no such file"
                raise source.error(parts, f"$ref {ref!r} points to nothing: no file {file_part!r} ({path}: {problem})")
            name = (
                str(path) if self.folder is None else os.path.normpath(Path(self.root.name).parent / self._shown(path))
            )
            self._files[key] = read_file(path, name, self.budget)
        return self._files[key]

    def _local_path(self, file_part: str, ref: str, source: Source, parts: Parts) -> Path:
        """The file a ``$ref``'s file part names: relative to the referring file, or absolute."""
        split = urlsplit(file_part)
        if split.scheme.lower() == "file":
            raw = url2pathname(split.path)
        elif len(split.scheme) > 1:  # one letter is a Windows drive
            raise source.error(
                parts, f"$ref {ref!r}: EventDeck follows references to files and to http(s) URLs, not {split.scheme}:"
            )
        else:
            raw = unquote(file_part)
        path = Path(raw)
        if not path.is_absolute():
            if source.path is None:
                raise source.error(parts, f"$ref {ref!r}: refers to a file, but this document was not read from one")
            path = source.path.resolve().parent / path
        return path.resolve()

    def _remote(self, url: str, ref: str, source: Source, parts: Parts) -> Source:
        absolute = urljoin(source.url or "", ref)
        if not is_remote(url):  # a fetched document naming a local file: never read it
            status = not_available(f"a document from the web may refer only to http(s) URLs, not {url}")
            raise RemoteRefError(source, parts, absolute, status)
        if url not in self._files:
            try:
                text, media = self.remote.get(url, self.budget.bytes_left)
                kind = "json" if media.endswith("json") else file_kind(urlsplit(url).path)
                self._files[url] = parse_text(text, url, budget=self.budget, kind=kind, url=url)
            except FetchError as exc:
                raise RemoteRefError(source, parts, absolute, exc.status) from None
            except AsyncApiError as exc:  # fetched, but unusable: the document loads without it
                failure = self.remote.failed(url, not_available(_unusable(exc)))
                raise RemoteRefError(source, parts, absolute, failure.status) from None
        return self._files[url]


def _unusable(exc: AsyncApiError) -> str:
    return f"{exc.problem} at line {exc.line}" if exc.line is not None else exc.problem
