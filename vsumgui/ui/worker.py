"""The window's background jobs: the summarize pipeline, the cache check, personalization, the
shots to label next and shot thumbnails (the machinery they run on is in jobs.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage

from vsumgui.core.errors import Cancelled, VsumError, check_cancel
from vsumgui.core.labels import LabelStore
from vsumgui.core.nn import few_threads
from vsumgui.core.personalize import THREADS, curve_name, personal_scores, personalize, suggestions
from vsumgui.core.pipeline import Options, Summary, summarize, features_cached
from vsumgui.core.video import read_frame
from vsumgui.ui.jobs import Job, running, start, stop, unexpected  # noqa: F401  (the names callers know)


def to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB array as a QImage that owns its pixels (safe to pass between threads)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class SummarizeWorker(Job):
    """Runs `pipeline.summarize` once, then adds the profile's saved personal curve (if any);
    finishes with the Summary. A personal model that does not fit leaves `personal_error`.
    `partial` carries the partial summaries (`Summary.done` < 1) made while the features are
    extracted (from the pipeline's own thread; Qt queues them to the GUI thread)."""

    partial = Signal(object)  # Summary with done < 1
    what = "Summarize"

    def __init__(self, path: str | Path, options: Options | None = None, profile: str | None = None) -> None:
        super().__init__()
        self.path = str(path)
        self.options = options or Options()
        self.profile = profile
        self.personal_error: str | None = None

    def work(self) -> Summary:
        summary = summarize(self.path, self.options, self.progress.emit, self.cancel_event, self._partial)
        if self.profile is not None:
            try:  # a fine-tuned ViSP is a network pass: here, not on the GUI thread
                mine = personal_scores(summary, self.profile)
                if mine is not None:
                    summary = summary.with_scores({curve_name(self.profile): mine})
            except VsumError as e:  # e.g. a head saved for other features: Personalize again replaces it
                self.personal_error = str(e)
        check_cancel(self.cancel_event)  # cancelled after the last check: drop the result
        return summary

    def _partial(self, summary: Summary) -> None:
        if not self.cancel_event.is_set():  # a cancelled run shows nothing more
            self.partial.emit(summary)


class CacheCheck(Job):
    """Whether a video's features are cached (reading the file for its key is disk work)."""

    what = "The cache check"

    def __init__(self, path: str | Path, options: Options) -> None:
        super().__init__()
        self.path, self.options = str(path), options

    def work(self) -> bool:
        return features_cached(self.path, self.options)


class PersonalizeWorker(Job):
    """Runs `personalize.personalize` once; finishes with (the new curve's name, its scores)."""

    what = "Personalize"

    def __init__(self, summary: Summary, profile: str, store: LabelStore, base: str | None = None) -> None:
        super().__init__()
        self.summary, self.profile, self.store, self.base = summary, profile, store, base

    def work(self) -> tuple:
        scores = personalize(self.summary, self.profile, self.store, self.base, self.progress.emit,
                             self.cancel_event)
        return curve_name(self.profile), scores


class ProfileCurveWorker(Job):
    """A profile's saved personal curve on a summary (a fine-tuned ViSP is a network pass);
    finishes with (profile, scores or None when it has none, a sentence when it does not fit)."""

    what = "Loading the profile's curve"

    def __init__(self, summary: Summary, profile: str) -> None:
        super().__init__()
        self.summary, self.profile = summary, profile

    def work(self) -> tuple:
        try:
            return self.profile, personal_scores(self.summary, self.profile), None
        except VsumError as e:  # e.g. a head saved for other features: Personalize again replaces it
            return self.profile, None, str(e)


class SuggestWorker(Job):
    """`personalize.suggestions` for the labels as they are now; finishes with the shot indices
    (none when the profile's model or the labels file cannot be read: labels still work)."""

    what = "Suggesting shots to label"

    def __init__(self, summary: Summary, profile: str, store: LabelStore) -> None:
        super().__init__()
        self.summary, self.profile, self.store = summary, profile, store

    def work(self) -> list[int]:
        check_cancel(self.cancel_event)  # superseded by a newer label change before it began
        try:
            with few_threads(THREADS):  # a small computation beside the GUI (see personalize.THREADS)
                shots = suggestions(self.summary, self.profile, self.store)
        except VsumError:  # a damaged labels file: no suggestions, labels still work
            shots = []
        check_cancel(self.cancel_event)
        return shots


class ThumbnailWorker(Job):
    """Decodes one small frame from the middle of each shot, in shot order."""

    thumbnail = Signal(int, QImage)
    what = "Thumbnails"

    def __init__(self, path: str | Path, shot_secs: np.ndarray, height: int = 72) -> None:
        super().__init__()
        self.path = str(path)
        self.shot_secs = np.asarray(shot_secs, dtype=np.float64)
        self.height = height

    def work(self) -> None:
        try:
            for i, (s, e) in enumerate(self.shot_secs):
                check_cancel(self.cancel_event)
                rgb = read_frame(self.path, (s + e) / 2)
                if rgb is None:
                    continue
                h, w = rgb.shape[:2]
                size = (max(1, round(w * self.height / h)), self.height)
                self.thumbnail.emit(i, to_qimage(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)))
        except Cancelled:
            raise
        except VsumError:
            pass  # the file went away: the timeline keeps plain blocks
