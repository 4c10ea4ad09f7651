"""What the window shows before a video is open, and the frame it shows once one is summarized."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from vsumgui.core import paths
from vsumgui.ui import style

MAX_SHOWN = 6  # recent files listed in the empty state


def sample_video() -> Path | None:
    """The bundled sample, when this installation has it."""
    found = sorted((paths.resources_dir() / "sample").glob("*.webm"))
    return found[0] if found else None


def representative_time(summary, driver: str | None = None) -> float | None:
    """The middle of the top-scored shot of the driving method: the preview's first frame after a
    summary (a video that starts on black otherwise shows black until a shot is clicked)."""
    if summary is None or not len(summary.shot_secs):
        return None
    name = driver if driver in summary.scores else next(iter(summary.scores), None)
    if name is None:
        return None
    scores = np.asarray(summary.selector(name).shot_scores, dtype=np.float64)
    s, e = summary.shot_secs[int(np.argmax(scores))]
    return float(s + e) / 2


class EmptyState(QWidget):
    """"Open a video or drop it here", an Open button, the recent files and the sample video."""

    openRequested = Signal()
    fileChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        title = QLabel("Open a video or drop it here")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        title.setFont(font)
        hint = QLabel("Then press Summarize: every method scores it, the timeline shows the pieces chosen, "
                      "and the Length slider makes the summary shorter or longer.")
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet(f"color: {style.NOTE};")
        self.open_button = QPushButton("Open a video…")
        self.open_button.setToolTip("Ctrl+O")
        self.open_button.clicked.connect(self.openRequested)
        self.sample_button = QPushButton("Try the sample video")
        self.sample_button.setFlat(True)
        self.sample_button.setStyleSheet("color: #0072B2; text-decoration: underline;")
        self.sample_button.clicked.connect(self._open_sample)
        self.sample_button.setVisible(sample_video() is not None)
        self.recent_title = QLabel("Recent")
        self.recent_title.setStyleSheet(f"color: {style.NOTE};")
        self.recent = QListWidget()
        self.recent.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.recent.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.recent.setMinimumWidth(360)  # a name and its folder read in one line
        self.recent.setMaximumWidth(520)
        self.recent.itemClicked.connect(lambda item: self.fileChosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        lay.addWidget(title)
        lay.addWidget(hint)
        lay.addSpacing(8)
        lay.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.sample_button, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(8)
        lay.addWidget(self.recent_title, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.recent, 1, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(3)
        self.set_recent([])

    def set_recent(self, files: list[str]) -> None:
        """The recent files that still exist, newest first (at most MAX_SHOWN)."""
        shown = [f for f in files if Path(f).is_file()][:MAX_SHOWN]
        self.recent.clear()
        for f in shown:
            item = QListWidgetItem(f"{Path(f).name}  —  {Path(f).parent.name}")
            item.setData(Qt.ItemDataRole.UserRole, f)
            item.setToolTip(f)
            self.recent.addItem(item)
        self.recent_title.setVisible(bool(shown))
        self.recent.setVisible(bool(shown))
        rows = max(1, len(shown))
        self.recent.setFixedHeight(self.recent.sizeHintForRow(0) * rows + 2 * self.recent.frameWidth() + 4
                                   if shown else 0)

    def _open_sample(self) -> None:
        path = sample_video()
        if path is not None:
            self.fileChosen.emit(str(path))
