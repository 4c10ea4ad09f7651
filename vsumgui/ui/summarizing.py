"""Summarize in the background: the summary job, the cache check on opening, shot thumbnails."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from vsumgui.core.pipeline import Options, Summary
from vsumgui.ui import worker as workers
from vsumgui.ui.controls import RunPanel
from vsumgui.ui.jobs import JobSlot


def quick_note(summary: Summary) -> str:
    """How coarse a quick look is: shots can only start at the file's keyframes."""
    keys = len(np.unique(summary.features.picks))
    gap = summary.video.duration / max(1, keys)
    return f"quick look: {keys} keyframes, one every {gap:.1f} s" + (
        "; untick Quick look for finer shots" if gap > 2.0 else "")


class Summarizer(QObject):
    """Runs `pipeline.summarize` for the window (progress on the run panel) and says `summarized`
    with the Summary; a re-opened video whose features are cached is summarized unasked (`cached`).
    While it runs, `partial` says each partial summary (every few seconds); `dropped` ends a run
    that finished with none."""

    summarized = Signal(object)  # Summary
    partial = Signal(object)  # a partial Summary (done < 1) of the running job: to draw, never to keep
    dropped = Signal()  # the running job was cancelled or failed: what its partials drew must go
    cached = Signal()  # the opened video's features are in the cache
    status = Signal(str, int)
    error = Signal(str)

    def __init__(self, run_panel: RunPanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run_panel = run_panel
        self.summary = JobSlot(self)
        self.check = JobSlot(self)
        self.thumbnails = JobSlot(self)
        self.summary.changed.connect(lambda: self.run_panel.running(self.summary.busy))
        self._started = 0.0

    @property
    def busy(self) -> bool:
        return self.summary.busy

    def start(self, path: Path, options: Options, profile: str) -> None:
        self._started = time.perf_counter()
        self.summary.start(workers.SummarizeWorker(path, options, profile), progress=self.run_panel.show_progress,
                           finished=self._finished, failed=self._failed, cancelled=self._cancelled,
                           partial=self._partial)

    def cancel(self) -> None:
        if self.summary.busy:
            self.summary.cancel()
            self.run_panel.cancel_button.setEnabled(False)
            self.run_panel.show_state("Cancelling…")

    def check_cache(self, path: Path, options: Options) -> None:
        """Re-opened a summarized video? Then its curves come from the cache at once."""
        self.check.start(workers.CacheCheck(path, options), finished=lambda hit: hit and self.cached.emit())

    def start_thumbnails(self, path: Path, summary: Summary, show) -> None:
        """Decode a small frame per shot; `show(index, QImage)` as each one comes."""
        self.thumbnails.start(workers.ThumbnailWorker(path, summary.shot_secs), thumbnail=show)

    def retire(self) -> None:
        """Another video: what runs for the last one is cancelled and its late signals ignored."""
        for slot in (self.summary, self.check, self.thumbnails):
            slot.retire()

    def stop(self) -> None:
        self.retire()
        for slot in (self.summary, self.check, self.thumbnails):
            slot.stop()

    def _finished(self, summary: Summary) -> None:
        took = time.perf_counter() - self._started
        notes = ([quick_note(summary)] if summary.options.fast else []) + (
            ["features from the cache"] if summary.cache_hit else []) + summary.warnings + summary.notes
        tail = f" ({'; '.join(notes)})" if notes else ""
        # what could not be read stays on screen (issue 15: never a silent partial summary)
        self.status.emit(f"Summarized in {took:.1f} s{tail}", 0 if summary.warnings else 10000)
        if self.summary.job.personal_error:
            self.status.emit(f"Personal curve not applied: {self.summary.job.personal_error}", 10000)
        self.run_panel.show_state(f"Done: {len(summary.shot_secs)} shots, {len(summary.scores)} methods", full=True)
        self.summarized.emit(summary)

    def _partial(self, summary: Summary) -> None:
        job = self.summary.job
        if job is not None and not job.cancel_event.is_set():  # Cancel pressed: its partials are late
            self.partial.emit(summary)

    def _failed(self, text: str) -> None:
        self.run_panel.show_state("Failed")
        self.dropped.emit()
        self.error.emit(text)

    def _cancelled(self) -> None:
        self.run_panel.show_state("Cancelled")
        self.dropped.emit()
        self.status.emit("Summarize cancelled; nothing was written", 5000)
