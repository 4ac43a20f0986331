"""The rates dock: msg/s of the 8 busiest channels over the last 60 s, plus "other".

Follows pyqtgraph practice for live plots: nine curves created once, numpy ring
buffers with one sample per bridge snapshot (500 ms), ``setData`` on each snapshot.
The legend is rebuilt only when the set of the 8 busiest channels changes, and that set is
sticky: a shown channel leaves it only when another is clearly busier (``OVERTAKE``), so ten
equally busy channels do not swap places (and rebuild the legend, ~9 ms) every snapshot.
While the panel is hidden nothing is chosen or drawn; it catches up when shown.

The plot itself is made with the first channel that has a rate: until then the panel says what will be
drawn here and how to get there. The window's first frame is painted without it (~20 ms of the start).
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from eventdeck.gui.bridge import Bridge, Snapshot
from eventdeck.gui.widgets.small import empty_state

WINDOW_S = 60.0
SAMPLES = 120  # one per 500 ms snapshot
TOP = 8
OTHER = "other"
OVERTAKE = 1.25  # a channel outside the top replaces a shown one only when this many times busier
LABEL_CHARS = 26
WIDE = 540  # from this width on, the legend goes right of the plot; below it in narrower docks
LEGEND_ROW_PX = 21  # one legend row at 8 pt, spacing included
AXIS_PX = 70  # the time axis, its label and the margins: what the legend must leave free below the plot
# Paul Tol's "muted" set without its green, blue and red: those mean reply, event and dead letter in
# the stream and the presenter, so a channel line must never look like a kind. Each channel keeps its
# colour between runs (chosen by a hash of its name), whatever its rank among the busiest.
_LIGHT = ("#332288", "#44AA99", "#999933", "#AA4499", "#882255", "#CC6677", "#8C510A", "#B8860B")
_DARK = ("#9A8CF0", "#44AA99", "#C8C864", "#D17AC4", "#D45C98", "#E08A98", "#C08040", "#E0C35C")
_THEME = {
    False: {"background": "#ffffff", "foreground": "#4a4f57", "legend": (255, 255, 255, 200), "other": "#8b929c"},
    True: {"background": "#1f2024", "foreground": "#c3c7cf", "legend": (31, 32, 36, 200), "other": "#8b929c"},
}
EMPTY_TEXT = (
    "No messages yet. Each channel's messages per second draw a line here as they flow: "
    "send one from the Composer, or start a scenario (File > Scenarios)."
)
FloatArray = npt.NDArray[np.float64]


class RatesPanel(QWidget):
    """A live line plot of per-channel message rates, fed by bridge snapshots."""

    def __init__(self, bridge: Bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ratesPanel")
        self._dark = False
        self._names: list[str] = []  # row of _rates -> channel
        self._rows: dict[str, int] = {}
        self._rates: FloatArray = np.zeros((16, SAMPLES))
        self._times: FloatArray = np.zeros(SAMPLES)
        self._head = 0  # where the next sample goes
        self._last_time = 0.0  # the newest sample's time
        self._count = 0  # samples held, at most SAMPLES
        self._assigned: list[str | None] = [None] * TOP  # channel shown by each of the first 8 curves
        self._legend_order: list[int] = []  # curve numbers in legend order
        self._top = TOP  # channels with a line of their own: fewer when the legend has no room for eight
        self._stale = False  # samples came in while hidden: the top is chosen again when shown

        self._plot: pg.PlotWidget | None = None  # see plot_widget
        self._legend = pg.LegendItem(labelTextSize="8pt", verSpacing=0, horSpacing=12)
        self._legend_cell, self._legend_columns = (2, 3), 1  # see _place_legend
        self._curves: list[pg.PlotDataItem] = []  # see curves

        self.empty = empty_state("ratesEmpty", EMPTY_TEXT)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        bridge.snapshot.connect(self.apply_snapshot)

    # -- public ------------------------------------------------------------

    @property
    def plot_widget(self) -> pg.PlotWidget:
        """The plot, made when first needed: for the first channel with a rate, or when asked for."""
        if self._plot is None:
            self._plot = self._make_plot()
            self.stack.addWidget(self._plot)
            self.stack.setCurrentWidget(self._plot)
        return self._plot

    @property
    def built_plot(self) -> pg.PlotWidget | None:
        """The plot if it was made (what only updates it need not make it)."""
        return self._plot

    @property
    def legend(self) -> pg.LegendItem:
        """The legend, in the plot's own layout (made with it)."""
        self.plot_widget  # noqa: B018 - made with the plot
        return self._legend

    @property
    def curves(self) -> list[pg.PlotDataItem]:
        """The nine curves, made once, when first needed: hidden until a channel has a rate, they are not in the
        window's first frame (making them costs ~5 ms of its start)."""
        if not self._curves:
            plot = self.plot_widget.getPlotItem()
            for _ in range(TOP + 1):
                curve = plot.plot(antialias=False, skipFiniteCheck=True)
                curve.setVisible(False)
                self._curves.append(curve)
            self._pen_other()
        return self._curves

    def curve_channels(self) -> list[str | None]:
        """What each of the nine curves shows: a channel, ``"other"``, or None while unused."""
        self._catch_up()
        return [*self._assigned, OTHER if self._other_shown() else None]

    def legend_labels(self) -> list[str]:
        import html  # noqa: PLC0415 - ~1.5 ms (html.entities): not before the first paint

        self._catch_up()
        return [html.unescape(label.text) for _sample, label in self._legend.items]

    def set_dark(self, dark: bool) -> None:
        """Switch background, axes, legend and the theme-dependent pens (the plot's when it is made)."""
        self._dark = dark
        if self._plot is not None:
            self._colour_plot(self._plot)

    def _make_plot(self) -> pg.PlotWidget:
        # No context menu: asking for none here, not turning it off after, spares building it (~3 ms)
        plot_widget = pg.PlotWidget(enableMenu=False)
        plot_widget.setObjectName("ratesPlot")
        plot_widget.setAntialiasing(False)
        plot = plot_widget.getPlotItem()
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setLabel("bottom", "seconds ago")
        plot.setLabel("left", "msg/s")
        plot.getAxis("left").enableAutoSIPrefix(False)  # 0.5 msg/s reads 0.5, never "500 (x0.001)"
        plot.setXRange(-WINDOW_S, 0, padding=0.02)
        plot.setYRange(0, 1, padding=0)
        plot.getAxis("bottom").setTicks([[(float(x), str(x)) for x in range(-60, 1, 10)]])
        plot.getViewBox().setDefaultPadding(0)
        # The legend sits in the plot item's own layout, never over the data: right of the plot
        # in a wide dock, below it (in columns) in a narrow one. See _place_legend.
        plot.layout.addItem(self._legend, *self._legend_cell)
        self._legend.setColumnCount(self._legend_columns)
        self._colour_plot(plot_widget)
        return plot_widget

    def _colour_plot(self, plot_widget: pg.PlotWidget) -> None:
        theme = _THEME[self._dark]
        foreground = QColor(theme["foreground"])
        plot_widget.setBackground(theme["background"])
        plot = plot_widget.getPlotItem()
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(foreground)
            axis.setTextPen(foreground)
            axis.label.setDefaultTextColor(foreground)
        self._legend.setLabelTextColor(foreground)
        self._legend.setBrush(pg.mkBrush(theme["legend"]))
        self._legend.setPen(pg.mkPen(None))
        if self._curves:  # else coloured when made
            self._colour_curves()
            self._pen_other()
        self._rebuild_legend()  # labels keep their colour from when they were made

    @property
    def dark(self) -> bool:
        return self._dark

    def curve_colour(self, number: int) -> str:
        """The colour curve ``number`` is drawn in now."""
        return str(self.curves[number].opts["pen"].color().name())

    def _pen_other(self) -> None:
        self._curves[TOP].setPen(pg.mkPen(_THEME[self._dark]["other"], width=2, style=Qt.PenStyle.DashLine))

    def _other_shown(self) -> bool:
        """Whether the "other" curve is shown (never before the curves are made)."""
        return bool(self._curves) and self._curves[TOP].isVisible()

    def _colour_curves(self) -> None:
        """Each shown channel in its own colour, the one its name hashes to unless another shown channel has it."""
        palette = _DARK if self._dark else _LIGHT
        taken: set[int] = set()
        for number in self._legend_order:  # busiest first: they keep their own colour on a clash
            name = self._assigned[number]
            if name is None:
                continue
            slot = zlib.crc32(name.encode()) % len(palette)
            while slot in taken:
                slot = (slot + 1) % len(palette)
            taken.add(slot)
            self.curves[number].setPen(pg.mkPen(palette[slot], width=2))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_legend()

    def _place_legend(self) -> None:
        """Right of the plot in a wide dock, below it (two rows) in a narrow one; never over the time axis.

        The legend names every line: when it cannot hold eight channels and "other", fewer channels get
        lines of their own and the rest add up in "other".
        """
        if self.width() >= WIDE:
            cell, columns, rows = (2, 3), 1, max(2, (self.height() - AXIS_PX) // LEGEND_ROW_PX)
        else:
            cell, columns, rows = (4, 1), 2, 2
        top = max(1, min(TOP, rows * columns - 1))  # one row for "other"
        if cell != self._legend_cell:
            self._legend_cell, self._legend_columns = cell, columns
            if self._plot is not None:  # else placed so when made
                layout = self._plot.getPlotItem().layout
                layout.removeItem(self._legend)
                layout.addItem(self._legend, *cell)
                self._legend.setColumnCount(columns)
        if top != self._top:
            self._top = top
            self._choose_top()

    # -- feeding -----------------------------------------------------------

    def clear(self) -> None:
        """Forget every sample (another broker is shown now)."""
        self._names.clear()
        self._rows.clear()
        self._rates[:] = 0.0
        self._times[:] = 0.0
        self._head = self._count = 0
        self._choose_top()

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Store one sample per channel, pick the busiest, redraw the nine curves."""
        head = self._head
        self._rates[:, head] = 0.0
        for name, rate in snapshot.channel_rates.items():
            row = self._rows.get(name)
            if row is None:
                row = self._add_channel(name)
            self._rates[row, head] = rate
        self._times[head] = snapshot.time
        self._head = (head + 1) % SAMPLES
        self._count = min(self._count + 1, SAMPLES)
        self._last_time = snapshot.time
        if self.isVisible():
            self._choose_top()
            self._redraw(snapshot.time)
        else:  # a tab behind Topology, under the presenter: chosen and drawn when shown again
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._catch_up()
        if self._count:
            self._redraw(self._last_time)

    def _catch_up(self) -> None:
        if self._stale:
            self._choose_top()

    def _add_channel(self, name: str) -> int:
        row = len(self._names)
        if row == self._rates.shape[0]:
            self._rates = np.vstack([self._rates, np.zeros_like(self._rates)])
        self._names.append(name)
        self._rows[name] = row
        return row

    def _choose_top(self) -> None:
        self._stale = False
        held = len(self._names)
        sums = self._rates[:held].sum(axis=1)
        wanted = self._sticky_top(sums)
        if set(wanted) == {name for name in self._assigned if name is not None}:
            return
        keep = set(wanted)
        assigned = [name if name in keep else None for name in self._assigned]
        for name in wanted:
            if name not in assigned:
                assigned[assigned.index(None)] = name
        self._assigned = assigned
        self._legend_order = [assigned.index(name) for name in wanted]  # busiest first
        self._colour_curves()
        for number, shown in enumerate(assigned):
            self.curves[number].setVisible(shown is not None)
            if shown is None:
                self.curves[number].setData([], [])
        self.curves[TOP].setVisible(held > len(wanted) and len(wanted) == self._top)
        self._rebuild_legend()

    def _sticky_top(self, sums: FloatArray) -> list[str]:
        """The busiest channels, busiest first; those shown now stay until one outside is ``OVERTAKE`` times busier."""
        ranked = [int(row) for row in np.argsort(-sums, kind="stable") if sums[row] > 0]
        shown = {self._rows[name] for name in self._assigned if name in self._rows}  # none just after clear()
        kept = [row for row in ranked if row in shown][: self._top]  # fewer lines now (a smaller dock): the busiest
        rivals = [row for row in ranked if row not in shown]
        while rivals and len(kept) < self._top:  # free lines go to the busiest of the rest
            kept.append(rivals.pop(0))
        while rivals and kept:  # then a rival takes the quietest shown line only when clearly busier
            quietest = min(kept, key=lambda row: sums[row])
            if sums[rivals[0]] <= OVERTAKE * sums[quietest]:
                break
            kept.remove(quietest)
            kept.append(rivals.pop(0))
        return [self._names[row] for row in sorted(kept, key=lambda row: -sums[row])]

    def _rebuild_legend(self) -> None:
        if self._plot is None:  # nothing to name yet: a line is drawn only once the plot is made
            return
        legend = self._legend
        legend.clear()
        for number in self._legend_order:
            name = self._assigned[number]
            if name is not None:
                legend.addItem(self.curves[number], _label(name))
        if self._other_shown():
            legend.addItem(self.curves[TOP], OTHER)
        for sample, label in legend.items:  # a label is taller than its text: line them up
            label.setFixedHeight(label.item.boundingRect().height())
            legend.layout.setAlignment(sample, Qt.AlignmentFlag.AlignVCenter)

    def _redraw(self, now: float) -> None:
        if self._plot is None:  # no channel had a rate yet
            return
        count = self._count
        order = (np.arange(count) + self._head - count) % SAMPLES  # oldest first
        x = self._times[order] - now
        held = len(self._names)
        window = self._rates[:held][:, order]
        top_rows = [self._rows[name] for name in self._assigned if name is not None]
        peak = 0.0
        for number, name in enumerate(self._assigned):
            if name is None:
                continue
            y = window[self._rows[name]]
            self.curves[number].setData(x, y, skipFiniteCheck=True)
            peak = max(peak, float(y.max(initial=0.0)))
        if self._other_shown():
            rest = window.sum(axis=0) - window[top_rows].sum(axis=0)
            np.maximum(rest, 0.0, out=rest)
            self.curves[TOP].setData(x, rest, skipFiniteCheck=True)
            peak = max(peak, float(rest.max(initial=0.0)))
        self._plot.getPlotItem().setYRange(0, _nice_top(peak), padding=0)


def _nice_top(peak: float) -> float:
    """A y-axis top a little above ``peak``, rounded so the axis does not jitter every tick."""
    if peak <= 0:
        return 1.0
    target = peak * 1.1
    step = 10 ** np.floor(np.log10(target))
    for factor in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if factor * step >= target:
            return float(factor * step)
    return float(10 * step)


def _label(name: str) -> str:
    """Channel names in the legend keep their end (the most specific level) when too long."""
    import html  # noqa: PLC0415 - ~1.5 ms (html.entities): not before the first paint

    short = name if len(name) <= LABEL_CHARS else "…" + name[-(LABEL_CHARS - 1) :]
    return html.escape(short)  # legend labels are rich text
