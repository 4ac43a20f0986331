"""Channels as a tree by ``/`` levels, with counters that update in place.

Each snapshot (every 500 ms) is merged into the tree: a channel seen for the first
time is inserted at its sorted place with ``beginInsertRows``; counters that changed
are announced with one ``dataChanged`` per run of changed siblings. There is never a
model reset on updates, so the view keeps its expansion, selection and scroll position.
A parent shows the sum of its subtree's messages and msg/s. With an AsyncAPI document
loaded, the Invalid column counts the payloads that did not match their schema.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, overload

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from eventdeck.core import ChannelInfo
from eventdeck.gui.widgets.icons import icon

if TYPE_CHECKING:
    from eventdeck.core.asyncapi.live import LiveValidator, ValidationCounts

ModelIndex = QModelIndex | QPersistentModelIndex
PATTERN_ROLE = Qt.ItemDataRole.UserRole  # the channel (leaf) or "path/#" (node with children)
PATH_ROLE = Qt.ItemDataRole.UserRole + 1  # the node's full path, a channel name or a prefix
SYSTEM_COLOUR = QColor("#8b929c")  # grey that reads on light and dark backgrounds
INVALID_COLOUR = QColor("#d97706")  # amber: a warning, not an error (people send bad payloads on purpose)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def _sort_key(name: str) -> tuple[bool, str, str]:
    """System levels (``$dead``, ``$reply``) go last; the rest alphabetically, ignoring case."""
    return (name.startswith("$"), name.casefold(), name)


class ChannelNode:
    """One level of the tree: a channel when ``info`` is set, a prefix of others when it has children."""

    __slots__ = (
        "by_name",
        "checks",
        "children",
        "info",
        "name",
        "parent",
        "path",
        "rate",
        "row",
        "shown",
        "status",
        "system",
        "total",
    )

    def __init__(self, name: str, path: str, parent: ChannelNode | None) -> None:
        self.name = name
        self.path = path
        self.parent = parent
        self.row = 0
        self.children: list[ChannelNode] = []
        self.by_name: dict[str, ChannelNode] = {}
        self.info: ChannelInfo | None = None
        self.rate = 0.0
        self.total: tuple[int, float] = (0, 0.0)  # messages and msg/s of the whole subtree
        self.shown: tuple[object, ...] | None = None  # what the view last heard about, to spot changes
        self.system = path.startswith("$")
        self.status: str | None = None  # what the AsyncAPI document says of the channel (None: nothing)
        self.checks: tuple[int, int, int] | None = None  # checked, invalid, skipped of the subtree, if validated

    @property
    def pattern(self) -> str:
        """What selecting this node filters by: the channel itself, or ``path/#`` for a subtree."""
        return f"{self.path}/#" if self.children else self.path

    @property
    def retained(self) -> bool:
        return self.info is not None and self.info.retained

    def state(self) -> tuple[object, ...]:
        info = self.info
        subscribers = info.subscribers if info is not None else None
        return (
            self.total[0],
            round(self.total[1], 1),
            subscribers,
            self.retained,
            bool(self.children),
            self.status,
            self.checks,
        )


class ChannelTreeModel(QAbstractItemModel):
    """Columns: Channel, Messages, msg/s, Subscribers, Invalid. Fed with ``update`` from bridge snapshots.

    Invalid is empty until ``set_validator`` gives it a document's live validator (views hide it till then).
    """

    COLUMNS = ("Channel", "Messages", "msg/s", "Subscribers", "Invalid")
    CHANNEL, MESSAGES, RATE, SUBSCRIBERS, INVALID = range(5)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = ChannelNode("", "", None)
        self._channels: dict[str, ChannelNode] = {}  # channel name -> its node
        self._bold = QFont()
        self._bold.setBold(True)
        self._validator: LiveValidator | None = None
        self.subscribers_known = True  # False under a broker that does not say who subscribes: "—", not "0"

    # -- feeding -----------------------------------------------------------

    def update(
        self, channels: Iterable[ChannelInfo], rates: Mapping[str, float], *, subscribers_known: bool = True
    ) -> None:
        """Merge a snapshot: insert new channels, drop vanished ones, announce changed counters."""
        self.subscribers_known = subscribers_known
        present: set[str] = set()
        for info in channels:
            present.add(info.name)
            node = self._channels.get(info.name) or self._ensure(info.name)
            node.info = info
            node.rate = rates.get(info.name, 0.0)
        for name in [name for name in self._channels if name not in present]:
            node = self._channels.pop(name)
            node.info = None
            node.rate = 0.0
            self._prune(node)
        self._total(self._root)
        self._validation(self._root, self._validator.counts() if self._validator is not None else {})
        self._announce(self._root)

    def set_validator(self, validator: LiveValidator | None) -> None:
        """Count invalid payloads per channel with ``validator`` (None: a document was closed)."""
        self._validator = validator
        self._validation(self._root, validator.counts() if validator is not None else {})
        self._announce(self._root)

    def refresh_validation(self) -> None:
        """Show the validator's latest counts (the snapshot does this too, twice a second)."""
        if self._validator is not None:
            self._validation(self._root, self._validator.counts())
            self._announce(self._root)

    @property
    def validating(self) -> bool:
        return self._validator is not None

    def set_retained(self, channel: str, retained: bool) -> None:
        """Show or hide the retained marker at once (before the next snapshot confirms it)."""
        node = self._channels.get(channel)
        if node is None or node.info is None or node.info.retained == retained:
            return
        node.info = node.info._replace(retained=retained)
        self._announce(node.parent or self._root)

    def node(self, index: ModelIndex) -> ChannelNode | None:
        """The node behind ``index`` (None for the invisible root)."""
        if not index.isValid():
            return None
        node = index.internalPointer()
        return node if isinstance(node, ChannelNode) else None

    def channel_node(self, name: str) -> ChannelNode | None:
        return self._channels.get(name)

    def index_for(self, path: str) -> QModelIndex:
        """The index of the node at ``path`` (a channel or a prefix), or an invalid index."""
        node = self._root
        for level in path.split("/"):
            child = node.by_name.get(level)
            if child is None:
                return QModelIndex()
            node = child
        return self.createIndex(node.row, 0, node)

    def _ensure(self, name: str) -> ChannelNode:
        node = self._root
        for level in name.split("/"):
            child = node.by_name.get(level)
            if child is None:
                path = level if node is self._root else f"{node.path}/{level}"
                child = self._insert(node, ChannelNode(level, path, node))
            node = child
        self._channels[name] = node
        return node

    def _insert(self, parent: ChannelNode, child: ChannelNode) -> ChannelNode:
        row = bisect_left(parent.children, _sort_key(child.name), key=lambda n: _sort_key(n.name))
        self.beginInsertRows(self._index_of(parent), row, row)
        parent.children.insert(row, child)
        parent.by_name[child.name] = child
        for position in range(row, len(parent.children)):
            parent.children[position].row = position
        self.endInsertRows()
        return child

    def _prune(self, node: ChannelNode) -> None:
        """Remove ``node`` if it is neither a channel nor a prefix of one, then its empty ancestors."""
        while node.parent is not None and node.info is None and not node.children:
            parent = node.parent
            self.beginRemoveRows(self._index_of(parent), node.row, node.row)
            del parent.children[node.row]
            del parent.by_name[node.name]
            for position in range(node.row, len(parent.children)):
                parent.children[position].row = position
            self.endRemoveRows()
            node = parent

    def _total(self, node: ChannelNode) -> tuple[int, float]:
        messages = node.info.messages if node.info is not None else 0
        rate = node.rate
        for child in node.children:
            child_messages, child_rate = self._total(child)
            messages += child_messages
            rate += child_rate
        node.total = (messages, rate)
        return node.total

    def _validation(self, node: ChannelNode, counts: Mapping[str, ValidationCounts]) -> tuple[int, int, int] | None:
        """Set each node's status and its subtree's (checked, invalid, skipped); None where nothing is validated."""
        validator = self._validator
        node.status = validator.status_for(node.path) if validator is not None and node.info is not None else None
        sums: tuple[int, int, int] | None = None
        if node.status == "validated":
            own = counts.get(node.path)
            sums = (own.checked, own.invalid, own.skipped) if own is not None else (0, 0, 0)
        for child in node.children:
            below = self._validation(child, counts)
            if below is not None:
                sums = below if sums is None else (sums[0] + below[0], sums[1] + below[1], sums[2] + below[2])
        node.checks = sums
        return sums

    def _announce(self, parent: ChannelNode) -> None:
        """One ``dataChanged`` per run of changed rows under ``parent``, then the same below."""
        first = last = -1
        for child in parent.children:
            state = child.state()
            if state != child.shown:
                child.shown = state
                if first < 0:
                    first = child.row
                last = child.row
            elif first >= 0:
                self._changed(parent, first, last)
                first = -1
            if child.children:
                self._announce(child)
        if first >= 0:
            self._changed(parent, first, last)

    def _changed(self, parent: ChannelNode, first: int, last: int) -> None:
        self.dataChanged.emit(
            self.createIndex(first, 0, parent.children[first]),
            self.createIndex(last, len(self.COLUMNS) - 1, parent.children[last]),
        )

    def _index_of(self, node: ChannelNode) -> QModelIndex:
        return QModelIndex() if node is self._root else self.createIndex(node.row, 0, node)

    # -- Qt model interface ------------------------------------------------

    def index(self, row: int, column: int, parent: ModelIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        owner = self.node(parent) if parent.isValid() else self._root
        if owner is None or parent.column() > 0:
            return QModelIndex()
        if 0 <= row < len(owner.children) and 0 <= column < len(self.COLUMNS):
            return self.createIndex(row, column, owner.children[row])
        return QModelIndex()

    @overload
    def parent(self) -> QObject | None: ...

    @overload
    def parent(self, child: ModelIndex) -> QModelIndex: ...

    def parent(self, child: ModelIndex | None = None) -> QObject | QModelIndex | None:
        if child is None:
            return super().parent()
        node = self.node(child)
        if node is None or node.parent is None or node.parent is self._root:
            return QModelIndex()
        return self.createIndex(node.parent.row, 0, node.parent)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        if parent.column() > 0:
            return 0
        owner = self.node(parent) if parent.isValid() else self._root
        return len(owner.children) if owner is not None else 0

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(self.COLUMNS)

    def hasChildren(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if section == self.CHANNEL else _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                "Channel name, one tree level per '/'",
                "Messages published (a parent sums its subtree)",
                "Messages per second over the last snapshot (a parent sums its subtree)",
                "Subscriptions whose pattern matches this channel",
            )[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        node = self.node(index)
        if node is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(node, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if column == self.CHANNEL else _RIGHT
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == self.INVALID and node.checks is not None and node.checks[1]:
                return INVALID_COLOUR
            return SYSTEM_COLOUR if node.system else None
        if role == PATTERN_ROLE:
            return node.pattern
        if role == PATH_ROLE:
            return node.path
        if column == self.INVALID and role == Qt.ItemDataRole.ToolTipRole:
            return _validation_tooltip(node)
        if column != self.CHANNEL:
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return icon("retained") if node.retained else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(node)
        if role == Qt.ItemDataRole.FontRole and node.system:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def _display(self, node: ChannelNode, column: int) -> str | None:
        if column == self.CHANNEL:
            return node.name or "(empty level)"
        if column == self.MESSAGES:
            return f"{node.total[0]:,}"
        if column == self.RATE:
            return f"{node.total[1]:,.1f}"
        if column == self.INVALID:
            return _invalid_cell(node)
        if node.info is None:
            return ""  # a prefix only: subscriber counts of a subtree do not add up
        return f"{node.info.subscribers:,}" if self.subscribers_known else "—"

    def _tooltip(self, node: ChannelNode) -> str:
        import html  # noqa: PLC0415 - ~1.5 ms (html.entities): not before the first paint

        # Rich text so the lines break, with every user-supplied string escaped.
        lines = [f"<b>{html.escape(node.path)}</b>"]
        info = node.info
        if info is not None and info.description:
            lines.append(html.escape(info.description))
        if node.children:
            lines.append(f"Selecting it shows {html.escape(node.pattern)}")
        if info is None:
            lines.append("A prefix of other channels (nothing published here)")
        if node.retained:
            lines.append("Holds a retained message for new subscribers")
        if node.system:
            lines.append("System channel kept by the broker")
        if node.status is not None:
            lines.append(f"AsyncAPI: payloads {html.escape(node.status)}")
            if self._validator is not None and node.status == "validated":
                # Some messages of a validated channel may still be skipped (another format, a remote schema).
                lines.extend(f"Not checked: {html.escape(note)}" for note in self._validator.notes_for(node.path))
        return "<br>".join(lines)


def _invalid_cell(node: ChannelNode) -> str:
    """``3`` invalid; ``≥3`` when some payloads were not checked; ``n/a`` or ``—`` without a usable schema."""
    if node.checks is not None:
        return f"{'≥' if node.checks[2] else ''}{node.checks[1]:,}"
    if node.status is None:
        return ""
    return "—" if node.status == "no schema" else "n/a"


def _validation_tooltip(node: ChannelNode) -> str | None:
    if node.checks is None:
        if node.status is None:
            return None
        if node.status == "no schema":
            return "The AsyncAPI document gives no payload schema for this channel"
        if node.status.startswith("not available"):
            return f"Payloads are not checked: their schema is {node.status}"
        return f"Payloads are {node.status}: only JSON Schema payloads are checked"
    checked, invalid, skipped = node.checks
    text = f"{invalid:,} of {checked:,} payloads checked did not match the AsyncAPI schema"
    if skipped:
        text += f"; {skipped:,} more were not checked (sampled to keep up with the traffic)"
    return text
