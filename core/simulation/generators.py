"""Payload generators: the ``x-eventdeck-generate`` field of a message, and the factory that applies them.

A message's generators vary its payload field by field (``Choice``, ``IntRange``, ``Walk``,
``Template``, ...); :class:`PayloadFactory` starts from one of the message's examples and writes
each generated field over it::

    factory = PayloadFactory(message, workspace.generators(message), random.Random(7))
    factory.make()              # {"name": "Ada Lovelace", "email": "ada.lovelace@example.com", "age": 36}
    factory.make(command)       # a reply: FromRequest fields copy the command's
    factory.reply(message)      # the same, from the command's message
"""

from __future__ import annotations

import copy
import datetime
import json
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias, assert_never

from eventdeck.core.asyncapi.model import MessageSpec
from eventdeck.core.broker.errors import EventDeckError
from eventdeck.core.broker.message import Message

__all__ = [
    "GENERATOR_KINDS",
    "NO_GENERATORS",
    "TEMPLATE_FIELD",
    "TEMPLATE_FILTERS",
    "Bands",
    "Choice",
    "Const",
    "FieldGenerator",
    "FieldGenerators",
    "FromRequest",
    "IntRange",
    "NumberRange",
    "PayloadFactory",
    "Sample",
    "Template",
    "Walk",
]

GENERATOR_KINDS = ("const", "choice", "int", "number", "sample", "walk", "label", "template", "request")
"""The keys naming a generator's kind in ``x-eventdeck-generate`` (exactly one per field)."""
TEMPLATE_FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


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

FieldGenerators: TypeAlias = Mapping[str, FieldGenerator]
"""A message's generators, by payload field, in document order."""
NO_GENERATORS: FieldGenerators = MappingProxyType({})


class PayloadFactory:
    """Makes varied payloads for one message: a random example, with generated fields written over it.

    Stateful where the generators are (``{seq}`` counts, walks remember their value).
    """

    def __init__(self, message: MessageSpec, generators: FieldGenerators, rng: random.Random) -> None:
        self.message = message
        self.generators = generators
        self.random = rng
        self.seq = 0
        self._walks: dict[str, float] = {}

    def make(self, request: Any = None) -> Any:
        """A new payload; ``request`` is the command's payload when this message is a reply."""
        self.seq += 1
        examples = [e.payload for e in self.message.examples if e.payload is not None]
        payload = copy.deepcopy(self.random.choice(examples)) if examples else {}
        if not isinstance(payload, dict):
            return payload  # generators only describe fields of an object
        for name, generator in self.generators.items():
            payload[name] = self._generate(name, generator, payload, request)
        return payload

    def reply(self, command: Message) -> Any:
        """A reply to ``command``: ``FromRequest`` fields copy its payload (nothing when that is not JSON)."""
        try:
            request = command.json()
        except EventDeckError:
            request = None
        return self.make(request)

    def _generate(self, name: str, gen: FieldGenerator, payload: dict[str, Any], request: Any) -> Any:
        rng = self.random
        if isinstance(gen, Const):
            return copy.deepcopy(gen.value)
        if isinstance(gen, Choice):
            return copy.deepcopy(rng.choice(gen.values))
        if isinstance(gen, IntRange):
            return rng.randint(gen.low, gen.high)
        if isinstance(gen, NumberRange):
            return round(rng.uniform(gen.low, gen.high), gen.decimals)
        if isinstance(gen, Sample):
            return copy.deepcopy(rng.sample(gen.values, rng.randint(gen.low, gen.high)))
        if isinstance(gen, Walk):
            return self._walk(name, gen)
        if isinstance(gen, Bands):
            value = payload.get(gen.field)
            if isinstance(value, int | float) and not isinstance(value, bool):
                for bound, label in gen.bands:
                    if value <= bound:
                        return copy.deepcopy(label)
            return copy.deepcopy(gen.bands[-1][1])
        if isinstance(gen, Template):
            return TEMPLATE_FIELD.sub(lambda match: self._placeholder(match, payload), gen.text)
        if isinstance(gen, FromRequest):
            return copy.deepcopy(request.get(gen.field)) if isinstance(request, dict) else None
        assert_never(gen)

    def _walk(self, name: str, gen: Walk) -> float | int:
        previous = self._walks.get(name)
        if previous is None:
            value = gen.start
        else:
            step = (
                self.random.randint(int(gen.step_low), int(gen.step_high))
                if gen.whole
                else self.random.uniform(gen.step_low, gen.step_high)
            )
            value = previous + step
            if not gen.low <= value <= gen.high:
                value = gen.start
        self._walks[name] = value
        return int(value) if gen.whole else round(value, 2)

    def _placeholder(self, match: re.Match[str], payload: dict[str, Any]) -> str:
        name, flt = match.group(1), match.group(2)
        if name == "seq":
            text = str(self.seq)
        elif name == "hex":
            text = f"{self.random.getrandbits(24):06x}"
        elif name == "now":
            text = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        elif name in payload:
            value = payload[name]
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        else:
            return match.group(0)  # unknown: left as written, so the mistake is visible in the stream
        return _FILTERS[flt](text) if flt else text


def _words(text: str) -> list[str]:
    return re.findall(r"[0-9A-Za-z]+", text)


def _slug(text: str) -> str:
    return ".".join(_words(text)).lower()  # "Tim Berners-Lee" -> "tim.berners.lee"


def _handle(text: str) -> str:
    return "_".join(_words(text)).lower()  # "Tim Berners-Lee" -> "tim_berners_lee"


def _first(text: str) -> str:
    return (text.split() or [""])[0]


_FILTERS: dict[str, Callable[[str], str]] = {
    "slug": _slug,
    "handle": _handle,
    "lower": str.lower,
    "upper": str.upper,
    "first": _first,
}
TEMPLATE_FILTERS = frozenset(_FILTERS)
"""The filters a template field may name: ``{name|slug}``."""
