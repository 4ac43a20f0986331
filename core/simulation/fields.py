"""Reading typed fields of ``x-eventdeck-...`` mappings, with errors that name the place in the document."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eventdeck.core.asyncapi.errors import AsyncApiError
from eventdeck.core.asyncapi.loader import Parts, Source, kind_of


@dataclass(frozen=True)
class At:
    """A place in a document, to name in errors."""

    source: Source
    parts: Parts

    def __truediv__(self, key: str | int) -> At:
        return At(self.source, (*self.parts, key))

    def fail(self, problem: str) -> AsyncApiError:
        return self.source.error(self.parts, problem)


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def only(parent: Mapping[str, Any], known: Sequence[str], at: At) -> None:
    """Refuse any key of ``parent`` outside ``known``: a misspelt setting must not be silently ignored."""
    for key in parent:
        if key not in known:
            raise (at / str(key)).fail(f"unknown field {key!r} (known: {', '.join(known)})")


def mapping(parent: Mapping[str, Any], key: str, at: At) -> Mapping[str, Any]:
    value = parent[key]
    if not isinstance(value, Mapping):
        raise (at / key).fail(f"{key!r} must be a mapping, got {kind_of(value)}")
    return value


def text(parent: Mapping[str, Any], key: str, at: At, *, required: bool = False) -> str:
    if key not in parent:
        if required:
            raise at.fail(f"missing required field {key!r}")
        return ""
    value = parent[key]
    if not isinstance(value, str):
        raise (at / key).fail(f"{key!r} must be a string, got {kind_of(value)}")
    return value


def number(parent: Mapping[str, Any], key: str, at: At, *, default: float, low: float, high: float) -> float:
    value = parent.get(key, default)
    if not finite(value) or not low <= value <= high:
        raise (at / key).fail(f"{key!r} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def whole_number(parent: Mapping[str, Any], key: str, at: At, *, default: int, low: int, high: int) -> int:
    value = parent.get(key, default)
    if not finite(value) or not float(value).is_integer() or not low <= value <= high:
        raise (at / key).fail(f"{key!r} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def flag(parent: Mapping[str, Any], key: str, at: At, *, default: bool) -> bool:
    value = parent.get(key, default)
    if not isinstance(value, bool):
        raise (at / key).fail(f"{key!r} must be true or false, got {kind_of(value)}")
    return value


def pair(raw: Any, at: At, *, whole: bool = False) -> tuple[float, float]:
    kind = "whole numbers" if whole else "numbers"
    if (
        not isinstance(raw, Sequence)
        or isinstance(raw, str)
        or len(raw) != 2
        or not all(finite(v) and (not whole or float(v).is_integer()) for v in raw)
    ):
        raise at.fail(f"expected [low, high] ({kind}), got {raw!r}")
    low, high = float(raw[0]), float(raw[1])
    if low > high:
        raise at.fail(f"low ({raw[0]}) is above high ({raw[1]})")
    return low, high
