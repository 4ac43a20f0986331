"""What the story bar and the presenter's caption share: the step shown, its buttons, and the clicker keys.

A presenter walks a room through a story with a clicker, which sends Space, Right or Page Down
for "next" and Left or Page Up for "back"; :func:`story_keys` reads them the same way wherever
the focus is. :class:`StoryControls` holds one story's state and widgets; :class:`~.story_bar.StoryBar`
and :class:`~.caption.CaptionPanel` lay them out, slim or large.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QToolButton, QWidget

from eventdeck.core.simulation.story import Story
from eventdeck.gui.widgets.small import text_label
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR

NEXT, BACK = "next", "back"
_KEYS: dict[int, str] = {  # by value: a key event hands its key over as an int
    Qt.Key.Key_Space.value: NEXT,
    Qt.Key.Key_Right.value: NEXT,
    Qt.Key.Key_PageDown.value: NEXT,
    Qt.Key.Key_Left.value: BACK,
    Qt.Key.Key_PageUp.value: BACK,
}
_CHORDS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
NEXT_TIP = "Next step (Space, Right or Page Down)"
BACK_TIP = "Previous step (Left or Page Up)"
RESET_TIP = "Start the story over: the scenario as it began, with an empty broker and counters at zero"
END_HINT = "The end — Reset starts over"
NO_STORY_TITLE = "No story"
NO_STORY_TEXT = "Pick a scenario with a story from File > Scenarios to walk a room through it step by step."
BEFORE = -1
"""The index shown before the story begins: the scenario runs on its own until the first Next."""
BEGIN_TEXT = "The scenario runs on its own until then; each Next shows one step and makes it happen."


def story_keys(event: QKeyEvent) -> str | None:
    """``"next"`` or ``"back"`` for a clicker's key, None for any other key (or a chord such as Ctrl+Right)."""
    if event.modifiers() & _CHORDS:
        return None
    return _KEYS.get(event.key())


def step_counter(index: int, count: int) -> str:
    return f"Step {index + 1} of {count}"


class StoryControls(QWidget):
    """One story's step on screen: counter, title, caption, errors, and Back / Next / Reset.

    Subclasses only arrange the widgets. The owner calls :meth:`set_step` when the player
    reaches a step, then :meth:`set_errors` with what went wrong running it.
    """

    next_requested = Signal()
    back_requested = Signal()
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._story: Story | None = None
        self._index = 0
        self.counter = text_label("storyCounter")
        self.title = text_label("storyTitle")
        self.caption = text_label("storyCaption")
        self.errors = text_label("storyErrors", selectable=True)
        self.errors.setStyleSheet(f"color: {DEAD_LETTER_COLOUR};")
        self.end_hint = text_label("storyEnd")
        self.end_hint.setText(END_HINT)
        self.back_button = self._button("storyBack", "◀ Back", BACK_TIP)
        self.next_button = self._button("storyNext", "Next ▶", NEXT_TIP)
        self.reset_button = self._button("storyReset", "Reset", RESET_TIP)
        self.back_button.clicked.connect(self.back_requested.emit)
        self.next_button.clicked.connect(self.next_requested.emit)
        self.reset_button.clicked.connect(self.reset_requested.emit)
        bold = self.next_button.font()
        bold.setBold(True)
        self.next_button.setFont(bold)  # what a presenter presses most
        self._show()

    def _button(self, name: str, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.installEventFilter(self)  # Space on a focused Back button must not go back
        return button

    @property
    def story(self) -> Story | None:
        return self._story

    @property
    def index(self) -> int:
        """The step shown, from 0 (``BEFORE`` before the story begins)."""
        return self._index

    def set_story(self, story: Story | None) -> None:
        """Show ``story`` at its first step, or (None) say there is no story; clears the errors."""
        if story is not None and not story.steps:
            raise ValueError(f"story {story.title!r} has no steps to show")
        self._story = story
        self._index = 0
        self.set_errors([])
        self._show()

    def set_step(self, index: int) -> None:
        """Show step ``index`` (from 0; ``BEFORE`` invites the first Next) of the story; clears the errors of the
        step shown before."""
        if self._story is None:
            raise ValueError(f"cannot show step {index}: no story is set")
        count = len(self._story.steps)
        if not BEFORE <= index < count:
            raise IndexError(f"story {self._story.title!r} has steps 0 to {count - 1}; there is no step {index}")
        self._index = index
        self.set_errors([])
        self._show()

    def set_errors(self, errors: list[str]) -> None:
        """Show what went wrong (each line one problem) until the next step; an empty list hides it."""
        self.errors.setText("\n".join(f"⚠ {error}" for error in errors))
        self.errors.setVisible(bool(errors))

    def _show(self) -> None:
        story = self._story
        self.counter.setVisible(story is not None)
        if story is None:
            self.title.setText(NO_STORY_TITLE)
            self.caption.setText(NO_STORY_TEXT)
            for button in (self.back_button, self.next_button, self.reset_button):
                button.setEnabled(False)
            self.end_hint.hide()
            return
        last = self._index == len(story.steps) - 1
        self.counter.setToolTip(story.title)
        if self._index == BEFORE:
            self.counter.setText(f"{len(story.steps)} steps")
            self.title.setText(f"Story: {story.title} — press Next (Space) to begin")
            self.caption.setText(BEGIN_TEXT)
        else:
            step = story.steps[self._index]
            self.counter.setText(step_counter(self._index, len(story.steps)))
            self.title.setText(step.title)
            self.caption.setText(step.caption)
        self.back_button.setEnabled(self._index > 0)
        self.next_button.setEnabled(not last)
        self.reset_button.setEnabled(True)
        self.end_hint.setVisible(last)

    def press(self, action: str) -> None:
        """Act on a :func:`story_keys` result as its button would (nothing when that button is disabled)."""
        {NEXT: self.next_button, BACK: self.back_button}[action].click()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            action = story_keys(event)
            if action is not None:
                self.press(action)
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        action = story_keys(event)
        if action is None:
            super().keyPressEvent(event)
        else:
            self.press(action)
