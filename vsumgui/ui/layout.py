"""The main window's layout: preview (or the empty state) and side panel above, curves and
timeline below, in a vertical splitter. `build` makes the panels as attributes of the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from vsumgui.ui.controls import ProfileRow, RunPanel, SelectionPanel
from vsumgui.ui.firstview import EmptyState
from vsumgui.ui.methodlist import MethodList
from vsumgui.ui.plots import CurvesView
from vsumgui.ui.preview import Preview
from vsumgui.ui.timeline import Timeline


def build(window, preview_backend: str | None) -> None:
    """Make the window's panels (`preview`, `run_panel`, `method_list`, `selection`, `curves`,
    `timeline`, `profile_row`, `empty`, `pages`, `splitter`, ...) and lay them out."""
    window.preview = Preview(backend=preview_backend)
    window.run_panel = RunPanel()
    window.method_list = MethodList()
    window.selection = SelectionPanel()
    window.curves = CurvesView()
    window.timeline = Timeline()
    window.status_info = QLabel()
    window.profile_row = profile_row = ProfileRow()
    window.profile_box, window.personalize_button = profile_row.box, profile_row.personalize_button
    window.statusBar().addPermanentWidget(window.status_info)
    boxes = QHBoxLayout()
    for name, widget, stretch in (("Methods", window.method_list, 2), ("Summary", window.selection, 3)):
        box = QGroupBox(name)
        box_lay = QVBoxLayout(box)
        box_lay.addWidget(widget)
        box_lay.addStretch(1)
        boxes.addWidget(box, stretch)
    side = QWidget()
    side_lay = QVBoxLayout(side)
    side_lay.setContentsMargins(0, 0, 0, 0)
    side_lay.addWidget(window.run_panel)
    side_lay.addWidget(profile_row)
    side_lay.addLayout(boxes)
    side_lay.addStretch(1)  # a tall window leaves room below the boxes, not empty space inside them
    top = QWidget()
    top_lay = QHBoxLayout(top)
    top_lay.setContentsMargins(8, 8, 8, 4)
    # before a video is open the preview's place says "Open a video or drop it here" and lists
    # the recent files; the panels stay where they are (settings can be made before opening)
    window.empty = EmptyState()
    window.empty.openRequested.connect(window.open_dialog)
    window.empty.fileChosen.connect(window.open_video)
    window.pages = QStackedWidget()
    window.pages.addWidget(window.empty)
    window.pages.addWidget(window.preview)
    top_lay.addWidget(window.pages, 5)
    top_lay.addWidget(side, 4)
    bottom = QWidget()
    bottom_lay = QVBoxLayout(bottom)
    bottom_lay.setContentsMargins(0, 0, 0, 4)
    bottom_lay.setSpacing(0)
    bottom_lay.addWidget(window.curves, 4)
    bottom_lay.addWidget(window.timeline, 1)  # the shot strip grows with the window (56-180 px)
    window.splitter = QSplitter(Qt.Orientation.Vertical)
    window.splitter.addWidget(top)
    window.splitter.addWidget(bottom)
    window.splitter.setStretchFactor(0, 4)
    window.splitter.setStretchFactor(1, 5)
    window.splitter.setChildrenCollapsible(False)
    window.setCentralWidget(window.splitter)
