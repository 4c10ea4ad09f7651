"""The method list: every registered method with its colour swatch and whose checkpoint it uses;
ticked ones are drawn on the curves."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from vsumgui.core import checkpoints, methods
from vsumgui.ui import style


def swatch(color: QColor, enabled: bool = True, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    c = QColor(color)
    if not enabled:
        c.setAlpha(60)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(c)
    p.drawRoundedRect(QRectF(1, 3, size - 2, size - 6), 2, 2)
    p.end()
    return QIcon(pix)


def checkpoint_mark(m: methods.Method) -> tuple[str, str]:
    """("demo" / "yours" / "", a tooltip naming the checkpoint file) for a method."""
    title = m.title or m.name
    if m.checkpoint is None:
        if m.needs_checkpoint:
            return "needs training", f"{title} needs a checkpoint: train it with Tools → Trainer… or vsumgui-train"
        if m.trainable:
            return "", (f"{title}: no checkpoint, training-free scores "
                        f"(a checkpoint would be read from {checkpoints.user_path(m.name)})")
        return "", f"{title}: needs no training"
    if m.checkpoint_source == "demo":
        return "demo", (f"{title} uses the bundled demo checkpoint {m.checkpoint} (trained on three sample "
                        f"clips); train it on your videos with Tools → Trainer… to make it yours")
    return "yours", f"{title} uses your checkpoint {m.checkpoint}"


class MethodList(QListWidget):
    """Every registered method with its colour and whose checkpoint it uses ("demo" / "yours");
    ticked ones are drawn. Untrained ones are greyed. Baselines start unticked: references, shown on request."""

    visibilityChanged = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.items: dict[str, QListWidgetItem] = {}
        self.ready: dict[str, bool] = {}
        self.marks: dict[str, str] = {}
        # names fit or are elided, never a sideways scroll bar (the side panel is narrow at 1024 px)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setUniformItemSizes(True)
        self.fill(hidden=list(style.BASELINES))
        self.itemChanged.connect(self._changed)
        self.setIconSize(pg.QtCore.QSize(14, 14))

    def fill(self, hidden: list[str] | None = None) -> None:
        """(Re)create every method, so a new checkpoint (e.g. from the trainer) is seen; keeps hidden ones."""
        hidden = self.hidden() if hidden is None else hidden
        extra = [n for n in self.items if n not in self.ready]
        self.blockSignals(True)
        self.clear()
        self.items.clear()
        self.ready.clear()
        for name in methods.names():
            m = methods.create(name)
            self.ready[name] = m.ready
            mark, tip = checkpoint_mark(m)
            self.marks[name] = mark
            text = f"{m.title or name} {'—' if not m.ready else '·'} {mark}" if mark else (m.title or name)
            item = QListWidgetItem(swatch(style.method_color(name), m.ready), text)
            item.setData(Qt.ItemDataRole.UserRole, name)
            if m.ready:
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked)
                item.setToolTip(f"{tip}\nTick to show its curve.")
            else:
                item.setFlags(Qt.ItemFlag.ItemIsUserCheckable)  # shown, not enabled: greyed
                item.setCheckState(Qt.CheckState.Unchecked)
                item.setToolTip(tip)
            self.addItem(item)
            self.items[name] = item
        self.set_hidden(hidden)
        self.blockSignals(False)
        self.set_extra(extra)

    def fit_width(self) -> None:
        """Ask for the width the longest entry needs, so the side panel gives it room (no elision,
        no sideways scrolling down to a 1024 px wide window)."""
        need = max((self.sizeHintForColumn(0), 0)) + 2 * self.frameWidth() + self.verticalScrollBar().sizeHint().width()
        self.setMinimumWidth(min(need, 260))
        # as tall as its entries (a short window scrolls it): no empty box at 1920x1080
        rows = max(1, self.count())
        self.setMaximumHeight(rows * max(self.sizeHintForRow(0), 1) + 2 * self.frameWidth() + 4)

    def set_extra(self, names: list[str]) -> None:
        """Curves that are no registered method (personalized ones), listed after the methods."""
        self.blockSignals(True)
        for n in [n for n in self.items if n not in self.ready]:
            self.takeItem(self.row(self.items.pop(n)))
        for n in names:
            item = QListWidgetItem(swatch(style.method_color(n)), f"{n} · yours")
            item.setData(Qt.ItemDataRole.UserRole, n)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(f"{n}: fitted on your keep/skip labels (Personalize)\nTick to show its curve.")
            self.addItem(item)
            self.items[n] = item
        self.blockSignals(False)
        self.fit_width()

    def _changed(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        self.visibilityChanged.emit(name, item.checkState() == Qt.CheckState.Checked)

    def is_visible(self, name: str) -> bool:
        item = self.items.get(name)
        return item is None or item.checkState() == Qt.CheckState.Checked

    def hidden(self) -> list[str]:
        return [n for n, ok in self.ready.items() if ok and not self.is_visible(n)]

    def set_hidden(self, names: list[str]) -> None:
        for n, item in self.items.items():
            if self.ready[n]:
                item.setCheckState(Qt.CheckState.Unchecked if n in names else Qt.CheckState.Checked)
