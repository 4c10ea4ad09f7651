"""The main window: open a video, Summarize, curves, timeline, sparsity slider, preview."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QMainWindow, QMessageBox, \
    QPushButton, QSplitter, QVBoxLayout, QWidget

from vsumgui.core import personalize as personal
from vsumgui.core.errors import VideoError, VsumError
from vsumgui.core.labels import DEFAULT_PROFILE, KEEP, NAMES, SKIP, LabelStore
from vsumgui.core.pipeline import DEFAULT_MODE, Options, Summary
from vsumgui.core.video import VideoInfo, probe
from vsumgui.ui import compat, worker as workers
from vsumgui.ui.controls import RunPanel, SelectionPanel
from vsumgui.ui.plots import CurvesView, MethodList
from vsumgui.ui.preview import Preview
from vsumgui.ui.style import fmt_fps, fmt_time
from vsumgui.ui.timeline import Timeline

ORG = "vsumgui"
APP = "vsumgui"
MAX_RECENT = 10
CSV_FILTER = "CSV files (*.csv);;All files (*)"
VIDEO_FILTER = ("Videos (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.ts *.mts *.m2ts "
                "*.3gp *.ogv);;All files (*)")


def settings() -> QSettings:
    """The app's settings (on Linux: $XDG_CONFIG_HOME/vsumgui/vsumgui.conf)."""
    return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORG, APP)


def user_message(e: VsumError, path: Path) -> str:
    """One sentence for a file that cannot be opened."""
    cause = e.cause if isinstance(e, VideoError) else str(e)
    return f"Cannot open {path.name}: {cause.rstrip('.')}."


class MainWindow(QMainWindow):
    summaryShown = Signal(object)  # the Summary, once curves, timeline and selection show it
    messageShown = Signal(str)

    def __init__(self, preview_backend: str | None = None) -> None:
        super().__init__()
        compat.install()  # PySide6 6.12.0 on Python 3.11: see compat.py
        self.path: Path | None = None
        self.info: VideoInfo | None = None
        self.summary: Summary | None = None
        self.worker: workers.SummarizeWorker | None = None
        self.thumbs: workers.ThumbnailWorker | None = None
        self.checker: workers.CacheCheck | None = None
        self._retired: list = []  # cancelled workers whose threads are still finishing
        self.trainer = None  # the Tools → Trainer… panel, made on first use
        self.last_message: QMessageBox | None = None
        self._started = 0.0
        self.personalizer: workers.PersonalizeWorker | None = None
        self.undo_stack: list[tuple[str, float, float, int | None, str]] = []  # (video, start, end, before, path)
        try:
            self.labels: LabelStore | None = LabelStore()
        except VsumError as e:  # the window still summarizes without a labels database
            self.labels = None
            self._label_error = str(e)
        else:
            self._label_error = ""
        self.setWindowTitle("vsumgui")
        self.setAcceptDrops(True)

        # widgets
        self.preview = Preview(backend=preview_backend)
        self.run_panel = RunPanel()
        self.method_list = MethodList()
        self.selection = SelectionPanel()
        self.curves = CurvesView()
        self.timeline = Timeline()
        self.status_info = QLabel()
        self.profile_box = QComboBox()
        self.profile_box.setEditable(True)
        self.profile_box.setToolTip("Whose labels and personalized curve: type a new name to start a profile")
        self.personalize_button = QPushButton("Personalize")
        self.personalize_button.setToolTip("Fit a personal curve on your keep (K) / skip (S) labels "
                                           "(with ViSP driving, ViSP itself is fine-tuned)")
        self.statusBar().addPermanentWidget(self.status_info)

        methods_box = QGroupBox("Methods")
        QVBoxLayout(methods_box).addWidget(self.method_list)
        summary_box = QGroupBox("Summary")
        QVBoxLayout(summary_box).addWidget(self.selection)
        boxes = QHBoxLayout()
        boxes.addWidget(methods_box, 2)
        boxes.addWidget(summary_box, 3)
        side = QWidget()
        side_lay = QVBoxLayout(side)
        side_lay.setContentsMargins(0, 0, 0, 0)
        side_lay.addWidget(self.run_panel)
        label_row = QHBoxLayout()
        label_row.addWidget(QLabel("Profile"))
        label_row.addWidget(self.profile_box, 1)
        label_row.addWidget(self.personalize_button)
        side_lay.addLayout(label_row)
        side_lay.addLayout(boxes, 1)
        top = QWidget()
        top_lay = QHBoxLayout(top)
        top_lay.setContentsMargins(8, 8, 8, 4)
        top_lay.addWidget(self.preview, 5)
        top_lay.addWidget(side, 4)
        bottom = QWidget()
        bottom_lay = QVBoxLayout(bottom)
        bottom_lay.setContentsMargins(0, 0, 0, 4)
        bottom_lay.setSpacing(0)
        bottom_lay.addWidget(self.curves, 1)
        bottom_lay.addWidget(self.timeline)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self._make_actions()
        self._connect()
        self._restore()
        self._set_enabled()
        if self._label_error:
            self.message(f"Labels are off: {self._label_error.rstrip('.')}.")
        elif self.labels is not None and self.labels.recovered_from is not None:
            self.message(f"The labels file was damaged and was moved aside to {self.labels.recovered_from}.")

    # -- construction ---------------------------------------------------------------------
    def _make_actions(self) -> None:
        def action(text: str, slot, shortcut=None, tip: str = "") -> QAction:
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            self.addAction(a)  # shortcuts work wherever the focus is
            return a

        self.open_action = action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open, "Open a video file")
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.summarize_action = action("&Summarize", self.summarize, "Ctrl+R", "Score the video with every method")
        self.cancel_action = action("&Cancel", self.cancel, "Esc", "Stop the running summary")
        self.play_action = action("&Play / Pause", self.preview.toggle, "Space")
        self.play_summary_action = action("Play s&ummary", self.play_summary, "Ctrl+P",
                                          "Play only the chosen shots, in order")
        self.show_all_action = action("Show &whole video", self.curves.show_all, "Ctrl+0")
        self.keep_action = action("Mark shot &keep", lambda: self.label_current(KEEP), "K",
                                  "Label the shot under the playhead keep")
        self.skip_action = action("Mark shot &skip", lambda: self.label_current(SKIP), "S",
                                  "Label the shot under the playhead skip")
        self.clear_label_action = action("&Clear shot label", lambda: self.label_current(None), "C",
                                         "Remove the label of the shot under the playhead")
        self.undo_action = action("&Undo label", self.undo_label, QKeySequence.StandardKey.Undo,
                                  "Revert the last label change")
        self.personalize_action = action("&Personalize", self.personalize, "Ctrl+Shift+P",
                                         "Fit a personal curve on the profile's labels")
        self.export_action = action("E&xport summary…", self.show_export, "Ctrl+E",
                                    "Write clips, a summary video and edit lists")
        self.export_labels_action = action("&Export labels…", self.export_labels, None,
                                           "Write the profile's labels to a CSV file")
        self.import_labels_action = action("&Import labels…", self.import_labels, None,
                                           "Add labels from a CSV file to the profile")
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_labels_action)
        file_menu.addAction(self.import_labels_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Labels")
        for a in (self.keep_action, self.skip_action, self.clear_label_action, self.undo_action,
                  self.personalize_action):
            edit_menu.addAction(a)
        summary_menu = self.menuBar().addMenu("&Summary")
        for a in (self.summarize_action, self.cancel_action, self.play_summary_action):
            summary_menu.addAction(a)
        self.trainer_action = QAction("&Trainer…", self)
        self.trainer_action.setStatusTip("Pretrain a method on a folder of your videos")
        self.trainer_action.triggered.connect(self.show_trainer)
        tools_menu = self.menuBar().addMenu("&Tools")
        tools_menu.addAction(self.trainer_action)
        view_menu = self.menuBar().addMenu("&Playback")
        view_menu.addAction(self.play_action)
        view_menu.addAction(self.show_all_action)

    def _connect(self) -> None:
        self.run_panel.summarize_button.clicked.connect(self.summarize)
        self.run_panel.cancel_button.clicked.connect(self.cancel)
        self.selection.changed.connect(self.reselect)
        self.selection.playSummary.connect(self.play_summary)
        self.method_list.visibilityChanged.connect(self.curves.set_visible)
        self.preview.positionChanged.connect(self.curves.set_position)
        self.preview.positionChanged.connect(self.timeline.set_position)
        self.curves.seekRequested.connect(self.preview.seek)
        self.curves.rangeChanged.connect(self.timeline.set_view)
        self.curves.marginsChanged.connect(self.timeline.set_margins)
        self.timeline.seekRequested.connect(self.preview.seek)
        self.timeline.playShotRequested.connect(self.play_shot)
        self.personalize_button.clicked.connect(self.personalize)
        self.profile_box.activated.connect(lambda i: self.set_profile(self.profile_box.itemText(i)))
        self.profile_box.lineEdit().editingFinished.connect(lambda: self.set_profile(self.profile_box.currentText()))

    def _set_enabled(self) -> None:
        running = self.worker is not None
        busy = running or self.personalizer is not None  # a new summary would replace the one being fitted
        self.summarize_action.setEnabled(self.path is not None and not busy)
        self.run_panel.summarize_button.setEnabled(self.path is not None and not busy)
        self.cancel_action.setEnabled(busy)
        self.run_panel.cancel_button.setEnabled(busy)
        self.play_summary_action.setEnabled(bool(self.summary and self.summary.selection
                                                 and self.summary.selection.segments))
        can_label = self.summary is not None and self.labels is not None
        for a in (self.keep_action, self.skip_action, self.clear_label_action):
            a.setEnabled(can_label)
        self.undo_action.setEnabled(can_label and bool(self.undo_stack))
        for a in (self.export_labels_action, self.import_labels_action):
            a.setEnabled(self.labels is not None)
        can = can_label and self.personalizer is None and self.worker is None and bool(self.video_labels())
        self.personalize_button.setEnabled(can)
        self.personalize_action.setEnabled(can)

    # -- settings -------------------------------------------------------------------------
    def _restore(self) -> None:
        s = settings()
        geometry = s.value("geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        state = s.value("splitter")
        if state is None or not self.splitter.restoreState(state):
            self.splitter.setSizes([320, 420])
        self.selection.slider.setValue(int(s.value("ratio_percent", 15)))
        self.selection.set_mode(str(s.value("mode", DEFAULT_MODE)))
        self.run_panel.quick.setChecked(str(s.value("quick", "false")).lower() == "true")
        self.method_list.set_hidden(self._list(s.value("hidden_methods", [])))
        self.profile = str(s.value("profile", DEFAULT_PROFILE)) or DEFAULT_PROFILE
        names = self.labels.profiles() if self.labels is not None else [DEFAULT_PROFILE]
        self.profile_box.addItems(names if self.profile in names else [*names, self.profile])
        self.profile_box.setCurrentText(self.profile)

    @staticmethod
    def _list(value) -> list[str]:
        """QSettings gives a str for a one-item list and None for an empty one on some formats."""
        if value is None:
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def save_settings(self) -> None:
        s = settings()
        s.setValue("geometry", self.saveGeometry())
        s.setValue("splitter", self.splitter.saveState())
        s.setValue("ratio_percent", self.selection.slider.value())
        s.setValue("mode", self.selection.mode_name)
        s.setValue("quick", self.run_panel.quick.isChecked())
        s.setValue("hidden_methods", self.method_list.hidden())
        s.setValue("profile", self.profile)
        s.sync()

    def recent_files(self) -> list[str]:
        return self._list(settings().value("recent", []))

    def _remember(self, path: Path) -> None:
        s = settings()
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        s.setValue("recent", recent[:MAX_RECENT])
        s.setValue("last_dir", str(path.parent))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for i, p in enumerate(recent, 1):
            a = self.recent_menu.addAction(f"&{i % 10}  {Path(p).name}")
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda checked=False, p=p: self.open_video(p))
        if recent:
            self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear list")
        clear.setEnabled(bool(recent))
        clear.triggered.connect(lambda: settings().setValue("recent", []))

    # -- messages -------------------------------------------------------------------------
    def show_export(self) -> None:
        """Open the export dialog for the current selection (needs a summary)."""
        if self.summary is None or not self.summary.selection:
            self.message("Summarize the video first: there is nothing chosen to export yet.")
            return
        if not self.summary.selection.segments:  # a very short video: every shot is over the budget
            self.message(f"No shot fits in {self.summary.selection.ratio:.0%} of the video: "
                         "raise the summary length to choose one.")
            return
        from vsumgui.ui.export_dialog import ExportDialog

        folder = str(Path(self.summary.video.path).parent / f"{Path(self.summary.video.path).stem}-summary")
        self.export_dialog = ExportDialog(self.summary, folder, self)
        self.export_dialog.show()

    def message(self, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning) -> QMessageBox:
        """A window-modal box that does not block the caller (so tests can read it)."""
        box = QMessageBox(icon, "vsumgui", text, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_message = box
        self.messageShown.emit(text)
        return box

    # -- opening --------------------------------------------------------------------------
    def open_dialog(self) -> None:
        folder = str(settings().value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", folder, VIDEO_FILTER)
        if path:
            self.open_video(path)

    def open_video(self, path: str | Path) -> bool:
        """Load a video (preview, title, status line); a bad file shows one sentence and changes nothing."""
        path = Path(path).expanduser().absolute()  # recent files must work from any folder
        try:
            info = probe(path)
        except VsumError as e:
            self.message(user_message(e, path))
            if str(path) in self.recent_files() and not path.exists():
                settings().setValue("recent", [p for p in self.recent_files() if p != str(path)])
            return False
        self._stop_summary()
        self._stop_personalize()
        self._stop_thumbnails()
        self.path, self.info, self.summary = path, info, None
        self.undo_stack.clear()
        self.setWindowTitle(f"{path.name} — vsumgui")
        self.status_info.setText(f"{fmt_time(info.duration)} · {info.width}×{info.height} · {fmt_fps(info.fps)}")
        self.preview.load(path, info)
        self.curves.clear(info.duration)
        self.timeline.clear()
        self.selection.describe(None, info.duration)
        self.run_panel.show_state("Ready: press Summarize")
        self._remember(path)
        self._set_enabled()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        self._check_cache()
        return True

    def _check_cache(self) -> None:
        """Re-opened a summarized video? Then its curves come from the cache at once, unasked."""
        self._stop_check()
        c = workers.CacheCheck(self.path, self._options())
        c.finished.connect(self._on_cache_checked)
        self.checker = c
        workers.start(c)

    def _on_cache_checked(self, cached: bool) -> None:
        if self.checker is None or self.sender() is not self.checker:
            return
        self.checker = None
        if cached and self.summary is None and self.worker is None:
            self.summarize()

    def _stop_check(self) -> None:
        if self.checker is not None:
            self.checker.cancel()
            self._retired.append(self.checker)
            self.checker = None

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_video(files[0])

    # -- summarize ------------------------------------------------------------------------
    def summarize(self) -> None:
        if self.path is None or self.worker is not None or self.personalizer is not None:
            return
        w = workers.SummarizeWorker(self.path, self._options(), self.profile)
        w.progress.connect(self._on_progress)
        w.finished.connect(self._on_finished)
        w.failed.connect(self._on_failed)
        w.cancelled.connect(self._on_cancelled)
        w.done.connect(self._on_done)
        self.worker = w
        self._started = time.perf_counter()
        self.run_panel.running(True)
        self._set_enabled()
        workers.start(w)

    def _options(self) -> Options:
        return Options(ratio=self.selection.ratio, mode=self.selection.mode_name, fast=self.run_panel.quick.isChecked())

    def cancel(self) -> None:
        if self.personalizer is not None:
            self.personalizer.cancel()
        if self.worker is not None:
            self.worker.cancel()
            self.run_panel.cancel_button.setEnabled(False)
            self.run_panel.show_state("Cancelling…")

    def _current(self) -> bool:
        """True when the signal being handled comes from the running summary (not a replaced one)."""
        return self.worker is not None and self.sender() is self.worker

    def _on_progress(self, stage: str, frac: float) -> None:
        if self._current():
            self.run_panel.show_progress(stage, frac)

    def _on_finished(self, summary: Summary) -> None:
        if not self._current():
            return
        took = time.perf_counter() - self._started
        notes = ([self._quick_note(summary)] if summary.options.fast else []) + (
            ["features from the cache"] if summary.cache_hit else []) + summary.warnings + summary.notes
        tail = f" ({'; '.join(notes)})" if notes else ""
        # what could not be read stays on screen (issue 15: never a silent partial summary)
        self.statusBar().showMessage(f"Summarized in {took:.1f} s{tail}", 0 if summary.warnings else 10000)
        if summary.video != self.info:  # decoding corrected the container's length or frame count
            self.info = summary.video
            self.status_info.setText(f"{fmt_time(self.info.duration)} · {self.info.width}×{self.info.height} · "
                                     f"{fmt_fps(self.info.fps)}")
            self.preview.set_info(self.info)
        if self.sender().personal_error:
            self.statusBar().showMessage(f"Personal curve not applied: {self.sender().personal_error}", 10000)
        self.show_summary(summary)

    @staticmethod
    def _quick_note(summary: Summary) -> str:
        """How coarse a quick look is: shots can only start at the file's keyframes."""
        keys = len(np.unique(summary.features.picks))
        gap = summary.video.duration / max(1, keys)
        return f"quick look: {keys} keyframes, one every {gap:.1f} s" + (
            "; untick Quick look for finer shots" if gap > 2.0 else "")

    def show_summary(self, summary: Summary) -> None:
        """Show a summary of the open video: curves, breakdown, timeline, selection."""
        self.summary = summary
        self.selection.set_methods(list(summary.scores))
        self.method_list.set_extra([n for n in summary.scores if n not in self.method_list.ready])
        visible = {n: self.method_list.is_visible(n) for n in summary.scores}
        self.curves.set_summary(summary, visible, self._breakdown_method())
        sel = summary.select(self.selection.ratio, self.selection.mode_name, self.selection.driver_name)
        self.timeline.set_shots(summary.shot_secs, summary.video.duration, summary.selector(sel.method).shot_scores)
        self._show_labels()
        self._show_selection()
        self._start_thumbnails()
        n = len(summary.shot_secs)
        self.run_panel.show_state(f"Done: {n} shots, {len(summary.scores)} methods", full=True)
        self.summaryShown.emit(summary)

    def _on_failed(self, text: str) -> None:
        if self._current():
            self.run_panel.show_state("Failed")
            self.message(text)

    def _on_cancelled(self) -> None:
        if self._current():
            self.run_panel.show_state("Cancelled")
            self.statusBar().showMessage("Summarize cancelled; nothing was written", 5000)

    def _on_done(self) -> None:
        w = self.sender()
        if w is self.worker:
            self.worker = None
            self.run_panel.running(False)
            self._set_enabled()
        if w in self._retired:
            self._retired.remove(w)

    def _stop_summary(self) -> None:
        """Cancel a running summary without waiting; its late signals are ignored."""
        if self.worker is not None:
            self.worker.cancel()
            self._retired.append(self.worker)
            self.worker = None
            self.run_panel.running(False)

    # -- selection ------------------------------------------------------------------------
    def _breakdown_method(self) -> str | None:
        """The driving method when it has parts, else the first computed method with parts (CTVSUM)."""
        if self.summary is None:
            return None
        driver = self.selection.driver_name
        if driver in self.summary.scores and self.summary.scores[driver].components:
            return driver
        return next((n for n, ms in self.summary.scores.items() if ms.components), None)

    def reselect(self) -> None:
        """The slider, mode or driver moved: select again (nothing above selection is recomputed)."""
        if self.summary is None:
            self.selection.describe(None, self.info.duration if self.info else 0.0)
            return
        driver = self.selection.driver_name
        changed_driver = self.summary.selection is None or self.summary.selection.method != driver
        self.summary.select(self.selection.ratio, self.selection.mode_name, driver)
        if changed_driver:
            self.curves.set_breakdown(self.summary, self._breakdown_method())
            self.timeline.shot_scores = self.summary.selector(driver).shot_scores
        self._show_selection()

    def _show_selection(self) -> None:
        compat.top_up()
        sel = self.summary.selection if self.summary else None
        self.curves.set_selection(sel)
        self.timeline.set_chosen(sel.shots if sel else [])
        self.selection.describe(sel, self.info.duration if self.info else 0.0)
        self._set_enabled()

    # -- playback -------------------------------------------------------------------------
    def play_summary(self) -> None:
        if self.summary and self.summary.selection and self.summary.selection.segments:
            self.preview.play_segments(self.summary.selection.segments)

    def play_shot(self, index: int) -> None:
        if self.summary is not None and 0 <= index < len(self.summary.shot_secs):
            s, e = self.summary.shot_secs[index]
            self.preview.play_segments([(float(s), float(e))])

    # -- thumbnails -----------------------------------------------------------------------
    def _start_thumbnails(self) -> None:
        self._stop_thumbnails()
        if self.summary is None:
            return
        t = workers.ThumbnailWorker(self.path, self.summary.shot_secs)
        t.thumbnail.connect(self._on_thumbnail)
        t.done.connect(self._on_thumbs_done)
        self.thumbs = t
        workers.start(t)

    def _on_thumbnail(self, index: int, image) -> None:
        if self.thumbs is not None and self.sender() is self.thumbs:
            self.timeline.add_thumbnail(index, image)

    def _on_thumbs_done(self) -> None:
        w = self.sender()
        if w in self._retired:
            self._retired.remove(w)

    def _stop_thumbnails(self) -> None:
        if self.thumbs is not None:
            self.thumbs.cancel()
            self._retired.append(self.thumbs)
            self.thumbs = None

    # -- labels ---------------------------------------------------------------------------
    def video_labels(self) -> list:
        """The profile's labels of the summarized video."""
        if self.summary is None or self.labels is None:
            return []
        return self.labels.get(self.profile, self.summary.features.key)

    def shot_labels(self) -> dict[int, int]:
        """Label by shot index: a label belongs to the shot whose middle lies in its span."""
        if self.summary is None:
            return {}
        mids = np.asarray(self.summary.shot_secs, dtype=np.float64).mean(axis=1)
        out: dict[int, int] = {}
        for lb in self.video_labels():
            for i in np.flatnonzero((mids >= lb.start) & (mids < lb.end)).tolist():
                out[i] = lb.label
        return out

    def _show_labels(self) -> None:
        self.timeline.set_labels(self.shot_labels())
        self._set_enabled()

    def current_shot(self) -> int | None:
        """The shot under the playhead (a click on the timeline moves the playhead there)."""
        return self.timeline.shot_of(self.timeline.position) if self.summary is not None else None

    def label_current(self, label: int | None) -> None:
        i = self.current_shot()
        if i is not None:
            self.label_shot(i, label)

    def label_shot(self, index: int, label: int | None) -> None:
        """Mark shot `index` keep/skip (None clears), stored at once; the change can be undone."""
        if self.summary is None or self.labels is None:
            return
        key = self.summary.features.key
        start, end = (float(v) for v in self.summary.shot_secs[index])
        before = self.shot_labels().get(index)
        if before == label:
            return
        try:
            self._store_label(key, start, end, label)
        except VsumError as e:
            self.message(str(e))
            return
        self.undo_stack.append((key, start, end, before, str(self.path or "")))
        what = "cleared" if label is None else NAMES[label]
        self.statusBar().showMessage(f"Shot {index + 1} {what} (Ctrl+Z undoes)", 5000)
        self._show_labels()

    def _store_label(self, key: str, start: float, end: float, label: int | None) -> None:
        # a label from another shot segmentation may cover this shot: drop it so one label holds
        for lb in self.labels.get(self.profile, key):
            if lb.start <= (start + end) / 2 < lb.end:
                self.labels.clear(self.profile, key, lb.start, lb.end)
        if label is not None:
            self.labels.set(self.profile, key, start, end, label, str(self.path or ""))

    def undo_label(self) -> None:
        if not self.undo_stack or self.labels is None:
            return
        key, start, end, before, _ = self.undo_stack.pop()
        try:
            self._store_label(key, start, end, before)
        except VsumError as e:
            self.message(str(e))
            return
        self.statusBar().showMessage("Label change undone", 5000)
        self._show_labels()

    def set_profile(self, name: str) -> None:
        name = name.strip() or DEFAULT_PROFILE
        if name == self.profile:
            return
        self.profile = name
        if self.profile_box.findText(name) < 0:
            self.profile_box.addItem(name)
        self.profile_box.setCurrentText(name)
        settings().setValue("profile", name)
        self.undo_stack.clear()
        if self.summary is not None:
            self.summary = self._apply_personal(self.summary)
            self._refresh_curves()
        self._show_labels()

    def export_labels(self) -> None:
        if self.labels is None:
            return
        folder = str(settings().value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getSaveFileName(self, "Export labels", str(Path(folder) / f"labels-{self.profile}.csv"),
                                              CSV_FILTER)
        if path:
            self.export_labels_to(path)

    def export_labels_to(self, path: str | Path) -> int | None:
        try:
            n = self.labels.export_csv(self.profile, path)
        except VsumError as e:
            self.message(f"Cannot export the labels: {str(e).rstrip('.')}.")
            return None
        self.statusBar().showMessage(f"Exported {n} labels to {path}", 5000)
        return n

    def import_labels(self) -> None:
        if self.labels is None:
            return
        folder = str(settings().value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Import labels", folder, CSV_FILTER)
        if path:
            self.import_labels_from(path)

    def import_labels_from(self, path: str | Path) -> int | None:
        try:
            n = self.labels.import_csv(self.profile, path)
        except VsumError as e:
            self.message(f"Cannot import the labels: {str(e).rstrip('.')}.")
            return None
        self.statusBar().showMessage(f"Imported {n} labels into profile {self.profile}", 5000)
        self._show_labels()
        return n

    # -- personalization ------------------------------------------------------------------
    def _apply_personal(self, summary: Summary) -> Summary:
        """The summary with this profile's saved personal curve (if any) and no other profile's."""
        others = tuple(n for n in summary.scores
                       if n.startswith("personalized (") and n != personal.curve_name(self.profile))
        extra = {}
        try:
            mine = personal.personal_scores(summary, self.profile)
            if mine is not None:
                extra[personal.curve_name(self.profile)] = mine
        except VsumError as e:  # e.g. a head saved for other features: Personalize again replaces it
            self.statusBar().showMessage(f"Personal curve not applied: {e}", 10000)
        return summary.with_scores(extra, drop=others) if extra or others else summary

    def _refresh_curves(self) -> None:
        """Redraw every curve and the driver list after a curve was added, keeping the selection."""
        s = self.summary
        self.selection.set_methods(list(s.scores))
        self.method_list.set_extra([n for n in s.scores if n not in self.method_list.ready])
        visible = {n: self.method_list.is_visible(n) for n in s.scores}
        self.curves.set_summary(s, visible, self._breakdown_method())
        driver = self.selection.driver_name
        s.select(self.selection.ratio, self.selection.mode_name, driver)
        self.timeline.shot_scores = s.selector(driver).shot_scores
        self._show_selection()

    def personalize(self) -> None:
        if self.summary is None or self.labels is None or self.personalizer is not None or self.worker is not None:
            return
        base = self.selection.driver_name
        w = workers.PersonalizeWorker(self.summary, self.profile, self.labels,
                                      None if base is None or base.startswith("personalized") else base)
        w.progress.connect(self._on_personal_progress)
        w.finished.connect(self._on_personalized)
        w.failed.connect(self._on_personal_failed)
        w.cancelled.connect(self._on_personal_cancelled)
        w.done.connect(self._on_personal_done)
        self.personalizer = w
        self.run_panel.rank = -1
        self._set_enabled()
        workers.start(w)

    def _on_personal_cancelled(self) -> None:
        if self._mine():
            self.run_panel.show_state("Personalize cancelled")

    def _mine(self) -> bool:
        return self.personalizer is not None and self.sender() is self.personalizer

    def _on_personal_progress(self, stage: str, frac: float) -> None:
        if self._mine():
            self.run_panel.show_progress(stage, frac)

    def _on_personalized(self, result: tuple) -> None:
        if not self._mine() or self.summary is None:
            return
        name, scores = result
        self.summary = self.summary.with_scores({name: scores})
        self._refresh_curves()
        how = ("ViSP fine-tuned on your labels"
               if personal.saved(self.profile, self.summary.features.backbone)
               == personal.visp_path(self.profile, self.summary.features.backbone) else "fitted on your labels")
        self.run_panel.show_state(f"Personalized ({how}): curve “{name}” added", full=True)
        self.statusBar().showMessage(f"Curve {name} added: choose it under “Driven by” to select with it", 10000)
        self.summaryShown.emit(self.summary)

    def _on_personal_failed(self, text: str) -> None:
        if self._mine():
            self.run_panel.show_state("Personalize failed")
            self.message(text if text.endswith(".") else f"Cannot personalize: {text}.")

    def _on_personal_done(self) -> None:
        w = self.sender()
        if w is self.personalizer:
            self.personalizer = None
            self._set_enabled()
        if w in self._retired:
            self._retired.remove(w)

    def _stop_personalize(self) -> None:
        if self.personalizer is not None:
            self.personalizer.cancel()
            self._retired.append(self.personalizer)
            self.personalizer = None

    # -- trainer --------------------------------------------------------------------------
    def show_trainer(self):
        from vsumgui.ui.trainer_panel import TrainerPanel  # torch + trainer load on first use

        if self.trainer is None:
            self.trainer = TrainerPanel(self)
            self.trainer.trained.connect(self._on_trained)
            self.trainer.failed.connect(self.message)
        self.trainer.show()
        self.trainer.raise_()
        return self.trainer

    def _on_trained(self, method: str, checkpoint) -> None:
        """A new user checkpoint: the methods are created anew (it takes precedence); offer to re-summarize."""
        self.method_list.fill()
        self.statusBar().showMessage(f"{method} trained: {checkpoint}", 10000)
        if self.path is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "vsumgui",
                          f"{method} has a new checkpoint. Summarize {self.path.name} again with it?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.button(QMessageBox.StandardButton.Yes).clicked.connect(self.summarize)
        box.open()
        self.last_message = box

    # -- closing --------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_settings()
        self._stop_check()
        self._stop_summary()
        self._stop_personalize()
        self._stop_thumbnails()
        if self.trainer is not None:
            self.trainer.stop()
            self.trainer.close()
        for w in list(self._retired):
            workers.stop(w)
        self._retired.clear()
        self.preview.unload()
        if self.labels is not None:
            self.labels.close()
            self.labels = None
        super().closeEvent(event)
