"""The start page: scenario cards (the household first and marked), open, connect, and recent files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from eventdeck.gui.scenarios.card import Card
from eventdeck.gui.scenarios.welcome_view import NO_RECENT, NO_SCENARIOS, NOT_FOUND, START_MARK, WelcomeView
from eventdeck.gui.widgets.theme import apply_theme

SCENARIOS = [
    ("shop", "Online shop — orders, payments, shipping", "An order waits for its payment before it ships."),
    ("household", "Household — a smart home's events", "Sensors report, the lights and the alarm react."),
    ("factory", "Factory floor — telemetry at speed", "Thousands of readings a second and a slow consumer."),
]


@pytest.fixture
def view(qtbot: QtBot) -> WelcomeView:
    view = WelcomeView(SCENARIOS)
    qtbot.addWidget(view)
    view.resize(1520, 900)
    view.show()
    qtbot.waitExposed(view)
    return view


@pytest.fixture
def dark(qapp: QApplication) -> Iterator[None]:
    """The dark theme for one test; the application's style and palette are put back after it."""
    style, palette = qapp.style().name(), qapp.palette()
    apply_theme(qapp, "dark")
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


def clicked(qtbot: QtBot, card: Card) -> None:
    qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=card.rect().center())


def test_a_card_per_scenario_the_household_first_and_marked(view: WelcomeView) -> None:
    assert view.objectName() == "welcomeView"
    assert list(view.cards) == ["household", "shop", "factory"]  # the rest keep the order given
    household = view.cards["household"]
    assert household.title.text() == "Household — a smart home's events"
    assert household.summary.text() == "Sensors report, the lights and the alarm react."
    assert household.property("marked") is True
    assert household.findChild(QLabel, "cardMark").text() == START_MARK
    assert view.cards["shop"].property("marked") is False
    top = household.geometry().top()
    assert all(card.geometry().top() > top for name, card in view.cards.items() if name != "household")
    assert household.width() > view.cards["shop"].width()  # the whole row: the first thing the eye meets


def test_clicking_or_entering_a_card_chooses_its_scenario(qtbot: QtBot, view: WelcomeView) -> None:
    with qtbot.waitSignal(view.scenario_chosen, timeout=1000) as signal:
        clicked(qtbot, view.cards["shop"])
    assert signal.args == ["shop"]
    view.cards["factory"].setFocus()
    with qtbot.waitSignal(view.scenario_chosen, timeout=1000) as signal:
        qtbot.keyClick(view.cards["factory"], Qt.Key.Key_Return)
    assert signal.args == ["factory"]


def test_a_click_on_the_cards_text_counts_as_a_click_on_the_card(qtbot: QtBot, view: WelcomeView) -> None:
    card = view.cards["household"]
    where = card.summary.geometry().center()
    assert card.childAt(where) is None  # Qt finds no label there to take the click: the card gets it
    with qtbot.waitSignal(view.scenario_chosen, timeout=1000) as signal:
        qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=where)
    assert signal.args == ["household"]


def test_open_and_connect(qtbot: QtBot, view: WelcomeView) -> None:
    with qtbot.waitSignal(view.open_requested, timeout=1000):
        clicked(qtbot, view.open_card)
    with qtbot.waitSignal(view.connect_requested, timeout=1000):
        clicked(qtbot, view.connect_card)
    assert view.open_card.title.text() == "Open scenario…"
    assert view.connect_card.title.text() == "Connect to a broker…"


def test_the_empty_broker_card_or_esc_dismisses_the_page(qtbot: QtBot, view: WelcomeView) -> None:
    assert view.empty_card.title.text() == "Start with an empty broker"
    with qtbot.waitSignal(view.dismissed, timeout=1000):
        clicked(qtbot, view.empty_card)
    with qtbot.waitSignal(view.dismissed, timeout=1000):
        qtbot.keyClick(view, Qt.Key.Key_Escape)


def test_tab_walks_the_page_in_reading_order(qtbot: QtBot, view: WelcomeView, tmp_path: Path) -> None:
    house = tmp_path / "house.yaml"
    house.write_text("{}")
    view.set_recent([str(house)])
    view.set_scenarios(SCENARIOS)  # cards made last still come first when tabbing
    view.activateWindow()
    view.cards["household"].setFocus()
    qtbot.waitUntil(view.cards["household"].hasFocus, timeout=1000)
    order: list[QWidget | None] = [QApplication.focusWidget()]
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order == [*view.cards.values(), view.open_card, view.connect_card, view.empty_card, view.recent_cards[0]]


def test_recent_files_newest_first_a_missing_one_greyed(qtbot: QtBot, view: WelcomeView, tmp_path: Path) -> None:
    assert view.no_recent.isVisible()
    assert view.no_recent.text() == NO_RECENT == "Files you open appear here."
    house = tmp_path / "house.yaml"
    house.write_text("{}")
    gone = str(tmp_path / "talks" / "old-demo.yaml")
    view.set_recent([str(house), gone])
    assert not view.no_recent.isVisible()
    first, missing = view.recent_cards
    assert (first.title.text(), first.summary.text()) == ("house.yaml", str(tmp_path))
    assert first.isEnabled()
    assert missing.title.text() == "old-demo.yaml"
    assert missing.summary.text().startswith(NOT_FOUND)
    assert NOT_FOUND in missing.toolTip()
    assert not missing.isEnabled()  # greyed, and a click cannot open what is not there
    with qtbot.waitSignal(view.recent_chosen, timeout=1000) as signal:
        clicked(qtbot, first)
    assert signal.args == [str(house)]
    with qtbot.assertNotEmitted(view.recent_chosen):
        clicked(qtbot, missing)


def test_setting_the_lists_again_replaces_the_cards(qtbot: QtBot, view: WelcomeView) -> None:
    view.set_scenarios(SCENARIOS[:1])
    view.set_recent(["/nowhere/a.yaml"])
    view.set_recent(["/nowhere/b.yaml"])
    qtbot.wait(1)  # the old cards are deleted once control returns to the event loop
    titles = {card.title.text() for card in view.findChildren(Card) if card.isVisible()}
    assert titles == {SCENARIOS[0][1], "b.yaml", "Open scenario…", "Connect to a broker…", "Start with an empty broker"}
    assert list(view.cards) == ["shop"]  # no household: nothing is marked, shop leads
    assert view.cards["shop"].property("marked") is False


def test_with_no_scenarios_it_says_what_to_do(view: WelcomeView) -> None:
    view.set_scenarios([])
    assert view.no_scenarios.isVisible()
    assert view.no_scenarios.text() == NO_SCENARIOS
    view.set_scenarios(SCENARIOS)
    assert not view.no_scenarios.isVisible()


def test_a_scenario_listed_twice_is_refused_by_name(view: WelcomeView) -> None:
    with pytest.raises(ValueError, match="given more than once: shop"):
        view.set_scenarios([*SCENARIOS, SCENARIOS[0]])
    assert list(view.cards) == ["household", "shop", "factory"]  # the page as it was


@pytest.mark.parametrize("size", [(1520, 900), (1920, 1080)])
def test_everything_fits_at_the_usual_window_sizes(qtbot: QtBot, size: tuple[int, int]) -> None:
    six = [*SCENARIOS, *((f"extra{n}", f"Extra scenario {n}", "One more line.") for n in range(3))]
    view = WelcomeView(six, [f"/talks/{n}.yaml" for n in range(8)])
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    page = view.findChild(QWidget, "welcomePage")
    assert page.width() <= 920  # a readable column, centred
    assert abs(page.geometry().center().x() - view.width() / 2) < 40
    for card in view.findChildren(Card):
        assert card.height() >= card.minimumSizeHint().height()  # nothing squeezed
        assert card.title.height() >= card.title.fontMetrics().height()


def test_the_marked_card_follows_the_theme(qtbot: QtBot, dark: None) -> None:
    view = WelcomeView(SCENARIOS)
    qtbot.addWidget(view)
    dark_style = view.styleSheet()
    apply_theme(QApplication.instance(), "light")  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: view.styleSheet() != dark_style, timeout=1000)
    assert "rgba(" in view.styleSheet()
