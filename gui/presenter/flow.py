"""Dots that travel the presenter's picture: sampled from message batches, moved by a clock (no Qt).

Each sampled message becomes one dot per subscription that matches its channel, all starting
together at the publisher, so they look like one dot until the channel, where they part. A
reply travels from the responder back through the command's channel to the requester; a dead
letter from the subscription that gave up to its ``$dead/...`` channel. At most
``per_edge`` dots a second leave each publisher -> channel edge and at most ``max_dots`` are
in flight, so the work per frame depends on the picture, never on the message rate.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from eventdeck.core import Kind, Message, matches
from eventdeck.gui.models.topology import DEAD, UNNAMED, shown_kind
from eventdeck.gui.presenter.layout import Box, Placement

HOP_SECONDS = 1.2  # publisher -> channel, and channel -> subscription, at 1x
THROUGH_SECONDS = 0.4  # across the channel's box, inside the broker
PER_EDGE = 2.0  # dots a second leaving one publisher -> channel edge, at 1x
MAX_DOTS = 600
CURVE_POINTS = 12
HELD_ROWS = (0.0, -1.0, 1.0)  # held dots at one channel: the next to go in the middle, then above and below

Point = tuple[float, float]


def curve(start: Point, end: Point) -> list[Point]:
    """The S-shaped edge between two boxes (the same one the edges are drawn with), as points."""
    (x0, y0), (x1, y1) = start, end
    bend = (x1 - x0) / 2
    points = []
    for i in range(CURVE_POINTS + 1):
        t = i / CURVE_POINTS
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        points.append((a * x0 + b * (x0 + bend) + c * (x1 - bend) + d * x1, a * y0 + b * y0 + c * y1 + d * y1))
    return points


class Path:
    """A polyline walked at a steady pace: ``at(fraction)`` is where a dot is."""

    __slots__ = ("lengths", "points")

    def __init__(self, points: Sequence[Point]) -> None:
        self.points = list(points)
        self.lengths = [0.0]
        for (x0, y0), (x1, y1) in zip(self.points, self.points[1:], strict=False):
            self.lengths.append(self.lengths[-1] + math.hypot(x1 - x0, y1 - y0))

    def at(self, fraction: float) -> Point:
        total = self.lengths[-1]
        if total <= 0:
            return self.points[0]
        target = min(1.0, max(0.0, fraction)) * total
        i = max(1, bisect.bisect_left(self.lengths, target))
        i = min(i, len(self.points) - 1)
        span = self.lengths[i] - self.lengths[i - 1] or 1.0
        t = (target - self.lengths[i - 1]) / span
        (x0, y0), (x1, y1) = self.points[i - 1], self.points[i]
        return x0 + (x1 - x0) * t, y0 + (y1 - y0) * t


@dataclass(slots=True)
class Dot:
    path: Path
    kind: str
    start: float  # on the animation clock
    duration: float
    target: str  # the node key it ends at
    via: tuple[Box, ...]  # the boxes its path passes: it lives on while they stay where they are
    message: Message  # what it carries: clicking the dot follows it

    def fraction(self, clock: float) -> float:
        return (clock - self.start) / self.duration


def _left(box: Box) -> Point:
    return box.x, box.middle


def _right(box: Box) -> Point:
    return box.right, box.middle


def _back(channel: Box, requester: Box) -> list[Point]:
    """A reply's way home: back through its command's channel to the requester."""
    return [_right(channel), _left(channel), *curve(_left(channel), _right(requester))[1:]]


def requester_key(command: Message) -> str:
    return f"p:{command.publisher or UNNAMED}"


def _shown_channel(message: Message, command_for: Callable[[Message], Message | None]) -> str:
    """The key of the channel box a message is drawn at: a reply's is its command's ("" if unknown)."""
    if message.kind is not Kind.REPLY:
        return f"c:{message.channel}"
    command = command_for(message)
    return f"c:{command.channel}" if command is not None else ""


class Flow:
    """The dots in flight over one placement; ``clock`` runs at the chosen speed."""

    def __init__(self, per_edge: float = PER_EDGE, max_dots: int = MAX_DOTS) -> None:
        self.per_edge = per_edge
        self.max_dots = max_dots
        self.speed = 1.0
        self.clock = 0.0
        self.dots: list[Dot] = []
        self.arrived: dict[str, int] = {}  # node key -> dots that reached it (what tests and captions read)
        self._placement: Placement | None = None
        self._patterns: dict[str, str] = {}  # subscription key -> pattern
        self._routes: dict[str, list[str]] = {}  # channel -> keys of the shown subscriptions it reaches
        self._last: dict[tuple[str, str], float] = {}  # edge -> clock of its last dot
        self._stepped: set[int] = set()  # ids released by Next: their dots already left the channel

    def set_placement(self, placement: Placement, patterns: dict[str, str]) -> None:
        """New boxes: dots whose boxes moved are dropped (their paths no longer fit), routes are learnt again."""
        self._placement = placement
        boxes = set(placement.boxes.values())
        self.dots = [dot for dot in self.dots if boxes.issuperset(dot.via)]
        self._patterns = {key: pattern for key, pattern in patterns.items() if key in placement.boxes}
        self._routes.clear()

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds`` of wall time at the current speed; drop dots that arrived."""
        self.clock += seconds * self.speed
        clock, still = self.clock, []
        for dot in self.dots:
            if dot.fraction(clock) < 1.0:
                still.append(dot)
            else:
                self.arrived[dot.target] = self.arrived.get(dot.target, 0) + 1
        self.dots = still

    def positions(self, message_id: int | None = None) -> Iterator[tuple[float, float, str]]:
        """Where each dot is now (only those of ``message_id``, if given)."""
        clock = self.clock
        for dot in self.dots:
            if message_id is None or dot.message.id == message_id:
                x, y = dot.path.at(dot.fraction(clock))
                yield x, y, dot.kind

    def dot_at(self, x: float, y: float, reach: float) -> Dot | None:
        """The dot nearest to (x, y) within ``reach`` px, if any (a click on it follows its message)."""
        clock, best, nearest = self.clock, None, reach
        for dot in self.dots:
            dx, dy = dot.path.at(dot.fraction(clock))
            distance = math.hypot(dx - x, dy - y)
            if distance <= nearest:
                best, nearest = dot, distance
        return best

    def add(self, batch: Sequence[Message], command_for: Callable[[Message], Message | None]) -> None:
        """Sample one batch of messages into dots (at most one per edge per batch, a cap per edge per second)."""
        if self._placement is None or self.speed <= 0:
            return
        if self._stepped:
            batch = [m for m in batch if m.id not in self._stepped]
            self._stepped.difference_update(m.id for m in batch)
        # One message per edge is all a batch (~33 ms) can show: the rest would be over the cap anyway.
        for message in {(m.publisher, m.channel): m for m in batch}.values():
            if len(self.dots) >= self.max_dots:
                return
            self._spawn(message, command_for)

    def held_at(
        self, messages: Sequence[Message], command_for: Callable[[Message], Message | None]
    ) -> list[tuple[float, float, str]]:
        """Where held messages wait: at the end of their channel, in the broker's margin (up to 3 a channel).

        A reply waits at its command's channel, the way it goes back (``$reply/...`` channels are not drawn)."""
        if self._placement is None:
            return []
        boxes, unit = self._placement.boxes, self._placement.unit
        waiting: dict[str, int] = {}
        spots = []
        for message in messages:
            channel = _shown_channel(message, command_for)
            box = boxes.get(channel)
            if box is not None:
                row = waiting[channel] = waiting.get(channel, -1) + 1
                spots.append((box.right + 0.4 * unit, box.middle + HELD_ROWS[row % 3] * unit, shown_kind(message)))
        return spots

    def release(self, message: Message, command_for: Callable[[Message], Message | None]) -> None:
        """A held message goes on (Next): its dots leave the channel for each matching subscription
        (a reply's for whoever asked)."""
        self._stepped.add(message.id)
        boxes = self._placement.boxes if self._placement is not None else {}
        channel = boxes.get(_shown_channel(message, command_for))
        if channel is None:
            return
        if message.kind is Kind.REPLY:
            command = command_for(message)
            if command is not None and (requester := boxes.get(requester_key(command))) is not None:
                self._launch(message, _back(channel, requester), requester_key(command), (channel, requester))
            return
        for key in self._route(message.channel):
            points = [_right(channel), *curve(_right(channel), _left(boxes[key]))[1:]]
            self._launch(message, points, key, (channel, boxes[key]))

    def reached(self, channel: str) -> list[str]:
        """The keys of the shown subscriptions ``channel`` leads to."""
        return list(self._route(channel))

    def _spawn(self, message: Message, command_for: Callable[[Message], Message | None]) -> None:
        placement = self._placement
        assert placement is not None
        boxes = placement.boxes
        channel = boxes.get(f"c:{message.channel}")
        kind = shown_kind(message)
        if kind == DEAD:
            source = boxes.get(f"s:{message.headers.get('x-dead-subscription', '')}")
            if channel is not None and source is not None and self._due(("dead", message.channel)):
                points = [_left(source), *curve(_left(source), _right(channel))[1:]]
                self._launch(message, points, f"c:{message.channel}", (source, channel))
            return
        if message.kind is Kind.REPLY:
            self._spawn_reply(message, command_for(message))
            return
        publisher = boxes.get(f"p:{message.publisher or UNNAMED}")
        if channel is None or publisher is None or not self._due((message.publisher, message.channel)):
            return
        into = [*curve(_right(publisher), _left(channel)), _right(channel)]
        targets = self._route(message.channel)
        if not targets:
            self._launch(
                message, into, f"c:{message.channel}", (publisher, channel), 1.0 + THROUGH_SECONDS / HOP_SECONDS
            )
        for key in targets:
            points = [*into, *curve(_right(channel), _left(boxes[key]))[1:]]
            self._launch(message, points, key, (publisher, channel, boxes[key]), 2.0)

    def _spawn_reply(self, reply: Message, command: Message | None) -> None:
        boxes = self._placement.boxes if self._placement is not None else {}
        if command is None:
            return
        channel = boxes.get(f"c:{command.channel}")
        requester = boxes.get(requester_key(command))
        responder = boxes.get(f"s:{reply.publisher}")
        if channel is None or requester is None or not self._due(("reply", command.channel)):
            return
        back = _back(channel, requester)
        via: tuple[Box, ...] = (channel, requester)
        if responder is not None:
            back = [*curve(_left(responder), _right(channel)), *back[1:]]
            via = (responder, *via)
        self._launch(reply, back, requester_key(command), via, 2.0)

    def _route(self, channel: str) -> list[str]:
        route = self._routes.get(channel)
        if route is None:
            route = [key for key, pattern in self._patterns.items() if matches(pattern, channel)]
            self._routes[channel] = route
        return route

    def _due(self, edge: tuple[str, str]) -> bool:
        """At most ``per_edge`` dots a second of animation time on one edge."""
        last = self._last.get(edge)
        if last is not None and self.clock - last < 1.0 / self.per_edge:
            return False
        self._last[edge] = self.clock
        return True

    def _launch(
        self, message: Message, points: Iterable[Point], target: str, via: tuple[Box, ...], hops: float = 1.0
    ) -> None:
        duration = hops * HOP_SECONDS + THROUGH_SECONDS
        self.dots.append(Dot(Path(list(points)), shown_kind(message), self.clock, duration, target, via, message))
