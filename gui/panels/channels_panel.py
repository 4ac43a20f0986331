"""The channels dock: every channel as a tree by ``/`` levels with live counters.

Selecting a channel (or a subtree) asks the stream to show only it; the context
menu publishes to it, attaches a virtual subscriber or clears its retained message,
and under a broker that keeps its topics (Kafka) reads a channel again from the
beginning, an offset or a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, QModelIndex, QObject, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from eventdeck.core.connectors.topic_reader import (
    OFFSET_FORMATS,
    TIME_FORMATS,
    ReadStart,
    TopicReader,
    parse_start_offset,
    parse_start_time,
)
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.models.channel_tree import ChannelNode, ChannelTreeModel
from eventdeck.gui.widgets.icons import icon
from eventdeck.gui.widgets.small import menu_name

if TYPE_CHECKING:
    from eventdeck.core.asyncapi.live import LiveValidator

COLUMN_WIDTHS = (None, 78, 58, 84, 58)  # Channel stretches; the numbers get what their headers need


class ChannelsPanel(QWidget):
    """A tree of channels fed by bridge snapshots; emits what the user wants to see or do."""

    pattern_selected = Signal(str)  # exact channel, "path/#" for a subtree, "" for everything
    publish_requested = Signal(str)  # open the composer on this channel
    subscribe_requested = Signal(str)  # add a virtual subscriber with this pattern

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("channelsPanel")
        self._bridge = bridge
        self._emitted = ""  # the pattern last sent with pattern_selected
        self._quiet = False  # set while the panel itself changes the selection
        self.model = ChannelTreeModel(self)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("channelsFilter")
        self.filter_edit.setPlaceholderText("Filter channels")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.addAction(icon("filter"), QLineEdit.ActionPosition.LeadingPosition)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.show_all = QToolButton()
        self.show_all.setObjectName("channelsShowAll")
        self.show_all.setText("Show all")
        self.show_all.setToolTip("Clear the selection: the stream shows every channel again")
        self.show_all.clicked.connect(self.clear_selection)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.show_all)

        self.view = QTreeView()
        self.view.setObjectName("channelsView")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._popup)
        self.view.setIndentation(14)
        self.view.setItemDelegateForColumn(0, _PinRightDelegate(self.view))
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        for column, width in enumerate(COLUMN_WIDTHS):
            if width is None:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
            else:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(column, width)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)

        self._to_expand: list[QPersistentModelIndex] = []
        self.model.rowsInserted.connect(self._on_rows_inserted)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        bridge.snapshot.connect(self.apply_snapshot)
        bridge.validator_changed.connect(self.set_validator)
        self.set_validator(bridge.validator)
        if bridge.last_snapshot is not None:
            self.apply_snapshot(bridge.last_snapshot)

    # -- feeding -----------------------------------------------------------

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        self.model.update(snapshot.channels, snapshot.channel_rates, subscribers_known=snapshot.subscriptions_exposed)
        for index in self._to_expand:
            if index.isValid():
                self.view.expand(self.model.index(index.row(), 0, index.parent()))
        self._to_expand.clear()
        if self.filter_edit.text():
            self._filter_rows(QModelIndex(), self.filter_edit.text().strip().casefold(), expand=False)
        pattern = self.selected_pattern()
        if pattern != self._emitted and self.view.selectionModel().hasSelection():
            self._emit(pattern)  # a selected leaf grew children: it now stands for its subtree

    def set_validator(self, validator: LiveValidator | None) -> None:
        """Show the Invalid column while a document's validator runs (its counts follow the snapshots)."""
        self.model.set_validator(validator)
        self.view.setColumnHidden(ChannelTreeModel.INVALID, validator is None)

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            return
        for row in range(first, last + 1):
            index = self.model.index(row, 0)
            node = self.model.node(index)
            if node is not None and not node.system:  # $dead and $reply stay folded away
                self._to_expand.append(QPersistentModelIndex(index))

    # -- selection ---------------------------------------------------------

    def selected_node(self) -> ChannelNode | None:
        rows = self.view.selectionModel().selectedRows()
        return self.model.node(rows[0]) if rows else None

    def selected_pattern(self) -> str:
        node = self.selected_node()
        return node.pattern if node is not None else ""

    def select_channel(self, path: str) -> None:
        """Select the node at ``path`` (a channel or a prefix) as if the user clicked it."""
        index = self.model.index_for(path)
        if index.isValid():
            self.view.setCurrentIndex(index)
            self.view.scrollTo(index)

    def clear_selection(self) -> None:
        """Forget the selection and tell the stream to show everything."""
        self._quiet = True
        try:
            self.view.clearSelection()
            self.view.setCurrentIndex(QModelIndex())
        finally:
            self._quiet = False
        self._emit("")

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._quiet:
            self._emit(self.selected_pattern())

    def _emit(self, pattern: str) -> None:
        self._emitted = pattern
        self.pattern_selected.emit(pattern)

    # -- context menu ------------------------------------------------------

    def context_menu_for(self, index: QModelIndex) -> QMenu:
        """The menu for the node at ``index`` (or for the empty area below the tree)."""
        node = self.model.node(index)
        menu = QMenu(self)
        menu.setObjectName("channelsMenu")
        channel = node.path if node is not None else ""
        pattern = node.pattern if node is not None else "#"
        publish = menu.addAction(icon("send"), f"Publish to {menu_name(channel)}…" if channel else "Publish…")
        publish.setObjectName("channelsPublish")
        publish.triggered.connect(lambda: self.publish_requested.emit(channel))
        subscribe = menu.addAction(icon("subscriber"), f"Add virtual subscriber to {menu_name(pattern)}…")
        subscribe.setObjectName("channelsSubscribe")
        subscribe.setEnabled(self._bridge.backend.capabilities.virtual_subscribers)  # hosted here only
        subscribe.triggered.connect(lambda: self.subscribe_requested.emit(pattern))
        menu.addSeparator()
        clear = menu.addAction(icon("retained"), "Clear retained")
        clear.setObjectName("channelsClearRetained")
        clear.setEnabled(node is not None and node.retained)
        clear.triggered.connect(lambda: self.clear_retained(channel))
        if isinstance(self._bridge.backend, TopicReader):
            self._add_read_again(menu, channel if node is not None and node.info is not None else "")
        return menu

    def _add_read_again(self, menu: QMenu, channel: str) -> None:
        again = menu.addMenu(
            icon("play"), f"Read {menu_name(channel)} again" if channel else "Read again (pick a channel)"
        )
        again.setObjectName("channelsReadAgain")
        again.setEnabled(bool(channel))
        beginning = again.addAction("From the beginning")
        beginning.setObjectName("channelsReadFromBeginning")
        beginning.triggered.connect(lambda: self.read_again(channel, ReadStart()))
        offset = again.addAction("From an offset…")
        offset.setObjectName("channelsReadFromOffset")
        offset.triggered.connect(lambda: self.ask_start(channel, "offset"))
        since = again.addAction("From a time…")
        since.setObjectName("channelsReadFromTime")
        since.triggered.connect(lambda: self.ask_start(channel, "time"))

    def read_again(self, channel: str, start: ReadStart) -> asyncio.Task[Any]:
        """Have the broker's records of ``channel`` flow into the window again from ``start``."""
        backend = self._bridge.backend
        assert isinstance(backend, TopicReader)
        return self._bridge.spawn(backend.read_from(channel, start), f"Reading {channel} again {start.describe()}")

    def ask_start(self, channel: str, what: str) -> QInputDialog:
        """Ask where to read ``channel`` again from (``what``: "offset" or "time"); reads once answered."""
        parse: Callable[[str], ReadStart] = parse_start_offset if what == "offset" else parse_start_time
        dialog = QInputDialog(self)
        dialog.setObjectName("channelsReadFromDialog")
        dialog.setWindowTitle(f"Read {channel} again")
        dialog.setLabelText(f"From which {what}? Type {OFFSET_FORMATS if what == 'offset' else TIME_FORMATS}.")
        dialog.setTextValue("0" if what == "offset" else "15m")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(text: str) -> None:
            try:
                start = parse(text)
            except ValueError as exc:
                self._bridge.error.emit(f"Reading {channel} again: {exc}")
                return
            self.read_again(channel, start)

        dialog.textValueSelected.connect(answered)
        dialog.open()
        return dialog

    def clear_retained(self, channel: str) -> None:
        self._bridge.broker.clear_retained(channel)
        self.model.set_retained(channel, False)

    def _popup(self, position: QPoint) -> None:
        menu = self.context_menu_for(self.view.indexAt(position))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.view.viewport().mapToGlobal(position))

    # -- filter ------------------------------------------------------------

    def _apply_filter(self, text: str) -> None:
        """Hide rows whose path does not contain ``text`` and have no descendant that does."""
        needle = text.strip().casefold()
        self._filter_rows(QModelIndex(), needle, expand=True)

    def _filter_rows(self, parent: QModelIndex, needle: str, *, expand: bool) -> bool:
        any_visible = False
        for row in range(self.model.rowCount(parent)):
            index = self.model.index(row, 0, parent)
            node = self.model.node(index)
            if node is None:
                continue
            below = self._filter_rows(index, needle, expand=expand) if node.children else False
            visible = not needle or needle in node.path.casefold() or below
            if self.view.isRowHidden(row, parent) == visible:  # only touch rows that change
                self.view.setRowHidden(row, parent, not visible)
            if expand and needle and below and not self.view.isExpanded(index):
                self.view.expand(index)
            any_visible = any_visible or visible
        return any_visible


class _PinRightDelegate(QStyledItemDelegate):
    """Draws the retained pin at the right end of the name cell, so names stay aligned."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.decorationPosition = QStyleOptionViewItem.Position.Right
