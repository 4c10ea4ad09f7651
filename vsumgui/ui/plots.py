"""Importance curves: one per method (the driving one drawn first), the driver's breakdown below,
shots, chosen pieces, playhead, and a hover legend with every curve's value under the mouse."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from vsumgui.core.methods import minmax
from vsumgui.core.pipeline import Summary
from vsumgui.core.select import Selection
from vsumgui.ui import compat, style

# Nice steps for a time axis, in seconds: ticks land on whole seconds, minutes, hours.
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
Y_RANGE = (-0.08, 1.08)


class TimeAxis(pg.AxisItem):
    """Media time as m:ss (h:mm:ss from an hour), ticks on whole seconds and minutes."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):  # noqa: N802 (pyqtgraph name)
        span = max(maxVal - minVal, 1e-6)
        most = max(2.0, size / 70.0)  # at most one label per 70 px
        major = next((s for s in _STEPS if span / s <= most), _STEPS[-1] * int(np.ceil(span / most / _STEPS[-1])))
        minor = next((s for s in reversed(_STEPS) if s < major and major % s == 0 and span / s <= most * 5), None)
        return [(major, 0)] + ([(minor, 0)] if minor else [])

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        return [style.fmt_time(v) for v in values]


class SpanItem(pg.GraphicsObject):
    """Vertical bands (start, end) across the whole y range: the chosen shots."""

    def __init__(self, color: QColor) -> None:
        super().__init__()
        self.brush = QBrush(color)
        self.spans: list[tuple[float, float]] = []
        self._bounds = QRectF()
        self.setZValue(-10)

    def set_spans(self, spans: list[tuple[float, float]]) -> None:
        self.prepareGeometryChange()
        self.spans = [(float(s), float(e)) for s, e in spans]
        if self.spans:
            lo, hi = self.spans[0][0], self.spans[-1][1]
            self._bounds = QRectF(lo, Y_RANGE[0] - 1, hi - lo, Y_RANGE[1] - Y_RANGE[0] + 2)
        else:
            self._bounds = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def paint(self, p: QPainter, *args) -> None:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.brush)
        y0, h = self._bounds.top(), self._bounds.height()
        if self.spans:
            p.drawRects([QRectF(s, y0, e - s, h) for s, e in self.spans])


def cache(item: pg.PlotDataItem) -> None:
    """Keep the drawn curve as a pixmap: a slider step repaints the shading over the whole plot,
    and redrawing 7200-point wide-pen curves each time cost ~40 ms on an hour of video."""
    item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def _plot(layout: pg.GraphicsLayout, row: int, label: str) -> pg.PlotItem:
    plot = layout.addPlot(row=row, col=0, axisItems={"bottom": TimeAxis("bottom")})
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=True, y=False)
    plot.setYRange(*Y_RANGE, padding=0)
    # grid lines of our own: pyqtgraph's axis grid clips the tick labels to the plot's height, so a
    # short plot (the breakdown at 1024x640) lost its "0" and "1"
    for y in (0.0, 0.5, 1.0):
        plot.addItem(pg.InfiniteLine(y, angle=0, pen=pg.mkPen(style.GRID, width=1)), ignoreBounds=True)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setPen(pg.mkPen(style.FOREGROUND))
        ax.setTextPen(pg.mkPen(style.FOREGROUND))
    plot.getAxis("left").setWidth(44)
    plot.getAxis("left").setStyle(hideOverlappingLabels=False)  # keep "0" and "1" on short plots
    plot.getAxis("left").setTicks([[(0, "0"), (1, "1")], [(0.5, "0.5")]])  # 0.5 only where it fits
    plot.setLabel("left", label, color=style.FOREGROUND)
    # an hour has 7200 samples per curve: draw at most ~2 points per pixel, only the visible part
    # (peak keeps the maxima that matter for importance), so a repaint stays a few ms
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)
    return plot


class CurvesView(QWidget):
    """Two linked plots: importance per method, and the breakdown of one method into components."""

    seekRequested = Signal(float)
    rangeChanged = Signal(float, float)  # the visible time range
    marginsChanged = Signal(int, int)  # left/right of the data area, in this widget's pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        compat.install()  # PySide6 6.12.0 on Python 3.11: see compat.py
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(style.BACKGROUND)
        self.glw.ci.setContentsMargins(4, 4, 12, 0)
        self.glw.ci.setSpacing(2)
        self.scores_plot = _plot(self.glw.ci, 0, "importance")
        self.parts_plot = _plot(self.glw.ci, 1, "parts")
        self.parts_plot.setXLink(self.scores_plot)
        self.glw.ci.layout.setRowStretchFactor(0, 3)
        self.glw.ci.layout.setRowStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)

        self.curves: dict[str, pg.PlotDataItem] = {}
        self.parts: dict[str, pg.PlotDataItem] = {}
        self.breakdown_of: str | None = None  # the method whose breakdown is shown (it may have none)
        self.driver: str | None = None  # the method that chose the pieces: drawn thicker, on top
        self.summary: Summary | None = None
        self.duration = 0.0
        self.spans: list[SpanItem] = []
        self.shot_lines: list[pg.PlotDataItem] = []
        self.playheads: list[pg.InfiniteLine] = []
        for plot in (self.scores_plot, self.parts_plot):
            span = SpanItem(style.chosen_fill())
            plot.addItem(span, ignoreBounds=True)
            self.spans.append(span)
            lines = pg.PlotDataItem(pen=pg.mkPen(style.SHOT_LINE, width=1), connect="pairs")
            lines.setZValue(-5)
            cache(lines)
            plot.addItem(lines, ignoreBounds=True)
            self.shot_lines.append(lines)
            head = pg.InfiniteLine(0, angle=90, movable=True, pen=pg.mkPen(style.PLAYHEAD, width=2),
                                   hoverPen=pg.mkPen(style.PLAYHEAD, width=4))
            head.setZValue(20)
            head.sigDragged.connect(lambda line: self.seekRequested.emit(max(0.0, min(self.duration, line.value()))))
            head.setVisible(False)
            plot.addItem(head, ignoreBounds=True)
            self.playheads.append(head)
            plot.vb.sigResized.connect(self._emit_margins)
        self.hover = pg.TextItem(anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 225),
                                 border=pg.mkPen(style.GRID))
        self.hover.setZValue(30)
        self.hover.setVisible(False)
        self.scores_plot.addItem(self.hover, ignoreBounds=True)
        self.hover_line = pg.InfiniteLine(0, angle=90, pen=pg.mkPen(style.NOTE, width=1, style=Qt.PenStyle.DotLine))
        self.hover_line.setVisible(False)
        self.scores_plot.addItem(self.hover_line, ignoreBounds=True)
        self.glw.scene().sigMouseMoved.connect(self._hovered)
        self.glw.scene().sigMouseClicked.connect(self._clicked)  # one scene for both plots
        self.scores_plot.vb.sigXRangeChanged.connect(lambda vb, r: self.rangeChanged.emit(float(r[0]), float(r[1])))
        self._set_titles()

    # -- content --------------------------------------------------------------------------
    def clear(self, duration: float = 0.0) -> None:
        for plot, items in ((self.scores_plot, self.curves), (self.parts_plot, self.parts)):
            for item in items.values():
                plot.removeItem(item)
            items.clear()
        self.breakdown_of = None
        self.driver = None
        self.summary = None
        self.hover.setVisible(False)
        self.hover_line.setVisible(False)
        for span in self.spans:
            span.set_spans([])
        for lines in self.shot_lines:
            lines.setData([], [])
        self.duration = duration
        for head in self.playheads:
            head.setVisible(duration > 0)
            head.setValue(0)
        if duration > 0:
            for plot in (self.scores_plot, self.parts_plot):
                plot.setLimits(xMin=0, xMax=duration, minXRange=min(duration, 2.0))
            self.scores_plot.setXRange(0, duration, padding=0)
        self._set_titles()

    def set_summary(self, summary: Summary, visible: dict[str, bool], breakdown_of: str | None) -> None:
        """Curves for every computed method, each min-max normalized over the video (the hover text
        gives the raw value); `breakdown_of` names the method whose parts are drawn until a selection
        names its driver (set_selection), which the breakdown then follows. A partial summary
        (`done` < 1) is drawn over the whole video's length, so that the curves grow from left to
        right as the features come; the view stays where the user put it."""
        full = summary.video.duration / summary.done if 0 < summary.done < 1 else summary.video.duration
        view = self.scores_plot.vb.viewRange()[0]
        keep = summary.done < 1 and self.duration == full  # a later partial of the same run
        self.clear(full)
        if keep:
            self.scores_plot.setXRange(*view, padding=0)
        self.summary = summary
        t = summary.times
        for name, ms in summary.scores.items():
            curve = pg.PlotDataItem(t, minmax(ms.scores), pen=self._pen(name, False), name=name)
            curve.setVisible(visible.get(name, True))
            curve.setZValue(-1 if name in style.BASELINES else 1)
            cache(curve)
            self.scores_plot.addItem(curve)
            self.curves[name] = curve
        self.set_breakdown(summary, breakdown_of)
        b = np.asarray(summary.shot_secs)[1:, 0]
        xs = np.repeat(b, 2)
        ys = np.tile(np.array([Y_RANGE[0] - 1, Y_RANGE[1] + 1]), len(b))
        for lines in self.shot_lines:
            lines.setData(xs, ys)

    @staticmethod
    def breakdown_for(summary: Summary, driver: str | None) -> str | None:
        """The driving method when it has parts, else the first computed method with parts (CTVSUM)."""
        if driver in summary.scores and summary.scores[driver].components:
            return driver
        return next((n for n, ms in summary.scores.items() if ms.components), None)

    @staticmethod
    def _pen(name: str, driver: bool) -> pg.QtGui.QPen:
        """The driving curve thick and solid; the others thinner and lighter, so it reads first."""
        if driver:
            return pg.mkPen(style.method_color(name), width=style.DRIVER_WIDTH)
        c = style.method_color(name)
        c.setAlpha(style.OTHER_ALPHA)
        return pg.mkPen(c, width=style.method_width(name) * 0.7)

    def set_driver(self, name: str | None) -> None:
        """Emphasize the driving curve and show its breakdown (or a note that it has none)."""
        if self.driver != name:
            for n, curve in self.curves.items():
                curve.setPen(self._pen(n, n == name))
                curve.setZValue(10 if n == name else (-1 if n in style.BASELINES else 1))
            self.driver = name
        if self.summary is not None and self.breakdown_of != name:
            self.set_breakdown(self.summary, name)

    def set_breakdown(self, summary: Summary, name: str | None) -> None:
        for item in self.parts.values():
            self.parts_plot.removeItem(item)
        self.parts.clear()
        self.summary = summary
        self.breakdown_of = name if name in summary.scores else None
        missing: list[str] = []
        if self.breakdown_of:
            for part, values in summary.scores[name].components.items():
                if values is None:
                    missing.append(part)
                    continue
                item = pg.PlotDataItem(summary.times, minmax(values), name=part,
                                       pen=pg.mkPen(style.component_color(part), width=1.5))
                cache(item)
                self.parts_plot.addItem(item)
                self.parts[part] = item
        self._set_titles(missing)

    def _set_titles(self, missing: list[str] = ()) -> None:
        if not self.breakdown_of:
            self.parts_plot.setTitle("<span style='color:#808080'>breakdown: summarize to see a "
                                     "method's parts</span>", size="9pt")
            return
        title = style.title(self.breakdown_of)
        if not self.parts and not missing:
            self.parts_plot.setTitle(f"<span style='color:{style.NOTE}'><b>{title}</b> (driving) has no parts "
                                     "to show; CTVSUM splits into align · uniform · unique</span>", size="9pt")
            return
        bits = [f"<b>{title}</b> breakdown:"]
        bits += [f"<span style='color:{style.component_color(p).name()}'>&#9632; {p}</span>" for p in self.parts]
        bits += [f"<span style='color:#909090'>{p} (needs training)</span>" for p in missing]
        self.parts_plot.setTitle("&nbsp;&nbsp;".join(bits), size="9pt", color=style.FOREGROUND)

    def set_visible(self, name: str, on: bool) -> None:
        if name in self.curves:
            self.curves[name].setVisible(on)

    def set_selection(self, selection: Selection | None) -> None:
        """Shade the chosen pieces; the selection's method becomes the driver (emphasis, breakdown)."""
        segs = selection.segments if selection else []
        for span in self.spans:
            span.set_spans(segs)
        if selection is not None and selection.method in self.curves:
            self.set_driver(selection.method)

    def set_position(self, t: float) -> None:
        for head in self.playheads:
            if not head.moving:
                head.setValue(t)

    def show_all(self) -> None:
        if self.duration > 0:
            self.scores_plot.setXRange(0, self.duration, padding=0)

    # -- mouse and geometry ---------------------------------------------------------------
    def hover_text(self, t: float) -> str:
        """The hover legend at media time t: every shown curve, the driver first, normalized
        value and raw score (the curves are min-max normalized over the video)."""
        s = self.summary
        if s is None or not len(s.times):
            return ""
        i = int(np.clip(np.searchsorted(s.times, t, side="right") - 1, 0, len(s.times) - 1))
        names = [n for n in self.curves if self.curves[n].isVisible()]
        names.sort(key=lambda n: n != self.driver)
        rows = [f"<b>{style.fmt_time(float(s.times[i]))}</b>"]
        for n in names:
            raw = float(np.asarray(s.scores[n].scores)[i])
            y = float(self.curves[n].yData[i]) if self.curves[n].yData is not None else raw
            name = f"<b>{style.title(n)}</b> (drives)" if n == self.driver else style.title(n)
            rows.append(f"<span style='color:{style.method_color(n).name()}'>&#9632;</span> {name} "
                        f"{y:.2f} <span style='color:{style.NOTE}'>raw {raw:.3g}</span>")
        return "<br>".join(rows)

    def _hovered(self, pos) -> None:
        vb = self.scores_plot.vb
        inside = self.duration > 0 and self.summary is not None and vb.sceneBoundingRect().contains(pos)
        self.hover.setVisible(inside)
        self.hover_line.setVisible(inside)
        if inside:
            self.show_hover(float(vb.mapSceneToView(pos).x()))

    def show_hover(self, t: float) -> None:
        """The hover legend and its dotted line at media time t."""
        if self.summary is None:
            return
        vb = self.scores_plot.vb
        self.hover.setVisible(True)
        self.hover_line.setVisible(True)
        self.hover.setHtml(f"<div style='color:{style.FOREGROUND}; font-size:8pt'>{self.hover_text(t)}</div>")
        (x0, x1), _ = vb.viewRange()
        right = t > (x0 + x1) / 2  # the legend sits on the side away from the mouse's half
        self.hover.setAnchor((1, 0) if right else (0, 0))
        self.hover.setPos(t, Y_RANGE[1])
        self.hover_line.setValue(t)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.hover.setVisible(False)
        self.hover_line.setVisible(False)
        super().leaveEvent(event)

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.duration <= 0:
            return
        if ev.double():
            self.show_all()
            return
        for plot in (self.scores_plot, self.parts_plot):
            if plot.vb.sceneBoundingRect().contains(ev.scenePos()):
                x = plot.vb.mapSceneToView(ev.scenePos()).x()
                self.seekRequested.emit(max(0.0, min(self.duration, float(x))))
                return

    def data_margins(self) -> tuple[int, int]:
        r = self.glw.mapFromScene(self.scores_plot.vb.sceneBoundingRect()).boundingRect()
        return int(r.left()), int(self.glw.width() - r.right() - 1)

    def _emit_margins(self, *args) -> None:
        self.marginsChanged.emit(*self.data_margins())
