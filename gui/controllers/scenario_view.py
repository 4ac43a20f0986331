"""The running scenario as the window shows it: toolbar, menus, story bar, fault badge, start page and clicker keys.

Everything here follows a :class:`~.scenarios.ScenarioController` and asks it for what the user
wants. The toolbar holds Pause / Resume (``simulationToggle``), the speed (``simulationSpeed``)
and Reset (``scenarioReset``); File > Scenarios (``scenariosMenu``) lists the built-ins, Open
scenario… and the recent files; the Faults menu (``faultsMenu``) and the status bar's badge list
the active faults. The story shows in a slim bar under the toolbar and large in the presenter.
The start page (``welcomeView``) lies over the docks while nothing runs on the embedded broker;
View > Start page shows it again. A clicker's keys move the story unless a text field has the focus.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QSizePolicy,
    QTextEdit,
    QToolBar,
    QWidget,
)

from eventdeck.gui.controllers.scenarios import (
    UNAVAILABLE,
    ScenarioController,
    built_in_cards,
    has_scenario_fields,
)
from eventdeck.gui.models.broker_restart import mark_words, restart_notice
from eventdeck.gui.models.topology import NO_MARKS, ActiveFault, ScenarioMarks
from eventdeck.gui.scenarios.fault_widgets import FaultBadge, FaultsMenu
from eventdeck.gui.scenarios.recent_files import NOT_FOUND
from eventdeck.gui.scenarios.speed_control import SpeedControl
from eventdeck.gui.scenarios.story_bar import StoryBar
from eventdeck.gui.scenarios.story_controls import BACK, NEXT, StoryControls
from eventdeck.gui.widgets.icons import icon

if TYPE_CHECKING:
    from eventdeck.core.simulation.faults import BrokerRestart
    from eventdeck.core.simulation.scenario import Scenario
    from eventdeck.gui.main_window import MainWindow
    from eventdeck.gui.panels.topology_panel import TopologyPanel
    from eventdeck.gui.presenter.view import PresenterView
    from eventdeck.gui.scenarios.welcome_view import WelcomeView

NOT_RUNNING = "No scenario runs: pick one from File > Scenarios, or from the start page (View > Start page)"
TOGGLE_TIP = "Pause or resume the scenario's simulated publishers (subscribers go on draining their queues)"
RESET_TIP = (
    "Back to the scenario's start: an empty broker, counters at zero, the stream cleared, the story at its start"
)
NEXT_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_PageDown)  # what a presenter's clicker sends
BACK_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_PageUp)
TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)
PLACING_EVENTS = (QEvent.Type.Show, QEvent.Type.Hide, QEvent.Type.Resize, QEvent.Type.Move)
SCENARIO_FILTERS = ["Scenarios and AsyncAPI documents (*.yaml *.yml *.json)", "All files (*)"]


def typing_in(widget: QWidget | None) -> bool:
    """Whether ``widget`` takes text, so the clicker's keys (Space, the arrows) are its own."""
    return isinstance(widget, TEXT_INPUTS) or (isinstance(widget, QComboBox) and widget.isEditable())


class ScenarioView(QObject):
    """The window's side of the running scenario; ``window`` is built up to its controllers."""

    def __init__(self, window: MainWindow, controller: ScenarioController, start_page: bool = True) -> None:
        super().__init__(window)
        self._window = window
        self._controller = controller
        # The start page: shown when nothing runs, until dismissed (not wanted while a scenario is on its way).
        self._wanted = start_page
        self._auto = True  # shown because nothing runs (traffic hides it), not asked for from the View menu
        self._welcome: WelcomeView | None = None  # built when first shown
        self._build_toolbar()
        self._build_menus()
        self._build_story()
        self._build_faults()
        for widget in (window.menuBar(), window.statusBar(), *window.findChildren(QToolBar)):
            widget.installEventFilter(self)  # the start page covers what lies between them
        controller.started.connect(self._on_started)
        controller.stopped.connect(self._on_stopped)
        controller.cleared.connect(self._on_cleared)
        controller.story_changed.connect(self._on_story)
        controller.faults_changed.connect(self._on_faults)
        controller.broker_restarted.connect(self._on_broker_restarted)
        controller.pace_changed.connect(self._on_pace)
        controller.availability_changed.connect(self._on_availability)
        window.bridge.messages.connect(self._on_traffic)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._update_keys)
        self.sync()

    def attach_presenter(self, presenter: PresenterView) -> None:
        """The window's presenter, built when first used: it follows the scenario from now on, as it is now."""
        presenter.speed_changed.connect(self._on_presenter_speed)
        presenter.pause_requested.connect(self._controller.set_paused)
        presenter.installEventFilter(self)  # shown or hidden: the clicker's keys go to it or to the window
        self._wire_story(presenter.caption)
        self.sync()

    def attach_topology(self, topology: TopologyPanel) -> None:
        """The window's topology panel, built when first shown: it offers the scenario's faults and shows its marks."""
        topology.fault_requested.connect(self._controller.request_fault)
        topology.fault_clear_requested.connect(self._controller.clear_fault)
        self._update_marks()

    # -- building ---------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        window, controller = self._window, self._controller
        self.toggle = window.host.action("simulationToggle", "Pause scenario", "pause")
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(controller.set_paused)
        self.speed = SpeedControl("simulationSpeed")
        self.speed.speed_chosen.connect(controller.choose_speed)
        self.reset_action = window.host.action("scenarioReset", "Reset", "reset")
        self.reset_action.triggered.connect(controller.reset)
        toolbar = window.toolbar
        first = toolbar.actions()[0]
        toolbar.insertAction(first, self.toggle)
        toolbar.insertWidget(first, self.speed)
        toolbar.insertAction(first, self.reset_action)
        toolbar.insertSeparator(first)

    def _build_menus(self) -> None:
        window, controller = self._window, self._controller
        self.menu = QMenu("&Scenarios", window)
        self.menu.setObjectName("scenariosMenu")
        self.menu.setToolTipsVisible(True)
        self.built_in_actions: list[QAction] = []
        for name, title, summary in built_in_cards():
            action = self.menu.addAction(title)
            action.setObjectName(f"scenario_{name}")
            action.setData(summary)  # its tooltip while it can be started
            action.triggered.connect(lambda _checked=False, name=name: controller.start(name))
            self.built_in_actions.append(action)
        self.menu.addSeparator()
        self.open_action = window.host.action("openScenarioAction", "Open scenario…", "channel", "Ctrl+Shift+O")
        self.open_action.triggered.connect(self.ask_file)
        self.menu.addAction(self.open_action)
        self.menu.addSeparator()
        self._recent_actions: list[QAction] = []
        self.menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        first = window.file_menu.actions()[0]
        window.file_menu.insertMenu(first, self.menu)
        window.file_menu.insertSeparator(first)
        self.start_page_action = window.host.action("startPageAction", "Start page", "app")
        self.start_page_action.setToolTip("The built-in scenarios, your own files, and connecting to a broker")
        self.start_page_action.triggered.connect(self.show_start_page)
        window.view_menu.insertAction(window.view_menu.actions()[1], self.start_page_action)

    def _fill_recent(self) -> None:
        for action in self._recent_actions:
            self.menu.removeAction(action)
            action.deleteLater()
        paths = self._controller.recent.paths
        self._recent_actions = [self.menu.addAction(self._recent_text(path)) for path in paths]
        if not paths:
            self._recent_actions = [self.menu.addAction("No recent scenario files")]
            self._recent_actions[0].setEnabled(False)
        for action, path in zip(self._recent_actions, paths, strict=False):
            action.setObjectName("recentScenario")
            action.setToolTip(path)
            action.setEnabled(Path(path).exists() and self._controller.available)
            action.triggered.connect(lambda _checked=False, path=path: self.open_file(path))

    @staticmethod
    def _recent_text(path: str) -> str:
        name = Path(path).name
        return name if Path(path).exists() else f"{name} ({NOT_FOUND})"

    def _build_story(self) -> None:
        window = self._window
        self.story_bar = StoryBar()
        self.story_bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.story_bar.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a story takes the focus from a text field
        self.story_toolbar = QToolBar("Story")
        self.story_toolbar.setObjectName("storyToolBar")
        self.story_toolbar.setMovable(False)
        self.story_toolbar.addWidget(self.story_bar)
        below = [bar for bar in window.findChildren(QToolBar) if bar is not window.toolbar]
        if below:  # straight under the main toolbar, above the banners
            window.insertToolBar(below[0], self.story_toolbar)
            window.insertToolBarBreak(below[0])
        else:
            window.addToolBarBreak()
            window.addToolBar(self.story_toolbar)
        self.story_toolbar.hide()
        self._wire_story(self.story_bar)
        self.next_key = window.host.action("storyNextAction", "Next step", "play")
        self.next_key.setShortcuts([QKeySequence(key) for key in NEXT_KEYS])
        self.next_key.triggered.connect(lambda: self.story_bar.press(NEXT))
        self.back_key = window.host.action("storyBackAction", "Previous step", "play")
        self.back_key.setShortcuts([QKeySequence(key) for key in BACK_KEYS])
        self.back_key.triggered.connect(lambda: self.story_bar.press(BACK))

    def _wire_story(self, story: StoryControls) -> None:
        controller = self._controller
        story.next_requested.connect(controller.next)
        story.back_requested.connect(controller.back)
        story.reset_requested.connect(controller.reset)

    def _presenting(self) -> bool:
        """Whether the presenter is up (it covers the page, and reads the clicker's keys itself)."""
        presenter = self._window.built_presenter
        return presenter is not None and presenter.isVisibleTo(self._window)

    def _build_faults(self) -> None:
        window, controller = self._window, self._controller
        self.faults_menu = FaultsMenu(window)
        window.menuBar().insertMenu(window.help_menu.menuAction(), self.faults_menu)
        self.badge = FaultBadge()
        window.statusBar().insertPermanentWidget(0, self.badge)
        for source in (self.faults_menu, self.badge):
            source.clear_requested.connect(controller.clear_fault)
            source.clear_all_requested.connect(controller.clear_all_faults)
        self.faults_menu.fault_requested.connect(controller.request_fault)

    @property
    def welcome(self) -> WelcomeView:
        """The start page, built on first use: a window that opens on a scenario may never show it."""
        if self._welcome is None:
            from eventdeck.gui.scenarios.welcome_view import WelcomeView  # noqa: PLC0415 - with the start page

            window = self._window
            welcome = self._welcome = WelcomeView(built_in_cards(), self._controller.recent.paths, window)
            welcome.setAutoFillBackground(True)  # it lies over the docks
            welcome.hide()
            welcome.scenario_chosen.connect(self._controller.start)
            welcome.open_requested.connect(self.ask_file)
            welcome.recent_chosen.connect(self.open_file)
            welcome.connect_requested.connect(window.connections.action.trigger)
            welcome.dismissed.connect(self.dismiss_start_page)
        return self._welcome

    def _welcome_shown(self) -> bool:
        return self._welcome is not None and self._welcome.isVisibleTo(self._window)

    # -- opening ------------------------------------------------------------------------

    def ask_file(self) -> None:
        self._window.host.ask_file("openScenarioDialog", "Open a scenario", self.open_file, SCENARIO_FILTERS)

    def open_file(self, path: str) -> None:
        """Run the scenario at ``path``; a document without ``x-eventdeck-*`` fields opens as AsyncAPI instead."""
        if has_scenario_fields(path) is False:
            if self._window.asyncapi_files.open(path):
                self._window.host.say(
                    f"{Path(path).name} has no x-eventdeck fields, so nothing runs: opened as an AsyncAPI document",
                    10_000,
                )
            return
        self._controller.start(path)

    def open_dropped(self, path: str) -> None:
        """A dropped document runs as a scenario when it has ``x-eventdeck-*`` fields, else opens as AsyncAPI."""
        if has_scenario_fields(path):
            self._controller.start(path)
        else:
            self._window.asyncapi_files.open(path)

    # -- the start page --------------------------------------------------------------------

    def show_start_page(self) -> None:
        self._wanted, self._auto = True, False
        self._update_welcome()

    def dismiss_start_page(self) -> None:
        self._wanted = False
        self._update_welcome()

    def _on_traffic(self, _batch: list[object]) -> None:
        if self._wanted and self._auto and self._controller.scenario is None:
            self.dismiss_start_page()  # something runs after all (a client of the gateways): show it

    def _update_welcome(self) -> None:
        show = self._wanted and self._controller.available and not self._presenting()  # no painting beneath it
        if show and not self._welcome_shown():
            self.welcome.set_recent(self._controller.recent.paths)
            self._place_welcome()
            self.welcome.show()
            self.welcome.raise_()
            if self.welcome.cards:
                next(iter(self.welcome.cards.values())).setFocus()
        elif not show and self._welcome is not None:
            self._welcome.hide()
        self._update_keys()

    def _place_welcome(self) -> None:
        """Over the docks: between the menu bar and the toolbars above, and the status bar below."""
        window = self._window
        top = window.menuBar().geometry().bottom() + 1 if window.menuBar().isVisible() else 0
        for bar in window.findChildren(QToolBar):
            if bar.isVisible() and window.toolBarArea(bar) is Qt.ToolBarArea.TopToolBarArea:
                top = max(top, bar.geometry().bottom() + 1)
        status = window.statusBar()
        bottom = status.geometry().top() if status.isVisible() else window.height()
        self.welcome.setGeometry(0, top, window.width(), max(0, bottom - top))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in PLACING_EVENTS:
            if watched is self._window.built_presenter:
                self._update_welcome()
            elif self._welcome_shown():
                self._place_welcome()
        return False

    # -- following the controller ----------------------------------------------------------

    def _on_started(self, scenario: Scenario) -> None:
        window = self._window
        window.asyncapi.apply(scenario.workspace.document)  # templates and validation, as for any document
        if self._welcome is not None:
            self._welcome.set_recent(self._controller.recent.paths)
        self._wanted = False
        self.sync()
        if scenario.player is not None:
            self.story_bar.setFocus()  # not a text field: the clicker's Space moves the story at once

    def _on_stopped(self) -> None:
        self._wanted, self._auto = True, True
        self.sync()

    def _on_availability(self, available: bool) -> None:
        if available and self._controller.scenario is None:
            self._wanted, self._auto = True, True
        self.sync()

    def _on_cleared(self) -> None:
        """The broker was emptied: what the window showed of it goes too."""
        window = self._window
        window.stream.clear()
        window.inspector.show_message(None)
        window.rates.clear()
        window.ledger.clear()
        if window.built_topology is not None:
            window.built_topology.clear()
        if window.built_presenter is not None:
            window.built_presenter.clear()
        window.bridge.take_snapshot()

    def sync(self) -> None:
        """Everything that depends on whether a scenario runs on the broker shown (again after the window restored
        a saved layout, which knows nothing of the story bar's reasons to be shown)."""
        controller, window = self._controller, self._window
        scenario, available = controller.scenario, controller.available
        running = scenario is not None and available
        why = "" if running else UNAVAILABLE if not available else NOT_RUNNING
        for action, tip in ((self.toggle, TOGGLE_TIP), (self.reset_action, RESET_TIP)):
            action.setEnabled(running)
            action.setToolTip(why or tip)
        self.speed.setEnabled(running)
        self.speed.setToolTip(why or "How fast the whole simulation runs (Pause stops its publishers)")
        for action in self.built_in_actions:
            action.setEnabled(available)
            action.setToolTip(str(action.data()) if available else UNAVAILABLE)
        self.open_action.setEnabled(available)
        self.open_action.setToolTip("Run an AsyncAPI document with x-eventdeck fields" if available else UNAVAILABLE)
        self.faults_menu.menuAction().setEnabled(available)
        self.faults_menu.set_elements(*controller.fault_targets())
        if available:
            title = scenario.title if scenario is not None else "embedded broker"
            window.setWindowTitle(f"EventDeck — {title}")
        if scenario is not None:
            self._on_pace(scenario.speed, scenario.paused)
        self._on_story()
        self._update_welcome()

    def _on_story(self) -> None:
        scenario = self._controller.scenario
        player = scenario.player if scenario is not None and self._controller.available else None
        story = player.story if player is not None else None
        presenter = self._window.built_presenter
        controls: list[StoryControls] = [self.story_bar] if presenter is None else [self.story_bar, presenter.caption]
        for shown in controls:
            if shown.story is not story:
                shown.set_story(story)
            if player is not None:
                if shown.index != player.index:
                    shown.set_step(player.index)
                shown.set_errors(list(player.errors))
        self.story_toolbar.setVisible(story is not None)
        if presenter is not None:
            presenter.caption.setVisible(story is not None)
        self._update_marks()
        self._update_keys()

    def _on_faults(self, faults: list[ActiveFault]) -> None:
        self.faults_menu.set_active(faults)
        self.badge.set_faults(faults)
        self._update_marks()

    def _on_broker_restarted(self, restart: BrokerRestart) -> None:
        """The stream says what came back from the store and what was lost; the broker's mark says it short."""
        self._window.stream.add_notice(restart_notice(restart))
        self._update_marks()

    def _on_pace(self, speed: float, paused: bool) -> None:
        self.toggle.blockSignals(True)
        self.toggle.setChecked(paused)
        self.toggle.blockSignals(False)
        self.toggle.setText("Resume scenario" if paused else "Pause scenario")
        self.toggle.setIcon(icon("play" if paused else "pause"))
        self.speed.set_speed(0.0 if paused else speed)
        if self._window.built_presenter is not None:
            self._window.built_presenter.show_speed(speed)

    def _on_presenter_speed(self, factor: float) -> None:
        if factor > 0:  # Pause is the presenter's pause_requested
            self._controller.set_speed(factor)

    def _update_marks(self) -> None:
        controller = self._controller
        scenario = controller.scenario
        marks = NO_MARKS
        if scenario is not None and controller.available:
            subscribers, _channels, publishers = controller.fault_targets()
            highlights = scenario.player.highlights if scenario.player is not None else ()
            marks = ScenarioMarks(
                frozenset(highlights),
                tuple(controller.faults),
                frozenset(subscribers),
                tuple(controller.consumer_patterns()),
                frozenset(publishers),
                running=True,
                restart=mark_words(controller.restart),
            )
        if self._window.built_presenter is not None:
            self._window.built_presenter.set_marks(marks)
        if self._window.built_topology is not None:
            self._window.built_topology.set_marks(marks)

    def _update_keys(self, *_focus: object) -> None:
        """The clicker's keys move the story in the window, unless a text field, the start page or the presenter
        (which reads them itself) has them."""
        on = (
            self.story_bar.story is not None
            and self.story_toolbar.isVisibleTo(self._window)
            and not self._welcome_shown()
            and not self._presenting()
            and not typing_in(QApplication.focusWidget())
        )
        self.next_key.setEnabled(on)
        self.back_key.setEnabled(on)
