"""The live stream as a Qt table model over a bounded ring of messages.

Rows arrive in batches (one ``beginInsertRows`` per flush) and the oldest are
evicted explicitly inside ``beginRemoveRows``, so views keep their selection and
scroll position right. Filtering happens here, at ingest, not in a proxy model.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from eventdeck.core import DEAD_PREFIX, Kind, Message, matches
from eventdeck.core.connectors.backend import GAP_CHANNEL
from eventdeck.gui.models.broker_restart import RESTART_BACKGROUND, RESTART_CHANNEL, restart_detail
from eventdeck.gui.models.topology import shown_kind
from eventdeck.gui.widgets.icons import icon, kind_colour, kind_icon
from eventdeck.gui.widgets.small import format_size
from eventdeck.gui.widgets.theme import DEAD_LETTER_BACKGROUND, DEAD_LETTER_COLOUR

if TYPE_CHECKING:
    from eventdeck.core.asyncapi.live import LiveValidator

DEFAULT_CAPACITY = 100_000
MESSAGE_ROLE = Qt.ItemDataRole.UserRole
PREVIEW_CHARS = 160
TIME_COLUMN, CHANNEL_COLUMN, KIND_COLUMN, PUBLISHER_COLUMN, PAYLOAD_COLUMN, SIZE_COLUMN = range(6)  # as COLUMNS
ModelIndex = QModelIndex | QPersistentModelIndex
_CONTROL = dict.fromkeys(range(32), " ")
_Role = Qt.ItemDataRole
_DISPLAY, _DECORATION, _TOOLTIP = _Role.DisplayRole, _Role.DecorationRole, _Role.ToolTipRole
_ALIGNMENT, _BACKGROUND, _FOREGROUND = _Role.TextAlignmentRole, _Role.BackgroundRole, _Role.ForegroundRole
_FONT = _Role.FontRole
_ANSWERED_ROLES = frozenset({_DISPLAY, _DECORATION, _FOREGROUND, _ALIGNMENT, _TOOLTIP, _BACKGROUND, MESSAGE_ROLE})
# A wide marker is bold: the font is asked for in one call of 7, so it is answered only once the stream has one.
_WITH_FONTS = _ANSWERED_ROLES | {_FONT}
# The roles that one column alone answers: the kind's badge and colour, the size's alignment, a wide marker's bold
# (its text starts in the Kind column).
_ONE_COLUMN: dict[int, int] = {
    _DECORATION: KIND_COLUMN,
    _FOREGROUND: KIND_COLUMN,
    _ALIGNMENT: SIZE_COLUMN,
    _FONT: KIND_COLUMN,
}
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
GAP_BACKGROUND = QColor(245, 158, 11, 70)  # amber, translucent so it works in light and dark themes


def gap_text(message: Message) -> str:
    """The row a connector's gap marker shows instead of its payload."""
    seconds = message.headers.get("x-gap-seconds", "?")
    reason = message.headers.get("x-gap-reason", "connection lost")
    return f"⚠ gap: no traffic seen for {float(seconds):.1f} s ({reason})" if seconds != "?" else f"⚠ gap ({reason})"


@dataclass(frozen=True, slots=True)
class Marker:
    """A row that tells of the broker, not of a message it routed, in a colour of its own. A ``wide`` one (a
    broker restart: a room must not miss it) is bold and writes its text across the row from the Kind column on
    (the stream panel spans it), the others in the Payload column; both write ``label`` in the Channel column."""

    label: str
    text: Callable[[Message], str]
    tooltip: Callable[[Message], str]
    background: QColor
    wide: bool


MARKERS = {
    GAP_CHANNEL: Marker("connection", gap_text, gap_text, GAP_BACKGROUND, wide=False),
    RESTART_CHANNEL: Marker("broker", Message.text, restart_detail, RESTART_BACKGROUND, wide=True),
}
"""The stream's marker rows by their channel: never exported with the messages."""
_WIDE = frozenset(channel for channel, marker in MARKERS.items() if marker.wide)


@cache
def _bold() -> QFont:
    font = QFont()  # made once asked for: a font wants the application made first
    font.setBold(True)
    return font


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """Which messages the stream shows: a channel pattern, a set of kinds, a text to find and one publisher."""

    pattern: str = ""
    kinds: frozenset[Kind] = frozenset(Kind)
    text: str = ""
    publisher: str | None = None  # exactly this publisher ("" for unnamed ones); None: any

    @property
    def is_empty(self) -> bool:
        return not self.pattern and not self.text and self.kinds == frozenset(Kind) and self.publisher is None

    def accepts(self, message: Message) -> bool:
        if message.channel == RESTART_CHANNEL:
            return True  # every channel lost or kept something: no filter hides it
        if message.kind not in self.kinds:
            return False
        if self.publisher is not None and message.publisher != self.publisher:
            return False
        if self.pattern and not matches(self.pattern, message.channel):
            return False
        if self.text:
            needle = self.text.casefold()
            return (
                needle in message.channel.casefold()
                or needle in message.publisher.casefold()
                or needle in message.text().casefold()
            )
        return True


def format_time(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp)) + f".{int(timestamp * 1000) % 1000:03d}"


def preview(message: Message) -> str:
    return message.payload[:PREVIEW_CHARS].decode("utf-8", errors="replace").translate(_CONTROL)


def invalid_tooltip(validator: LiveValidator | None, message: Message) -> str | None:
    """ "Does not match the AsyncAPI schema:" and the first issue on the next line, else None.

    Payload text goes after the first line break, where Qt never mistakes it for rich text.
    """
    issues = validator.issues_for(message.id) if validator is not None else ()
    if not issues:
        return None
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return f"Does not match the AsyncAPI schema:\n{issues[0].path}: {issues[0].message}{more}"


def _marker_data(marker: Marker, message: Message, column: int, role: int) -> object:
    # A connector lost its broker for a while, the broker restarted: one coloured row says so.
    if role == _BACKGROUND:
        return marker.background
    if role == _DISPLAY:
        if column == TIME_COLUMN:
            return format_time(message.timestamp)
        if column == (KIND_COLUMN if marker.wide else PAYLOAD_COLUMN):
            return marker.text(message)
        return marker.label if column == CHANNEL_COLUMN else ""
    if role == _TOOLTIP:
        return marker.tooltip(message)
    if role == _FONT:
        return _bold() if marker.wide else None
    return message if role == MESSAGE_ROLE else None


class StreamModel(QAbstractTableModel):
    """Messages in arrival order, at most ``capacity`` rows, filtered by ``stream_filter``."""

    COLUMNS = ("Time", "Channel", "Kind", "Publisher", "Payload", "Size")
    paused_changed = Signal(bool)

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__()
        self._capacity = capacity
        self._all: deque[Message] = deque(maxlen=capacity)  # everything seen, to refilter from
        self._rows: list[Message] = []  # what is shown
        self._filter = StreamFilter()
        self._paused = False
        self.held_back = 0  # messages that arrived while paused
        self._validator: LiveValidator | None = None
        self._answered = _ANSWERED_ROLES

    # -- Qt model interface ------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Called 7 times per visible cell per repaint: the roles we never answer, and those that one
        # column alone answers, are turned away before the message is looked up.
        if role not in self._answered:
            return None
        column = index.column()
        if _ONE_COLUMN.get(role, column) != column:
            return None
        row = index.row()
        if row < 0:  # not a cell
            return None
        message = self._rows[row]
        channel = message.channel
        if channel in MARKERS:
            return _marker_data(MARKERS[channel], message, column, role)
        if role == _DISPLAY:
            if column == TIME_COLUMN:
                return format_time(message.timestamp)
            if column == CHANNEL_COLUMN:
                return channel
            if column == KIND_COLUMN:
                return shown_kind(message)
            if column == PUBLISHER_COLUMN:
                return message.publisher
            if column == PAYLOAD_COLUMN:
                return preview(message)
            return format_size(len(message.payload), exact=False)
        if role == MESSAGE_ROLE:
            return message
        dead = channel.startswith(DEAD_PREFIX)  # a message a subscription gave up on: its own badge, red row
        if role == _BACKGROUND:
            return DEAD_LETTER_BACKGROUND if dead else None
        if role == _ALIGNMENT:
            return _RIGHT
        if column == KIND_COLUMN:
            if role == _DECORATION:
                return icon("invalid") if self._invalid(message) else icon("dead") if dead else kind_icon(message.kind)
            if role == _FOREGROUND:
                return QColor(DEAD_LETTER_COLOUR) if dead else kind_colour(message.kind)
            return invalid_tooltip(self._validator, message) if role == _TOOLTIP else None  # or a font: not bold
        if role == _TOOLTIP and column in (CHANNEL_COLUMN, PAYLOAD_COLUMN):
            return channel if column == CHANNEL_COLUMN else preview(message)
        return None

    def _invalid(self, message: Message) -> bool:
        return self._validator is not None and bool(self._validator.issues_for(message.id))

    # -- feeding -----------------------------------------------------------

    def set_validator(self, validator: LiveValidator | None) -> None:
        """Flag the rows this validator found invalid (None: flag nothing)."""
        self._validator = validator
        rows = self.rowCount()
        if rows:
            self.dataChanged.emit(
                self.index(0, KIND_COLUMN),
                self.index(rows - 1, KIND_COLUMN),
                [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole],
            )

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def stream_filter(self) -> StreamFilter:
        return self._filter

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def held(self) -> int:
        """Messages kept in the ring (shown or not)."""
        return len(self._all)

    def message_at(self, row: int) -> Message:
        return self._rows[row]

    def row_of(self, message_id: int) -> int | None:
        """The row showing the message with this id, searching from the newest."""
        for row in range(self.rowCount() - 1, -1, -1):
            if self._rows[row].id == message_id:
                return row
        return None

    def expect_wide(self) -> None:
        """A wide marker is on its way: answer for fonts from now on (it is bold)."""
        self._answered = _WITH_FONTS

    def wide_rows(self, first: int, last: int) -> list[int]:
        """The rows from ``first`` to ``last`` whose marker is written across the row (broker restarts)."""
        rows = self._rows
        return [row for row in range(first, last + 1) if rows[row].channel in _WIDE]

    def append_batch(self, messages: Iterable[Message]) -> None:
        """Add one flush worth of messages: at most one removal and one insertion."""
        batch = messages if isinstance(messages, list) else list(messages)
        self._all.extend(batch)
        if self._paused:
            self.held_back += len(batch)
            return
        rows = batch if self._filter.is_empty else [m for m in batch if self._filter.accepts(m)]
        if not rows:
            return
        if len(rows) > self._capacity:
            rows = rows[-self._capacity :]
        shown = self.rowCount()
        excess = shown + len(rows) - self._capacity
        if excess > 0:
            self._evict(excess)
            shown -= excess
        self.beginInsertRows(QModelIndex(), shown, shown + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def _evict(self, count: int) -> None:
        self.beginRemoveRows(QModelIndex(), 0, count - 1)
        # At once, not now and then: compacting the list every ``capacity`` rows freed 100,000 messages in one
        # go (15-35 ms); a batch's worth at a time costs a move of the row pointers (~0.1 ms per 100,000).
        del self._rows[:count]
        self.endRemoveRows()

    def set_filter(self, stream_filter: StreamFilter) -> None:
        if stream_filter != self._filter:
            self._filter = stream_filter
            self._rebuild()

    def set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        if not paused:
            self.held_back = 0
            self._rebuild()
        self.paused_changed.emit(paused)

    def set_capacity(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"the stream must keep at least 1 row, got {capacity}")
        self._capacity = capacity
        self._all = deque(self._all, maxlen=capacity)
        self._rebuild()

    def clear(self) -> None:
        self._all.clear()
        self.held_back = 0
        self.beginResetModel()
        self._rows = []
        self.endResetModel()

    def _rebuild(self) -> None:
        self.beginResetModel()
        if self._filter.is_empty:
            self._rows = list(self._all)
        else:
            self._rows = [m for m in self._all if self._filter.accepts(m)]
        self.endResetModel()
