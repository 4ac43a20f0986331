"""The story bar and the presenter's caption: the step shown, Back / Next / Reset, errors, and the clicker keys."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from eventdeck.core.simulation.story import Step, Story
from eventdeck.gui.scenarios.caption import SMALL_PX, TEXT_PX, TITLE_PX, CaptionPanel
from eventdeck.gui.scenarios.story_bar import StoryBar
from eventdeck.gui.scenarios.story_controls import (
    BACK,
    BEFORE,
    BEGIN_TEXT,
    END_HINT,
    NEXT,
    NO_STORY_TEXT,
    NO_STORY_TITLE,
    StoryControls,
    story_keys,
)

STORY = Story(
    "How events flow",
    (
        Step("An event is a fact", "The front door opened. The door sensor tells whoever is interested."),
        Step("Many listeners, one event", "The lights, the alarm and the phone all hear the same event."),
        Step("A slow consumer", "The phone is on a bad network: its queue grows, and nobody else waits for it."),
    ),
)
Mod = Qt.KeyboardModifier


def key(code: Qt.Key, modifiers: Qt.KeyboardModifier = Mod.NoModifier) -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, code, modifiers)


@pytest.fixture(params=[StoryBar, CaptionPanel])
def controls(request: pytest.FixtureRequest, qtbot: QtBot) -> StoryControls:
    widget: StoryControls = request.param()
    qtbot.addWidget(widget)
    widget.resize(1200, 160)
    widget.show()
    return widget


def test_the_object_names_the_window_and_presenter_look_for(qtbot: QtBot) -> None:
    bar, caption = StoryBar(), CaptionPanel()
    qtbot.addWidget(bar)
    qtbot.addWidget(caption)
    assert bar.objectName() == "storyBar"
    assert caption.objectName() == "presenterCaption"
    for widget in (bar, caption):
        names = {button.objectName() for button in widget.findChildren(QToolButton)}
        assert names == {"storyBack", "storyNext", "storyReset"}


def test_clicker_keys_map_to_next_and_back() -> None:
    assert [story_keys(key(code)) for code in (Qt.Key.Key_Space, Qt.Key.Key_Right, Qt.Key.Key_PageDown)] == [NEXT] * 3
    assert [story_keys(key(code)) for code in (Qt.Key.Key_Left, Qt.Key.Key_PageUp)] == [BACK] * 2
    assert story_keys(key(Qt.Key.Key_Escape)) is None
    assert story_keys(key(Qt.Key.Key_Right, Mod.ControlModifier)) is None  # a chord is someone else's shortcut
    assert story_keys(key(Qt.Key.Key_Right, Mod.KeypadModifier)) == NEXT  # the keypad's arrow is still an arrow


def test_it_shows_the_step_counter_title_and_caption(controls: StoryControls) -> None:
    controls.set_story(STORY)
    assert (controls.counter.text(), controls.title.text()) == ("Step 1 of 3", "An event is a fact")
    assert controls.caption.text() == STORY.steps[0].caption
    assert controls.counter.toolTip() == "How events flow"
    controls.set_step(1)
    assert (controls.counter.text(), controls.title.text()) == ("Step 2 of 3", "Many listeners, one event")
    assert controls.index == 1


def test_before_the_story_begins_it_invites_the_first_next(qtbot: QtBot, controls: StoryControls) -> None:
    controls.set_story(STORY)
    controls.set_step(BEFORE)
    assert controls.index == BEFORE == -1
    assert controls.title.text() == "Story: How events flow — press Next (Space) to begin"
    assert controls.caption.text() == BEGIN_TEXT
    assert controls.counter.text() == "3 steps"
    assert controls.next_button.isEnabled()
    assert not controls.back_button.isEnabled()
    assert not controls.end_hint.isVisible()
    with qtbot.waitSignal(controls.next_requested, timeout=1000):
        qtbot.keyClick(controls, Qt.Key.Key_Space)
    controls.set_step(0)
    assert controls.title.text() == "An event is a fact"


def test_back_is_off_at_the_start_and_next_at_the_end_with_a_hint(controls: StoryControls) -> None:
    controls.set_story(STORY)
    assert not controls.back_button.isEnabled()
    assert controls.next_button.isEnabled()
    assert not controls.end_hint.isVisible()
    controls.set_step(2)
    assert controls.back_button.isEnabled()
    assert not controls.next_button.isEnabled()
    assert controls.reset_button.isEnabled()
    assert controls.end_hint.isVisible()
    assert controls.end_hint.text() == END_HINT == "The end — Reset starts over"


def test_buttons_emit_their_requests(qtbot: QtBot, controls: StoryControls) -> None:
    controls.set_story(STORY)
    controls.set_step(1)
    for button, signal in (
        (controls.next_button, controls.next_requested),
        (controls.back_button, controls.back_requested),
        (controls.reset_button, controls.reset_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_buttons_tooltips_name_the_keys(controls: StoryControls) -> None:
    assert "Space" in controls.next_button.toolTip()
    assert "Page Down" in controls.next_button.toolTip()
    assert "Left" in controls.back_button.toolTip()
    assert "Page Up" in controls.back_button.toolTip()


def test_clicker_keys_work_even_on_a_focused_back_button(qtbot: QtBot, controls: StoryControls) -> None:
    """Space on a focused button would press it; here it always means Next, as the clicker intends."""
    controls.set_story(STORY)
    controls.set_step(1)
    nexts: list[bool] = []
    backs: list[bool] = []
    controls.next_requested.connect(lambda: nexts.append(True))
    controls.back_requested.connect(lambda: backs.append(True))
    qtbot.keyClick(controls.back_button, Qt.Key.Key_Space)
    qtbot.keyClick(controls.back_button, Qt.Key.Key_PageDown)
    qtbot.keyClick(controls, Qt.Key.Key_Right)
    qtbot.keyClick(controls.next_button, Qt.Key.Key_PageUp)
    assert (len(nexts), len(backs)) == (3, 1)


def test_keys_do_nothing_where_the_button_is_disabled(qtbot: QtBot, controls: StoryControls) -> None:
    controls.set_story(STORY)
    controls.set_step(2)
    nexts: list[bool] = []
    controls.next_requested.connect(lambda: nexts.append(True))
    qtbot.keyClick(controls, Qt.Key.Key_Space)
    assert nexts == []


def test_errors_stay_until_the_next_step(controls: StoryControls) -> None:
    controls.set_story(STORY)
    assert not controls.errors.isVisible()
    controls.set_errors(["line 12: crash phone: there is no subscriber called phone", "line 14: bad payload"])
    assert controls.errors.isVisible()
    assert controls.errors.text().splitlines() == [
        "⚠ line 12: crash phone: there is no subscriber called phone",
        "⚠ line 14: bad payload",
    ]
    controls.set_step(0)  # shown again, or any other step: a fresh start
    assert not controls.errors.isVisible()


def test_without_a_story_it_says_what_to_do_and_offers_no_buttons(controls: StoryControls) -> None:
    controls.set_story(STORY)
    controls.set_story(None)
    assert (controls.title.text(), controls.caption.text()) == (NO_STORY_TITLE, NO_STORY_TEXT)
    assert not controls.counter.isVisible()
    assert not any(b.isEnabled() for b in (controls.back_button, controls.next_button, controls.reset_button))
    assert not controls.end_hint.isVisible()


def test_bad_steps_say_what_is_wrong(controls: StoryControls) -> None:
    with pytest.raises(ValueError, match="no story is set"):
        controls.set_step(0)
    controls.set_story(STORY)
    with pytest.raises(IndexError, match="'How events flow' has steps 0 to 2; there is no step 3"):
        controls.set_step(3)
    with pytest.raises(IndexError, match="no step -2"):
        controls.set_step(-2)
    assert controls.index == 0  # still showing what it showed
    with pytest.raises(ValueError, match="'Empty' has no steps"):
        controls.set_story(Story("Empty", ()))


def test_the_story_bar_is_slim(qtbot: QtBot) -> None:
    bar = StoryBar()
    qtbot.addWidget(bar)
    bar.set_story(STORY)
    assert bar.heightForWidth(1520) <= 60  # two lines of text: the docks keep their room


def test_the_caption_is_large_wraps_and_scales(qtbot: QtBot) -> None:
    caption = CaptionPanel()
    qtbot.addWidget(caption)
    caption.set_story(STORY)
    assert caption.title.font().pixelSize() == TITLE_PX >= 24
    assert caption.caption.font().pixelSize() == TEXT_PX >= 18
    assert caption.caption.wordWrap()
    wide, narrow = caption.heightForWidth(1920), caption.heightForWidth(600)
    assert narrow > wide  # the caption wraps onto more lines instead of being cut
    caption.set_font_scale(1.5)
    assert caption.title.font().pixelSize() == round(TITLE_PX * 1.5)
    assert caption.caption.font().pixelSize() == round(TEXT_PX * 1.5)
    assert caption.next_button.font().pixelSize() == round(SMALL_PX * 1.5)
    assert caption.next_button.font().bold()
    with pytest.raises(ValueError, match="above 0, not 0"):
        caption.set_font_scale(0)
