"""The main window: seven docks around the broker, a toolbar, menus and a status bar of totals."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QMimeData, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QWidget,
)

from eventdeck.core import Message
from eventdeck.core.connectors.backend import Backend
from eventdeck.core.connectors.profiles import ProfileStore
from eventdeck.core.gateways.controller import GatewayState
from eventdeck.core.recording import SUFFIX as RECORDING_SUFFIX
from eventdeck.gui.app import app_version
from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.controllers.asyncapi import AsyncApiController, AsyncApiFiles
from eventdeck.gui.controllers.connections import ConnectionsController, default_profiles_path
from eventdeck.gui.controllers.gateways import GatewayBanner, GatewaysController, GatewaySettings
from eventdeck.gui.controllers.host import WindowHost
from eventdeck.gui.controllers.recordings import RecordingController
from eventdeck.gui.controllers.scenario_view import ScenarioView
from eventdeck.gui.controllers.scenarios import ScenarioController
from eventdeck.gui.models.stream_model import DEFAULT_CAPACITY, StreamModel
from eventdeck.gui.models.topology import publisher_ledger
from eventdeck.gui.panels.channels_panel import ChannelsPanel
from eventdeck.gui.panels.composer_panel import ComposerPanel
from eventdeck.gui.panels.inspector_panel import InspectorPanel
from eventdeck.gui.panels.rates_panel import RatesPanel
from eventdeck.gui.panels.stream_panel import StreamPanel
from eventdeck.gui.panels.subscribers_panel import SubscribersPanel
from eventdeck.gui.scenarios.recent_files import RecentFiles
from eventdeck.gui.widgets.icons import icon
from eventdeck.gui.widgets.theme import THEMES, apply_theme

if TYPE_CHECKING:
    from eventdeck.gui.panels.topology_panel import TopologyPanel
    from eventdeck.gui.presenter.view import PresenterView

log = logging.getLogger(__name__)
SETTINGS_VERSION = 2  # bump when the dock layout changes so old saved layouts are ignored (2: Topology)


DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
RECORDING_SUFFIXES = (RECORDING_SUFFIX,)


def _dropped_file(mime: QMimeData, suffixes: tuple[str, ...]) -> str | None:
    for url in mime.urls():
        if url.isLocalFile() and url.toLocalFile().lower().endswith(suffixes):
            return url.toLocalFile()
    return None


def resident_memory_mb() -> float:
    """This process's resident memory in MB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def fitted_size(width: int, height: int) -> tuple[int, int]:
    """``width`` x ``height``, shrunk to the screen's free area (a 1366x768 laptop keeps Send and the status bar)."""
    screens = QGuiApplication.screens()  # the primary screen first; none in some headless set-ups
    if not screens or QGuiApplication.platformName() in ("offscreen", "minimal"):
        return width, height  # no real screen: screenshots keep the size they are made at
    free = screens[0].availableGeometry()
    return min(width, free.width()), min(height, free.height() - 32)  # the title bar is outside the geometry


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        bridge: Bridge,
        settings: QSettings,
        ring_size: int | None = None,
        *,
        gateways: GatewaysController | None = None,
        profiles: ProfileStore | None = None,
        start_page: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("EventDeck — embedded broker")
        self.setWindowIcon(icon("app"))
        self.bridge = bridge
        self.settings = settings
        self.gateways = gateways
        self.host = WindowHost(self)
        self.setDockNestingEnabled(True)
        self._dark = False
        theme = str(settings.value("view/theme", "system"))
        app = QApplication.instance()
        if isinstance(app, QApplication):
            self._dark = apply_theme(app, theme)  # before the panels exist, so they start in the right colours

        capacity = ring_size or int(str(settings.value("stream/ring_size", DEFAULT_CAPACITY)))
        self.stream_model = StreamModel(capacity)
        self.stream = StreamPanel(bridge, self.stream_model)
        self.channels = ChannelsPanel(bridge)
        self.inspector = InspectorPanel(bridge)
        self.subscribers = SubscribersPanel(bridge)
        self.composer = ComposerPanel(bridge)
        self.rates = RatesPanel(bridge)
        self._topology: TopologyPanel | None = None  # built when its dock is first shown (a tab behind Rates)
        self.ledger = publisher_ledger(bridge)  # the topology's and the presenter's: counts from the start
        self.docks: dict[str, QDockWidget] = {}
        self._build_docks()
        self._wire_panels()
        self._build_status_bar()
        self._build_actions()
        self._build_gateways()
        self._build_presenter()
        self._build_controllers(profiles, start_page)
        self._show_theme(theme if theme in THEMES else "system")  # applied above: applying it again costs ~20 ms
        self._restore_layout()
        self.scenario_view.sync()
        bridge.snapshot.connect(self._on_snapshot)
        bridge.error.connect(self.show_error)

    # -- layout ------------------------------------------------------------

    def _dock(self, key: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{key}Dock")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.docks[key] = dock
        return dock

    def _build_docks(self) -> None:
        channels = self._dock("channels", "Channels", self.channels)
        subscribers = self._dock("subscribers", "Subscribers", self.subscribers)
        stream = self._dock("stream", "Live stream", self.stream)
        rates = self._dock("rates", "Rates", self.rates)
        inspector = self._dock("inspector", "Inspector", self.inspector)
        composer = self._dock("composer", "Composer", self.composer)
        topology = self._dock("topology", "Topology", QWidget())  # the panel takes the placeholder's place
        topology.visibilityChanged.connect(self._on_topology_visible)
        # Left: what exists (channels, subscribers); middle: what flows; right: one message, and a new one.
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, channels)
        self.splitDockWidget(channels, stream, Qt.Orientation.Horizontal)
        self.splitDockWidget(stream, inspector, Qt.Orientation.Horizontal)
        self.splitDockWidget(channels, subscribers, Qt.Orientation.Vertical)
        self.splitDockWidget(stream, rates, Qt.Orientation.Vertical)
        self.splitDockWidget(inspector, composer, Qt.Orientation.Vertical)
        self.tabifyDockWidget(rates, topology)  # a tab beside Rates: the default layout stays as it was
        rates.raise_()
        self.resizeDocks([channels, stream, inspector], [390, 700, 430], Qt.Orientation.Horizontal)
        self.resizeDocks([channels, subscribers], [430, 330], Qt.Orientation.Vertical)
        self.resizeDocks([stream, rates], [520, 240], Qt.Orientation.Vertical)
        self.resizeDocks([inspector, composer], [450, 310], Qt.Orientation.Vertical)
        self.resize(*fitted_size(1520, 900))

    def _wire_panels(self) -> None:
        self.channels.pattern_selected.connect(self.stream.set_channel_pattern)
        self.channels.publish_requested.connect(self._compose_to)
        self.channels.subscribe_requested.connect(self._subscribe_to)
        self.stream.message_selected.connect(self.inspector.show_message)
        self.inspector.resend_requested.connect(self._resend)
        self.inspector.select_requested.connect(self._select_linked)

    @property
    def topology(self) -> TopologyPanel:
        """The topology panel, built when its dock is first shown or when first asked for."""
        if self._topology is None:
            from eventdeck.gui.panels.topology_panel import TopologyPanel  # noqa: PLC0415 - not in the first paint

            topology = self._topology = TopologyPanel(self.bridge)
            placeholder = self.docks["topology"].widget()
            self.docks["topology"].setWidget(topology)
            placeholder.deleteLater()
            topology.channel_selected.connect(self.channels.select_channel)
            topology.publisher_selected.connect(self._show_publisher)
            topology.subscription_selected.connect(self._show_subscription)
            topology.publish_requested.connect(self._compose_to)
            topology.subscribe_requested.connect(self._subscribe_to)
            topology.control_requested.connect(self.subscribers.control)
            self.scenario_view.attach_topology(topology)
        return self._topology

    @property
    def built_topology(self) -> TopologyPanel | None:
        """The topology panel if it was built (what only updates it need not build it)."""
        return self._topology

    def _on_topology_visible(self, visible: bool) -> None:
        if visible:  # its tab chosen, or a restored layout shows it: built now, in the frame that shows it
            self.topology.show()

    def _compose_to(self, channel: str) -> None:
        self.docks["composer"].show()
        self.docks["composer"].raise_()
        self.composer.set_channel(channel)

    def _subscribe_to(self, pattern: str) -> None:
        self.docks["subscribers"].show()
        self.docks["subscribers"].raise_()
        self.subscribers.add_virtual(pattern)

    def _show_publisher(self, publisher: str) -> None:
        self.channels.clear_selection()  # every channel it sent to, not just the one selected before
        self.stream.show_publisher(publisher)

    def _show_subscription(self, name: str) -> None:
        self.docks["subscribers"].show()
        self.docks["subscribers"].raise_()
        self.subscribers.select(name)

    def _resend(self, message: Message) -> None:
        self.docks["composer"].show()
        self.composer.load_message(message)

    def _select_linked(self, message_id: int) -> None:
        if not self.stream.select_message(message_id):
            self.statusBar().showMessage("That message is no longer in the stream (evicted or filtered out).", 5000)

    # -- toolbar and menus -----------------------------------------------

    def _build_actions(self) -> None:
        toolbar = self.toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolBar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setMovable(False)
        self.addToolBar(toolbar)

        self.stream_pause_action = self.host.action("streamPauseAction", "Pause stream", "pause", "Ctrl+P")
        self.stream_pause_action.setCheckable(True)
        self.stream_pause_action.toggled.connect(self.stream.set_paused)
        self.stream.pause_button.toggled.connect(self.stream_pause_action.setChecked)
        clear = self.host.action("streamClearAction", "Clear", "clear", "Ctrl+L")
        clear.triggered.connect(self.stream.clear)
        follow = self.host.action("followAction", "Follow newest", "follow")
        follow.triggered.connect(self.stream.follow)
        find = self.host.action("findAction", "Find", "filter", "Ctrl+F")
        find.triggered.connect(self._focus_find)
        for action in (self.stream_pause_action, clear, follow, find):
            toolbar.addAction(action)

        self.file_menu = self.menuBar().addMenu("&File")
        quit_action = self.host.action("quitAction", "Quit", "stop", "Ctrl+Q")
        quit_action.triggered.connect(self.close)
        self.file_menu.addAction(quit_action)

        view_menu = self.view_menu = self.menuBar().addMenu("&View")
        self.present_action = self.host.action("presentAction", "Present", "play", "F5")
        self.present_action.triggered.connect(self.present)
        view_menu.addAction(self.present_action)
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("Theme")
        self.theme_group = QActionGroup(self)
        for theme in THEMES:
            action = QAction(theme.title(), self, checkable=True)
            action.setObjectName(f"theme{theme.title()}")
            action.setData(theme)
            self.theme_group.addAction(action)
            theme_menu.addAction(action)
        self.theme_group.triggered.connect(self._on_theme_action)
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        ring = QAction("Stream ring size…", self)
        ring.setObjectName("ringSizeAction")
        ring.triggered.connect(self._ask_ring_size)
        view_menu.addAction(ring)

        help_menu = self.help_menu = self.menuBar().addMenu("&Help")
        about = QAction("About EventDeck", self)
        about.setObjectName("aboutAction")
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def _on_theme_action(self, action: QAction) -> None:
        self.set_theme(str(action.data()))

    def _build_gateways(self) -> None:
        """The gateways' banner (when one cannot start), status label, client messages and settings."""
        label = QLabel("gateways off")
        label.setObjectName("status_gateways")
        label.setToolTip("Where real MQTT and HTTP clients reach the embedded broker (File > Gateways…)")
        self.statusBar().insertPermanentWidget(0, label)
        self.status_labels["gateways"] = label
        if self.gateways is None:
            return
        self.addToolBarBreak()
        self.banner_bar = QToolBar("Gateway problems")
        self.banner_bar.setObjectName("gatewayBannerBar")
        self.banner_bar.setMovable(False)
        self.gateway_banner = GatewayBanner(self.gateways)
        self.banner_bar.addWidget(self.gateway_banner)
        self.addToolBar(self.banner_bar)
        self.banner_bar.hide()
        self.gateways.changed.connect(self._on_gateways)
        self.gateways.client_event.connect(self._on_client_event)
        settings_action = self.host.action("gatewaySettingsAction", "Gateways…", "connect")
        settings_action.triggered.connect(self.show_gateway_settings)
        self.file_menu.insertAction(self.file_menu.actions()[0], settings_action)
        self._on_gateways(self.gateways.states())

    def _on_gateways(self, states: list[GatewayState]) -> None:
        self.status_labels["gateways"].setText(" · ".join(state.summary for state in states))
        self.banner_bar.setVisible(self.gateway_banner.has_problem)

    def _on_client_event(self, line: str) -> None:
        self.statusBar().showMessage(line, 5000)

    def show_gateway_settings(self) -> None:
        if self.gateways is not None:
            GatewaySettings(self.gateways, self).open()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_file(event.mimeData(), DOCUMENT_SUFFIXES + RECORDING_SUFFIXES) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """A scenario runs, any other AsyncAPI document is opened; a recording (.jsonl) is offered for replay."""
        document = _dropped_file(event.mimeData(), DOCUMENT_SUFFIXES)
        recording = _dropped_file(event.mimeData(), RECORDING_SUFFIXES)
        if document is not None:
            event.acceptProposedAction()
            self.scenario_view.open_dropped(document)
        elif recording is not None:
            event.acceptProposedAction()
            self.recordings.open(recording)

    # -- controllers -------------------------------------------------------

    def _build_controllers(self, profiles: ProfileStore | None, start_page: bool) -> None:
        """Connections, AsyncAPI and recordings: their actions go first in the File menu, their labels in the
        status bar; the replay's stop button sits in the toolbar while a replay runs."""
        host = self.host
        self.connections = ConnectionsController(self.bridge, host, profiles or ProfileStore(default_profiles_path()))
        self.bridge.backend_changed.connect(self._on_backend_changed)  # before a replay hears of the switch
        self.asyncapi = AsyncApiController(self.bridge, self)
        self.asyncapi_files = AsyncApiFiles(self.asyncapi, host, self.connections.connect_url)
        self.recordings = RecordingController(self.bridge, self.stream_model, host)
        recordings = self.recordings
        first = self.file_menu.actions()[0]
        self.file_menu.insertActions(first, list(self.asyncapi_files.actions))
        self.file_menu.insertSeparator(first)
        self.file_menu.insertActions(first, [recordings.export_action, recordings.replay_action])
        self.file_menu.insertActions(first, [recordings.stop_replay_action])
        self.file_menu.insertSeparator(first)
        self.file_menu.insertAction(first, self.connections.action)
        self.toolbar.addAction(recordings.stop_replay_action)
        self.connection_bar = QToolBar("Connection problems")
        self.connection_bar.setObjectName("connectionBannerBar")
        self.connection_bar.setMovable(False)
        self.connection_bar.addWidget(self.connections.banner)
        self.addToolBarBreak()
        self.addToolBar(self.connection_bar)
        self.connection_bar.hide()
        self.connections.banner_changed.connect(self.connection_bar.setVisible)
        for key, label in (("connection", self.connections.label), ("replay", recordings.label)):
            self.statusBar().insertPermanentWidget(0, label)
            self.status_labels[key] = label
        self.scenarios = ScenarioController(self.bridge, host, RecentFiles(self.settings), self.connections.embedded)
        self.scenario_view = ScenarioView(self, self.scenarios, start_page)
        self.simulation_action = self.scenario_view.toggle  # the toolbar's Pause / Resume scenario
        self.subscribers.members_source = self._shared_members
        self.setAcceptDrops(True)

    def _shared_members(self) -> dict[str, list[str]]:
        """Who shares each shared queue: the scenario's consumer pools and the MQTT clients' $share groups."""
        members = self.scenarios.pools()
        if self.gateways is not None:
            members.update(self.gateways.gateways.shared_groups())
        return members

    def _on_backend_changed(self, backend: Backend) -> None:
        self.stream.clear()
        self.inspector.show_message(None)
        self.rates.clear()
        self.ledger.clear()  # the other broker's publishers are not this one's
        local = backend is self.connections.embedded
        self.setWindowTitle("EventDeck — embedded broker" if local else f"EventDeck — {backend.name}")

    # -- presenter ---------------------------------------------------------

    def _build_presenter(self) -> None:
        self._presenter: PresenterView | None = None  # built on first use: a window may never present
        self._console_state = QByteArray()

    @property
    def presenter(self) -> PresenterView:
        """The presenter, laid over the whole window (menus, toolbar, docks and status bar), so the docks' layout is
        left alone; built when first asked for, as the scenario and the followed message are then."""
        if self._presenter is None:
            from eventdeck.gui.presenter.view import PresenterView  # noqa: PLC0415 - not needed for the first paint

            presenter = self._presenter = PresenterView(self.bridge, self)
            presenter.hide()
            presenter.leave_requested.connect(self.leave_presentation)
            presenter.full_screen_requested.connect(self._set_full_screen)
            if self.bridge.followed_message is not None:
                presenter.follow(self.bridge.followed_message)
            self.scenario_view.attach_presenter(presenter)
        return self._presenter

    @property
    def built_presenter(self) -> PresenterView | None:
        """The presenter if it was built (what only updates it need not build it)."""
        return self._presenter

    def present(self, full_screen: bool = False) -> None:
        """Show the presenter over the whole window (View > Present, F5); Esc leaves."""
        if not self.presenter.isVisible():
            # The docks are hidden beneath it, so they neither repaint nor make the presenter repaint.
            self._console_state = self.saveState(SETTINGS_VERSION)
            for dock in self.docks.values():
                dock.hide()
        self.presenter.setGeometry(self.rect())
        self.presenter.show()
        self.presenter.raise_()
        self.presenter.setFocus()
        if full_screen:
            self.presenter.full_screen.setChecked(True)

    def leave_presentation(self) -> None:
        if self._presenter is None or not self._presenter.isVisible():
            return
        self.presenter.full_screen.setChecked(False)
        self.presenter.hide()
        self.restoreState(self._console_state, SETTINGS_VERSION)
        self.scenario_view.sync()

    def _set_full_screen(self, full: bool) -> None:
        if full:
            self.showFullScreen()
        elif self.isFullScreen():
            self.showNormal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._presenter is not None and self._presenter.isVisible():
            self.presenter.setGeometry(self.rect())

    def _focus_find(self) -> None:
        self.docks["stream"].show()
        self.stream.text_edit.setFocus()
        self.stream.text_edit.selectAll()

    def _ask_ring_size(self) -> None:
        dialog = QInputDialog(self)
        dialog.setObjectName("ringSizeDialog")
        dialog.setWindowTitle("Stream ring size")
        dialog.setLabelText("Rows the live stream keeps (oldest are evicted):")
        dialog.setInputMode(QInputDialog.InputMode.IntInput)
        dialog.setIntRange(1_000, 2_000_000)
        dialog.setIntStep(10_000)
        dialog.setIntValue(self.stream_model.capacity)
        dialog.intValueSelected.connect(self.set_ring_size)
        dialog.open()  # never exec(): the broker keeps running behind it

    def set_ring_size(self, rows: int) -> None:
        self.stream_model.set_capacity(rows)
        self.settings.setValue("stream/ring_size", rows)
        self.stream.refresh_status()

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setObjectName("aboutBox")
        box.setWindowTitle("About EventDeck")
        box.setIconPixmap(icon("app").pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"EventDeck {app_version()}")
        box.setInformativeText(
            "See and play with event-driven systems: publishers, subscribers, channels, "
            "events, commands and replies, live on an embedded broker."
        )
        box.open()

    # -- theme -----------------------------------------------------------

    def set_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        theme = theme if theme in THEMES else "system"
        self._dark = apply_theme(app, theme)
        self._show_theme(theme)
        # Style sheets that say palette(...) resolve once; setting them again picks up the new palette.
        for widget in self.findChildren(QWidget):
            sheet = widget.styleSheet()
            if "palette(" in sheet:
                widget.setStyleSheet(sheet)

    def _show_theme(self, theme: str) -> None:
        """The View menu's check and the panels' own colours follow the theme applied."""
        for action in self.theme_group.actions():
            action.setChecked(action.data() == theme)
        self.settings.setValue("view/theme", theme)
        for panel in (self.composer, self.inspector, self.rates):
            panel.set_dark(self._dark)

    # -- status bar --------------------------------------------------------

    def _build_status_bar(self) -> None:
        self.status_labels: dict[str, QLabel] = {}
        for key, tip in (
            ("rate", "Messages published per second"),
            ("deliveries", "Deliveries to subscribers per second"),
            ("rows", "Rows held in the live stream"),
            ("memory", "Memory in use by EventDeck"),
        ):
            label = QLabel()
            label.setObjectName(f"status_{key}")
            label.setToolTip(tip)
            self.statusBar().addPermanentWidget(label)
            self.status_labels[key] = label
        self.statusBar().showMessage("Embedded broker running", 5000)
        self._memory_timer = QTimer(self)
        self._memory_timer.setInterval(2000)
        self._memory_timer.timeout.connect(self._update_memory)
        self._memory_timer.start()
        self._update_memory()

    def _on_snapshot(self, snap: Snapshot) -> None:
        self.status_labels["rate"].setText(f"{snap.publish_rate:,.0f} msg/s in")
        self.status_labels["deliveries"].setText(f"{snap.delivery_rate:,.0f} deliveries/s")
        self.status_labels["rows"].setText(f"{self.stream_model.held:,} rows held")
        if self.stream_model.paused:
            self.stream.refresh_status()

    def _update_memory(self) -> None:
        self.status_labels["memory"].setText(f"{resident_memory_mb():,.0f} MB")

    def show_error(self, text: str) -> None:
        """Non-modal: failures are shown in the status bar and logged, never in a blocking dialog."""
        self.host.error(text)

    # -- persistence -------------------------------------------------------

    def _restore_layout(self) -> None:
        if self.settings.value("window/version") != SETTINGS_VERSION:
            return
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state, SETTINGS_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("window/version", SETTINGS_VERSION)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(SETTINGS_VERSION))
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.leave_presentation()  # the console's layout is what is saved
        self.save_layout()
        super().closeEvent(event)
        self.closed.emit()
