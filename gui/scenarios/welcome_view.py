"""The start page: what the window shows when nothing runs, so EventDeck never opens as a blank tool.

A centred column: the app's name and what it is, a card per built-in scenario (the household
first, marked as the place to start), opening a scenario file or connecting to a broker, and
the files opened lately (a file that has gone is shown greyed, "not found").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from itertools import pairwise

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent, QPalette
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from eventdeck.gui.scenarios.card import Card, card_style
from eventdeck.gui.scenarios.recent_files import NOT_FOUND
from eventdeck.gui.widgets.small import text_label

Scenario = tuple[str, str, str]
"""A built-in scenario as the start page lists it: its name, title and one-line summary."""

START_HERE = "household"
START_MARK = "★ Start here"
APP_NAME = "EventDeck"
PITCH = (
    "A message broker on your desk that you can watch: publish events and send commands, and see each "
    "message travel from publishers through channels to the subscribers that handle it."
)
NO_SCENARIOS = "No built-in scenarios are installed. Open a scenario file or connect to a broker below."
NO_RECENT = "Files you open appear here."
OPEN_SUMMARY = "An AsyncAPI document or an EventDeck scenario (YAML or JSON)"
CONNECT_SUMMARY = "Watch a running MQTT, AMQP, NATS or Redis broker instead of the built-in one"
EMPTY_SUMMARY = "Publish from the composer, or connect your own MQTT and HTTP clients to it (Esc)"
COLUMN_WIDTH = 920  # px: lines a reader can follow at 1920 wide; narrower windows shrink it


def heading(name: str, text: str, scale: float) -> QLabel:
    label = text_label(name)
    label.setText(text)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


def recent_card(path: str) -> Card:
    """A recent file: its name over its folder; greyed and not clickable when the file has gone."""
    found = os.path.exists(path)
    folder = os.path.dirname(path)
    summary = folder if found else f"{NOT_FOUND} — {folder}"
    card = Card("recentFile", os.path.basename(path) or path, summary, large=False)
    card.setToolTip(path if found else f"{path} ({NOT_FOUND}: moved or deleted)")
    card.setEnabled(found)
    return card


def discard(cards: Iterable[Card]) -> None:
    """Take ``cards`` off the page now (out of their layout and the focus chain) and delete them later."""
    for card in cards:
        card.hide()
        card.setParent(None)
        card.deleteLater()


class WelcomeView(QWidget):
    """The start page; it only reports what was chosen, the window acts on it."""

    scenario_chosen = Signal(str)
    open_requested = Signal()
    connect_requested = Signal()
    recent_chosen = Signal(str)
    dismissed = Signal()  # the empty broker was chosen (its card, or Esc): the window shows its panels

    def __init__(
        self, scenarios: Sequence[Scenario] = (), recent: Sequence[str] = (), parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("welcomeView")
        self.cards: dict[str, Card] = {}
        self.recent_cards: list[Card] = []
        self.open_card = Card("welcomeOpen", "Open scenario…", OPEN_SUMMARY)
        self.open_card.clicked.connect(self.open_requested.emit)
        self.connect_card = Card("welcomeConnect", "Connect to a broker…", CONNECT_SUMMARY)
        self.connect_card.clicked.connect(self.connect_requested.emit)
        self.empty_card = Card("welcomeEmpty", "Start with an empty broker", EMPTY_SUMMARY)
        self.empty_card.clicked.connect(self.dismissed.emit)
        self.no_scenarios = text_label("welcomeNoScenarios")
        self.no_scenarios.setText(NO_SCENARIOS)
        self.no_recent = text_label("welcomeNoRecent")
        self.no_recent.setText(NO_RECENT)
        self.no_recent.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._scenario_grid = QGridLayout()
        self._scenario_grid.setSpacing(12)
        self._recent_list = QVBoxLayout()
        self._recent_list.setSpacing(6)
        self._build()
        self._style()
        self.set_scenarios(scenarios)
        self.set_recent(recent)

    def _build(self) -> None:
        pitch = text_label("welcomePitch")
        pitch.setText(PITCH)
        pitch.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        pitch_font = pitch.font()
        pitch_font.setPointSizeF(pitch_font.pointSizeF() * 1.15)
        pitch.setFont(pitch_font)
        column = QVBoxLayout()
        column.setSpacing(10)
        column.addWidget(heading("welcomeTitle", APP_NAME, 2.4))
        column.addWidget(pitch)
        column.addSpacing(22)
        column.addWidget(heading("welcomeStart", "Start a scenario", 1.35))
        column.addWidget(self.no_scenarios)
        column.addLayout(self._scenario_grid)
        column.addSpacing(22)
        lower = QHBoxLayout()
        lower.setSpacing(24)
        own = QVBoxLayout()
        own.setSpacing(8)
        own.addWidget(heading("welcomeOwn", "Your own", 1.35))
        own.addWidget(self.open_card)
        own.addWidget(self.connect_card)
        own.addWidget(self.empty_card)
        own.addStretch(1)
        recent = QVBoxLayout()
        recent.setSpacing(8)
        recent.addWidget(heading("welcomeRecent", "Recent files", 1.35))
        recent.addWidget(self.no_recent)
        recent.addLayout(self._recent_list)
        recent.addStretch(1)
        lower.addLayout(own, 1)
        lower.addLayout(recent, 1)
        column.addLayout(lower)
        page = QWidget()
        page.setObjectName("welcomePage")
        page.setMaximumWidth(COLUMN_WIDTH)
        page.setLayout(column)
        centre = QWidget()
        centring = QHBoxLayout(centre)
        centring.setContentsMargins(32, 40, 32, 32)
        centring.addWidget(page, 0, Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()  # a small window scrolls; the page never squeezes its cards
        scroll.setObjectName("welcomeScroll")
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes card to card; it scrolls to the one focused
        scroll.setWidgetResizable(True)
        scroll.setWidget(centre)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _style(self) -> None:
        style = card_style(self.palette())
        if style != self.styleSheet():  # restyling repolishes the page, which must not loop back here
            self.setStyleSheet(style)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the theme changed: the marked card's tint follows
            self._style()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.dismissed.emit()
        else:
            super().keyPressEvent(event)

    def set_scenarios(self, scenarios: Sequence[Scenario]) -> None:
        """One card per ``(name, title, summary)``; the household comes first and is marked as the place to start."""
        names = [name for name, _title, _summary in scenarios]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"the start page lists each scenario once; given more than once: {', '.join(twice)}")
        discard(self.cards.values())
        self.cards = {}
        ordered = sorted(scenarios, key=lambda scenario: scenario[0] != START_HERE)  # stable: the rest keep order
        for position, (name, title, summary) in enumerate(ordered):
            marked = name == START_HERE
            card = Card("scenarioCard", title, summary, mark=START_MARK if marked else "")
            card.clicked.connect(lambda name=name: self.scenario_chosen.emit(name))
            self.cards[name] = card
            if marked:  # the full width: the first thing the eye meets
                self._scenario_grid.addWidget(card, 0, 0, 1, 2)
            else:
                slot = position + 1 if START_HERE in names else position  # two a row, under the full-width one
                self._scenario_grid.addWidget(card, slot // 2, slot % 2)
        self.no_scenarios.setVisible(not scenarios)
        self._chain_focus()

    def set_recent(self, paths: Sequence[str]) -> None:
        """The files opened lately, newest first (what :class:`~.recent_files.RecentFiles` keeps)."""
        discard(self.recent_cards)
        self.recent_cards = []
        for path in paths:
            card = recent_card(path)
            card.clicked.connect(lambda path=path: self.recent_chosen.emit(path))
            self._recent_list.addWidget(card)
            self.recent_cards.append(card)
        self.no_recent.setVisible(not paths)
        self._chain_focus()

    def _chain_focus(self) -> None:
        """Tab goes down the page in reading order, whichever cards were made last."""
        chain = [*self.cards.values(), self.open_card, self.connect_card, self.empty_card, *self.recent_cards]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)
