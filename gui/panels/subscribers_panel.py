"""The subscribers dock: every subscription with its queue and counters; add virtual subscribers.

Pausing a subscriber shows its queue (pending) grow while messages keep arriving;
resuming shows it drain: brokers store messages until they are delivered. The table
is fed from the bridge's 500 ms snapshots and merged in place, so the selection stays.

The table never scrolls sideways to show what matters: the name takes the room the
numbers leave, and columns are shown in order of importance (pending, acked, redelivered,
dead-lettered, then state, pattern, rate, ...) as far as the dock's width allows.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QEvent, QItemSelection, QObject, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core import EventDeckError, InvalidChannel, State, validate_pattern
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.models.subscriptions_model import (
    ACKED,
    DEAD,
    DELIVERED,
    DROPPED,
    DURABLE,
    NAME,
    PATTERN,
    PENDING,
    PENDING_BYTES,
    RATE,
    REDELIVERED,
    STATE,
    MembersSource,
    SubscriptionsModel,
)
from eventdeck.gui.widgets.icons import icon
from eventdeck.gui.widgets.small import tool_button

if TYPE_CHECKING:  # ~8 ms to import (the simulation's settings): loaded with the first virtual subscriber
    from eventdeck.core.simulation.virtual import VirtualSubscriber

ROW_HEIGHT = 22
HINT = (
    "Pause a subscriber to see its queue grow; resume to watch it drain — "
    "brokers store messages until they are delivered."
)
SEE_CHANNELS = "The Channels panel still shows every channel seen in traffic."
NOT_EXPOSED = f"Not exposed by this broker: it does not say who subscribes to what. {SEE_CHANNELS}"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]*")
MAX_NAME = 100
NAME_MIN = 110  # px: what the name keeps before a column is left out
ESSENTIAL = (PENDING, ACKED, REDELIVERED, DEAD)  # always shown: with short headers when the dock is narrow
FIT_ORDER = (*ESSENTIAL, STATE, PATTERN, RATE, DELIVERED, DROPPED, PENDING_BYTES, DURABLE)  # shown while room lasts
ORDER = (NAME, PATTERN, STATE, PENDING, PENDING_BYTES, ACKED, REDELIVERED, DEAD, DELIVERED, RATE, DROPPED, DURABLE)
SAMPLES = {PATTERN: "fridge/+/level", STATE: "paused", RATE: "9,999.9", PENDING_BYTES: "999.9 KiB", DURABLE: "yes"}
PADDING = 16  # px around a header's text


class SubscribersPanel(QWidget):
    """Subscriptions with their counters; pause, resume, remove, and add virtual subscribers."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("subscribersPanel")
        self._bridge = bridge
        self._rates: dict[str, float] = {}
        self.model = SubscriptionsModel(self)
        self.members_source: MembersSource = dict
        """Who shares each shared subscription (the window sets it: MQTT $share groups, consumer pools)."""
        self.virtuals: dict[str, VirtualSubscriber] = {}
        """The virtual subscribers added here, by name."""

        hint = QLabel(HINT)
        hint.setObjectName("subscribersHint")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text);")

        self.add_button = tool_button("subscribersAdd", "Add virtual…", "add", "Add a simulated subscriber")
        self.pause_button = tool_button("subscribersPause", "Pause", "pause", "Pause: its queue grows")
        self.resume_button = tool_button("subscribersResume", "Resume", "play", "Resume: its queue drains")
        self.remove_button = tool_button("subscribersRemove", "Remove", "remove", "Unsubscribe and forget it")
        self.add_button.clicked.connect(self._on_add_clicked)
        self.pause_button.clicked.connect(self.pause_selected)
        self.resume_button.clicked.connect(self.resume_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for button in (self.add_button, self.pause_button, self.resume_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        self._form: _AddForm | None = None  # built when first opened

        self.view = QTableView()
        self.view.setObjectName("subscribersView")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setShowGrid(False)
        vertical = self.view.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        vertical.hide()
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)  # the name takes what the numbers leave
        for visual, column in enumerate(ORDER):
            header.moveSection(header.visualIndex(column), visual)
        self.view.viewport().installEventFilter(self)  # a resize chooses the columns again

        self.status = QLabel()
        self.status.setObjectName("subscribersStatus")
        self.not_exposed = QLabel(NOT_EXPOSED)
        self.not_exposed.setObjectName("subscribersNotExposed")
        self.not_exposed.setWordWrap(True)
        self.not_exposed.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.not_exposed.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(hint)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.not_exposed, 1)
        layout.addWidget(self.status)

        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        bridge.snapshot.connect(self.on_snapshot)
        if bridge.last_snapshot is not None:
            self.on_snapshot(bridge.last_snapshot)
        self._update_buttons()

    @property
    def form(self) -> _AddForm:
        """The inline form that adds a virtual subscriber, built when first opened (hidden until then)."""
        if self._form is None:
            form = self._form = _AddForm()
            form.hide()
            form.create_button.clicked.connect(self._create_from_form)
            form.cancel_button.clicked.connect(form.hide)
            for edit in (form.pattern, form.name, form.reply):
                edit.returnPressed.connect(self._create_from_form)
            form.pattern.textEdited.connect(self._suggest_name)
            layout = cast(QVBoxLayout, self.layout())
            layout.insertWidget(layout.indexOf(self.view), form)  # under the buttons, above the table
        return self._form

    # -- columns -----------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.view.viewport():
            self.fit_columns()
        return super().eventFilter(watched, event)

    def fit_columns(self) -> None:
        """Show the columns that fit beside the name, most important first; never scroll sideways for them."""
        header = self.view.horizontalHeader()
        available = self.view.viewport().width()
        full = NAME_MIN + sum(self._column_width(column, compact=False) for column in ESSENTIAL)
        self.model.set_compact(full > available)
        used, room = NAME_MIN, True
        for column in FIT_ORDER:
            width = self._column_width(column, compact=self.model.compact)
            room = room and used + width <= available  # once one is left out, so are the rest: the order holds
            shown = room or column in ESSENTIAL
            header.setSectionHidden(column, not shown)
            if shown:
                header.resizeSection(column, width)
                used += width

    def _column_width(self, column: int, *, compact: bool) -> int:
        title = self.model.header_text(column, compact=compact)
        title_width = self.view.horizontalHeader().fontMetrics().horizontalAdvance(title) + PADDING
        return max(title_width, self.view.fontMetrics().horizontalAdvance(SAMPLES.get(column, "99,999")) + PADDING)

    # -- feeding -----------------------------------------------------------

    def on_snapshot(self, snapshot: Snapshot) -> None:
        exposed = snapshot.subscriptions_exposed
        self.view.setVisible(exposed)
        self.not_exposed.setVisible(not exposed)
        why = self._bridge.backend.capabilities.why_no_subscribers  # e.g. a management API we may not ask
        self.not_exposed.setText(f"Not exposed: {why}. {SEE_CHANNELS}" if why else NOT_EXPOSED)
        self._rates = snapshot.subscription_rates
        self.model.set_members(self.members_source())
        self.model.update(snapshot.subscriptions, snapshot.subscription_rates)
        self._after_update()

    def refresh(self) -> None:
        """Re-read the broker now (after an action), without waiting for the next snapshot."""
        self.model.update(self._bridge.broker.subscriptions(), self._rates)
        self._after_update()

    def _after_update(self) -> None:
        # Virtual subscribers whose subscription the broker no longer has (removed elsewhere) are forgotten;
        # while another broker is shown they keep running on the embedded one, out of sight.
        if self._bridge.backend.capabilities.virtual_subscribers:
            known = set(self.model.names())
            for name in [name for name in self.virtuals if name not in known]:
                self._bridge.spawn(self.virtuals.pop(name).stop(), f"stopping virtual subscriber {name!r}")
        self.model.set_virtual(self.virtuals)
        count = self.model.rowCount()
        pending = sum(self.model.info_at(row).pending for row in range(count))
        self.status.setText(
            f"{count:,} subscription{'s' if count != 1 else ''} · {len(self.virtuals):,} virtual · {pending:,} pending"
        )
        self._update_buttons()

    # -- selection and actions ----------------------------------------------

    def selected_name(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.info_at(rows[0].row()).name if rows else None

    def select(self, name: str) -> bool:
        """Select the row of subscription ``name``; False if there is none."""
        row = self.model.row_of(name)
        if row is None:
            return False
        self.view.selectRow(row)
        return True

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        # Only subscriptions hosted here can be controlled; a real broker's belong to its clients.
        local = self._bridge.backend.capabilities.virtual_subscribers
        rows = self.view.selectionModel().selectedRows()
        state = self.model.info_at(rows[0].row()).state if rows and local else None
        self.add_button.setEnabled(local)
        self.add_button.setToolTip("Add a simulated subscriber" if local else "Only the embedded broker hosts these")
        self.pause_button.setEnabled(state is State.ACTIVE)
        self.resume_button.setEnabled(state is State.PAUSED)
        self.remove_button.setEnabled(state is not None)

    def pause_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.control(name, "pause")

    def resume_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.control(name, "resume")

    def remove_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.remove(name)

    def control(self, name: str, action: str) -> None:
        """``action`` ("pause" or "resume") the subscription ``name``, then show its new state."""
        if action not in ("pause", "resume"):
            raise ValueError(f"a subscription can be paused or resumed, not {action!r}")
        try:
            subscription = self._bridge.broker.subscription(name)
        except KeyError:
            self._bridge.error.emit(f"subscription {name!r} is gone")
        else:
            subscription.pause() if action == "pause" else subscription.resume()
        self.refresh()

    def remove(self, name: str) -> None:
        """Unsubscribe ``name``; a virtual subscriber is stopped first."""
        virtual = self.virtuals.pop(name, None)
        if virtual is not None:
            subscription = virtual.subscription
            subscription.unsubscribe()  # the row goes now; the consumer task ends with it
            self._bridge.spawn(virtual.stop(), f"stopping virtual subscriber {name!r}")
        else:
            with contextlib.suppress(KeyError):  # already gone
                self._bridge.broker.subscription(name).unsubscribe()
        self.refresh()

    # -- virtual subscribers ---------------------------------------------------

    def add_virtual(self, pattern: str = "") -> None:
        """Open the add form (non-modal, inline), prefilled with ``pattern``."""
        self.form.reset(pattern, self._free_name(pattern))
        self.form.show()
        (self.form.name if pattern else self.form.pattern).setFocus()

    def _on_add_clicked(self) -> None:
        self.add_virtual(self.form.pattern.text().strip() if self.form.isVisible() else "")

    def _suggest_name(self, pattern: str) -> None:
        """The name follows the pattern as it is typed, until the user types a name of their own."""
        if not self.form.name_edited:
            self.form.name.setText(self._free_name(pattern.strip()))

    def _free_name(self, pattern: str) -> str:
        base = "virtual"
        words = [part for part in pattern.split("/") if part not in ("+", "#", "")]
        if words:
            base = f"virtual-{words[-1]}"
        taken = {info.name for info in self._bridge.broker.subscriptions()}
        number = 1
        while f"{base}-{number}" in taken:
            number += 1
        return f"{base}-{number}"

    def _create_from_form(self) -> None:
        form = self.form
        pattern = form.pattern.text().strip()
        name = form.name.text().strip() or self._free_name(pattern)
        reply_text = form.reply.text().strip()
        try:
            validate_pattern(pattern)
        except InvalidChannel as exc:
            form.show_error(f"Pattern: {exc.reason}", form.pattern)
            return
        if len(name) > MAX_NAME or not _NAME.fullmatch(name):
            form.show_error("Name: use letters, digits and . _ - : @ / (starting with a letter or digit)", form.name)
            return
        if reply_text:
            try:
                json.loads(reply_text)
            except json.JSONDecodeError as exc:
                form.show_error(f"Reply is not JSON: {exc.msg} at column {exc.colno}", form.reply)
                return
        from eventdeck.core.simulation.virtual import VirtualSubscriber  # noqa: PLC0415 - see TYPE_CHECKING above

        try:
            virtual = VirtualSubscriber(
                self._bridge.broker,
                pattern,
                name=name,
                delay=form.delay.value() / 1000,
                failure_rate=form.failure.value() / 100,
                reply=reply_text or None,
                durable=form.durable.isChecked(),
                max_attempts=form.attempts.value(),
            )
        except InvalidChannel as exc:
            form.show_error(f"Pattern: {exc.reason}", form.pattern)
            return
        except EventDeckError as exc:
            form.show_error(str(exc), form.name)
            return
        virtual.start()
        self.virtuals[virtual.name] = virtual
        form.hide()
        self.refresh()
        self.select(virtual.name)

    async def stop_all(self) -> None:
        """Stop every virtual subscriber added here (the main window calls this on close)."""
        virtuals, self.virtuals = list(self.virtuals.values()), {}
        for virtual in virtuals:
            await virtual.stop()


class _AddForm(QFrame):
    """The inline, non-modal form that adds a virtual subscriber."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("virtualForm")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.pattern = QLineEdit()
        self.pattern.setObjectName("virtualPattern")
        self.pattern.setPlaceholderText("e.g. fridge/# or +/level")
        self.pattern.setToolTip("Channels to consume: + matches one level, # the rest")
        self.name = QLineEdit()
        self.name.setObjectName("virtualName")
        self.name.setPlaceholderText("a unique name")
        self.delay = QSpinBox()
        self.delay.setObjectName("virtualDelay")
        self.delay.setRange(0, 60_000)
        self.delay.setSuffix(" ms")
        self.delay.setToolTip("Simulated processing time per message")
        self.failure = QSpinBox()
        self.failure.setObjectName("virtualFailure")
        self.failure.setRange(0, 100)
        self.failure.setSuffix(" %")
        self.failure.setToolTip("Share of deliveries that fail (nack): redelivered, then dead-lettered")
        self.attempts = QSpinBox()
        self.attempts.setObjectName("virtualAttempts")
        self.attempts.setRange(1, 100)
        self.attempts.setValue(5)
        self.attempts.setPrefix("max ")
        self.attempts.setSuffix(" tries")
        self.attempts.setToolTip("Deliveries of one message before it is moved to $dead/<channel>")
        self.reply = QLineEdit()
        self.reply.setObjectName("virtualReply")
        self.reply.setPlaceholderText('auto-reply to commands (JSON), e.g. {"orderId": "ord-1"}')
        self.reply.setFont(QFont("monospace"))
        self.durable = QCheckBox("Durable (keeps queueing while away)")
        self.durable.setObjectName("virtualDurable")
        self.error = QLabel()
        self.error.setObjectName("virtualError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #dc2626;")
        self.error.hide()
        self.create_button = QPushButton(icon("add"), "Create")
        self.create_button.setObjectName("virtualCreate")
        self.create_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("virtualCancel")

        work = QHBoxLayout()
        work.setContentsMargins(0, 0, 0, 0)
        work.addWidget(self.delay)
        work.addSpacing(8)
        work.addWidget(QLabel("Failures:"))
        work.addWidget(self.failure)
        work.addWidget(self.attempts)
        work.addStretch(1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.durable, 1)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(self.create_button)

        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        form.setVerticalSpacing(4)
        form.addRow("Pattern:", self.pattern)
        form.addRow("Name:", self.name)
        form.addRow("Delay:", work)
        form.addRow("Reply:", self.reply)
        form.addRow(self.error)
        form.addRow(bottom)
        for edit in (self.pattern, self.name, self.reply):
            edit.textEdited.connect(self.error.hide)
        self.name_edited = False
        """Has the user typed a name of their own? (Emptying the field hands it back to the suggestion.)"""
        self.name.textEdited.connect(self._on_name_edited)

    def reset(self, pattern: str, name: str) -> None:
        self.pattern.setText(pattern)
        self.name.setText(name)
        self.name_edited = False
        self.error.hide()

    def _on_name_edited(self, text: str) -> None:
        self.name_edited = bool(text.strip())

    def show_error(self, text: str, widget: QWidget) -> None:
        self.error.setText(text)
        self.error.show()
        widget.setFocus()
