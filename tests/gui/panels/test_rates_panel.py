"""The rates dock: nine curves created once, the 8 busiest channels plus "other", a legend."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from pytestqt.qtbot import QtBot

from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.panels.rates_panel import AXIS_PX, LEGEND_ROW_PX, OTHER, SAMPLES, RatesPanel
from eventdeck.gui.widgets.icons import KIND_COLOURS
from eventdeck.gui.widgets.theme import DEAD_LETTER_COLOUR
from tests.gui.gui_support import ShowPanel


@pytest.fixture
def panel(show_panel: ShowPanel) -> RatesPanel:
    return show_panel(RatesPanel, (700, 320))


def feed(panel: RatesPanel, bridge: Bridge, rates: dict[str, float], at: float) -> Snapshot:
    """A snapshot with chosen rates, as the bridge would emit it."""
    base = bridge.last_snapshot
    assert base is not None
    snapshot = dataclasses.replace(base, time=at, channel_rates=rates)
    panel.apply_snapshot(snapshot)
    return snapshot


def test_it_says_what_it_will_draw_until_a_channel_has_a_rate(qtbot: QtBot, bridge: Bridge, panel: RatesPanel) -> None:
    assert panel.empty.isVisible()
    assert "Composer" in panel.empty.text()
    assert "File > Scenarios" in panel.empty.text()
    assert panel.built_plot is None  # not made for the window's first frame
    feed(panel, bridge, {}, 1.0)  # snapshots with nothing flowing make nothing
    assert panel.built_plot is None
    assert panel.legend_labels() == []

    feed(panel, bridge, {"user/signedup": 2.0}, 1.5)
    plot = panel.findChild(pg.PlotWidget, "ratesPlot")
    assert plot is panel.built_plot
    assert plot.isVisible()
    assert not panel.empty.isVisible()
    assert panel.legend_labels() == ["user/signedup"]
    _x, y = panel.curves[panel.curve_channels().index("user/signedup")].getData()
    assert y is not None
    assert y[-1] == pytest.approx(2.0)

    panel.clear()  # another broker: the plot stays, empty
    assert panel.built_plot is plot
    assert plot.isVisible()
    assert panel.legend_labels() == []


def test_a_plot_made_while_dark_is_dark(bridge: Bridge, panel: RatesPanel) -> None:
    panel.set_dark(True)
    assert panel.built_plot is None
    feed(panel, bridge, {"user/signedup": 2.0}, 1.0)
    assert panel.plot_widget.backgroundBrush().color().lightness() < 60
    assert panel.legend_labels() == ["user/signedup"]


def test_busiest_channels_from_real_traffic(qtbot: QtBot, bridge: Bridge, panel: RatesPanel) -> None:
    plot = panel.plot_widget  # made when asked for, too
    assert panel.findChild(pg.PlotWidget, "ratesPlot") is plot
    curves = list(panel.curves)
    assert len(curves) == 9

    async def traffic() -> None:
        for number in range(12):  # channel c11 is the busiest, c0 the quietest
            for _ in range((number + 1) * 5):
                await bridge.broker.publish(f"load/c{number}", b"x")

    bridge.take_snapshot()
    task = bridge.spawn(traffic(), "traffic")
    qtbot.waitUntil(task.done, timeout=3000)
    snapshot = bridge.take_snapshot()

    assert panel.curves == curves
    assert all(a is b for a, b in zip(panel.curves, curves, strict=True))  # the same nine objects
    labels = panel.legend_labels()
    assert labels == [f"load/c{number}" for number in range(11, 3, -1)] + [OTHER]
    busiest = panel.curve_channels().index("load/c11")
    _x, y = panel.curves[busiest].getData()
    assert y is not None
    assert y[-1] == pytest.approx(snapshot.channel_rates["load/c11"])
    _x, other = panel.curves[8].getData()
    assert other is not None
    quiet = sum(snapshot.channel_rates[f"load/c{number}"] for number in range(4))
    assert other[-1] == pytest.approx(quiet)


def test_curves_are_reassigned_when_the_top_changes(bridge: Bridge, panel: RatesPanel) -> None:
    curves = list(panel.curves)
    start = 1000.0
    rates = {f"ch{number}": float(number + 1) for number in range(10)}  # ch9 busiest, ch0 and ch1 "other"
    for tick in range(4):
        feed(panel, bridge, rates, start + tick * 0.5)
    before = panel.curve_channels()
    assert set(before[:8]) == {f"ch{number}" for number in range(2, 10)}
    assert before[8] == OTHER
    legend_items = list(panel.legend.items)

    feed(panel, bridge, rates, start + 2.0)  # same top-8: the legend is left alone
    assert list(panel.legend.items) == legend_items

    surge = dict(rates, ch0=500.0)
    feed(panel, bridge, surge, start + 2.5)
    after = panel.curve_channels()
    assert "ch0" in after
    assert "ch2" not in after  # the quietest of the old top-8 dropped into "other"
    kept = [number for number in range(8) if before[number] != "ch2"]
    assert all(after[number] == before[number] for number in kept)  # colours stay with channels
    assert panel.legend_labels()[0] == "ch0"
    assert panel.curves == curves

    x, y = panel.curves[after.index("ch0")].getData()
    assert x is not None
    assert y is not None
    assert len(x) == len(y) == 6
    assert x[-1] == 0.0
    assert x[0] == pytest.approx(-2.5)
    assert y[-1] == 500.0


def test_window_holds_sixty_seconds(bridge: Bridge, panel: RatesPanel) -> None:
    for tick in range(SAMPLES + 30):
        feed(panel, bridge, {"a": float(tick)}, 10.0 + tick * 0.5)
    x, y = panel.curves[panel.curve_channels().index("a")].getData()
    assert x is not None
    assert y is not None
    assert len(x) == SAMPLES
    assert x[0] == pytest.approx(-59.5)
    assert np.array_equal(y, np.arange(30, SAMPLES + 30, dtype=float))
    assert panel.legend_labels() == ["a"]  # fewer than 9 channels: no "other"
    assert panel.curve_channels()[8] is None
    low, high = panel.plot_widget.getPlotItem().viewRange()[1]
    assert low == 0
    assert high >= SAMPLES + 29


def test_set_dark_switches_colours(panel: RatesPanel) -> None:
    light = panel.plot_widget.backgroundBrush().color().lightness()
    panel.set_dark(True)
    assert panel.dark
    dark = panel.plot_widget.backgroundBrush().color().lightness()
    assert dark < 80 < light
    axis = panel.plot_widget.getPlotItem().getAxis("left")
    assert axis.textPen().color().lightness() > 150
    panel.set_dark(False)
    assert panel.plot_widget.backgroundBrush().color().lightness() == light


def test_a_channel_keeps_its_colour_and_no_line_wears_a_kind_colour(bridge: Bridge, panel: RatesPanel) -> None:
    feed(panel, bridge, {"fridge/level": 1.0, "user/signedup": 2.0}, 1000.0)
    colours = {name: panel.curve_colour(number) for number, name in enumerate(panel.curve_channels()) if name}
    panel.clear()
    feed(panel, bridge, {"user/signedup": 5.0, "fridge/level": 1.0, "x": 9.0}, 2000.0)  # other ranks, other slots
    again = {name: panel.curve_colour(number) for number, name in enumerate(panel.curve_channels()) if name}
    assert {name: again[name] for name in colours} == colours
    kinds = {colour.lower() for colour in (*KIND_COLOURS.values(), DEAD_LETTER_COLOUR)}
    assert not kinds & {colour.lower() for colour in again.values()}


def test_small_rates_read_as_they_are(bridge: Bridge, panel: RatesPanel) -> None:
    for tick in range(3):
        feed(panel, bridge, {"fridge/level": 0.5}, 1000.0 + tick * 0.5)
    axis = panel.plot_widget.getPlotItem().getAxis("left")
    assert axis.autoSIPrefixScale == 1.0  # "0.5", not "500" with a "(x0.001)" in the label
    assert panel.plot_widget.getPlotItem().viewRange()[1][1] < 1


def test_a_short_or_narrow_dock_names_fewer_channels_and_keeps_the_time_axis(
    qtbot: QtBot, bridge: Bridge, panel: RatesPanel
) -> None:
    rates = {f"ch{number}": float(number + 1) for number in range(12)}
    feed(panel, bridge, rates, 1000.0)
    assert len(panel.legend_labels()) == 9  # eight channels and "other"
    panel.resize(700, 200)
    qtbot.waitUntil(lambda: len(panel.legend_labels()) < 9)
    labels = panel.legend_labels()
    assert labels[-1] == OTHER
    assert labels[0] == "ch11"
    assert len(labels) * LEGEND_ROW_PX <= 200 - AXIS_PX + LEGEND_ROW_PX
    panel.resize(420, 300)
    qtbot.waitUntil(lambda: len(panel.legend_labels()) == 4)  # two rows of two below the plot


def test_plot_does_not_move_with_the_mouse(panel: RatesPanel) -> None:
    view_box = panel.plot_widget.getPlotItem().getViewBox()
    assert view_box.state["mouseEnabled"] == [False, False]
    assert not panel.plot_widget.getPlotItem().menuEnabled()


def test_a_hidden_plot_keeps_its_samples_and_draws_them_when_shown(bridge: Bridge, panel: RatesPanel) -> None:
    panel.hide()
    for tick in range(4):
        feed(panel, bridge, {"a": float(tick + 1)}, 1000.0 + tick * 0.5)
    curve = panel.curves[panel.curve_channels().index("a")]
    x, _y = curve.getData()
    assert x is None or len(x) == 0  # nothing drawn while nobody can see it
    panel.show()
    x, y = curve.getData()
    assert x is not None
    assert y is not None
    assert list(y) == [1.0, 2.0, 3.0, 4.0]


def test_equally_busy_channels_keep_their_lines_and_the_legend(bridge: Bridge, panel: RatesPanel) -> None:
    """Ten channels about as busy as each other: the ranking wobbles every snapshot, the lines do not."""
    wobble = np.random.default_rng(7)
    for tick in range(4):
        feed(panel, bridge, {f"ch{n}": 1000.0 + wobble.normal(0, 30) for n in range(10)}, 1000.0 + tick * 0.5)
    lines = panel.curve_channels()
    legend_items = list(panel.legend.items)
    for tick in range(4, 40):
        feed(panel, bridge, {f"ch{n}": 1000.0 + wobble.normal(0, 30) for n in range(10)}, 1000.0 + tick * 0.5)
        assert panel.curve_channels() == lines
        assert list(panel.legend.items) == legend_items  # the same labels: not rebuilt

    left_out = next(f"ch{n}" for n in range(10) if f"ch{n}" not in lines)
    for tick in range(40, 48):  # three times as busy for 4 s: clearly ahead over the 60 s shown
        feed(panel, bridge, {f"ch{n}": 3000.0 if f"ch{n}" == left_out else 1000.0 for n in range(10)}, 1000 + tick / 2)
    assert left_out in panel.curve_channels()
    assert panel.legend_labels()[0] == left_out


def test_a_hidden_panel_chooses_no_lines_until_shown(bridge: Bridge, panel: RatesPanel) -> None:
    feed(panel, bridge, {"a": 5.0, "b": 1.0}, 1000.0)
    legend_items = list(panel.legend.items)
    panel.hide()
    for tick in range(1, 5):
        feed(panel, bridge, {"a": 5.0, "b": 1.0, "c": 50.0, "d": 2.0}, 1000.0 + tick * 0.5)
    assert list(panel.legend.items) == legend_items  # not rebuilt for nobody
    panel.show()
    assert list(panel.legend.items) != legend_items
    assert panel.legend_labels() == ["c", "a", "d", "b"]
    _x, y = panel.curves[panel.curve_channels().index("c")].getData()
    assert y is not None
    assert list(y) == [0.0, 50.0, 50.0, 50.0, 50.0]
