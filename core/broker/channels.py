"""Channel names, subscription patterns and the matcher that joins them.

Names are ``/``-separated levels. Patterns use MQTT wildcards: ``+`` matches one
level, ``#`` (only as the last level) matches the rest. As in MQTT, channels whose
first level starts with ``$`` (``$dead/...``, ``$reply/...``) are not matched by a
pattern that starts with a wildcard.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from eventdeck.core.broker.errors import InvalidChannel

MAX_NAME_BYTES = 65_535
T = TypeVar("T")


def _check_common(name: str) -> None:
    if not isinstance(name, str):
        raise InvalidChannel(repr(name), f"must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidChannel(name, "name is empty")
    if "\0" in name:
        raise InvalidChannel(name, "contains a NUL character")
    if len(name) * 4 > MAX_NAME_BYTES and len(name.encode()) > MAX_NAME_BYTES:
        raise InvalidChannel(name, f"longer than {MAX_NAME_BYTES:,} UTF-8 bytes")


def validate_channel(name: str) -> str:
    """Return ``name`` if it is a valid channel to publish to, else raise ``InvalidChannel``."""
    _check_common(name)
    if "+" in name or "#" in name:
        raise InvalidChannel(name, "wildcards '+' and '#' are only allowed in subscription patterns")
    return name


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` if it is a valid subscription pattern, else raise ``InvalidChannel``."""
    _check_common(pattern)
    levels = pattern.split("/")
    for index, level in enumerate(levels):
        if "#" in level:
            if level != "#":
                raise InvalidChannel(pattern, f"'#' must fill a whole level, found {level!r}")
            if index != len(levels) - 1:
                raise InvalidChannel(pattern, "'#' is only allowed as the last level")
        if "+" in level and level != "+":
            raise InvalidChannel(pattern, f"'+' must fill a whole level, found {level!r}")
    return pattern


def is_pattern(name: str) -> bool:
    """True if ``name`` holds a wildcard."""
    return "+" in name or "#" in name


def is_broker_channel(name: str) -> bool:
    """True for the broker's own channels (``$dead/...``, ``$reply/...``, any ``$`` channel): clients and people
    do not publish there, wildcards do not reach them, recordings and exported documents leave them out."""
    return name.startswith("$")


def matches(pattern: str, channel: str) -> bool:
    """Plain reference matcher: does ``pattern`` match ``channel``? (Used for single checks and tests.)"""
    p_levels = pattern.split("/")
    c_levels = channel.split("/")
    if channel.startswith("$") and p_levels[0] in ("+", "#"):
        return False
    for index, p in enumerate(p_levels):
        if p == "#":
            return True
        if index >= len(c_levels):
            return False
        if p != "+" and p != c_levels[index]:
            return False
    return len(p_levels) == len(c_levels)


class _Node(Generic[T]):
    __slots__ = ("children", "here", "rest")

    def __init__(self) -> None:
        self.children: dict[str, _Node[T]] = {}
        self.here: list[T] = []  # values whose pattern ends at this level
        self.rest: list[T] = []  # values whose pattern ends with '#' below this level


class PatternTrie(Generic[T]):
    """Maps subscription patterns to values; ``match`` costs O(levels), not O(patterns)."""

    def __init__(self) -> None:
        self._root: _Node[T] = _Node()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, pattern: str, value: T) -> None:
        node = self._root
        levels = pattern.split("/")
        if levels[-1] == "#":
            for level in levels[:-1]:
                node = node.children.setdefault(level, _Node())
            node.rest.append(value)
        else:
            for level in levels:
                node = node.children.setdefault(level, _Node())
            node.here.append(value)
        self._size += 1

    def remove(self, pattern: str, value: T) -> None:
        """Remove one ``value`` stored under ``pattern``; prunes empty branches."""
        levels = pattern.split("/")
        wants_rest = levels[-1] == "#"
        path = levels[:-1] if wants_rest else levels
        trail = [self._root]
        for level in path:
            child = trail[-1].children.get(level)
            if child is None:
                raise KeyError(pattern)
            trail.append(child)
        bucket = trail[-1].rest if wants_rest else trail[-1].here
        bucket.remove(value)
        self._size -= 1
        for level, parent in zip(reversed(path), reversed(trail[:-1]), strict=True):
            node = parent.children[level]
            if node.children or node.here or node.rest:
                break
            del parent.children[level]

    def match(self, channel: str) -> list[T]:
        """Every value whose pattern matches ``channel``, each once per registration."""
        found: list[T] = []
        levels = channel.split("/")
        last = len(levels)
        dollar = channel.startswith("$")
        stack: list[tuple[_Node[T], int]] = [(self._root, 0)]
        while stack:
            node, depth = stack.pop()
            # '#' also matches the parent level itself ("a/#" matches "a").
            if node.rest and not (dollar and depth == 0):
                found.extend(node.rest)
            if depth == last:
                found.extend(node.here)
                continue
            level = levels[depth]
            child = node.children.get(level)
            if child is not None:
                stack.append((child, depth + 1))
            if not (dollar and depth == 0):
                plus = node.children.get("+")
                if plus is not None:
                    stack.append((plus, depth + 1))
        return found

    def values(self) -> Iterator[T]:
        stack = [self._root]
        while stack:
            node = stack.pop()
            yield from node.here
            yield from node.rest
            stack.extend(node.children.values())
