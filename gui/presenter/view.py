"""The presenter view (View > Present, F5): the broker as a living picture a room can follow.

Publishers on the left send dots (messages, coloured by kind) into the broker's box, where each
channel hands them to every matching subscription on the right; each subscription shows its
queue as a bar and its acked, retried and dead-lettered counts. It listens to the bridge only
while shown: message batches (~30 a second) are sampled into dots, snapshots (2 a second)
redraw the still picture, and a 50 fps timer moves the dots, whatever the message rate.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPoint, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QHelpEvent,
    QHideEvent,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QToolButton, QToolTip, QVBoxLayout, QWidget

from eventdeck.core import Broker, Message, SubscriptionInfo
from eventdeck.core.broker.stepper import Stepper
from eventdeck.core.connectors.backend import Backend, EmbeddedBackend
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.models.topology import EdgeKey, Graph, PublisherLedger
from eventdeck.gui.presenter.canvas import COLOURS, Still, StillLayer, font, paint_frame, paint_held
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
from eventdeck.gui.presenter.zoom import zoom_step

FRAME_MS = 20  # 50 fps: smooth on a projector, and room to spare for the broker
SPEEDS = (("Pause", 0.0), ("0.1x", 0.1), ("0.25x", 0.25), ("0.5x", 0.5), ("1x", 1.0), ("2x", 2.0))
LEAVE_KEYS = (Qt.Key.Key_Escape,)
NEXT_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_PageDown)  # what presenter clickers send
STEP_TIP = "Hold each new message at its channel; Next (Space, Right, PageDown) moves it one hop"
NO_STEP_TIP = "step mode needs the embedded broker: a real broker does not hold messages for EventDeck"


def step_status(held: int) -> str:
    """What the bar says in step mode."""
    if not held:
        return "<b>Step mode:</b> the next message will wait in the broker"
    waiting = "1 message waits" if held == 1 else f"{held} messages wait"
    return f"<b>Step mode:</b> {waiting} in the broker; Next (Space) moves one on"


class FlowCanvas(QWidget):
    """Where the picture is painted; tooltips give the full name of any box."""

    def __init__(self, presenter: PresenterView) -> None:
        super().__init__(presenter)
        self.setObjectName("presenterCanvas")
        self._presenter = presenter

    def paintEvent(self, event: QPaintEvent) -> None:
        self._presenter.paint_frame(self, QRectF(event.rect()))

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

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presenterView")
        self.setAutoFillBackground(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._bridge = bridge
        self.ledger = PublisherLedger()
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
        self._stepper: Stepper | None = None
        self._stepping: Broker | None = None  # the broker holding messages for the stepper
        self._held: list[tuple[float, float, str]] = []  # held messages' dots, sampled each frame
        self._held_ids: list[int] = []
        self._tick = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._frame)
        self.canvas = FlowCanvas(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        self.controls = self._controls()
        layout.addWidget(self.controls)
        bridge.messages.connect(self._on_messages)
        bridge.snapshot.connect(self._on_snapshot)
        bridge.backend_changed.connect(self._on_backend_changed)
        self._on_backend_changed(bridge.backend)

    # -- controls ----------------------------------------------------------

    def _controls(self) -> QWidget:
        bar = QWidget(self)
        bar.setObjectName("presenterControls")
        row = QHBoxLayout(bar)
        row.setContentsMargins(12, 6, 12, 6)
        legend = QLabel(
            "   ".join(f'<span style="color:{colour}">●</span> {kind}' for kind, colour in COLOURS.items())
            + "   <i>(each dot is a message)</i>"
        )
        legend.setObjectName("presenterLegend")
        row.addWidget(legend)
        row.addStretch(1)
        row.addWidget(QLabel("Speed"))
        self.speed = QComboBox()
        self.speed.setObjectName("presenterSpeed")
        self.speed.setToolTip("Slow the animation down; Pause also pauses the demo's publishers")
        for text, factor in SPEEDS:
            self.speed.addItem(text, factor)
        self.speed.setCurrentIndex([factor for _text, factor in SPEEDS].index(1.0))
        self.speed.currentIndexChanged.connect(self._on_speed)
        row.addWidget(self.speed)
        self.step = self._button(row, "presenterStep", "Step", STEP_TIP)
        self.step.setCheckable(True)
        self.step.toggled.connect(self.set_step_mode)
        self.next_button = self._button(row, "presenterNext", "Next ▶", "Move the held message one hop (Space)")
        self.next_button.setEnabled(False)
        self.next_button.clicked.connect(self.next_hop)
        self.step_status = QLabel()
        self.step_status.setObjectName("presenterStepStatus")
        self.step_status.setContentsMargins(24, 0, 0, 0)
        row.insertWidget(1, self.step_status)  # after the legend: what the room is waiting for
        for name, text, tip, act in (
            ("presenterZoomOut", "-", "Smaller (Ctrl+-)", lambda: self.zoom_by(-1)),
            ("presenterZoomReset", "100 %", "Fit the window (Ctrl+0)", lambda: self.zoom_by(0)),
            ("presenterZoomIn", "+", "Larger (Ctrl+=)", lambda: self.zoom_by(1)),
            ("presenterFontSmaller", "A-", "Smaller text", lambda: self.scale_font(-1)),
            ("presenterFontLarger", "A+", "Larger text", lambda: self.scale_font(1)),
        ):
            self._button(row, name, text, tip).clicked.connect(act)
        self.zoom_button = bar.findChild(QToolButton, "presenterZoomReset")
        self.full_screen = self._button(row, "presenterFullScreen", "Full screen", "Fill the screen (F11)")
        self.full_screen.setCheckable(True)
        self.full_screen.toggled.connect(self.full_screen_requested.emit)
        leave = self._button(row, "presenterLeave", "Leave (Esc)", "Back to the console")
        leave.clicked.connect(self.leave_requested.emit)
        return bar

    def _button(self, row: QHBoxLayout, name: str, text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the picture (Esc, zoom)
        row.addWidget(button)
        return button

    def _on_speed(self, index: int) -> None:
        factor = float(self.speed.itemData(index))
        if (factor == 0) != (self.flow.speed == 0):
            self.pause_requested.emit(factor == 0)
        self.flow.speed = factor

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
        self.step.setChecked(on)
        self.next_button.setEnabled(on)
        self._held_ids = [-1]  # not a list of ids: the held dots and the bar are drawn again now
        self._sample_held()

    def next_hop(self) -> None:
        """Next: the oldest held message goes on from its channel to each matching subscription."""
        message = self._stepper.release() if self._stepper is not None else None
        if message is not None:
            self.flow.release(message, self._bridge.commands.command_for)

    def zoom_by(self, step: int) -> None:
        """Zoom in (+1), out (-1) or back to 100 % (0)."""
        self.zoom.step(step)
        if self.zoom_button is not None:
            self.zoom_button.setText(f"{self.zoom.factor:.0%}".replace("%", " %"))
        self.relayout()

    def scale_font(self, step: int) -> None:
        self.font_scale.step(step)
        self.relayout()

    @property
    def body_px(self) -> float:
        """The body text size in px at the current size, zoom and font scale."""
        return body_unit(self.canvas.width(), self.canvas.height(), self.zoom.factor, self.font_scale.factor)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = zoom_step(event)
        if step is not None:
            self.zoom_by(step)
        elif event.key() in NEXT_KEYS and self._stepper is not None:
            self.next_hop()
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
        self.ledger.add(batch)
        self.flow.add(batch, self._bridge.commands.command_for)

    def _on_snapshot(self, snapshot: Snapshot) -> None:
        rates = self.ledger.rates_at(snapshot.time)
        if not self.isVisible():
            return
        self._snapshot = snapshot
        self._subscriptions = {info.name: info for info in snapshot.subscriptions}
        self._rates = rates
        self.relayout()

    def _on_backend_changed(self, backend: Backend) -> None:
        self.ledger.clear()
        self.flow.dots.clear()
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
        self._held_ids = []  # the next frame places the held dots on the new boxes
        layer = StillLayer(self.palette(), self.palette().color(QPalette.ColorRole.Window).lightness() < 128)
        self._still = layer.paint(placement, graph, self._subscriptions, self.devicePixelRatioF())
        self.controls.setFont(font(unit, 0.8))  # the legend and buttons grow with the picture
        self.canvas.update()

    # -- frames ------------------------------------------------------------

    def _frame(self) -> None:
        now = time.monotonic()
        self.flow.advance(min(0.1, now - self._tick))  # a stalled loop does not make dots jump
        self._tick = now
        # Only where dots were and are is painted again: a frame costs the dots, not the window.
        previous, self._positions = self._positions, list(self.flow.positions())
        self._sample_held()
        size = round(self._dot_radius()) + 2
        update = self.canvas.update
        for x, y, _kind in previous + self._positions:
            update(int(x) - size, int(y) - size, 2 * size + 1, 2 * size + 1)  # Qt merges them into one region

    def _sample_held(self) -> None:
        """Step mode: read what the broker holds (a short list) and repaint when it changed."""
        held = self._stepper.held if self._stepper is not None else []
        ids = [message.id for message in held]
        if ids != self._held_ids:
            self._held_ids, self._held = ids, self.flow.held_at(held, self._bridge.commands.command_for)
            self.step_status.setText(step_status(len(held)) if self._stepper is not None else "")
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
            paint_frame(painter, self._still, self._positions, self._dot_radius(), dirty)
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
        if self._bridge.last_snapshot is not None:
            self._on_snapshot(self._bridge.last_snapshot)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self._timer.stop()
        self.set_step_mode(False)  # nothing stays held once the room is back at the console

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme changed: repaint in its colours
            self.relayout()
