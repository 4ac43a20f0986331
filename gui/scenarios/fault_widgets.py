"""Faults in one click: the Faults menu, the fault actions of one element, and the status bar's badge.

Every fault is asked for as ``(kind, target)``, the kind being exactly the :class:`ActionKind`
value a story writes (``crash``, ``cutOff``, ...), so the window hands menu clicks and story
actions to the same code. Active faults come back as ``(ident, kind, target, description)``
and each can be cleared by its ident.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from eventdeck.core.simulation.story import ActionKind
from eventdeck.gui.widgets.icons import icon
from eventdeck.gui.widgets.small import menu_name, plural

SUBSCRIBER, CHANNEL, PUBLISHER = "subscriber", "channel", "publisher"
NEXT_COUNT = 3  # the wording promises these numbers: the window passes them on to the simulation
DELAY_SECONDS = 3.0
SLOW_SECONDS = 2.0  # seconds a slowed subscriber takes per message
FLAKY_RATE = 0.5  # the share of its messages a flaky subscriber fails
BURST_RATE, BURST_SECONDS = 10, 5.0
FLAT_LIMIT = 2  # elements of one kind listed in the menu itself; more get a submenu each
BURST_TEXT = f"Publisher burst (x{BURST_RATE} for {BURST_SECONDS:g} s)"
BADGE_STYLE = "QLabel { background: #f59e0b; color: #1f2328; border-radius: 4px; padding: 0px 6px; }"

ActiveFault = tuple[int, str, str, str]
"""An active fault as the window reports it: ``(ident, kind, target, description)``."""

Request = Callable[[str, str], object]

# Per element kind: (fault, menu text with {} for the element's name, what it does).
_FAULTS: dict[str, tuple[tuple[ActionKind, str, str], ...]] = {
    SUBSCRIBER: (
        (ActionKind.CRASH, "Crash {}", "It stops until restarted; a durable subscriber keeps its queue"),
        (ActionKind.SLOW, "Slow down {}", f"It takes {SLOW_SECONDS:g} s over each message, so its queue grows"),
        (
            ActionKind.FLAKY,
            "Make {} flaky",
            f"It fails {FLAKY_RATE:.0%} of its messages, which are retried or dead-lettered",
        ),
        (ActionKind.CUT_OFF, "Cut {} off", "It loses its connection to the broker until the fault is cleared"),
    ),
    CHANNEL: (
        (ActionKind.DROP, f"Drop the next {NEXT_COUNT} messages on {{}}", "The broker loses them: nobody gets them"),
        (ActionKind.DUPLICATE, f"Duplicate the next {NEXT_COUNT} messages on {{}}", "Each is delivered twice"),
        (
            ActionKind.DELAY,
            f"Delay the next {NEXT_COUNT} messages on {{}} by {DELAY_SECONDS:g} s",
            "The broker holds each before handing it on",
        ),
    ),
    PUBLISHER: (
        (
            ActionKind.BURST,
            f"Burst from {{}} (x{BURST_RATE} for {BURST_SECONDS:g} s)",
            f"It publishes {BURST_RATE} times faster for {BURST_SECONDS:g} s",
        ),
    ),
}
_KIND_TITLES = {SUBSCRIBER: "Subscribers", CHANNEL: "Channels", PUBLISHER: "Publishers"}


def fault_action(parent: QObject, request: Request, kind: ActionKind, target: str, text: str, *, tip: str) -> QAction:
    """An action that asks for ``kind`` on ``target`` through ``request``; its data is ``(kind, target)``."""
    action = QAction(text, parent)
    action.setObjectName(f"fault_{kind.value}")
    action.setToolTip(tip)
    action.setData((kind.value, target))
    action.triggered.connect(lambda _checked=False: request(kind.value, target))
    return action


def context_actions(element_kind: str, name: str, request: Request, parent: QObject) -> list[QAction]:
    """The fault actions for one ``subscriber``, ``channel`` or ``publisher`` called ``name``, for a context menu;
    each calls ``request(kind, name)``."""
    faults = _FAULTS.get(element_kind)
    if faults is None:
        raise ValueError(f"no faults for a {element_kind!r}: the kinds are {', '.join(_FAULTS)}")
    label = menu_name(name)
    return [fault_action(parent, request, kind, name, text.format(label), tip=tip) for kind, text, tip in faults]


def add_clear_actions(
    menu: QMenu, faults: Sequence[ActiveFault], clear: Callable[[int], object], clear_all: Callable[[], object]
) -> None:
    """``Clear: <description>`` for each active fault, then ``Clear all faults``; a disabled line when none."""
    if not faults:
        menu.addAction("No active faults").setEnabled(False)
    for ident, _kind, _target, description in faults:
        action = menu.addAction(icon("clear"), f"Clear: {menu_name(description, 64)}")
        action.setObjectName("faultClear")
        action.setToolTip(description)
        action.triggered.connect(lambda _checked=False, ident=ident: clear(ident))
    every = menu.addAction("Clear all faults")
    every.setObjectName("faultClearAll")
    every.setEnabled(bool(faults))
    every.triggered.connect(lambda _checked=False: clear_all())


class FaultsMenu(QMenu):
    """The window's Faults menu, rebuilt from plain lists whenever the elements or the active faults change."""

    fault_requested = Signal(str, str)
    clear_requested = Signal(int)
    clear_all_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Fau&lts", parent)
        self.setObjectName("faultsMenu")
        self.setToolTipsVisible(True)
        self._elements: dict[str, list[str]] = {SUBSCRIBER: [], CHANNEL: [], PUBLISHER: []}
        self._active: list[ActiveFault] = []
        self._rebuild()

    def set_elements(self, subscribers: Sequence[str], channels: Sequence[str], publishers: Sequence[str]) -> None:
        """What faults can hit: the scenario's subscriber names, channel addresses and publisher names."""
        self._elements = {SUBSCRIBER: list(subscribers), CHANNEL: list(channels), PUBLISHER: list(publishers)}
        self._rebuild()

    def set_active(self, faults: Sequence[ActiveFault]) -> None:
        self._active = list(faults)
        self._rebuild()

    def _rebuild(self) -> None:
        for submenu in self.findChildren(QMenu):
            submenu.deleteLater()
        self.clear()
        request = self.fault_requested.emit
        for kind in (SUBSCRIBER, CHANNEL):
            self._add_kind(kind, self._elements[kind], request)
        self.addSeparator()
        publishers = self._elements[PUBLISHER]
        every = fault_action(self, request, ActionKind.BURST, "", BURST_TEXT, tip="Every publisher publishes faster")
        if publishers:  # every publisher, or one of them
            bursts = self._submenu(self, BURST_TEXT)
            every.setText("Every publisher")
            bursts.addAction(every)
            bursts.addSeparator()
            for name in publishers:
                bursts.addActions(context_actions(PUBLISHER, name, request, bursts))
        else:
            self.addAction(every)
        restart_tip = "What it held in memory only is lost; durable queues and retained messages on its store come back"
        self.addAction(
            fault_action(self, request, ActionKind.RESTART_BROKER, "", "Restart the broker", tip=restart_tip)
        )
        self.addSeparator()
        add_clear_actions(self, self._active, self.clear_requested.emit, self.clear_all_requested.emit)

    def _add_kind(self, kind: str, names: list[str], request: Request) -> None:
        """A short list goes in the menu itself; a long one in a submenu with a submenu per element."""
        if not names:
            self.addAction(f"No {_KIND_TITLES[kind].lower()} yet: start a scenario").setEnabled(False)
        elif len(names) <= FLAT_LIMIT:
            for name in names:
                self.addActions(context_actions(kind, name, request, self))
                self.addSeparator()  # one group per element (Qt collapses a separator that follows another)
        else:
            kinds = self._submenu(self, f"{_KIND_TITLES[kind]} ({len(names):,})")
            for name in names:
                element = self._submenu(kinds, menu_name(name))
                element.addActions(context_actions(kind, name, request, element))

    @staticmethod
    def _submenu(parent: QMenu, title: str) -> QMenu:
        submenu = QMenu(title, parent)
        submenu.setToolTipsVisible(True)
        parent.addMenu(submenu)
        return submenu


class FaultBadge(QLabel):
    """``⚠ 2 faults active`` in the status bar (hidden when there are none); a click lists them to clear."""

    clear_requested = Signal(int)
    clear_all_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status_faults")
        self.setStyleSheet(BADGE_STYLE)  # amber on dark text: seen at a glance in either theme
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.popup = QMenu(self)
        self.popup.setObjectName("faultsPopup")
        self.popup.setToolTipsVisible(True)
        self.faults: list[ActiveFault] = []
        self.set_faults([])

    def set_faults(self, faults: Sequence[ActiveFault]) -> None:
        self.faults = list(faults)
        self.popup.clear()
        add_clear_actions(self.popup, self.faults, self.clear_requested.emit, self.clear_all_requested.emit)
        if not self.faults:
            self.setText("No faults")
            self.setToolTip("")
            self.popup.hide()
            self.hide()
            return
        self.setText(f"⚠ {plural(len(self.faults), 'fault')} active")
        lines = "\n".join(f"• {description}" for _ident, _kind, _target, description in self.faults)
        self.setToolTip(f"{lines}\nClick to clear them")
        self.show()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.faults:
            above = QPoint(0, -self.popup.sizeHint().height())  # the badge sits in the status bar, at the bottom
            self.popup.popup(self.mapToGlobal(above))
        else:
            super().mouseReleaseEvent(event)
