"""Reads a scenario's ``x-eventdeck-story`` into a :class:`~.story.Story`, strictly.

Every action is a one-key mapping whose key is an :class:`~.story.ActionKind` value (``restartBroker``
and ``clearFaults`` may also be written alone)::

    - publish: {channel: user/signedup, payload: {name: Ada}, publisher: signup-service}
    - command: {channel: groceries/order, payload: {items: [milk]}, timeout: 2}
    - pause: analytics                      # also resume, crash, restart, cutOff, reconnect
    - slow: {subscriber: analytics, seconds: 2}
    - flaky: {subscriber: shopping-list, rate: 0.5}
    - consumers: {subscriber: thumbnail-workers, count: 5}   # the pool scales to 5 competing consumers
    - drop: {channel: fridge/level, count: 3}            # also duplicate
    - delay: {channel: fridge/level, count: 2, seconds: 3}
    - burst: {publisher: fridge-sensor, factor: 10, seconds: 5}   # no publisher: all of them
    - restartBroker                         # or restartBroker: {} / true; clearFaults likewise
    - speed: 0.5
    - publishers: off                       # or on
    - highlight: [user/signedup, analytics] # or one name

Names must exist in the document: subscribers and responders (``x-eventdeck-subscriber`` /
``-responder``), publishers (``x-eventdeck-publisher``) and channel addresses, so a typo is caught
when the scenario opens, with the file, the line and the reason, not in front of the room.
A ``publish`` or ``command`` without a ``payload`` sends the first example of the channel's
message; without a ``publisher`` it is sent as the channel's simulated publisher.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from eventdeck.core.asyncapi.loader import Resolver, Source, kind_of
from eventdeck.core.asyncapi.model import Document
from eventdeck.core.simulation.fields import At, finite, number, only, text, whole_number
from eventdeck.core.simulation.settings import MAX_CONSUMERS, MAX_DELAY, OperationSpec
from eventdeck.core.simulation.story import Action, ActionKind, Step, Story

__all__ = ["MAX_SENTENCES", "SPEEDS", "STORY_KEY", "caption_sentences", "parse_story"]

STORY_KEY = "x-eventdeck-story"
STORY_FIELDS = ("title", "steps")
STEP_FIELDS = ("title", "caption", "actions")
MAX_SENTENCES = 3
"""A caption is read aloud in a few seconds: one to three sentences."""
SPEEDS = (0.1, 5.0)
"""The slowest and fastest ``speed`` of the simulation."""
MAX_COUNT = 1000
"""Most messages one ``drop``, ``duplicate`` or ``delay`` fault applies to."""
MAX_FACTOR = 100.0
"""Most times faster a ``burst`` makes a publisher."""
MAX_FAULT_SECONDS = 600.0
"""Longest ``burst``."""
DEFAULT_TIMEOUT = 2.0
"""Seconds a story's command waits for its reply when neither it nor its channel's publisher says."""
NO_ARGUMENTS = (ActionKind.RESTART_BROKER, ActionKind.CLEAR_FAULTS)
SUBSCRIBER_KINDS = (
    ActionKind.PAUSE,
    ActionKind.RESUME,
    ActionKind.CRASH,
    ActionKind.RESTART,
    ActionKind.CUT_OFF,
    ActionKind.RECONNECT,
)
CHANNEL_FAULTS = (ActionKind.DROP, ActionKind.DUPLICATE, ActionKind.DELAY)
SWITCH = {"on": 1.0, "off": 0.0, True: 1.0, False: 0.0}
_KINDS = {kind.value: kind for kind in ActionKind}
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_ABBREVIATION = re.compile(r"\b(?:e\.g|i\.e|etc|vs)\.", re.IGNORECASE)


def parse_story(source: Source, document: Document, operations: Sequence[OperationSpec]) -> Story | None:
    """The document's story (None without ``x-eventdeck-story``); AsyncApiError names where and what is wrong."""
    data = source.data
    if not isinstance(data, Mapping) or STORY_KEY not in data:
        return None
    return _StoryReader(source, document, operations).story(data[STORY_KEY], At(source, (STORY_KEY,)))


def caption_sentences(caption: str) -> int:
    """How many sentences ``caption`` holds (``e.g.`` and its kind do not end one)."""
    return sum(1 for part in _SENTENCE_END.split(_ABBREVIATION.sub("", caption)) if part.strip())


class _StoryReader:
    """Reads the story of one document, checking every name against the document."""

    def __init__(self, source: Source, document: Document, operations: Sequence[OperationSpec]) -> None:
        self.resolver = Resolver(source)
        self.document = document
        self.operations = operations
        self.subscribers = [s.name for op in operations for s in (op.subscriber, op.responder) if s is not None]
        self.publishers = list(dict.fromkeys(op.publisher.name for op in operations if op.publisher is not None))
        self.addresses = [c.address for c in document.channels if c.address is not None and not c.parameterized]
        self.readers: dict[ActionKind, Callable[[Any, At], Action]] = {
            ActionKind.PUBLISH: self.publish,
            ActionKind.COMMAND: self.command,
            ActionKind.SLOW: self.slow,
            ActionKind.FLAKY: self.flaky,
            ActionKind.CONSUMERS: self.consumers,
            ActionKind.BURST: self.burst,
            ActionKind.SPEED: self.speed,
            ActionKind.PUBLISHERS: self.switch_publishers,
            ActionKind.HIGHLIGHT: self.highlight,
        }

    def follow(self, value: Any, at: At) -> tuple[Any, At]:
        """``value``, or what its ``$ref`` points to, with where that is."""
        node, source, parts = self.resolver.follow(value, at.source, at.parts)
        return node, At(source, parts)

    def mapping(self, value: Any, at: At, what: str) -> tuple[Mapping[str, Any], At]:
        node, where = self.follow(value, at)
        if not isinstance(node, Mapping):
            raise where.fail(f"{what} must be a mapping, got {kind_of(node)}")
        return node, where

    def items(self, value: Any, at: At, what: str) -> list[tuple[Any, At]]:
        node, where = self.follow(value, at)
        if not isinstance(node, list) or not node:
            raise where.fail(f"{what} must be a non-empty list, got {kind_of(node)}")
        return [(item, where / index) for index, item in enumerate(node)]

    # -- the story and its steps -------------------------------------------

    def story(self, raw: Any, at: At) -> Story:
        story, at = self.mapping(raw, at, repr(STORY_KEY))
        only(story, STORY_FIELDS, at)
        if "steps" not in story:
            raise at.fail("missing required field 'steps' (the story's steps, in order)")
        steps = tuple(self.step(item, where) for item, where in self.items(story["steps"], at / "steps", "'steps'"))
        return Story(_words(story, "title", at), steps)

    def step(self, raw: Any, at: At) -> Step:
        step, at = self.mapping(raw, at, "a step")
        only(step, STEP_FIELDS, at)
        caption = _words(step, "caption", at)
        sentences = caption_sentences(caption)
        if sentences > MAX_SENTENCES:
            raise (at / "caption").fail(
                f"a caption holds at most {MAX_SENTENCES} sentences (the room reads it while it happens), "
                f"this one has {sentences}"
            )
        actions: tuple[Action, ...] = ()
        if "actions" in step:
            actions = tuple(
                self.action(item, where) for item, where in self.items(step["actions"], at / "actions", "'actions'")
            )
        return Step(_words(step, "title", at), caption, actions)

    def action(self, raw: Any, at: At) -> Action:
        raw, at = self.follow(raw, at)
        line = at.source.line_of(at.parts)
        if isinstance(raw, str) and raw in _KINDS and _KINDS[raw] in NO_ARGUMENTS:
            return Action(_KINDS[raw], line=line)
        if not isinstance(raw, Mapping) or len(raw) != 1:
            raise at.fail(
                f"an action is a mapping with one key, its kind (one of {', '.join(_KINDS)}); got {_shown(raw)}"
            )
        [(key, value)] = raw.items()
        kind = _KINDS.get(str(key))
        if kind is None:
            raise at.fail(f"unknown action {key!r} (known: {', '.join(_KINDS)})")
        where = at / str(key)
        if kind in NO_ARGUMENTS:
            if value is not True and value != {}:
                raise where.fail(f"{key!r} takes no settings: write '- {key}' or '{key}: {{}}', got {_shown(value)}")
            action = Action(kind)
        elif kind in SUBSCRIBER_KINDS:
            action = Action(kind, target=self.subscriber(value, where))
        elif kind in CHANNEL_FAULTS:
            action = self.channel_fault(kind, value, where)
        else:
            action = self.readers[kind](value, where)
        return replace(action, line=line)

    # -- one reader per kind of action ---------------------------------------

    def publish(self, raw: Any, at: At) -> Action:
        settings, at = self.mapping(raw, at, "'publish'")
        only(settings, ("channel", "payload", "publisher"), at)
        channel = self.channel(settings, at)
        return Action(
            ActionKind.PUBLISH,
            channel=channel,
            payload=self.payload(settings, channel, at),
            publisher=self.sender(settings, channel, at),
        )

    def command(self, raw: Any, at: At) -> Action:
        settings, at = self.mapping(raw, at, "'command'")
        only(settings, ("channel", "payload", "publisher", "timeout"), at)
        channel = self.channel(settings, at)
        sending = [op for op in self.operations if op.is_command and op.channel.address == channel]
        if not sending:
            raise (at / "channel").fail(
                f"no operation on channel {channel!r} has a reply, so it takes no commands; 'publish' an event instead"
            )
        default = next((op.publisher.timeout for op in sending if op.publisher is not None), DEFAULT_TIMEOUT)
        return Action(
            ActionKind.COMMAND,
            channel=channel,
            payload=self.payload(settings, channel, at),
            publisher=self.sender(settings, channel, at),
            seconds=number(settings, "timeout", at, default=default, low=0.001, high=3600.0),
        )

    def channel_fault(self, kind: ActionKind, raw: Any, at: At) -> Action:
        settings, at = self.mapping(raw, at, f"{kind.value!r}")
        known = ("channel", "count", "seconds") if kind is ActionKind.DELAY else ("channel", "count")
        only(settings, known, at)
        seconds = 0.0
        if kind is ActionKind.DELAY:
            seconds = _required_number(settings, "seconds", at, low=0.001, high=MAX_DELAY)
        return Action(
            kind,
            target=self.channel(settings, at),
            count=whole_number(settings, "count", at, default=1, low=1, high=MAX_COUNT),
            seconds=seconds,
        )

    def slow(self, raw: Any, at: At) -> Action:
        settings, at = self.mapping(raw, at, "'slow'")
        only(settings, ("subscriber", "seconds"), at)
        target = self.subscriber_field(settings, at)
        return Action(
            ActionKind.SLOW, target=target, seconds=_required_number(settings, "seconds", at, low=0.0, high=MAX_DELAY)
        )

    def flaky(self, raw: Any, at: At) -> Action:
        settings, at = self.mapping(raw, at, "'flaky'")
        only(settings, ("subscriber", "rate"), at)
        target = self.subscriber_field(settings, at)
        return Action(ActionKind.FLAKY, target=target, rate=_required_number(settings, "rate", at, low=0.0, high=1.0))

    def consumers(self, raw: Any, at: At) -> Action:
        settings, at = self.mapping(raw, at, "'consumers'")
        only(settings, ("subscriber", "count"), at)
        target = self.subscriber_field(settings, at)
        if "count" not in settings:
            raise at.fail("missing required field 'count' (how many consumers share the subscription)")
        count = whole_number(settings, "count", at, default=1, low=1, high=MAX_CONSUMERS)
        return Action(ActionKind.CONSUMERS, target=target, count=count)

    def burst(self, raw: Any, at: At) -> Action:
        settings, at = self.mapping(raw, at, "'burst'")
        only(settings, ("publisher", "factor", "seconds"), at)
        target = ""
        if "publisher" in settings:
            target = self.known(text(settings, "publisher", at), self.publishers, "publisher", at / "publisher")
        return Action(
            ActionKind.BURST,
            target=target,
            rate=number(settings, "factor", at, default=10.0, low=1.0, high=MAX_FACTOR),
            seconds=number(settings, "seconds", at, default=5.0, low=0.1, high=MAX_FAULT_SECONDS),
        )

    def speed(self, raw: Any, at: At) -> Action:
        low, high = SPEEDS
        if not finite(raw) or not low <= raw <= high:
            raise at.fail(f"'speed' must be a number from {low:g} to {high:g} (1 is normal speed), got {_shown(raw)}")
        return Action(ActionKind.SPEED, rate=float(raw))

    def switch_publishers(self, raw: Any, at: At) -> Action:
        if isinstance(raw, bool | str) and raw in SWITCH:
            return Action(ActionKind.PUBLISHERS, rate=SWITCH[raw])
        raise at.fail(f"'publishers' must be on or off, got {_shown(raw)}")

    def highlight(self, raw: Any, at: At) -> Action:
        if isinstance(raw, str):
            named = [(raw, at)]
        elif isinstance(raw, list) and raw:
            named = [(name, at / index) for index, name in enumerate(raw)]
        else:
            raise at.fail(f"'highlight' takes a name or a non-empty list of names, got {_shown(raw)}")
        addresses = [c.address for c in self.document.channels if c.address is not None]
        known = list(dict.fromkeys([*addresses, *self.subscribers, *self.publishers]))
        for name, where in named:
            if name not in known:
                raise where.fail(
                    f"{_shown(name)} is neither a channel address nor a subscriber or publisher name "
                    f"(known: {', '.join(known)})"
                )
        return Action(ActionKind.HIGHLIGHT, names=tuple(name for name, _ in named))

    # -- names and values ------------------------------------------------------

    def known(self, name: str, names: Sequence[str], what: str, at: At) -> str:
        if name not in names:
            listed = ", ".join(names) if names else "none: the document defines no " + what
            raise at.fail(f"no {what} named {name!r} in this document (known: {listed})")
        return name

    def subscriber(self, raw: Any, at: At) -> str:
        if not isinstance(raw, str):
            raise at.fail(f"expected the name of a subscriber or responder, got {_shown(raw)}")
        return self.known(raw, self.subscribers, "subscriber or responder", at)

    def subscriber_field(self, settings: Mapping[str, Any], at: At) -> str:
        return self.subscriber(text(settings, "subscriber", at, required=True), at / "subscriber")

    def channel(self, settings: Mapping[str, Any], at: At) -> str:
        address = text(settings, "channel", at, required=True)
        return self.known(address, self.addresses, "channel address", at / "channel")

    def sender(self, settings: Mapping[str, Any], channel: str, at: At) -> str:
        """The publisher named, or the simulated publisher of ``channel`` (empty if it has none)."""
        if "publisher" in settings:
            return self.known(text(settings, "publisher", at), self.publishers, "publisher", at / "publisher")
        return next(
            (op.publisher.name for op in self.operations if op.publisher is not None and op.channel.address == channel),
            "",
        )

    def payload(self, settings: Mapping[str, Any], channel: str, at: At) -> Any:
        """The payload written, or the first example of the channel's messages."""
        if "payload" in settings:
            return self.resolver.inline(settings["payload"], at.source, (*at.parts, "payload"))
        for found in self.document.channels:
            if found.address == channel:
                for message in found.messages:
                    if message.examples:
                        return message.examples[0].payload
        raise at.fail(f"give a 'payload': the messages of channel {channel!r} have no example to send")


def _words(parent: Mapping[str, Any], key: str, at: At) -> str:
    """A required text field with something in it (a title, a caption)."""
    value = text(parent, key, at, required=True)
    if not value.strip():
        raise (at / key).fail(f"{key!r} must not be empty")
    return value.strip()


def _required_number(parent: Mapping[str, Any], key: str, at: At, *, low: float, high: float) -> float:
    if key not in parent:
        raise at.fail(f"missing required field {key!r}")
    return number(parent, key, at, default=0.0, low=low, high=high)


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
