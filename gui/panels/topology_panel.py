"""The topology dock: publishers -> channels -> subscribers, drawn from the live traffic.

A broker drawn as a diagram that moves: publishers send to channels, and the broker hands
each message to every subscription of the channel. Lines take the colour of
the kind of message they carry and thicken with its rate; a paused or away subscription's
line is dashed while its queue grows. Clicking a box shows it (a channel or a publisher's
messages in the stream, a subscription in Subscribers); right-clicking offers what the other
panels offer for it: publish, add a virtual subscriber, pause, resume.

While the window follows one message (a stream row, a presenter dot), its path stands out:
the lines it took in the colour of what each subscription did with it, each box it reached
saying so, everything else faded; Esc or a click on empty space stops following.

While a scenario runs, the boxes its story's step points at are outlined, each active fault is
written on the box it hits, and the right-click menu of a scenario's element offers its faults.

It is drawn only while visible, at most once per bridge snapshot (500 ms), from a graph
built in ``gui/models/topology.py``. Every name is drawn as plain text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QResizeEvent,
    QShowEvent,
    QTransform,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import DEAD_PREFIX, Message, State
from eventdeck.core.connectors.backend import Backend
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.models.message_path import MessagePath, message_path
from eventdeck.gui.models.topology import (
    BROKER_KEY,
    CHANNELS,
    DEAD,
    DEAD_LETTERS,
    MAX_PER_COLUMN,
    NO_MARKS,
    PUBLISHERS,
    SUBSCRIBERS,
    UNNAMED,
    EdgeKey,
    Graph,
    Node,
    ScenarioMarks,
    build_graph,
    publisher_ledger,
    with_down_subscribers,
)
from eventdeck.gui.presenter.badges import FAULT_COLOUR, HIGHLIGHT_COLOUR
from eventdeck.gui.presenter.layout import Zoom, fit_scale
from eventdeck.gui.presenter.zoom import zoom_step
from eventdeck.gui.scenarios.fault_widgets import CHANNEL, PUBLISHER, SUBSCRIBER, context_actions
from eventdeck.gui.widgets.icons import icon, kind_colour
from eventdeck.gui.widgets.small import menu_name, plural
from eventdeck.gui.widgets.theme import DEAD_LETTER_BACKGROUND, DEAD_LETTER_COLOUR

NODE_W, NODE_H, ROW_H, COLUMN_GAP, HEADER_H, PAD = 170.0, 36.0, 44.0, 90.0, 34.0, 8.0
MIN_SCALE = 0.5  # below this, text gets too small to read: scroll instead
MAX_SCALE = 2.0  # a popped-out or maximised dock fills its space, up to twice the size
ICON = 16
COLUMN_TITLES = {PUBLISHERS: "Publishers", CHANNELS: "Channels", SUBSCRIBERS: "Subscribers"}
COLUMN_ICONS = {PUBLISHERS: "publisher", CHANNELS: "channel", SUBSCRIBERS: "subscriber"}
LEGEND = (
    "Lines from publishers: blue events, orange commands, green replies, red dead letters; thicker is busier.\n"
    "Grey lines: the broker delivering a channel to a subscription (dashed while it is paused or away).\n"
    "Click a box to show it; right-click to publish, add a subscriber, pause or resume.\n"
    "Ctrl+= and Ctrl+- zoom, Ctrl+0 fits."
)
CLICK_HINTS = {
    PUBLISHERS: "Click to show what it sent; right-click for more",
    CHANNELS: "Click to show it in the stream; right-click to publish or subscribe",
    SUBSCRIBERS: "Click to show it in Subscribers; right-click to pause or resume",
}
EMPTY_TEXT = "Nothing has been published yet.\nSend an event from the composer, or start a scenario (File > Scenarios)."
FADED = 0.25  # opacity of what a followed message did not reach


class NodeItem(QGraphicsPathItem):
    """One rounded box in the diagram; remembers which node it draws, for clicks and tests."""

    def __init__(self, node: Node, rect: QRectF) -> None:
        path = QPainterPath()
        path.addRoundedRect(rect, 6, 6)
        super().__init__(path)
        self.node = node


class TopologyView(QGraphicsView):
    """The diagram's view: clicks and context-menu requests on a node are reported by its key."""

    node_clicked = Signal(str)
    node_menu_requested = Signal(str, QPoint)  # key, global position
    zoom_requested = Signal(int)  # +1, -1 or 0 (fit)
    stop_requested = Signal()  # Esc, or a click on empty space: stop following a message

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = zoom_step(event)
        if step is not None:
            self.zoom_requested.emit(step)
        elif event.key() == Qt.Key.Key_Escape:
            self.stop_requested.emit()
        else:
            super().keyPressEvent(event)

    def node_key_at(self, position: QPoint) -> str | None:
        item: QGraphicsItem | None = self.itemAt(position)
        while item is not None and not isinstance(item, NodeItem):
            item = item.parentItem()
        return item.node.key if isinstance(item, NodeItem) else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        key = self.node_key_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton:
            if key is not None:
                self.node_clicked.emit(key)
            else:
                self.stop_requested.emit()
        super().mousePressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        key = self.node_key_at(event.pos())
        if key is not None:
            self.node_menu_requested.emit(key, event.globalPos())


class TopologyPanel(QWidget):
    """Who publishes where and who listens, live, and a place to act on them.

    A click shows a channel or a publisher's messages in the stream, or a subscription in the
    Subscribers dock; a right-click offers what the other panels offer for that node.
    """

    channel_selected = Signal(str)
    publisher_selected = Signal(str)
    subscription_selected = Signal(str)
    publish_requested = Signal(str)  # open the composer on this channel
    subscribe_requested = Signal(str)  # add a virtual subscriber to this channel
    control_requested = Signal(str, str)  # subscription name, "pause" or "resume"
    fault_requested = Signal(str, str)  # a fault's kind (a story's action name) and its target
    fault_clear_requested = Signal(int)  # an active fault's ident

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("topologyPanel")
        self._bridge = bridge
        self.ledger = publisher_ledger(bridge)  # the presenter's too
        self.graph: Graph | None = None  # the last one drawn
        self.path: MessagePath | None = None  # the followed message's, as of the last drawing
        self.marks = NO_MARKS  # the running scenario's highlights and faults
        self._latest: tuple[dict[EdgeKey, float], Snapshot] | None = None
        self.scene = QGraphicsScene(self)
        self.view = TopologyView(self.scene)
        self.view.setObjectName("topologyView")
        self.view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.zoom = Zoom()
        self.view.zoom_requested.connect(self.zoom_by)
        self.view.node_clicked.connect(self._on_node_clicked)
        self.view.node_menu_requested.connect(self._popup_menu)
        self.view.stop_requested.connect(lambda: bridge.follow(None))
        self.view.setToolTip(LEGEND)
        self.note = QLabel()
        self.note.setObjectName("topologyNote")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.hide()
        self.follow_hint = QLabel()
        self.follow_hint.setObjectName("topologyFollowHint")
        self.follow_hint.setTextFormat(Qt.TextFormat.PlainText)
        self.follow_hint.setWordWrap(True)
        self.follow_hint.setStyleSheet(
            "background: palette(highlight); color: palette(highlighted-text); padding: 2px;"
        )
        self.follow_hint.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.follow_hint)
        layout.addWidget(self.note)
        layout.addWidget(self.view, 1)
        bridge.snapshot.connect(self._on_snapshot)
        bridge.backend_changed.connect(self._on_backend_changed)
        bridge.followed.connect(self._on_followed)
        if bridge.last_snapshot is not None:  # built after the start (its dock first shown): drawn from it at once
            self._on_snapshot(bridge.last_snapshot)

    # -- data -------------------------------------------------------------------

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        self._latest = (self.ledger.rates_at(snapshot.time), with_down_subscribers(snapshot, self.marks))
        if self.isVisible():  # hidden (e.g. behind the Rates tab): no graph, no drawing
            self.draw()

    def _on_followed(self, message: Message | None) -> None:
        self.follow_hint.setVisible(message is not None)
        if self.isVisible():
            self.draw()

    def _followed_path(self) -> MessagePath | None:
        """The followed message's path as of now (what each subscription did with it may have moved on)."""
        message = self._bridge.followed_message
        if message is None:
            return None
        commands = self._bridge.commands
        return message_path(message, self._bridge.timeline(message), commands.command_for, commands.reply_for)

    def _on_backend_changed(self, _backend: Backend) -> None:
        # Another broker: its publishers are not this one's.
        self.ledger.clear()

    def clear(self) -> None:
        """Forget the publishers seen (the broker was emptied)."""
        self.ledger.clear()
        self._latest = None
        self.graph = None
        if self.isVisible():
            self.draw()

    def set_marks(self, marks: ScenarioMarks) -> None:
        if marks != self.marks:
            self.marks = marks
            if self.isVisible():
                self.draw()

    def _on_node_clicked(self, key: str) -> None:
        kind, name = key[:2], key[2:]
        if kind == "c:":
            self.channel_selected.emit(name)
        elif key == f"p:{DEAD_LETTERS}":
            self.channel_selected.emit(DEAD_PREFIX.rstrip("/"))  # what the broker dead-lettered
        elif kind == "p:":
            self.publisher_selected.emit("" if name == UNNAMED else name)
        else:
            self.subscription_selected.emit(name)

    def menu_for(self, key: str) -> QMenu:
        """The context menu of the node ``key`` (``c:``, ``p:`` or ``s:`` and its name)."""
        kind, name = key[:2], key[2:]
        label = menu_name(name)
        hosted = self._bridge.backend.capabilities.virtual_subscribers  # a real broker's belong to its clients
        menu = QMenu(self)
        menu.setObjectName("topologyMenu")

        def item(object_name: str, icon_name: str, text: str, act: Callable[[], object], enabled: bool = True) -> None:
            action = menu.addAction(icon(icon_name), text)
            action.setObjectName(object_name)
            action.setEnabled(enabled)
            action.triggered.connect(act)

        if kind == "c:":
            item(
                "topologyShowChannel", "filter", f"Show {label} in the stream", lambda: self.channel_selected.emit(name)
            )
            item("topologyPublish", "send", f"Publish to {label}…", lambda: self.publish_requested.emit(name))
            item(
                "topologySubscribe",
                "subscriber",
                f"Add virtual subscriber to {label}…",
                lambda: self.subscribe_requested.emit(name),
                enabled=hosted,
            )
        elif kind == "p:":
            item("topologyShowPublisher", "filter", f"Show what {label} sent", lambda: self._on_node_clicked(key))
        else:
            item("topologyShowSubscription", "subscriber", "Show in Subscribers", lambda: self._on_node_clicked(key))
            menu.addSeparator()
            state = self._state_of(name) if hosted else None
            item(
                "topologyPause",
                "pause",
                f"Pause {label}",
                lambda: self.control_requested.emit(name, "pause"),
                enabled=state is State.ACTIVE,
            )
            item(
                "topologyResume",
                "play",
                f"Resume {label}",
                lambda: self.control_requested.emit(name, "resume"),
                enabled=state is State.PAUSED,
            )
        self._fault_items(menu, key)
        return menu

    def _fault_items(self, menu: QMenu, key: str) -> None:
        """A scenario's element: its faults, then "Clear fault" for each one active on it."""
        kind, name = key[:2], key[2:]
        if not self.marks.can_fault(key):
            return
        menu.addSeparator()
        element = {"s:": SUBSCRIBER, "c:": CHANNEL, "p:": PUBLISHER}[kind]
        menu.addActions(context_actions(element, name, self.fault_requested.emit, menu))
        for ident, _kind, _target, description in self.marks.faults_on(key):
            clear = menu.addAction(icon("clear"), f"Clear fault: {menu_name(description, 64)}")
            clear.setObjectName("topologyClearFault")
            clear.triggered.connect(lambda _checked=False, ident=ident: self.fault_clear_requested.emit(ident))

    def _state_of(self, subscription: str) -> State | None:
        try:
            return self._bridge.broker.subscription(subscription).state  # now, not as of the last snapshot
        except KeyError:
            return None

    def _popup_menu(self, key: str, position: QPoint) -> None:
        menu = self.menu_for(key)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(position)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.draw()

    # -- drawing ----------------------------------------------------------------

    def node_items(self) -> dict[str, NodeItem]:
        """The boxes on screen by node key (what a click or a test finds)."""
        return {item.node.key: item for item in self.scene.items() if isinstance(item, NodeItem)}

    def draw(self) -> None:
        """Build the graph from the latest snapshot and redraw it (at most 40 boxes a column, and their lines)."""
        self.scene.clear()
        if self._latest is not None:
            rates, snapshot = self._latest
            self.graph = build_graph(self.ledger.counts, rates, snapshot)
        graph = self.graph
        palette = self.palette()
        self.path = followed = self._followed_path()
        self.follow_hint.setText(followed.hint if followed is not None else "")
        self.follow_hint.setVisible(followed is not None)
        if graph is None or not graph.nodes:
            empty = self.scene.addSimpleText(EMPTY_TEXT)
            empty.setBrush(palette.color(QPalette.ColorRole.PlaceholderText))
            self.note.hide()
            return
        columns = {column: graph.column(column) for column in (PUBLISHERS, CHANNELS, SUBSCRIBERS)}
        tallest = max(len(nodes) for nodes in columns.values())
        boxes: dict[str, QRectF] = {}
        for column, nodes in columns.items():
            x = column * (NODE_W + COLUMN_GAP)
            self._header(column, len(nodes), x, graph, palette)
            top = HEADER_H + (tallest - len(nodes)) * ROW_H / 2  # centred on the tallest column
            for row, node in enumerate(nodes):
                boxes[node.key] = QRectF(x, top + row * ROW_H, NODE_W, NODE_H)
        for edge in graph.edges:
            source, target = boxes.get(edge.source), boxes.get(edge.target)
            if source is None or target is None:
                continue
            start = QPointF(source.right(), source.center().y())
            end = QPointF(target.left(), target.center().y())
            bend = (end.x() - start.x()) / 2
            curve = QPainterPath(start)
            curve.cubicTo(start + QPointF(bend, 0), end - QPointF(bend, 0), end)
            if edge.source == f"p:{DEAD_LETTERS}":
                colour = QColor(DEAD_LETTER_COLOUR)
            else:
                colour = kind_colour(edge.kind) if edge.kind is not None else palette.color(QPalette.ColorRole.Mid)
            pen = QPen(colour, 1.0 + min(5.0, 1.5 * math.log10(1.0 + edge.rate)))
            if not edge.active:
                pen.setStyle(Qt.PenStyle.DashLine)
            on_path = followed.edges.get((edge.source, edge.target)) if followed is not None else None
            if on_path is not None and followed is not None:  # the followed message went this way: bold, in colour
                mark = followed.marks.get(edge.target)
                pen = QPen(QColor(on_path), 3.5)
                if mark is not None and mark.pending:
                    pen.setStyle(Qt.PenStyle.DashLine)
            line = self.scene.addPath(curve, pen)
            line.setZValue(-0.5 if on_path is not None else -1)
            if followed is not None and on_path is None:
                line.setOpacity(FADED)
        for node in graph.nodes:
            self._node(node, boxes[node.key], palette, followed)
        self.scene.setSceneRect(self.scene.itemsBoundingRect().adjusted(-PAD, -PAD, PAD, PAD))
        self._show_note(graph)
        self._fit()

    def zoom_by(self, step: int) -> None:
        """Zoom in (+1), out (-1) or back to fitting the dock (0), as the presenter does."""
        self.zoom.step(step)
        self._fit()

    def _fit(self) -> None:
        """Fit the diagram to the dock (up to MAX_SCALE, never below MIN_SCALE), times the zoom."""
        rect = self.scene.sceneRect()
        viewport = self.view.viewport().size()
        if rect.isEmpty() or viewport.isEmpty():
            return
        size = (rect.width(), rect.height())
        scale = fit_scale(size, (viewport.width(), viewport.height()), self.zoom.factor, MIN_SCALE, MAX_SCALE)
        self.view.setTransform(QTransform.fromScale(scale, scale))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _header(self, column: int, count: int, x: float, graph: Graph, palette: QPalette) -> None:
        title = f"{COLUMN_TITLES[column]} ({count:,})"
        if column == SUBSCRIBERS and not graph.subscribers_exposed:
            title = "Subscribers: not exposed by this broker"
        header = self.scene.addSimpleText(title)
        font = QFont(header.font())
        font.setBold(True)
        header.setFont(font)
        header.setBrush(palette.color(QPalette.ColorRole.WindowText))
        header.setPos(x + ICON + 6, 4)
        pixmap = self.scene.addPixmap(icon(COLUMN_ICONS[column]).pixmap(ICON, ICON))
        pixmap.setPos(x, 4 + (header.boundingRect().height() - ICON) / 2)

    def _node(self, node: Node, rect: QRectF, palette: QPalette, followed: MessagePath | None) -> None:
        item = NodeItem(node, rect)
        dead = node.key.startswith(f"c:{DEAD_PREFIX}") or node.key == f"p:{DEAD_LETTERS}"
        item.setBrush(QBrush(DEAD_LETTER_BACKGROUND if dead else palette.color(QPalette.ColorRole.Base)))
        item.setPen(QPen(QColor(DEAD_LETTER_COLOUR), 2.0) if dead else QPen(palette.color(QPalette.ColorRole.Mid), 1.0))
        item.setData(0, DEAD if dead else None)  # what a test or an accessibility tool reads as its badge
        item.setToolTip(_tooltip(f"{node.tooltip}\n{CLICK_HINTS[node.column]}"))
        item.setCursor(Qt.CursorShape.PointingHandCursor)
        if node.dimmed and not dead:
            item.setOpacity(0.55)
        mark = followed.marks.get(node.key) if followed is not None else None
        fault = self.marks.fault_text(node.key)
        item.setData(1, fault or None)  # what a test or an accessibility tool reads as its scenario marks
        item.setData(2, self.marks.highlighted(node.key))
        if followed is not None and node.key not in followed.nodes:
            item.setOpacity(FADED)
        elif followed is not None:  # on the followed message's path
            item.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2.5))
        elif self.marks.highlighted(node.key):  # what the story's step points at
            item.setPen(QPen(QColor(HIGHLIGHT_COLOUR), 3.0))
        self.scene.addItem(item)
        label = QGraphicsSimpleTextItem(item)  # plain text: names come from the traffic
        metrics = QFontMetrics(label.font())
        label.setText(metrics.elidedText(node.label, Qt.TextElideMode.ElideMiddle, int(NODE_W - 2 * PAD)))
        label.setBrush(palette.color(QPalette.ColorRole.Text))
        label.setPos(rect.left() + PAD, rect.top() + 3)
        words, colour = (mark.text, QColor(mark.colour)) if mark is not None else (node.detail, None)
        if fault and mark is None:
            words, colour = f"{fault} · {node.detail}", QColor(FAULT_COLOUR)
        detail = QGraphicsSimpleTextItem(words, item)
        small = QFont(detail.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        small.setBold(colour is not None)
        detail.setFont(small)
        detail.setBrush(colour or palette.color(QPalette.ColorRole.PlaceholderText))
        detail.setPos(rect.left() + PAD, rect.top() + NODE_H / 2)

    def _show_note(self, graph: Graph) -> None:
        left_out = [
            plural(count, noun)
            for count, noun in zip(graph.hidden, ("publisher", "channel", "subscriber"), strict=True)
            if count
        ]
        parts = []
        if left_out:
            parts.append(f"The {MAX_PER_COLUMN} busiest of each are drawn; left out: {', '.join(left_out)}.")
        if self.ledger.untracked:
            parts.append(f"{self.ledger.untracked:,} messages came from more publishers than are tracked.")
        parts.extend(f"⚠ {description}" for _ident, _kind, _target, description in self.marks.faults_on(BROKER_KEY))
        self.note.setText(" ".join(parts))
        self.note.setVisible(bool(parts))


def _tooltip(text: str) -> str:
    # Rich text so the lines break, with every name from the traffic escaped.
    return "<qt>" + "<br>".join(html.escape(line) for line in text.splitlines()) + "</qt>"
