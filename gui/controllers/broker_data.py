"""The embedded broker's data folder in the window: opening it (or saying why not) and File > Broker data….

The window's broker keeps its durable state (durable subscriptions and their queued messages, retained
messages, MQTT sessions) in the app-data folder's ``broker`` folder, or in ``--data DIR``. A folder that
cannot be used (another EventDeck has it, a file that is not EventDeck's store, no permission) never
keeps the window from opening: its broker runs in memory, and a banner says why until the window closes.

Starting or resetting a scenario empties the broker and this store with it (``Broker.reset``): a room
never sees a previous session's backlog in a story. Opening the window, the start page and connecting
elsewhere keep what was stored; File > Broker data… > Clear forgets it on purpose.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, Qt
from PySide6.QtWidgets import QMessageBox, QToolBar

from eventdeck.core import Broker, EventDeckError
from eventdeck.core.store import StoredCounts, StoreFull
from eventdeck.core.wording import plural
from eventdeck.gui.widgets.banner import Banner

if TYPE_CHECKING:
    from eventdeck.gui.controllers.broker_data_dialog import BrokerDataDialog
    from eventdeck.gui.main_window import MainWindow

log = logging.getLogger("eventdeck.broker_data")
DATA_FOLDER = "broker"
IN_MEMORY = "This window's broker keeps everything in memory: nothing is kept when it closes."


def default_data_dir() -> Path:
    """``broker`` in the platform's app-data folder (e.g. ~/.local/share/EventDeck/EventDeck/broker)."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / DATA_FOLDER


@dataclass(frozen=True, slots=True)
class BrokerData:
    """The embedded broker, where it keeps its data, and the problem to show (None: all is well)."""

    directory: Path
    broker: Broker
    problem: str | None = None
    """Why the broker runs in memory (and what to do), or, on disk, what is wrong with the store (it is full)."""

    @property
    def on_disk(self) -> bool:
        return self.broker.store is not None


async def open_broker_data(directory: Path | None) -> BrokerData:
    """The window's broker on the store in ``directory`` (default: the app-data folder), or in memory if it
    cannot be used; the store's file is opened, checked and read in worker threads, never on the loop."""
    directory = directory or default_data_dir()
    try:
        broker = await Broker.on_store(directory)
    except (EventDeckError, OSError) as exc:  # a store it cannot bring back never keeps the window closed
        reason = str(exc) if isinstance(exc, EventDeckError) else f"cannot use {directory}: {exc.strerror or exc}"
        advice = "" if "--data" in reason else " Or start EventDeck with --data OTHER_DIR."
        log.warning("broker data not kept: %s; the broker runs in memory", reason)
        return BrokerData(directory, Broker(), f"{reason}.{advice}")
    store = broker.store
    assert store is not None
    log.info("broker data in %s (%s of its %s cap)", directory, f"{store.size:,} B", f"{store.max_bytes:,} B")
    if store.size < store.max_bytes:
        return BrokerData(directory, broker)
    full = f"{StoreFull(str(store.path), store.size, store.max_bytes)}. File > Broker data… can clear it."
    log.warning("%s", full)
    return BrokerData(directory, broker, full)


class BrokerDataController(QObject):
    """File > Broker data… (``brokerDataAction``), and the banner while the data folder has a problem."""

    def __init__(self, window: MainWindow, data: BrokerData) -> None:
        super().__init__(window)
        self._window = window
        self.data = data
        self.dialog: BrokerDataDialog | None = None
        self.action = window.host.action("brokerDataAction", "Broker data…", "broker")
        self.action.setToolTip("Where the embedded broker keeps what it promised to keep, how much, and Clear")
        self.action.triggered.connect(self.show_dialog)
        menu = window.file_menu
        menu.insertAction(menu.actions()[-1], self.action)  # just above Quit
        menu.insertSeparator(menu.actions()[-1])
        self.banner: Banner | None = None
        if data.problem is not None:
            self._show_banner(data.problem)

    def _show_banner(self, problem: str) -> None:
        window = self._window
        bar = QToolBar("Broker data problem")
        bar.setObjectName("brokerDataBannerBar")
        bar.setMovable(False)
        self.banner = Banner("brokerDataBanner")
        self.banner.message.setText(problem if self.data.on_disk else f"Broker data not kept: {problem} {IN_MEMORY}")
        self.banner.button("brokerDataBannerOpen", "Broker data…").clicked.connect(self.show_dialog)
        bar.addWidget(self.banner)
        window.addToolBarBreak()
        window.addToolBar(bar)

    def show_dialog(self) -> None:
        if self.dialog is None:
            from eventdeck.gui.controllers.broker_data_dialog import BrokerDataDialog  # noqa: PLC0415 - when opened

            self.dialog = BrokerDataDialog(self.data.directory, self.data.on_disk, self.data.problem, self._window)
            self.dialog.clear_requested.connect(self._ask_to_clear)
        self.dialog.show()
        self.dialog.raise_()
        self.refresh()

    def refresh(self) -> None:
        if self.data.on_disk:
            self._window.bridge.spawn(self._count(), "counting the broker's data")

    async def _count(self) -> StoredCounts | None:
        store = self.data.broker.store
        if store is None or self.dialog is None:
            return None
        counts = await store.counts()
        self.dialog.show_counts(counts, store.size, store.max_bytes)
        return counts

    def _ask_to_clear(self) -> None:
        self._window.bridge.spawn(self._confirm_clear(), "counting the broker's data")

    async def _confirm_clear(self) -> None:
        counts = await self._count()  # what is lost, as of now
        if counts is None:
            return
        box = QMessageBox(self.dialog)
        box.setObjectName("brokerDataClearConfirm")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Clear the broker's data")
        box.setText("Clear everything the embedded broker keeps, in memory and on disk?")
        box.setInformativeText(self._what_is_lost(counts))
        clear = box.addButton("Clear", QMessageBox.ButtonRole.DestructiveRole)
        clear.setObjectName("brokerDataClearConfirmed")
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        clear.clicked.connect(self.clear)
        box.open()

    def _what_is_lost(self, counts: StoredCounts) -> str:
        held = (
            f"{plural(counts.subscriptions, 'durable subscription')} with "
            f"{plural(counts.queued, 'queued message')}, {plural(counts.retained, 'retained message')} and "
            f"{plural(counts.sessions, 'MQTT session')}"
        )
        scenario = " The running scenario starts again from its beginning." if self._window.scenarios.scenario else ""
        return (
            f"Lost for good: {held}. Subscriptions whose consumers are connected now stay, empty.{scenario} "
            "This cannot be undone."
        )

    def clear(self) -> None:
        """Empty the broker and its store (the panels clear with it), then count again."""
        self._window.bridge.spawn(self._clear(), "clearing the broker's data")

    async def _clear(self) -> None:
        await self._window.scenarios.empty_broker()
        self._window.host.say("Broker data cleared", 5000)
        await self._count()
