"""Every subscription of the broker as a Qt table model, updated from the bridge's snapshots.

Each snapshot is merged in place: rows that went away are removed one by one
(``beginRemoveRows``), new ones are appended (``beginInsertRows``) and changed
counters are announced with ``dataChanged``. The model is never reset on a
snapshot, so a view keeps its selection and scroll position.

A narrow view hides columns and asks for ``compact`` headers ("Retried", "Dead"): so the
name carries the state (its icon and colour) and the Pending cell's tooltip the bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from eventdeck.core import State, SubscriptionInfo
from eventdeck.gui.widgets.icons import icon
from eventdeck.gui.widgets.small import format_size, plural
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR

ModelIndex = QModelIndex | QPersistentModelIndex
NAME_ROLE = Qt.ItemDataRole.UserRole
"""The subscription's name, whatever the column."""
INFO_ROLE = Qt.ItemDataRole.UserRole + 1
"""The row's ``SubscriptionInfo``."""

STATE_COLOURS = {State.PAUSED: QColor("#d97706"), State.AWAY: QColor("#6b7280"), State.CLOSED: QColor("#6b7280")}
DEAD_COLOUR = QColor(DEAD_LETTER_COLOUR)
STATE_ICONS = {State.ACTIVE: "subscriber", State.PAUSED: "pause", State.AWAY: "remove", State.CLOSED: "remove"}
STATE_TIPS = {
    State.ACTIVE: "Active: messages are handed to the consumer as they arrive",
    State.PAUSED: "Paused: messages keep queueing (pending grows) until it is resumed",
    State.AWAY: "Away: a durable subscription whose consumer left; the broker keeps queueing for it",
    State.CLOSED: "Closed",
}

NAME, PATTERN, DURABLE, STATE, PENDING, DELIVERED, ACKED, REDELIVERED, DEAD, DROPPED, RATE, PENDING_BYTES = range(12)
_COUNTERS = {
    PENDING: "pending",
    DELIVERED: "delivered",
    ACKED: "acked",
    REDELIVERED: "redelivered",
    DEAD: "dead_lettered",
    DROPPED: "dropped",
}
SHORT_HEADERS = {REDELIVERED: "Retried", DEAD: "Dead", PENDING_BYTES: "Bytes"}  # for a narrow view
_HEADER_TIPS = {
    PENDING: "Queued in the broker, not yet handed to the consumer",
    DELIVERED: "Handed to the consumer (redeliveries included)",
    ACKED: "Confirmed as handled by the consumer",
    REDELIVERED: "Redelivered: handed out again after a nack or after the consumer left",
    DEAD: "Dead-lettered: given up on and moved to $dead/<channel>",
    DROPPED: "Thrown away because the queue was full (overflow policy)",
    RATE: "Deliveries per second over the last snapshot interval",
    PENDING_BYTES: "Payload bytes of the pending messages (bounded by the subscription's max_pending_bytes)",
}


MembersSource = Callable[[], Mapping[str, Sequence[str]]]
"""Gives, for each shared subscription's name, who shares its queue."""


class SubscriptionsModel(QAbstractTableModel):
    """One row per subscription, in the order they first appeared."""

    COLUMNS = (
        "Name",
        "Pattern",
        "Durable",
        "State",
        "Pending",
        "Delivered",
        "Acked",
        "Redelivered",
        "Dead-lettered",
        "Dropped",
        "msg/s",
        "Pending bytes",  # last, so the older columns keep their numbers
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[SubscriptionInfo] = []
        self._rates: dict[str, float] = {}
        self._virtual: frozenset[str] = frozenset()
        self._members: dict[str, tuple[str, ...]] = {}
        self.compact = False

    # -- Qt model interface ------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.header_text(section, compact=self.compact)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(section)
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        info = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(info, column)
        if role == NAME_ROLE:
            return info.name
        if role == INFO_ROLE:
            return info
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= PENDING:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ForegroundRole and column in (NAME, STATE):
            return STATE_COLOURS.get(info.state)
        if role == Qt.ItemDataRole.ForegroundRole and column == DEAD and info.dead_lettered:
            return DEAD_COLOUR  # dead letters look dead everywhere
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return icon(STATE_ICONS[info.state])
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(info, column)
        return None

    def _display(self, info: SubscriptionInfo, column: int) -> str:
        if column == NAME:
            members = self._members.get(info.name)
            return f"{info.name} · {plural(len(members), 'member')}" if members else info.name
        if column == PATTERN:
            return info.pattern
        if column == DURABLE:
            return "yes" if info.durable else "no"
        if column == STATE:
            return info.state.value
        if column == RATE:
            return f"{self._rates.get(info.name, 0.0):,.1f}"
        if column == PENDING_BYTES:
            return format_size(info.pending_bytes, exact=False)
        value: int = getattr(info, _COUNTERS[column])
        return f"{value:,}"

    def _tooltip(self, info: SubscriptionInfo, column: int) -> str | None:
        if column == STATE:
            return STATE_TIPS[info.state]
        if column == NAME:
            kind = "virtual subscriber (added here)" if info.name in self._virtual else "subscription"
            members = self._members.get(info.name, ())
            shared = (
                f"\none queue shared by {plural(len(members), 'member')}, each message to one of them: "
                + ", ".join(members)
                if members
                else ""
            )
            return (
                f"{info.name}: {kind}, {info.state.value}\npattern {info.pattern}, ack {info.ack.value}, "
                f"queue up to {info.max_pending:,} messages and {format_size(info.max_pending_bytes, exact=False)} "
                f"({info.overflow.value}), {info.unacked:,} unacked{shared}"
            )
        if column == PATTERN:
            return info.pattern
        if column == PENDING:
            size = format_size(info.pending_bytes, exact=False)
            return f"{info.pending:,} messages, {size} (at most {format_size(info.max_pending_bytes, exact=False)})"
        return None

    def header_text(self, section: int, *, compact: bool) -> str:
        return SHORT_HEADERS.get(section, self.COLUMNS[section]) if compact else self.COLUMNS[section]

    def set_compact(self, compact: bool) -> None:
        """Short headers ("Retried", "Dead") for a narrow view."""
        if compact != self.compact:
            self.compact = compact
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.COLUMNS) - 1)

    # -- feeding -----------------------------------------------------------

    def update(self, subscriptions: Iterable[SubscriptionInfo], rates: Mapping[str, float] | None = None) -> None:
        """Merge one snapshot: remove, insert and change rows individually (never a reset)."""
        fresh = {info.name: info for info in subscriptions}
        old_rates = self._rates
        self._rates = dict(rates or {})
        for row in range(len(self._rows) - 1, -1, -1):  # from the bottom, so indexes stay valid
            if self._rows[row].name not in fresh:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
        first_changed = -1
        last_changed = -1
        for row, old in enumerate(self._rows):
            new = fresh.pop(old.name)
            if new != old or old_rates.get(old.name) != self._rates.get(old.name):
                self._rows[row] = new
                if first_changed < 0:
                    first_changed = row
                last_changed = row
        if first_changed >= 0:
            self.dataChanged.emit(
                self.index(first_changed, 0),
                self.index(last_changed, len(self.COLUMNS) - 1),
                [
                    Qt.ItemDataRole.DisplayRole,
                    Qt.ItemDataRole.DecorationRole,
                    Qt.ItemDataRole.ForegroundRole,
                    Qt.ItemDataRole.ToolTipRole,
                ],
            )
        if fresh:  # what is left is new: append it in the broker's order
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._rows.extend(fresh.values())
            self.endInsertRows()

    def set_members(self, members: Mapping[str, Sequence[str]]) -> None:
        """Who shares each shared subscription's queue (MQTT ``$share`` groups, simulated consumer pools)."""
        fresh = {name: tuple(names) for name, names in members.items() if names}
        if fresh == self._members:
            return
        self._members = fresh
        if self._rows:
            self.dataChanged.emit(self.index(0, NAME), self.index(len(self._rows) - 1, NAME))

    def set_virtual(self, names: Iterable[str]) -> None:
        """Names of the virtual subscribers added in this window (shown in the name's tooltip)."""
        self._virtual = frozenset(names)

    # -- lookups -------------------------------------------------------------

    def info_at(self, row: int) -> SubscriptionInfo:
        return self._rows[row]

    def row_of(self, name: str) -> int | None:
        for row, info in enumerate(self._rows):
            if info.name == name:
                return row
        return None

    def names(self) -> list[str]:
        return [info.name for info in self._rows]
