"""Painting the presenter's picture: a still picture redrawn per snapshot, and dots each frame.

The still picture is painted when the snapshot, the size, the zoom or the theme changes: a
background (titles, the broker's box, edges) and one small tile per box (names, queue bars,
counts). A frame copies the background, paints the dots in flight and copies the tiles over
them, so dots pass behind the boxes (into a channel and out of it) and never cover a name;
a frame costs the same at 1 msg/s and at 50,000.

Following one message repaints the still picture with its path: its edges bold in the colour
of each subscription's outcome, the boxes it reached outlined, everything else faded, and
each subscription's counts line replaced by what it did with the message (a ``Mark``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen, QPixmap

from eventdeck.core import DEAD_PREFIX, State, SubscriptionInfo
from eventdeck.gui.models.message_path import Mark, MessagePath
from eventdeck.gui.models.topology import CHANNELS, DEAD, DEAD_LETTERS, PUBLISHERS, SUBSCRIBERS, Edge, Graph, Node
from eventdeck.gui.presenter.flow import curve
from eventdeck.gui.presenter.layout import Box, Placement
from eventdeck.gui.widgets.icons import KIND_COLOURS
from eventdeck.gui.widgets.theme import DEAD_LETTER_BACKGROUND, DEAD_LETTER_COLOUR

COLOURS = {**{kind.value: colour for kind, colour in KIND_COLOURS.items()}, DEAD: DEAD_LETTER_COLOUR}
TITLES = {
    PUBLISHERS: ("Publishers", "send messages to channels"),
    CHANNELS: ("The broker", "hands each message to every subscription of its channel"),
    SUBSCRIBERS: ("Subscribers", "queue what they are sent, handle it, and ack it"),
}
TILE_MARGIN = 4  # px around a box's tile, for its border (and the outline of a followed message's path)
FADED = 0.28  # opacity of what is not on a followed message's path
COLUMN_ORDER = {"p:": PUBLISHERS, "c:": CHANNELS, "s:": SUBSCRIBERS}
PAINT_BUDGET = 0.0025  # s a paint spends on tiles whose counts changed and a new background; the rest waits
WIDTH_HYSTERESIS = 1.0  # px an edge's width must move before the background is drawn again for it
HELD_CAPTION = "held: press Next"
EMPTY_TEXT = "Nothing has been published yet: start a scenario (File > Scenarios) or send an event from the composer."


def font(unit: float, scale: float = 1.0, bold: bool = False) -> QFont:
    result = QFont()
    result.setPixelSize(max(1, round(unit * scale)))
    result.setBold(bold)
    return result


def queue_fill(info: SubscriptionInfo) -> float:
    """How full a subscription's queue bar is: logarithmic, so ten waiting messages already show."""
    if info.pending <= 0:
        return 0.0
    return min(1.0, math.log10(1 + info.pending) / math.log10(1 + max(10, info.max_pending)))


def edge_width(rate: float) -> float:
    """An edge's pen width for ``rate`` msg/s: thicker is busier, in half-pixel steps (a rate that wobbles
    does not make the background be painted again)."""
    return round(2 * (1.5 + min(8.0, 2.0 * math.log10(1.0 + max(0.0, rate))))) / 2


def _shown_counts(info: SubscriptionInfo | None) -> tuple[object, ...] | None:
    """What a subscription's tile shows of it (its rates and other counters are not drawn)."""
    if info is None:
        return None
    return (info.state, info.pending, info.max_pending, info.acked, info.redelivered, info.dead_lettered)


@dataclass(frozen=True, slots=True)
class _Tile:
    shape: Hashable  # where it is and how it looks: when this changes, it is drawn again at once
    counts: Hashable  # the numbers it shows: these may wait for the next paint when time runs short
    pixmap: QPixmap
    painted: int  # the paint that drew it


@dataclass(slots=True)
class _Background:
    """A background: drawn piece by piece, then shown until what it shows changes."""

    key: Hashable
    size: tuple[float, float, float]  # width, height, device pixel ratio
    pixmap: QPixmap
    pieces: Generator[None, None, None]


@dataclass(slots=True)
class Still:
    """What a frame copies: the background under the dots, and the boxes' tiles over them."""

    background: QPixmap
    tiles: list[tuple[QPointF, QPixmap]] = field(default_factory=list)


class StillLayer:
    """Paints one placement of a graph: a background of the canvas's size and a tile per box.

    It keeps what it painted: the next ``paint`` redraws the background only when the boxes, the
    edges (their widths in half-pixel steps, changed only when the rate moves well away) or the
    followed path moved, and only the tiles whose text changed. Tiles whose counts alone changed
    are redrawn within ``budget`` seconds, the longest-waiting first; ``pending`` says how many
    wait for the next ``paint``. A full redraw on every snapshot (~30-90 ms under load) was the
    presenter's longest stall.

    A new background of the same size is drawn a few pieces (edges, titles) per ``paint`` too, within
    the same budget, into a picture of its own: until it is whole, ``paint`` returns the previous
    still picture as it was (``pending`` is then 1), so boxes and edges never disagree on screen.
    A new size (the first picture, a resize, a zoom) is drawn whole at once.
    """

    def __init__(self, palette: QPalette, dark: bool, budget: float = PAINT_BUDGET) -> None:
        self.palette = palette
        self.dark = dark
        self.budget = budget
        self.pending = 0  # tiles showing older counts, redrawn by the next ``paint``
        self.drawn = 0  # pieces (the background, tiles) the last ``paint`` drew: 0 when the picture is unchanged
        self._background: _Background | None = None  # the one shown
        self._drawing: _Background | None = None  # a new one, a few pieces a paint
        self._still: Still | None = None  # what the last ``paint`` returned
        self._tiles: dict[str, _Tile] = {}
        self._widths: dict[tuple[str, str], float] = {}
        self._paints = 0

    def paint(
        self,
        placement: Placement,
        graph: Graph,
        subscriptions: dict[str, SubscriptionInfo],
        ratio: float,
        *,
        path: MessagePath | None = None,
        marks: Mapping[str, Mark] | None = None,
    ) -> Still:
        """The still picture; with ``path``, one message's way through it stands out; ``marks`` (subscription
        key -> mark) replace those subscriptions' counts line."""
        started = time.perf_counter()
        self._paints += 1
        self.drawn = 0
        background = self._painted_background(placement, graph, ratio, path, started)
        if background is None:  # the new background is not whole yet: the picture stays as it was
            assert self._still is not None
            self.pending = 1
            return self._still
        still = Still(background)
        tiles: dict[str, _Tile] = {}
        stale: list[tuple[int, str, Node, SubscriptionInfo | None, Mark | None, bool, bool, Hashable]] = []
        for key, box in placement.boxes.items():
            node = placement.nodes[key]
            info = subscriptions.get(node.label) if node.column == SUBSCRIBERS else None
            mark = (marks or {}).get(key)
            on_path = path is not None and key in path.nodes
            faded = path is not None and not on_path
            # Its size, not its place: boxes that only moved (a busier one went up) keep their tiles.
            shape = (box.width, box.height, node.column, node.label, mark, on_path, faded, placement.unit, ratio)
            counts = (node.detail, _shown_counts(info))
            cached = self._tiles.get(key)
            if cached is None or cached.shape != shape:  # a new look: drawn now, or the picture would be mixed
                tile = self._tile(placement.unit, node, box, info, ratio, mark=mark, on_path=on_path, faded=faded)
                cached = _Tile(shape, counts, tile, self._paints)
                self.drawn += 1
            elif cached.counts != counts:
                stale.append((cached.painted, key, node, info, mark, on_path, faded, counts))
            tiles[key] = cached
        stale.sort(key=lambda item: item[0])  # the longest-waiting first
        self.pending = 0
        for _painted, key, node, info, mark, on_path, faded, fresh in stale:
            if self.drawn and time.perf_counter() - started > self.budget:  # at least one a paint: it catches up
                self.pending += 1
                continue
            box = placement.boxes[key]
            tile = self._tile(placement.unit, node, box, info, ratio, mark=mark, on_path=on_path, faded=faded)
            tiles[key] = _Tile(tiles[key].shape, fresh, tile, self._paints)
            self.drawn += 1
        for key, box in placement.boxes.items():
            still.tiles.append((QPointF(box.x - TILE_MARGIN, box.y - TILE_MARGIN), tiles[key].pixmap))
        self.drawn += len(self._tiles.keys() - tiles.keys())  # a box gone is a change too
        self._tiles = tiles  # boxes no longer shown are forgotten
        self._still = still
        return still

    def edge_width(self, edge: Edge) -> float:
        """The pen width of ``edge``, kept while its rate stays near the one it was drawn with."""
        key = (edge.source, edge.target)
        wanted = edge_width(edge.rate)
        drawn = self._widths.get(key)
        if drawn is None or abs(wanted - drawn) >= WIDTH_HYSTERESIS:
            self._widths[key] = drawn = wanted
        return drawn

    def _painted_background(
        self, placement: Placement, graph: Graph, ratio: float, path: MessagePath | None, started: float
    ) -> QPixmap | None:
        """The background (titles, the broker's box, edges), painted again only when what it shows changed;
        None while a new one of the same size is still being drawn."""
        edges = tuple((edge.source, edge.target, edge.kind, edge.active, self.edge_width(edge)) for edge in graph.edges)
        self._widths = {(source, target): width for source, target, _kind, _active, width in edges}
        followed = None
        if path is not None:
            followed = tuple((edge, colour, path.marks.get(edge[1])) for edge, colour in path.edges.items())
        # Sets, not sequences: the busiest boxes and their edges change places in the graph's order all the
        # time (two equally busy subscriptions), and a picture whose pieces were only listed anew is the same.
        size = (placement.width, placement.height, ratio)
        columns = (tuple(placement.columns.items()), tuple(placement.more.items()))
        where = (placement.unit, placement.broker, frozenset(placement.boxes.items()), columns)
        key = (size, where, frozenset(edges), followed)
        if self._background is not None and self._background.key == key:
            self._stop_drawing()
            return self._background.pixmap
        if self._drawing is None or self._drawing.key != key:
            self._stop_drawing()
            pixmap = _pixmap(placement.width, placement.height, ratio, self.palette.color(QPalette.ColorRole.Window))
            self._drawing = _Background(key, size, pixmap, self._background_pieces(pixmap, placement, graph, path))
        drawing = self._drawing
        whole_now = self._background is None or self._background.size != size  # nothing of this size to show
        for _piece in drawing.pieces:
            if not whole_now and time.perf_counter() - started > self.budget:
                return None
        self._drawing = None
        self._background = drawing
        self.drawn += 1
        return drawing.pixmap

    def _stop_drawing(self) -> None:
        if self._drawing is not None:
            self._drawing.pieces.close()  # ends its painter
            self._drawing = None

    def _background_pieces(
        self, background: QPixmap, placement: Placement, graph: Graph, path: MessagePath | None
    ) -> Generator[None, None, None]:
        """Draws the background one piece (the broker's box, an edge, the titles) per step."""
        with _painting(background) as painter:
            if not placement.boxes:
                self._text(painter, QRectF(0, 0, placement.width, placement.height), EMPTY_TEXT, font(placement.unit))
                return
            self._broker(painter, placement)
            yield
            for edge in graph.edges:
                if path is None or (edge.source, edge.target) not in path.edges:
                    painter.setOpacity(FADED if path is not None else 1.0)
                    self._edge(painter, placement, edge)
                    yield
            painter.setOpacity(1.0)
            if path is not None:
                for (source, target), colour in path.edges.items():
                    self._path_edge(painter, placement, (source, target), colour, path.marks.get(target))
                    yield
            self._titles(painter, placement)

    def _tile(
        self,
        unit: float,
        node: Node,
        box: Box,
        info: SubscriptionInfo | None,
        ratio: float,
        *,
        mark: Mark | None,
        on_path: bool,
        faded: bool,
    ) -> QPixmap:
        tile = _pixmap(box.width + 2 * TILE_MARGIN, box.height + 2 * TILE_MARGIN, ratio, Qt.GlobalColor.transparent)
        with _painting(tile) as painter:
            box = Box(TILE_MARGIN, TILE_MARGIN, box.width, box.height)  # drawn where the tile starts, to go anywhere
            if faded:
                painter.setOpacity(FADED)
            self._node(painter, unit, node, box, info, mark=mark, on_path=on_path)
        return tile

    def _path_edge(
        self, painter: QPainter, placement: Placement, edge: tuple[str, str], colour: str, mark: Mark | None
    ) -> None:
        """One edge of the followed message's path: bold, in its outcome's colour, dashed while it may change."""
        source, target = edge
        start, end = placement.boxes.get(source), placement.boxes.get(target)
        if start is None or end is None:
            return
        backwards = COLUMN_ORDER[source[:2]] > COLUMN_ORDER[target[:2]]
        pen = QPen(QColor(colour), max(4.0, 0.3 * placement.unit) * (0.6 if backwards else 1.0))  # a reply: thinner
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        if mark is not None and mark.pending:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(_curve_between(start, end, backwards, placement.unit))

    def _text(
        self,
        painter: QPainter,
        rect: QRectF,
        text: str,
        text_font: QFont,
        colour: QColor | None = None,
        *,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignCenter,
    ) -> None:
        painter.setFont(text_font)
        painter.setPen(colour or self.palette.color(QPalette.ColorRole.WindowText))
        elided = QFontMetrics(text_font).elidedText(text, Qt.TextElideMode.ElideMiddle, int(rect.width()))
        painter.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), elided)

    def _titles(self, painter: QPainter, placement: Placement) -> None:
        unit = placement.unit
        muted = self.palette.color(QPalette.ColorRole.PlaceholderText)
        for column, area in placement.columns.items():
            title, subtitle = TITLES[column]
            self._text(painter, QRectF(area.x, 0.2 * unit, area.width, 1.6 * unit), title, font(unit, 1.25, bold=True))
            self._text(
                painter, QRectF(area.x, 1.8 * unit, area.width, 1.2 * unit), subtitle, font(unit, 0.9), colour=muted
            )
            more = placement.more.get(column)
            if more:
                note = QRectF(area.x, area.y + area.height, area.width, 1.2 * unit)
                self._text(painter, note, f"+{more:,} more (the busiest are shown)", font(unit, 0.9), colour=muted)

    def _broker(self, painter: QPainter, placement: Placement) -> None:
        box = placement.broker
        path = QPainterPath()
        path.addRoundedRect(QRectF(box.x, box.y, box.width, box.height), placement.unit, placement.unit)
        fill = QColor(self.palette.color(QPalette.ColorRole.Highlight))
        fill.setAlpha(28 if self.dark else 18)
        painter.fillPath(path, fill)
        pen = QPen(self.palette.color(QPalette.ColorRole.Highlight), 3)
        painter.setPen(pen)
        painter.drawPath(path)

    def _edge(self, painter: QPainter, placement: Placement, edge: Edge) -> None:
        source, target = placement.boxes.get(edge.source), placement.boxes.get(edge.target)
        if source is None or target is None:
            return
        backwards = edge.source.startswith("s:")  # a subscription giving up: back into a $dead channel
        start, end = (
            ((source.x, source.middle), (target.right, target.middle))
            if backwards
            else (
                (source.right, source.middle),
                (target.x, target.middle),
            )
        )
        path = _polyline(curve(start, end))
        if backwards or edge.source == f"p:{DEAD_LETTERS}":
            colour = QColor(DEAD_LETTER_COLOUR)
        elif edge.kind is not None:
            colour = QColor(COLOURS[edge.kind.value])
        else:
            colour = QColor(self.palette.color(QPalette.ColorRole.PlaceholderText))
        colour.setAlpha(150)
        pen = QPen(colour, self.edge_width(edge))
        if backwards:
            pen.setWidthF(3.0)
        if not edge.active or backwards:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)

    def _node(
        self,
        painter: QPainter,
        unit: float,
        node: Node,
        box: Box,
        info: SubscriptionInfo | None,
        *,
        mark: Mark | None = None,
        on_path: bool = False,
    ) -> None:
        dead = node.label.startswith(DEAD_PREFIX)
        rect = QRectF(box.x, box.y, box.width, box.height)
        path = QPainterPath()
        path.addRoundedRect(rect, 0.4 * unit, 0.4 * unit)
        painter.fillPath(path, DEAD_LETTER_BACKGROUND if dead else self.palette.color(QPalette.ColorRole.Base))
        border = QColor(DEAD_LETTER_COLOUR) if dead else self.palette.color(QPalette.ColorRole.Mid)
        painter.setPen(QPen(border, 3 if dead else 1.5))
        painter.drawPath(path)
        if on_path:  # outlined outside its border, so the dead-letter red stays visible
            outline = QPainterPath()
            outline.addRoundedRect(rect.adjusted(-2, -2, 2, 2), 0.4 * unit + 2, 0.4 * unit + 2)
            painter.setPen(QPen(self.palette.color(QPalette.ColorRole.Highlight), 3))
            painter.drawPath(outline)
        pad = 0.5 * unit
        inner = rect.adjusted(pad, 0, -pad, 0)
        muted = self.palette.color(QPalette.ColorRole.PlaceholderText)
        label = ("☠ " if dead else "") + node.label
        if info is None:  # a publisher or a channel: its name and its rate (or how the followed command fared)
            self._line(painter, inner, box.y + 0.2 * unit, label, font(unit))
            if mark is not None:
                self._line(
                    painter,
                    inner,
                    box.y + 1.2 * unit,
                    mark.text,
                    font(unit, 0.95, bold=True),
                    colour=QColor(mark.colour),
                )
            else:
                self._line(painter, inner, box.y + 1.2 * unit, node.detail, font(unit, 0.9), colour=muted)
            return
        if info.state is not State.ACTIVE:
            label = f"{label} ({info.state.value})"
        self._line(painter, inner, box.y + 0.2 * unit, label, font(unit))
        self._queue(painter, unit, info, QRectF(inner.x(), box.y + 1.6 * unit, inner.width(), 1.2 * unit))
        if mark is not None:  # what it did with the followed (or stepped) message, instead of its counts
            self._line(painter, inner, box.y + 3.1 * unit, mark.text, font(unit, bold=True), colour=QColor(mark.colour))
            return
        counts = f"✓ {info.acked:,} acked   ↻ {info.redelivered:,} retried   ✗ {info.dead_lettered:,} dead"
        self._line(painter, inner, box.y + 3.1 * unit, counts, font(unit, 0.9), colour=muted)

    def _line(
        self, painter: QPainter, inner: QRectF, top: float, text: str, text_font: QFont, *, colour: QColor | None = None
    ) -> None:
        """One line of text inside a box, left-aligned and elided to the box's width."""
        height = 1.25 * text_font.pixelSize()
        self._text(
            painter,
            QRectF(inner.x(), top, inner.width(), height),
            text,
            text_font,
            colour,
            align=Qt.AlignmentFlag.AlignLeft,
        )

    def _queue(self, painter: QPainter, unit: float, info: SubscriptionInfo, rect: QRectF) -> None:
        """The queue as a bar of waiting messages, its count beside it."""
        bar = QRectF(rect.x(), rect.y() + 0.15 * unit, rect.width() * 0.55, rect.height() - 0.3 * unit)
        painter.setPen(QPen(self.palette.color(QPalette.ColorRole.Mid), 1))
        painter.setBrush(self.palette.color(QPalette.ColorRole.AlternateBase))
        painter.drawRoundedRect(bar, 0.2 * unit, 0.2 * unit)
        fill = queue_fill(info)
        if fill > 0:
            colour = QColor("#f59e0b" if info.state is State.ACTIVE else "#ef4444")
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(QRectF(bar.x(), bar.y(), bar.width() * fill, bar.height()), 0.2 * unit, 0.2 * unit)
        text = QRectF(bar.right() + 0.4 * unit, rect.y(), rect.width() - bar.width() - 0.4 * unit, rect.height())
        self._text(painter, text, f"{info.pending:,} waiting", font(unit, 0.9), align=Qt.AlignmentFlag.AlignLeft)


def _polyline(points: list[tuple[float, float]]) -> QPainterPath:
    path = QPainterPath(QPointF(*points[0]))
    for point in points[1:]:
        path.lineTo(QPointF(*point))
    return path


def _curve_between(source: Box, target: Box, backwards: bool, unit: float) -> QPainterPath:
    """The S-curve from ``source`` to ``target``: right side to left side, or left to right going back,
    a little lower, so a reply's way home runs beside its command's way out instead of over it."""
    if backwards:
        below = 0.55 * unit
        return _polyline(curve((source.x, source.middle + below), (target.right, target.middle + below)))
    return _polyline(curve((source.right, source.middle), (target.x, target.middle)))


def _pixmap(width: float, height: float, ratio: float, fill: QColor | Qt.GlobalColor) -> QPixmap:
    pixmap = QPixmap(max(1, round(width * ratio)), max(1, round(height * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(fill)
    return pixmap


@contextmanager
def _painting(pixmap: QPixmap) -> Iterator[QPainter]:
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    try:
        yield painter
    finally:
        painter.end()


def paint_frame(
    painter: QPainter,
    still: Still | None,
    dots: list[tuple[float, float, str]],
    radius: float,
    dirty: QRectF,
    *,
    followed: list[tuple[float, float, str]] | None = None,
) -> None:
    """One frame within ``dirty``: the background, the dots in flight, and the boxes over them.

    While a message is followed (``followed``: its dots), the other dots are faded beneath its own."""
    if still is None:
        return
    ratio = still.background.devicePixelRatio()
    source = QRectF(dirty.x() * ratio, dirty.y() * ratio, dirty.width() * ratio, dirty.height() * ratio)
    painter.drawPixmap(dirty, still.background, source)
    if followed is not None:
        painter.setOpacity(FADED)
    paint_dots(painter, dots, radius)
    painter.setOpacity(1.0)
    if followed:
        paint_dots(painter, followed, radius)
    for position, tile in still.tiles:
        if dirty.intersects(QRectF(position, tile.deviceIndependentSize())):
            painter.drawPixmap(position, tile)


@cache
def dot_sprite(kind: str, radius: int, ratio: float) -> QPixmap:
    """One dot, drawn once per kind and size: a frame copies it instead of drawing a circle per dot."""
    size = 2 * radius + 2
    sprite = _pixmap(size, size, ratio, Qt.GlobalColor.transparent)
    with _painting(sprite) as painter:
        painter.setPen(QPen(QColor(0, 0, 0, 90), max(1.0, radius / 4)))
        painter.setBrush(QColor(COLOURS[kind]))
        painter.drawEllipse(QPointF(size / 2, size / 2), radius, radius)
    return sprite


def paint_dots(painter: QPainter, dots: list[tuple[float, float, str]], radius: float) -> None:
    """The dots in flight: one small copy each."""
    size = round(radius)
    ratio = painter.device().devicePixelRatioF()
    offset = size + 1
    for x, y, kind in dots:
        painter.drawPixmap(QPointF(x - offset, y - offset), dot_sprite(kind, size, ratio))


def paint_held(painter: QPainter, held: list[tuple[float, float, str]], unit: float, palette: QPalette) -> None:
    """Step mode's held messages, over everything: a ringed dot at each channel, a caption by the next to go."""
    if not held:
        return
    radius = 0.45 * unit
    paint_dots(painter, held, radius)
    accent = palette.color(QPalette.ColorRole.Highlight)
    painter.setPen(QPen(accent, max(2.0, radius / 3)))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for x, y, _kind in held:
        painter.drawEllipse(QPointF(x, y), 1.5 * radius, 1.5 * radius)
    x, y, _kind = held[0]
    caption_font = font(unit, 0.8, bold=True)
    metrics = QFontMetrics(caption_font)
    width, height = metrics.horizontalAdvance(HELD_CAPTION) + 0.8 * unit, metrics.height() + 0.4 * unit
    # Left of the dot, over the empty right end of the channel's box: the gap to the subscribers is too narrow.
    box = QRectF(x - 2 * radius - width, y - height / 2, width, height)
    painter.setBrush(palette.color(QPalette.ColorRole.Base))
    painter.drawRoundedRect(box, height / 2, height / 2)
    painter.setFont(caption_font)
    painter.setPen(palette.color(QPalette.ColorRole.Text))
    painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), HELD_CAPTION)
