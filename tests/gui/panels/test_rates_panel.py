"""The rates dock: nine curves created once, the 8 busiest channels plus "other", a legend."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
import pytest
from pytestqt.qtbot import QtBot

from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.panels.rates_panel import OTHER, SAMPLES, RatesPanel
from tests.gui.gui_support import ShowPanel


@pytest.fixture
def panel(show_panel: ShowPanel) -> RatesPanel:
    return show_panel(RatesPanel, (520, 300))


def feed(panel: RatesPanel, bridge: Bridge, rates: dict[str, float], at: float) -> Snapshot:
    """A snapshot with chosen rates, as the bridge would emit it."""
    base = bridge.last_snapshot
    assert base is not None
    snapshot = dataclasses.replace(base, time=at, channel_rates=rates)
    panel.apply_snapshot(snapshot)
    return snapshot


def test_busiest_channels_from_real_traffic(qtbot: QtBot, bridge: Bridge, panel: RatesPanel) -> None:
    plot = panel.findChild(pg.PlotWidget, "ratesPlot")
    assert plot is panel.plot_widget
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


def test_plot_does_not_move_with_the_mouse(panel: RatesPanel) -> None:
    view_box = panel.plot_widget.getPlotItem().getViewBox()
    assert view_box.state["mouseEnabled"] == [False, False]
    assert not panel.plot_widget.getPlotItem().menuEnabled()
