"""File → Open Folder…: the videos of a folder as a library list (name, length, status, summary
length, chosen-shot thumbnails), summarized by `vsumgui batch`'s runner as a background job with
progress and Cancel; a double-click opens a video, whose cached summary then shows at once.

Choice: the library's outputs and job list go to the user's data folder
(`library/<folder name>-<hash of its path>`), not into the video folder, which may be read-only
or belong to someone else; `vsumgui batch FOLDER --out THAT` continues the same job list."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from vsumgui.core import batch
from vsumgui.core.errors import Cancelled
from vsumgui.ui.jobs import Job, JobSlot

COLUMNS = ("Name", "Length", "Status", "Summary", "Chosen shots")
STATES = {"done": "summarized", "failed": "failed", "pending": "not done", None: "not done"}


def _clock(t: float | None) -> str:
    if t is None:
        return ""
    t = int(round(t))
    return f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"


class ScanJob(Job):
    """The folder's videos (found by probing) with what the job list knows of each."""

    what = "Reading the folder"

    def __init__(self, folder: Path, out: Path) -> None:
        super().__init__()
        self.folder, self.out = folder, out

    def work(self) -> list[dict]:
        return batch.library(self.folder, self.out)


class BatchJob(Job):
    """`batch.run` on the folder: a LocalCluster of worker processes, as `vsumgui batch` does."""

    what = "Summarizing the folder"
    status = Signal(object)  # a copy of batch.Status, at most a few times a second

    def __init__(self, folder: Path, out: Path, options: batch.BatchOptions, workers: int | None) -> None:
        super().__init__()
        self.folder, self.out, self.options, self.workers = folder, out, options, workers

    def work(self) -> batch.Outcome:
        res = batch.run([self.folder], self.out, self.options, workers=self.workers,
                        progress=lambda s: self.status.emit(dataclasses.replace(s, workers=dict(s.workers))),
                        cancel=self.cancel_event)
        if res.cancelled:
            raise Cancelled()
        return res


class LibraryPanel(QWidget):
    """The list and its controls; `Library` drives it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder_label = QLabel("No folder")
        self.run_button = QPushButton("Summarize all")
        self.cancel_button = QPushButton("Cancel")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Double-click a video to open it")
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.folder_label)
        lay.addLayout(row)
        lay.addWidget(self.state)
        lay.addWidget(self.table, 1)

    def show_rows(self, rows: list[dict]) -> None:
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            summary = "" if r.get("summary") is None else f"{_clock(r['summary'])} ({r['segments']} shots)"
            status = STATES.get(r.get("state"), r.get("state") or "not done")
            cells = (Path(r["path"]).name, _clock(r.get("duration")), status, summary)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, r["path"])
                if j == 2 and r.get("reason"):
                    item.setToolTip(r["reason"])
                    item.setText(f"failed: {r['reason']}")
                self.table.setItem(i, j, item)
            pix = QPixmap()
            label = QLabel()
            if r.get("thumbs") and pix.loadFromData(bytes(r["thumbs"])):
                label.setPixmap(pix.scaledToHeight(40, Qt.TransformationMode.SmoothTransformation))
            self.table.setCellWidget(i, len(COLUMNS) - 1, label)
            self.table.setRowHeight(i, 44)
        self.table.resizeColumnsToContents()


class Library(QObject):
    """Controller: open a folder, list it, run and cancel its batch, open a video on double-click."""

    opened = Signal(str)  # the folder listed
    listed = Signal()  # the list was (re)filled

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.folder: Path | None = None
        self.out: Path | None = None
        self.rows: list[dict] = []
        self.options = batch.BatchOptions()  # the window's ratio, mode and quick look are added at start
        self.workers: int | None = None
        self.note = ""  # how the last run ended, kept under the counts when the list is refreshed
        self.panel = LibraryPanel()
        self.dock: QDockWidget | None = None
        self.scan = JobSlot(self)
        self.run_slot = JobSlot(self)
        self.panel.run_button.clicked.connect(self.start)
        self.panel.cancel_button.clicked.connect(self.cancel)
        self.panel.table.cellDoubleClicked.connect(self._open_row)
        self.run_slot.changed.connect(self._set_enabled)
        self._set_enabled()

    @property
    def busy(self) -> bool:
        return self.run_slot.busy

    def open_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open a folder of videos")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> None:
        """Show the library of `folder` (a running batch of another folder is cancelled)."""
        self.run_slot.retire()
        self.folder = Path(folder).expanduser().absolute()
        self.note = ""
        self.out = batch.library_folder(self.folder)
        if self.dock is None:
            self.dock = QDockWidget("Library", self.window)
            self.dock.setObjectName("library")
            self.dock.setWidget(self.panel)
            self.window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.dock.show()
        self.panel.folder_label.setText(str(self.folder))
        self.panel.state.setText("Reading the folder…")
        self.panel.table.setRowCount(0)
        self.opened.emit(str(self.folder))
        self.refresh()

    def refresh(self) -> None:
        if self.folder is not None:
            self.scan.start(ScanJob(self.folder, self.out), finished=self._listed, failed=self._failed)

    def _listed(self, rows: list[dict]) -> None:
        self.rows = rows
        self.panel.show_rows(rows)
        if not self.busy:
            done = sum(r.get("state") == "done" for r in rows)
            failed = sum(r.get("state") == "failed" for r in rows)
            self.panel.state.setText(f"{len(rows)} videos: {done} summarized, {failed} failed"
                                     + (f". {self.note}" if self.note else ""))
        self._set_enabled()
        self.listed.emit()

    def start(self) -> None:
        """Summarize every video not done yet, in the background."""
        if self.folder is None or self.busy:
            return
        o = self.window._options()
        opts = dataclasses.replace(self.options, ratio=o.ratio, mode=o.mode, fast=o.fast)
        self.note = ""
        self.panel.progress.setValue(0)
        self.panel.state.setText("Starting the workers…")
        self.run_slot.start(BatchJob(self.folder, self.out, opts, self.workers), status=self._status,
                            finished=self._finished, failed=self._failed, cancelled=self._cancelled)

    def cancel(self) -> None:
        if self.busy:
            self.panel.state.setText("Stopping: the running videos stop at their next step…")
            self.run_slot.cancel()

    def stop(self) -> None:
        """The window is closing: cancel and wait."""
        self.scan.stop()
        self.run_slot.stop()

    def _status(self, s: batch.Status) -> None:
        self.panel.progress.setValue(int(s.fraction * 1000))
        eta = "" if s.eta is None else f", about {_clock(s.eta)} left"
        workers = "; ".join(f"worker {w}: {x}" for w, x in sorted(s.workers.items()))
        self.panel.state.setText(f"{s.done} of {s.todo} videos{f', {s.failed} failed' if s.failed else ''}{eta}"
                                 + (f"\n{workers}" if workers else ""))
        if s.done != getattr(self, "_shown_done", -1):
            self._shown_done = s.done
            self.refresh()

    def _finished(self, res: batch.Outcome) -> None:
        self.panel.progress.setValue(1000)
        self.window.statusBar().showMessage(
            f"Library: {res.done} summarized, {res.skipped} done before, {len(res.failed)} failed "
            f"in {res.seconds:.0f} s", 10000)
        self.refresh()

    def _failed(self, text: str) -> None:
        self.panel.state.setText(text)
        self.window.message(text)

    def _cancelled(self) -> None:
        self.note = "Cancelled: press Summarize all to go on"
        self.panel.state.setText(self.note)
        self.refresh()

    def _open_row(self, row: int, _col: int) -> None:
        item = self.panel.table.item(row, 0)
        if item is not None:
            self.window.open_video(item.data(Qt.ItemDataRole.UserRole))

    def _set_enabled(self) -> None:
        self.panel.run_button.setEnabled(self.folder is not None and not self.busy)
        self.panel.cancel_button.setEnabled(self.busy)
