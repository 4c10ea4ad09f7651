"""The shot strip under the plots: one block per shot, thumbnails when there is room, and the
chosen pieces outlined exactly (a diverse or highlight summary keeps parts of shots). Above the
shots, a band of scenes (groups of shots), each with its first shot's thumbnail and start time."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QRegion
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from vsumgui.core.labels import KEEP, NAMES
from vsumgui.ui import compat, style

MIN_THUMB_WIDTH = 24  # px: narrower blocks are plain colour
MIN_HEIGHT, MAX_HEIGHT = 56, 180  # px: the strip grows with the window, thumbnails with it
BAND = 20  # px: the scene band above the shots (when there are scenes)


def _crop(src: QRectF, aspect: float) -> QRectF:
    """The centre of `src` with the given width/height ratio."""
    if src.width() / src.height() > aspect:
        w = src.height() * aspect
        return QRectF(src.center().x() - w / 2, 0, w, src.height())
    h = src.width() / aspect
    return QRectF(0, src.center().y() - h / 2, src.width(), h)


class Timeline(QWidget):
    """Shots across the visible time range (kept equal to the plots' range and margins)."""

    seekRequested = Signal(float)
    playShotRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        compat.install()  # PySide6 6.12.0 on Python 3.11: see compat.py
        self.setMinimumHeight(MIN_HEIGHT)
        self.setMaximumHeight(MAX_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.shot_secs = np.zeros((0, 2))
        self.shot_scores: np.ndarray | None = None
        self.chosen: set[int] = set()  # shots that hold a chosen piece
        self.segments: list[tuple[float, float]] = []  # the chosen pieces, media seconds
        self.labels: dict[int, int] = {}  # shot index -> labels.KEEP / labels.SKIP
        self.thumbs: dict[int, QPixmap] = {}
        self.scenes = np.zeros((0, 2), dtype=np.int64)  # (C, 2) shot indices [first, last + 1)
        self.duration = 0.0
        self.view = (0.0, 0.0)
        self.margins = (0, 0)
        self.position = 0.0

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(400, 72)

    # -- content --------------------------------------------------------------------------
    def set_shots(self, shot_secs: np.ndarray, duration: float, shot_scores: np.ndarray | None = None) -> None:
        self.shot_secs = np.asarray(shot_secs, dtype=np.float64).reshape(-1, 2)
        self.shot_scores = shot_scores
        self.duration = duration
        self.view = (0.0, duration)
        self.chosen = set()
        self.segments = []
        self.labels = {}
        self.thumbs = {}
        self.scenes = np.zeros((0, 2), dtype=np.int64)
        self.update()

    def set_scenes(self, scenes: np.ndarray) -> None:
        """The scenes as (C, 2) shot indices [first, last + 1) (Summary.scenes); after set_shots."""
        sc = np.asarray(scenes, dtype=np.int64).reshape(-1, 2)
        self.scenes = sc[(sc[:, 0] >= 0) & (sc[:, 1] <= len(self.shot_secs)) & (sc[:, 1] > sc[:, 0])]
        self.update()

    def scene_secs(self, c: int) -> tuple[float, float]:
        a, b = self.scenes[c]
        return float(self.shot_secs[a, 0]), float(self.shot_secs[b - 1, 1])

    def scene_at(self, x: float, y: float) -> int | None:
        """The scene under a point of the scene band (None outside the band or without scenes)."""
        if not len(self.scenes) or not 0 <= y < self._band():
            return None
        shot = self.shot_at(x)
        if shot is None:
            return None
        return int(np.searchsorted(self.scenes[:, 0], shot, side="right")) - 1

    def clear(self) -> None:
        self.set_shots(np.zeros((0, 2)), 0.0)

    def set_chosen(self, shots, segments=None) -> None:
        """The shots that hold chosen pieces, and the pieces (default: those whole shots)."""
        self.chosen = set(int(i) for i in shots)
        if segments is None:
            segments = [tuple(self.shot_secs[i]) for i in sorted(self.chosen) if i < len(self.shot_secs)]
        self.segments = [(float(s), float(e)) for s, e in segments]
        self.update()

    def set_selection(self, selection) -> None:
        """Outline a core.select.Selection's pieces (None clears)."""
        self.set_chosen(selection.shots if selection else [], selection.segments if selection else [])

    def chosen_in(self, index: int) -> float:
        """Seconds of shot `index` that are in the summary."""
        s, e = self.shot_secs[index]
        return float(sum(max(0.0, min(e, b) - max(s, a)) for a, b in self.segments))

    def set_labels(self, labels: dict[int, int]) -> None:
        """Keep/skip marks by shot index (a green or red bar along the top of the shot)."""
        self.labels = dict(labels)
        self.update()

    def shot_of(self, t: float) -> int | None:
        """The shot that holds media time t."""
        if not len(self.shot_secs):
            return None
        i = int(np.searchsorted(self.shot_secs[:, 0], t, side="right")) - 1
        return max(0, min(i, len(self.shot_secs) - 1))

    def add_thumbnail(self, index: int, image: QImage) -> None:
        self.thumbs[index] = QPixmap.fromImage(image)  # QPixmap only on the GUI thread
        self.update()

    def set_view(self, t0: float, t1: float) -> None:
        self.view = (t0, t1)
        self.update()

    def set_margins(self, left: int, right: int) -> None:
        self.margins = (left, right)
        self.update()

    def set_position(self, t: float) -> None:
        self.position = t
        self.update()

    # -- geometry -------------------------------------------------------------------------
    def _band(self) -> int:
        return BAND if len(self.scenes) else 0

    def _area(self) -> tuple[float, float]:
        left, right = self.margins
        return float(left), float(max(1, self.width() - left - right))

    def x_of(self, t: float) -> float:
        x0, w = self._area()
        t0, t1 = self.view
        return x0 + (t - t0) / max(t1 - t0, 1e-9) * w

    def time_at(self, x: float) -> float:
        x0, w = self._area()
        t0, t1 = self.view
        return min(max(t0 + (x - x0) / w * (t1 - t0), 0.0), self.duration)

    def shot_at(self, x: float) -> int | None:
        if not len(self.shot_secs):
            return None
        t = self.time_at(x)
        i = int(np.searchsorted(self.shot_secs[:, 0], t, side="right")) - 1
        return max(0, min(i, len(self.shot_secs) - 1))

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(style.BACKGROUND))
        x0, w = self._area()
        h = self.height()
        if not len(self.shot_secs):
            p.setPen(QColor("#909090"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Shots appear here after Summarize")
            p.end()
            return
        p.setClipRect(QRectF(x0, 0, w, h))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        t0, t1 = self.view
        band = self._band()
        if band:
            self._paint_scenes(p, band)
        top, bottom = band + 4.0, h - 8.0
        # rectangles are gathered and drawn in a few calls: an hour has ~600 shots
        plain: tuple[list, list] = ([], [])
        blocks = []
        marks: tuple[list, list] = ([], [])  # skip, keep
        scale = w / max(t1 - t0, 1e-9)
        xs = x0 + (self.shot_secs - t0) * scale  # (S, 2) pixels
        visible = np.flatnonzero((self.shot_secs[:, 1] >= t0) & (self.shot_secs[:, 0] <= t1))
        for i, a, b in zip(visible.tolist(), xs[visible, 0].tolist(), xs[visible, 1].tolist()):
            r = QRectF(a + 0.5, top, max(1.0, b - a - 1.0), bottom - top)
            thumb = self.thumbs.get(i)
            if thumb is not None and r.width() >= MIN_THUMB_WIDTH:
                p.drawPixmap(r, thumb, _crop(QRectF(thumb.rect()), r.width() / r.height()))
            else:
                plain[i % 2].append(r)
            blocks.append(r)
            lab = self.labels.get(i)
            if lab is not None:
                marks[1 if lab == KEEP else 0].append(QRectF(r.left(), band, r.width(), 5))
        # the chosen pieces, exactly: a piece may be a part of a shot, or span several
        pieces = [QRectF(x0 + (a - t0) * scale, top, max(2.0, (b - a) * scale), bottom - top)
                  for a, b in self.segments if b >= t0 and a <= t1]
        p.setPen(Qt.PenStyle.NoPen)
        for rects, color in ((plain[0], QColor("#B4BAC4")), (plain[1], QColor("#C9CED6"))):
            if rects:
                p.setBrush(color)
                p.drawRects(rects)
        if blocks:  # everything outside the pieces is dimmed
            outside = QRegion(self.rect())
            for r in pieces:
                outside = outside.subtracted(QRegion(r.toAlignedRect()))
            p.save()
            p.setClipRegion(outside & QRegion(QRectF(x0, 0, w, h).toAlignedRect()))
            p.setBrush(QColor(255, 255, 255, 140))
            p.drawRects(blocks)
            p.restore()
        p.setBrush(style.CHOSEN)
        if pieces:
            p.drawRects([QRectF(r.left(), h - 6, r.width(), 5) for r in pieces])
        for rects, color in ((marks[1], QColor(style.KEEP)), (marks[0], QColor(style.SKIP))):
            if rects:
                p.setBrush(color)
                p.drawRects(rects)
        if pieces:
            p.setPen(QPen(style.CHOSEN, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRects([r.adjusted(1, 1, -1, -1) for r in pieces])
        x = self.x_of(self.position)
        p.setPen(QPen(QColor(style.PLAYHEAD), 2))
        p.drawLine(int(round(x)), 0, int(round(x)), h)
        p.end()
        compat.top_up()

    def _paint_scenes(self, p: QPainter, band: int) -> None:
        """One block per scene, alternating shades: its first shot's thumbnail, then its start time."""
        t0, t1 = self.view
        x0, w = self._area()
        scale = w / max(t1 - t0, 1e-9)
        p.save()
        font = p.font()
        font.setPixelSize(max(9, band - 8))
        p.setFont(font)
        for c in range(len(self.scenes)):
            s, e = self.scene_secs(c)
            if e < t0 or s > t1:
                continue
            r = QRectF(x0 + (s - t0) * scale + 0.5, 1.0, max(1.0, (e - s) * scale - 1.0), band - 2.0)
            p.fillRect(r, QColor("#5B6B82" if c % 2 == 0 else "#72829A"))
            x = r.left() + 2
            thumb = self.thumbs.get(int(self.scenes[c, 0]))
            th = QRectF(x, r.top() + 1, (r.height() - 2) * 16 / 9, r.height() - 2)
            if thumb is not None and th.right() <= r.right() - 2:
                p.drawPixmap(th, thumb, _crop(QRectF(thumb.rect()), th.width() / th.height()))
                x = th.right() + 3
            text = style.fmt_time(s)
            if p.fontMetrics().horizontalAdvance(text) <= r.right() - x - 2:
                p.setPen(QColor("white"))
                p.drawText(QRectF(x, r.top(), r.right() - x, r.height()),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        p.restore()

    # -- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.duration > 0:
            c = self.scene_at(event.position().x(), event.position().y())
            # a click on a scene goes to its start; below, to the time clicked
            self.seekRequested.emit(self.scene_secs(c)[0] if c is not None else self.time_at(event.position().x()))

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        i = self.shot_at(event.position().x())
        if event.button() == Qt.MouseButton.LeftButton and i is not None:
            self.playShotRequested.emit(i)

    def event(self, e) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            c = self.scene_at(e.pos().x(), e.pos().y())
            if c is not None:
                s, t = self.scene_secs(c)
                a, b = self.scenes[c]
                QToolTip.showText(e.globalPos(), f"Scene {c + 1}: {style.fmt_time(s)}–{style.fmt_time(t)} · "
                                  f"{b - a} shot{'s' if b - a > 1 else ''}\nclick: go to the scene's start", self)
                return True
            i = self.shot_at(e.pos().x())
            if i is None:
                QToolTip.hideText()
                return True
            s, t = self.shot_secs[i]
            text = f"Shot {i + 1}: {style.fmt_time(s)}–{style.fmt_time(t)}"
            if self.shot_scores is not None:
                text += f" · score {self.shot_scores[i]:.2f}"
            kept = self.chosen_in(i)
            if kept > 0:
                text += (" · in the summary" if kept >= (t - s) - 0.05
                         else f" · {kept:.1f} s of it in the summary")
            if i in self.labels:
                text += f" · labelled {NAMES[self.labels[i]]}"
            text += "\nclick: seek · double-click: play this shot · K keep, S skip, C clear"
            QToolTip.showText(e.globalPos(), text, self)
            return True
        return super().event(e)
