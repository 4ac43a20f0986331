"""The presenter view (View > Present, F5): the broker as a living picture a room can follow.

Publishers on the left send dots (messages, coloured by kind) into the broker's box, where each
channel hands them to every matching subscription on the right; each subscription shows its
queue as a bar and its acked, retried and dead-lettered counts. It listens to the bridge only
while shown: message batches (~30 a second) are sampled into dots, snapshots (2 a second)
redraw the still picture, and a 50 fps timer moves the dots, whatever the message rate.

Clicking a dot (or selecting a row in the stream) follows its message: its path stands out,
each subscription it reached says what it did with it, and everything else fades until Esc or
a click on empty space. A command waiting for its reply shows at its responders and requester.
In step mode each Next moves one hop: a held message on to its subscriptions, then their outcomes.

A running scenario's story shows large along the top (``presenterCaption``); the clicker's keys
move it (in step mode, Next's keys move the held message instead). The boxes its step points at
get a ring, and every active fault is written on the box it hits.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPoint, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QHelpEvent,
    QHideEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QLabel, QToolTip, QVBoxLayout, QWidget

from eventdeck.core import Broker, BrokerEvent, EventKind, Message, SubscriptionInfo
from eventdeck.core.broker.stepper import Stepper
from eventdeck.core.connectors.backend import Backend, EmbeddedBackend
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.models.message_path import Mark, MessagePath, mark, message_path
from eventdeck.gui.models.topology import (
    NO_MARKS,
    EdgeKey,
    Graph,
    ScenarioMarks,
    publisher_ledger,
    with_down_subscribers,
)
from eventdeck.gui.presenter.badges import Badge, badge_area, mark_badges, paint_badges, wait_badges
from eventdeck.gui.presenter.canvas import Still, StillLayer, font, paint_frame, paint_held
from eventdeck.gui.presenter.controls import NO_STEP_TIP, STEP_TIP, PresenterControls
from eventdeck.gui.presenter.flow import Flow
from eventdeck.gui.presenter.layout import (
    CHANNEL_LINES,
    FONT_SCALES,
    SUBSCRIPTION_LINES,
    Placement,
    Zoom,
    body_unit,
    capacity,
    place,
)
from eventdeck.gui.presenter.scene import EMPTY, presenter_graph
from eventdeck.gui.presenter.steps import Hop, Step, StepPlan, hop_text, step_status
from eventdeck.gui.presenter.waits import CommandWaits
from eventdeck.gui.presenter.zoom import zoom_step
from eventdeck.gui.scenarios.caption import CaptionPanel
from eventdeck.gui.scenarios.story_controls import story_keys

FRAME_MS = 20  # 50 fps: smooth on a projector, and room to spare for the broker
CATCH_UP_MS = 20  # between two slices of the still picture: a frame gets in between
FOLLOW_REFRESH_MS = 250  # a followed message's outcomes are asked again 4 times a second while pending
LEAVE_KEYS = (Qt.Key.Key_Escape,)
NEXT_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_PageDown)  # what presenter clickers send
__all__ = ["NO_STEP_TIP", "STEP_TIP", "FlowCanvas", "PresenterView"]  # the tips live with the bar


class FlowCanvas(QWidget):
    """Where the picture is painted; tooltips give the full name of any box."""

    def __init__(self, presenter: PresenterView) -> None:
        super().__init__(presenter)
        self.setObjectName("presenterCanvas")
        self._presenter = presenter

    def paintEvent(self, event: QPaintEvent) -> None:
        self._presenter.paint_frame(self, QRectF(event.rect()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._presenter.click(event.position().x(), event.position().y())
        super().mousePressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            self._presenter.show_tooltip(event.pos(), event.globalPos())
            return True
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._presenter.relayout()


class PresenterView(QWidget):
    """Full-window picture of the flow, with a speed, zoom and font-size bar along the bottom."""

    leave_requested = Signal()
    full_screen_requested = Signal(bool)
    pause_requested = Signal(bool)  # pause (True) or resume the simulated publishers with the animation
    speed_changed = Signal(float)  # the speed factor chosen (0: pause), for the simulation to follow

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presenterView")
        self.setAutoFillBackground(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._bridge = bridge
        self.ledger = publisher_ledger(bridge)  # the topology panel's too: counted while hidden
        self.flow = Flow()
        self.zoom = Zoom()
        self.font_scale = Zoom(FONT_SCALES)
        self.graph: Graph | None = None
        self.placement: Placement | None = None
        self.frames = 0  # frames painted: the benchmark's frame rate
        self._snapshot: Snapshot | None = None
        self._subscriptions: dict[str, SubscriptionInfo] = {}
        self._rates: dict[EdgeKey, float] = {}
        self._positions: list[tuple[float, float, str]] = []  # the dots of this frame
        self._still: Still | None = None
        self._layer: StillLayer | None = None  # keeps the still picture's pieces until the theme changes
        self._stepper: Stepper | None = None
        self._stepping: Broker | None = None  # the broker holding messages for the stepper
        self._held: list[tuple[float, float, str]] = []  # held messages' dots, sampled each frame
        self._held_ids: list[int] = []
        self.plan = StepPlan()  # released messages whose outcome hop is owed
        self._hop = ""  # what the last Next did, for the bar
        self._step_marks: dict[str, Mark] = {}  # the outcomes the last Next showed, by subscription key
        self.path: MessagePath | None = None  # the followed message's
        self.waits = CommandWaits()
        self.badges: list[Badge] = []
        self.marks = NO_MARKS
        self._mark_badges: list[Badge] = []
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(FOLLOW_REFRESH_MS)
        self._follow_timer.timeout.connect(self._refresh_path)
        # The still picture is painted on a loop turn of its own, not inside the snapshot (or click) that
        # changed it, and what did not fit the layer's time budget a few frames later.
        self._still_timer = QTimer(self)
        self._still_timer.setSingleShot(True)
        self._still_timer.timeout.connect(self._paint_still)
        self._tick = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._frame)
        self.canvas = FlowCanvas(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.caption = CaptionPanel(self)  # the window wires its buttons to the story and shows it with one
        self.caption.hide()
        for button in (self.caption.back_button, self.caption.next_button, self.caption.reset_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay with the picture
        layout.addWidget(self.caption)
        layout.addWidget(self.canvas, 1)
        self.follow_hint = QLabel()
        self.follow_hint.setObjectName("presenterFollowHint")
        self.follow_hint.setTextFormat(Qt.TextFormat.PlainText)  # the channel's name comes from the traffic
        self.follow_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.follow_hint.setStyleSheet(
            "background: palette(highlight); color: palette(highlighted-text); padding: 4px;"
        )
        self.follow_hint.hide()
        layout.addWidget(self.follow_hint)
        self.controls = PresenterControls(self)
        layout.addWidget(self.controls)
        self.speed, self.step, self.next_button = self.controls.speed, self.controls.step, self.controls.next_button
        self.step_status, self.full_screen = self.controls.step_status, self.controls.full_screen
        self.zoom_button = self.controls.zoom_button
        self.speed.currentIndexChanged.connect(self._on_speed)
        self.step.toggled.connect(self.set_step_mode)
        self.next_button.clicked.connect(self.next_hop)
        self.controls.zoom_requested.connect(self.zoom_by)
        self.controls.font_requested.connect(self.scale_font)
        self.full_screen.toggled.connect(self.full_screen_requested.emit)
        self.controls.leave.clicked.connect(self.leave_requested.emit)
        bridge.messages.connect(self._on_messages)
        bridge.events.connect(self._on_events)
        bridge.snapshot.connect(self._on_snapshot)
        bridge.backend_changed.connect(self._on_backend_changed)
        bridge.followed.connect(self.follow)
        self._on_backend_changed(bridge.backend)

    # -- controls ----------------------------------------------------------

    def _on_speed(self, index: int) -> None:
        factor = float(self.speed.itemData(index))
        if (factor == 0) != (self.flow.speed == 0):
            self.pause_requested.emit(factor == 0)
        self.flow.speed = factor
        self.speed_changed.emit(factor)

    def show_speed(self, factor: float) -> None:
        """Show the scenario's speed (a story or the toolbar set it) without asking for it again; a presenter who
        chose Pause keeps the animation paused."""
        index = self.speed.findData(factor)
        if index >= 0 and self.flow.speed != 0:
            self.speed.blockSignals(True)
            self.speed.setCurrentIndex(index)
            self.speed.blockSignals(False)
            self.flow.speed = factor

    def set_marks(self, marks: ScenarioMarks) -> None:
        """What the scenario points at and what is broken in it, drawn on the boxes."""
        if marks != self.marks:
            self.marks = marks
            self.relayout()

    def set_step_mode(self, on: bool) -> None:
        """Hold new messages at their channels (embedded broker only); off releases everything held, in order."""
        on = on and isinstance(self._bridge.backend, EmbeddedBackend)
        if on != (self._stepper is not None):
            if self._stepping is not None:
                self._stepping.step_mode(None)  # the broker it was given to, even if the bridge moved on
            self._stepper = Stepper() if on else None
            self._stepping = self._bridge.broker if on else None
            if on:
                self._bridge.broker.step_mode(self._stepper)
            self.plan.clear()
            self._show_hop("", {})
        self.step.setChecked(on)
        self.next_button.setEnabled(on)
        self._held_ids = [-1]  # not a list of ids: the held dots and the bar are drawn again now
        self._sample_held()

    def next_hop(self) -> Step:
        """Next: one hop. A held message goes on from its channel to each matching subscription, or the
        subscriptions of the one released before say what they did with it (or who the room waits for)."""
        if self._stepper is None:
            return Step(Hop.NONE)
        step = self.plan.press(self._stepper.release, self._bridge.timeline)
        message = step.message
        if step.hop is Hop.RELEASED and message is not None:
            self.flow.release(message, self._bridge.commands.command_for)
            reached = [key[2:] for key in self.flow.reached(message.channel)]
            self._show_hop(hop_text(step, reached), {})
        elif step.timeline is not None:
            marks = {f"s:{line.subscription}": mark(line) for line in step.timeline.subscriptions}
            self._show_hop(hop_text(step, []), marks)
        return step

    def _show_hop(self, text: str, marks: dict[str, Mark]) -> None:
        self._hop = text
        held = len(self._stepper.held) if self._stepper is not None else 0
        self.step_status.setText(step_status(held, text) if self._stepper is not None else "")
        if marks != self._step_marks:
            self._step_marks = marks
            self.relayout()

    # -- following one message -----------------------------------------------

    def follow(self, message: Message | None) -> None:
        """Show ``message``'s path (None: stop): what it reached, what each did with it, its reply; the rest fades."""
        self.path = self._path_of(message) if message is not None else None
        self.follow_hint.setText(self.path.hint if self.path is not None else "")
        self.follow_hint.setVisible(self.path is not None)
        if self.path is not None and self.path.pending:
            self._follow_timer.start()
        else:
            self._follow_timer.stop()
        self.relayout()

    def _path_of(self, message: Message) -> MessagePath:
        commands = self._bridge.commands
        timeline = self._bridge.timeline(message)
        return message_path(message, timeline, commands.command_for, commands.reply_for, presenter=True)

    def _refresh_path(self) -> None:
        """While outcomes are pending: ask again, and repaint only if something changed."""
        if self.path is None or not self.isVisible():
            self._follow_timer.stop()
            return
        fresh = self._path_of(self.path.message)
        if not fresh.pending:
            self._follow_timer.stop()
        if (fresh.edges, fresh.marks, fresh.reply) != (self.path.edges, self.path.marks, self.path.reply):
            self.path = fresh
            self.relayout()

    def click(self, x: float, y: float) -> None:
        """A click on a dot follows its message; on empty space, stops following."""
        dot = self.flow.dot_at(x, y, 2.5 * self._dot_radius())
        if dot is not None:
            self._bridge.follow(dot.message)
        elif self.placement is None or self.placement.box_at(x, y) is None:
            self._bridge.follow(None)

    def zoom_by(self, step: int) -> None:
        """Zoom in (+1), out (-1) or back to 100 % (0)."""
        self.zoom.step(step)
        if self.zoom_button is not None:
            self.zoom_button.setText(f"{self.zoom.factor:.0%}".replace("%", " %"))
        self.relayout()

    def scale_font(self, step: int) -> None:
        self.font_scale.step(step)
        self.caption.set_font_scale(self.font_scale.factor)
        self.relayout()

    @property
    def body_px(self) -> float:
        """The body text size in px at the current size, zoom and font scale."""
        return body_unit(self.canvas.width(), self.canvas.height(), self.zoom.factor, self.font_scale.factor)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step, story = zoom_step(event), story_keys(event)
        if step is not None:
            self.zoom_by(step)
        elif event.key() in NEXT_KEYS and self._stepper is not None:
            self.next_hop()  # step mode: Next's keys move the held message
        elif story is not None and self.caption.story is not None:
            self.caption.press(story)
        elif event.key() in LEAVE_KEYS and self.path is not None:
            self._bridge.follow(None)  # Esc stops following first; the next one leaves
        elif event.key() in LEAVE_KEYS:
            self.leave_requested.emit()
        elif event.key() == Qt.Key.Key_F11:
            self.full_screen.toggle()
        else:
            super().keyPressEvent(event)

    # -- data --------------------------------------------------------------

    def _on_messages(self, batch: list[Message]) -> None:
        if not self.isVisible():  # hidden: the presenter costs nothing
            return
        self.flow.add(batch, self._bridge.commands.command_for)
        self.waits.add(batch, time.monotonic())
        if self.path is not None and self.path.reply is None and self._bridge.commands.reply_for(self.path.message):
            self._refresh_path()  # the followed command's reply came: its way home joins the path

    def _on_events(self, events: list[BrokerEvent]) -> None:
        if not self.isVisible():
            return
        now = time.monotonic()
        for event in events:
            if event.kind is EventKind.REQUEST_TIMED_OUT:
                self.waits.time_out(event.channel, now)

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        rates = self.ledger.rates_at(snapshot.time)
        if not self.isVisible():
            return
        snapshot = with_down_subscribers(snapshot, self.marks)  # a crashed subscriber stays, its fault written on it
        self._snapshot = snapshot
        self._subscriptions = {info.name: info for info in snapshot.subscriptions}
        self._rates = rates
        self.relayout()

    def clear(self) -> None:
        """Forget the traffic seen (the broker was emptied): publishers, dots in flight, waits."""
        self.ledger.clear()
        self.flow.dots.clear()
        self.waits.clear()

    def _on_backend_changed(self, backend: Backend) -> None:
        self.clear()
        self.set_step_mode(False)  # the step was on the old broker
        embedded = isinstance(backend, EmbeddedBackend)
        self.step.setEnabled(embedded)
        self.step.setToolTip(STEP_TIP if embedded else NO_STEP_TIP)

    def relayout(self) -> None:
        """Lay the picture out again for the latest snapshot and the canvas's size, and repaint it."""
        width, height = self.canvas.width(), self.canvas.height()
        if not self.isVisible() or width <= 0 or height <= 0:
            return
        unit = self.body_px
        snapshot = self._snapshot
        if snapshot is None:
            graph = EMPTY
        else:
            limit = max(capacity(height, unit, CHANNEL_LINES), capacity(height, unit, SUBSCRIPTION_LINES))
            graph = presenter_graph(self.ledger.counts, self._rates, snapshot, limit)
        placement = place(graph, width, height, unit)
        if self.placement is None or placement.boxes != self.placement.boxes:
            patterns = {f"s:{info.name}": info.pattern for info in self._subscriptions.values()}
            self.flow.set_placement(placement, patterns)
        self.graph, self.placement = graph, placement
        self._held_ids = [-1]  # not a list of ids: the next frame places the held dots on the new boxes
        self._still_timer.start(0)
        self._mark_badges = mark_badges(self.marks, placement)
        self.controls.setFont(font(unit, 0.8))  # the legend and buttons grow with the picture
        self.follow_hint.setFont(font(unit))  # as large as the picture's text: the room reads it too

    def _paint_still(self) -> None:
        """Paint the still picture again (what changed of it); what did not fit the layer's time budget
        (counts, a new background's pieces) is painted on later loop turns, well before the next snapshot."""
        if self.placement is None or self.graph is None or not self.isVisible():
            return
        if self._layer is None:
            self._layer = StillLayer(self.palette(), self.palette().color(QPalette.ColorRole.Window).lightness() < 128)
        marks = {**self._step_marks, **(self.path.marks if self.path is not None else {})}
        ratio = self.devicePixelRatioF()
        self._still = self._layer.paint(
            self.placement, self.graph, self._subscriptions, ratio, path=self.path, marks=marks
        )
        if self._layer.pending:
            self._still_timer.start(CATCH_UP_MS)
        if self._layer.drawn:  # an unchanged picture is not copied to the screen again
            self.canvas.update()

    # -- frames ------------------------------------------------------------

    def _frame(self) -> None:
        now = time.monotonic()
        self.flow.advance(min(0.1, now - self._tick))  # a stalled loop does not make dots jump
        self._tick = now
        # Only where dots were and are is painted again: a frame costs the dots, not the window.
        previous, self._positions = self._positions, list(self.flow.positions())
        self._sample_held()
        moved = previous + self._positions
        if moved:
            # One rectangle around them all: a paint event covers its region's bounding rectangle anyway,
            # and a call per dot (up to 1,200 a frame) cost more than the pixels it saved.
            size = round(self._dot_radius()) + 2
            left, right = int(min(x for x, _y, _k in moved)), int(max(x for x, _y, _k in moved))
            top, bottom = int(min(y for _x, y, _k in moved)), int(max(y for _x, y, _k in moved))
            self.canvas.update(left - size, top - size, right - left + 2 * size + 1, bottom - top + 2 * size + 1)
        self._update_badges(now)

    def _update_badges(self, now: float) -> None:
        """Waits tick by the second and their rings pulse: the boxes they sit on are painted again each frame."""
        self.waits.prune(now)
        previous = self.badges
        if self.placement is None or not (previous or self.waits.waiting or self.waits.timed_out or self._mark_badges):
            return
        responders = {
            command.channel: self.flow.reached(command.channel) for command, _seen in self.waits.waiting.values()
        }
        self.badges = wait_badges(self.waits, responders, now) + self._mark_badges
        for badge in previous + self.badges:
            area = badge_area(self.placement, badge)
            if area is not None:
                self.canvas.update(area.toAlignedRect())

    def _sample_held(self) -> None:
        """Step mode: read what the broker holds (a short list) and repaint when it changed."""
        held = self._stepper.held if self._stepper is not None else []
        ids = [message.id for message in held]
        if ids != self._held_ids:
            self._held_ids, self._held = ids, self.flow.held_at(held, self._bridge.commands.command_for)
            self.step_status.setText(step_status(len(held), self._hop) if self._stepper is not None else "")
            self.canvas.update()  # rare (a publish or a Next): the caption moves too

    @property
    def held_dots(self) -> list[tuple[float, float, str]]:
        """Where the held messages are drawn, the next to go first."""
        return self._held

    def _dot_radius(self) -> float:
        return 0.45 * (self.placement.unit if self.placement is not None else 20.0)

    def paint_frame(self, canvas: QWidget, dirty: QRectF) -> None:
        painter = QPainter(canvas)
        try:
            followed = list(self.flow.positions(self.path.message.id)) if self.path is not None else None
            paint_frame(painter, self._still, self._positions, self._dot_radius(), dirty, followed=followed)
            if self.badges and self.placement is not None:
                paint_badges(painter, self.placement, self.badges, time.monotonic(), self.palette())
            if self._held and self.placement is not None:
                paint_held(painter, self._held, self.placement.unit, self.palette())
        finally:
            painter.end()
        self.frames += 1

    def show_tooltip(self, position: QPoint, global_position: QPoint) -> None:
        key = self.placement.box_at(position.x(), position.y()) if self.placement is not None else None
        if key is None or self.placement is None:
            QToolTip.hideText()
            return
        node = self.placement.nodes[key]
        QToolTip.showText(global_position, node.tooltip, self.canvas)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._tick = time.monotonic()
        self._timer.start()
        if self.path is not None and self.path.pending:
            self._follow_timer.start()  # outcomes moved on while the presenter was hidden
        if self._bridge.last_snapshot is not None:
            self._on_snapshot(self._bridge.last_snapshot)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()
        self.set_step_mode(False)  # nothing stays held once the room is back at the console

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme changed: repaint in its colours
            self._layer = None
            self.relayout()
