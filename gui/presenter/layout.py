"""Where the presenter puts each box, in pixels, for a canvas of a given size (no Qt).

The picture is the seed's: publishers on the left, the broker in the middle as one box that
holds the channels, subscriptions on the right. Sizes follow the text: the body text size
(``unit``) comes from the canvas (about 20 px at 1920x1080) times the zoom and the font
scale, and every box is a few lines of that text. A column holds only as many boxes as fit at
that size, the rest are counted in a "+N more" line, so text never shrinks below what the room
can read and never overlaps. The Topology tab fits its diagram with the same ``fit_scale``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from eventdeck.core import DEAD_PREFIX
from eventdeck.gui.models.topology import CHANNELS, PUBLISHERS, SUBSCRIBERS, Graph, Node

ZOOM_STEPS = (0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)
FONT_SCALES = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5)
MIN_UNIT, MAX_UNIT = 10.0, 60.0  # body text in px, whatever the window and zoom
PUBLISHER_LINES, CHANNEL_LINES, SUBSCRIPTION_LINES = 2.6, 2.4, 4.6  # box heights in lines of body text
GAP_LINES = 0.6  # between two boxes of a column
HEADER_LINES = 3.4  # the column titles and the line under each that says what the column does
MORE_LINES = 1.4  # the "+N more" line under a column


def body_unit(width: float, height: float, zoom: float = 1.0, font_scale: float = 1.0) -> float:
    """Body text size in px: ~19 px for a 1920x1030 canvas at 100 %, scaled by zoom and font scale."""
    base = min(height / 52.0, width / 96.0)
    return max(MIN_UNIT, min(MAX_UNIT, base * zoom * font_scale))


def fit_scale(
    content: tuple[float, float],
    viewport: tuple[float, float],
    zoom: float = 1.0,
    least: float = 0.5,
    most: float = 2.0,
) -> float:
    """The scale that fits ``content`` into ``viewport`` (enlarging up to ``most``), times ``zoom``.

    Below ``least`` text is too small to read: the view scrolls instead.
    """
    (width, height), (view_width, view_height) = content, viewport
    if width <= 0 or height <= 0 or view_width <= 0 or view_height <= 0:
        return zoom
    return max(least, min(most, view_width / width, view_height / height)) * zoom


class Zoom:
    """A zoom factor that moves in steps (Ctrl+= / Ctrl+- / Ctrl+0)."""

    def __init__(self, steps: Sequence[float] = ZOOM_STEPS) -> None:
        self.steps = tuple(steps)
        self.index = self.steps.index(1.0)

    @property
    def factor(self) -> float:
        return self.steps[self.index]

    def step(self, by: int) -> bool:
        """Move ``by`` steps (0 resets to 100 %); return True if the factor changed."""
        index = self.steps.index(1.0) if by == 0 else max(0, min(len(self.steps) - 1, self.index + by))
        changed = index != self.index
        self.index = index
        return changed


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def middle(self) -> float:
        return self.y + self.height / 2


@dataclass(slots=True)
class Placement:
    """Every box of one layout pass, and what did not fit."""

    unit: float
    width: float
    height: float
    boxes: dict[str, Box] = field(default_factory=dict)  # node key -> box
    nodes: dict[str, Node] = field(default_factory=dict)
    broker: Box = Box(0, 0, 0, 0)  # the broker's own box, around the channels
    columns: dict[int, Box] = field(default_factory=dict)  # the area of each column, under its title
    more: dict[int, int] = field(default_factory=dict)  # column -> boxes left out

    def box_at(self, x: float, y: float) -> str | None:
        for key, box in self.boxes.items():
            if box.x <= x <= box.right and box.y <= y <= box.y + box.height:
                return key
        return None


def capacity(height: float, unit: float, lines: float) -> int:
    """How many boxes of ``lines`` lines fit in a column ``height`` px tall (at least one)."""
    usable = height - (HEADER_LINES + MORE_LINES) * unit
    return max(1, int((usable + GAP_LINES * unit) // ((lines + GAP_LINES) * unit)))


def place(graph: Graph, width: float, height: float, unit: float) -> Placement:
    """Boxes for ``graph`` on a ``width`` x ``height`` canvas with body text of ``unit`` px.

    Columns keep the graph's order (publishers and subscribers level with their channels);
    dead-letter channels go to the bottom of the broker, where the room looks for them.
    """
    placement = Placement(unit, width, height)
    margin = unit
    spans = {
        PUBLISHERS: (margin, 0.22 * width),
        CHANNELS: (0.34 * width, 0.30 * width),
        SUBSCRIBERS: (0.72 * width - margin, 0.28 * width),
    }
    lines = {PUBLISHERS: PUBLISHER_LINES, CHANNELS: CHANNEL_LINES, SUBSCRIBERS: SUBSCRIPTION_LINES}
    top = HEADER_LINES * unit
    for column, (x, span) in spans.items():
        nodes = graph.column(column)
        if column == CHANNELS:
            nodes = sorted(nodes, key=lambda node: node.label.startswith(DEAD_PREFIX))  # stable: dead ones last
        fits = capacity(height, unit, lines[column])
        left_out = graph.hidden[column]  # the quieter ones the graph already left out
        if len(nodes) > fits:
            left_out += len(nodes) - fits + 1
            nodes = nodes[: fits - 1]
        if left_out:
            placement.more[column] = left_out
        box_height = lines[column] * unit
        step = box_height + GAP_LINES * unit
        inner = 0.8 * unit if column == CHANNELS else 0.0  # channels sit inside the broker's box
        area = height - top - MORE_LINES * unit
        if nodes:  # a few boxes spread out a little, so the lines between them are easy to follow
            step = min(1.6 * step, max(step, (area + GAP_LINES * unit) / len(nodes)))
        used = len(nodes) * step - GAP_LINES * unit
        first = top + max(0.0, (area - used) / 2)
        placement.columns[column] = Box(x, top, span, area)
        for row, node in enumerate(nodes):
            placement.boxes[node.key] = Box(x + inner, first + row * step, span - 2 * inner, box_height)
            placement.nodes[node.key] = node
    channel_x, channel_span = spans[CHANNELS]
    channels = [box for key, box in placement.boxes.items() if key.startswith("c:")]
    if channels:  # the broker's box holds its channels
        first, last = channels[0].y - 0.8 * unit, channels[-1].y + channels[-1].height + 0.8 * unit
        placement.broker = Box(channel_x, first, channel_span, last - first)
    return placement
