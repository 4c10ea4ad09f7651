"""The main window: its layout, menus and the wiring between the panels and the controllers
(summarize, labels, personalize, export, settings), each in its own module."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMainWindow, QMessageBox

from vsumgui.core.errors import VideoError, VsumError
from vsumgui.core.pipeline import Options, Summary
from vsumgui.core.select import Selection
from vsumgui.core.video import VideoInfo, probe
from vsumgui.ui import compat, layout, menus
from vsumgui.ui.exporting import Exporter
from vsumgui.ui.firstview import representative_time
from vsumgui.ui.labeling import Labels
from vsumgui.ui.library import Library
from vsumgui.ui.live import LiveCurves
from vsumgui.ui.personal import Personalizer
from vsumgui.ui.settings import Settings, open_name, settings  # noqa: F401  (settings: for callers)
from vsumgui.ui.style import fmt_fps, fmt_time, title
from vsumgui.ui.suggesting import Suggestions
from vsumgui.ui.summarizing import Summarizer

VIDEO_FILTER = ("Videos (*.mp4 *.m4v *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.wmv *.flv *.ts *.mts *.m2ts "
                "*.3gp *.ogv);;All files (*)")


def user_message(e: VsumError, path: Path) -> str:
    """One sentence for a file that cannot be opened."""
    cause = e.cause if isinstance(e, VideoError) else str(e)
    return f"Cannot open {path.name}: {cause.rstrip('.')}."


class MainWindow(QMainWindow):
    """The open video, its summary (never changed once built: a new curve makes a new Summary) and
    the shots chosen on it (`chosen`), shown by the panels."""

    summaryShown = Signal(object)  # the Summary, once curves, timeline and selection show it
    partialShown = Signal(object)  # a partial Summary (done < 1), once its curves and shots are drawn
    messageShown = Signal(str)

    def __init__(self, preview_backend: str | None = None) -> None:
        super().__init__()
        compat.install()  # PySide6 6.12.0 on Python 3.11: see compat.py
        self.path: Path | None = None
        self.info: VideoInfo | None = None
        self.summary: Summary | None = None
        self.chosen: Selection | None = None
        self.before: Summary | None = None  # the summary that partial curves replaced on screen
        self.trainer = None  # the Tools → Trainer… panel, made on first use
        self.last_message: QMessageBox | None = None
        self.setWindowTitle("vsumgui")
        self.setAcceptDrops(True)
        layout.build(self, preview_backend)
        self.prefs = Settings(self)
        self.labels = Labels(self.prefs.restore(), self)
        self.summarizer = Summarizer(self.run_panel, self)
        self.personalizer = Personalizer(self.labels, self.run_panel, self)
        self.exporter = Exporter(self)
        self.library = Library(self)  # File → Open Folder…
        self.suggestions = Suggestions(self)  # the shots to label next (Tab)
        self.live = LiveCurves(self)  # partial curves while Summarize runs
        self.profile_row.fill(self.labels.profiles(), self.labels.profile)
        self.empty.set_recent(self.prefs.recent_files())
        menus.build(self)
        self._connect()
        self._set_enabled()
        if self.labels.problem:
            self.message(self.labels.problem)

    # -- construction ---------------------------------------------------------------------
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
        self.profile_row.chosen.connect(self.labels.set_profile)
        self.labels.changed.connect(self._show_labels)
        self.labels.profileChanged.connect(self._on_profile)
        self.summarizer.summarized.connect(self._on_summarized)
        self.summarizer.partial.connect(self.live.show_partial)
        self.summarizer.dropped.connect(self.live.drop)
        self.summarizer.cached.connect(lambda: self.summary is None and self.summarize())
        self.personalizer.fitted.connect(self._on_personalized)
        self.personalizer.loaded.connect(self._on_profile_curve)
        for part in (self.labels, self.summarizer, self.personalizer):
            part.status.connect(self.statusBar().showMessage)
        for part in (self.labels, self.summarizer, self.personalizer, self.exporter):
            part.error.connect(self.message)
        for slot in (self.summarizer.summary, self.personalizer.slot):
            slot.changed.connect(self._set_enabled)

    def _set_enabled(self) -> None:
        busy = self.summarizer.busy or self.personalizer.busy  # a new summary would replace the one being fitted
        for widget in (self.summarize_action, self.run_panel.summarize_button):
            widget.setEnabled(self.path is not None and not busy)
        for widget in (self.cancel_action, self.run_panel.cancel_button):
            widget.setEnabled(busy)
        self.play_summary_action.setEnabled(bool(self.chosen and self.chosen.segments))
        for a in (self.keep_action, self.skip_action, self.clear_label_action):
            a.setEnabled(self.labels.can_label)
        self.undo_action.setEnabled(self.labels.can_label and bool(self.labels.undo_stack))
        for a in (self.export_labels_action, self.import_labels_action):
            a.setEnabled(self.labels.store is not None)
        can = self.personalizer.can_start() and not self.summarizer.busy
        self.personalize_button.setEnabled(can)
        self.personalize_action.setEnabled(can)
        self.profile_row.setEnabled(not self.personalizer.busy)  # the fit is for the profile it started with
        self.new_profile_action.setEnabled(not self.personalizer.busy)
        self.next_suggestion_action.setEnabled(bool(self.suggestions.shots))

    def message(self, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Warning, on_yes=None) -> QMessageBox:
        """A window-modal box that does not block the caller (so tests can read it); with `on_yes`,
        a Yes / No question."""
        buttons = QMessageBox.StandardButton
        box = QMessageBox(icon, "vsumgui", text, buttons.Ok if on_yes is None else buttons.Yes | buttons.No, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if on_yes is not None:
            box.button(buttons.Yes).clicked.connect(on_yes)
        box.open()
        self.last_message = box
        self.messageShown.emit(text)
        return box

    # -- opening --------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path = open_name(self, "Open a video", VIDEO_FILTER)
        if path:
            self.open_video(path)

    def open_video(self, path: str | Path) -> bool:
        """Load a video (preview, title, status line); a bad file shows one sentence and changes nothing."""
        path = Path(path).expanduser().absolute()  # recent files must work from any folder
        try:
            info = probe(path)
        except VsumError as e:
            self.message(user_message(e, path))
            if not path.exists():
                self.prefs.forget(path)
                self.empty.set_recent(self.prefs.recent_files())
            return False
        self.pages.setCurrentWidget(self.preview)
        self.summarizer.retire()
        self.personalizer.slot.retire()
        self.personalizer.curve.retire()
        self.suggestions.retire()
        self.path, self.summary, self.chosen, self.before = path, None, None, None
        self.labels.open(path)
        self.setWindowTitle(f"{path.name} — vsumgui")
        self._show_info(info)
        self.preview.load(path, info)
        self.curves.clear(info.duration)
        self.timeline.clear()
        self.selection.describe(None, info.duration)
        self.run_panel.show_state("Ready: press Summarize")
        self.prefs.remember(path)
        self._set_enabled()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        self.summarizer.check_cache(path, self._options())
        return True

    def _show_info(self, info: VideoInfo) -> None:
        self.info = info
        self.status_info.setText(f"{fmt_time(info.duration)} · {info.width}×{info.height} · {fmt_fps(info.fps)}")

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_video(files[0])

    # -- summary --------------------------------------------------------------------------
    @property
    def worker(self):
        """The running summarize job (None when idle)."""
        return self.summarizer.summary.job

    def _options(self) -> Options:
        return Options(ratio=self.selection.ratio, mode=self.selection.mode_name, fast=self.run_panel.quick.isChecked())

    def summarize(self) -> None:
        if self.path is not None and not self.summarizer.busy and not self.personalizer.busy:
            self.summarizer.start(self.path, self._options(), self.labels.profile)

    def cancel(self) -> None:
        self.personalizer.slot.cancel()
        self.summarizer.cancel()

    def _on_summarized(self, summary: Summary) -> None:
        self.before = None
        if summary.video != self.info:  # decoding corrected the container's length or frame count
            self._show_info(summary.video)
            self.preview.set_info(summary.video)
        self.show_summary(summary)

    def show_summary(self, summary: Summary, fresh: bool = True) -> None:
        """Show a summary of the open video: curves, breakdown, timeline, selection, labels.
        `fresh`: new shots (a summarize run); else the same shots with other curves."""
        self.summary = summary
        self.selection.set_methods(list(summary.scores))
        self.method_list.set_extra([n for n in summary.scores if n not in self.method_list.ready])
        visible = {n: self.method_list.is_visible(n) for n in summary.scores}
        # the breakdown follows the driver (set_selection in reselect)
        self.curves.set_summary(summary, visible, self.selection.driver_name)
        if fresh:
            self.timeline.set_shots(summary.shot_secs, summary.video.duration)
            self.timeline.set_scenes(summary.scenes)
            self.summarizer.start_thumbnails(self.path, summary, self.timeline.add_thumbnail)
            t = representative_time(summary, self.selection.driver_name)
            if t is not None and self.preview.position < 0.05 and not self.preview.playing:
                self.preview.seek(t)  # a frame that stands for the video, not a black first frame
        self.chosen = None
        self.labels.show(summary)  # labels, suggestions, and the selection honouring the labels
        self.summaryShown.emit(summary)

    def reselect(self) -> None:
        """The slider, mode or driver moved: select again (nothing above selection is recomputed)."""
        duration = self.info.duration if self.info else 0.0
        if self.summary is None:
            self.selection.describe(None, duration)
            return
        driver = self.selection.driver_name
        sel = self.summary.selector(driver).select(self.selection.ratio, self.selection.mode_name)
        sel, note = self.labels.honour(self.summary, sel)  # keep shots in, skip shots out, in every mode
        if note:
            self.statusBar().showMessage(note, 10000)
        self.timeline.shot_scores = self.summary.selector(sel.method).shot_scores
        self.chosen = sel
        compat.top_up()
        self.curves.set_selection(sel)  # the driver's curve drawn first, its breakdown below
        self.timeline.set_selection(sel)  # the pieces, exactly
        self.selection.describe(sel, duration)
        self._set_enabled()

    def show_export(self) -> None:
        self.exporter.show(self.summary, self.chosen)

    def play_summary(self) -> None:
        if self.chosen and self.chosen.segments:
            self.preview.play_segments(self.chosen.segments)

    def play_shot(self, index: int) -> None:
        if self.summary is not None and 0 <= index < len(self.summary.shot_secs):
            s, e = self.summary.shot_secs[index]
            self.preview.play_segments([(float(s), float(e))])

    # -- labels and personalization -------------------------------------------------------
    def current_shot(self) -> int | None:
        """The shot under the playhead (a click on the timeline moves the playhead there)."""
        return self.timeline.shot_of(self.timeline.position) if self.summary is not None else None

    def _show_labels(self) -> None:
        """The labels changed: marks and the summary honours them at once; suggestions follow (a job)."""
        self.timeline.set_labels(self.labels.shot_labels())
        self.suggestions.update()
        self.reselect()

    def _on_profile(self, name: str) -> None:
        self.profile_row.show_profile(name)
        self.prefs.set_profile(name)
        if self.summary is not None:  # a fine-tuned ViSP is a network pass: in a job
            self.personalizer.load(self.summary)

    def _on_profile_curve(self, profile: str, scores) -> None:
        if self.summary is not None:
            self.show_summary(self.personalizer.with_curve(self.summary, profile, scores), fresh=False)

    def _on_personalized(self, name: str, scores) -> None:
        """The new curve drives the summary; the previous driver stays one click away."""
        if self.summary is None:
            return
        self.show_summary(self.summary.with_scores({name: scores}), fresh=False)
        i = self.selection.driver.findData(name)
        if i >= 0:
            self.selection.driver.setCurrentIndex(i)

    def personalize(self) -> None:
        if self.summary is not None and not self.summarizer.busy:
            self.personalizer.start(self.summary, self.selection.driver_name)

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
        self.statusBar().showMessage(f"{title(method)} trained: {checkpoint}", 10000)
        if self.path is None:
            return
        self.message(f"{title(method)} has a new checkpoint. Summarize {self.path.name} again with it?",
                     QMessageBox.Icon.Question, on_yes=self.summarize)

    # -- closing --------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802
        self.prefs.save(self.labels.profile)
        self.summarizer.retire()
        self.personalizer.slot.retire()
        self.personalizer.curve.retire()
        self.suggestions.retire()
        if self.trainer is not None:
            self.trainer.stop()
            self.trainer.close()
        self.summarizer.stop()
        self.personalizer.slot.stop()
        self.personalizer.curve.stop()
        self.suggestions.stop()
        self.library.stop()
        self.preview.unload()
        self.labels.close()
        super().closeEvent(event)
