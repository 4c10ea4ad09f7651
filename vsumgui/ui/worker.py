"""Work off the GUI thread: the summarize pipeline, personalization and shot thumbnails, each in a QThread."""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QImage

from vsumgui.core.errors import Cancelled, VsumError, check_cancel
from vsumgui.core.labels import LabelStore
from vsumgui.core.personalize import curve_name, personal_scores, personalize
from vsumgui.core.pipeline import Options, Summary, summarize, summarized_before
from vsumgui.core.video import read_frame


def to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB array as a QImage that owns its pixels (safe to pass between threads)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def unexpected(what: str, e: BaseException) -> str:
    """One sentence for a bug; the traceback goes to stderr for a report, never to the user."""
    traceback.print_exception(type(e), e, e.__traceback__, file=sys.stderr)
    return f"{what} failed unexpectedly ({type(e).__name__}: {e})."


class Job(QObject):
    """One piece of long work for a QThread (see `start`): `work()` runs there, and the outcome
    comes back as exactly one of finished / failed (one sentence) / cancelled, then `done`."""

    progress = Signal(str, float)  # stage, fraction
    finished = Signal(object)  # what `work` returned
    failed = Signal(str)  # one sentence for the user
    cancelled = Signal()
    done = Signal()  # after any of the three above
    what = "The work"  # names the job in the sentence about an unexpected failure

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event = threading.Event()
        self.thread: QThread | None = None

    def cancel(self) -> None:
        self.cancel_event.set()

    def work(self) -> object:
        raise NotImplementedError

    def message(self, e: VsumError) -> str:
        return str(e)

    @Slot()
    def run(self) -> None:
        try:
            result = self.work()
        except Cancelled:
            self.cancelled.emit()
        except VsumError as e:
            self.failed.emit(self.message(e))
        except Exception as e:  # a bug: reported in one line, the window stays usable
            self.failed.emit(unexpected(self.what, e))
        else:
            self.finished.emit(result)
        self.done.emit()


class SummarizeWorker(Job):
    """Runs `pipeline.summarize` once, then adds the profile's saved personal curve (if any);
    finishes with the Summary. A personal model that does not fit leaves `personal_error`."""

    what = "Summarize"

    def __init__(self, path: str | Path, options: Options | None = None, profile: str | None = None) -> None:
        super().__init__()
        self.path = str(path)
        self.options = options or Options()
        self.profile = profile
        self.personal_error: str | None = None

    def work(self) -> Summary:
        summary = summarize(self.path, self.options, self.progress.emit, self.cancel_event)
        if self.profile is not None:
            try:  # a fine-tuned ViSP is a network pass: here, not on the GUI thread
                mine = personal_scores(summary, self.profile)
                if mine is not None:
                    summary = summary.with_scores({curve_name(self.profile): mine})
            except VsumError as e:  # e.g. a head saved for other features: Personalize again replaces it
                self.personal_error = str(e)
        check_cancel(self.cancel_event)  # cancelled after the last check: drop the result
        return summary


class CacheCheck(Job):
    """Whether a video's features are cached (reading the file for its key is disk work)."""

    what = "The cache check"

    def __init__(self, path: str | Path, options: Options) -> None:
        super().__init__()
        self.path, self.options = str(path), options

    def work(self) -> bool:
        return summarized_before(self.path, self.options)


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


class ThumbnailWorker(QObject):
    """Decodes one small frame from the middle of each shot, in shot order."""

    thumbnail = Signal(int, QImage)
    done = Signal()

    def __init__(self, path: str | Path, shot_secs: np.ndarray, height: int = 72) -> None:
        super().__init__()
        self.path = str(path)
        self.shot_secs = np.asarray(shot_secs, dtype=np.float64)
        self.height = height
        self.cancel_event = threading.Event()
        self.thread: QThread | None = None

    def cancel(self) -> None:
        self.cancel_event.set()

    @Slot()
    def run(self) -> None:
        try:
            for i, (s, e) in enumerate(self.shot_secs):
                if self.cancel_event.is_set():
                    break
                rgb = read_frame(self.path, (s + e) / 2)
                if rgb is None:
                    continue
                h, w = rgb.shape[:2]
                size = (max(1, round(w * self.height / h)), self.height)
                self.thumbnail.emit(i, to_qimage(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)))
        except VsumError:
            pass  # the file went away: the timeline keeps plain blocks
        except Exception as e:
            unexpected("Thumbnails", e)
        self.done.emit()


class _Reaper(QObject):
    """Holds each worker and its thread until the thread has really ended.

    A QThread destroyed while running aborts the process, and Python would destroy it as soon
    as the window drops its worker; this owner lets go only after `finished` (and a wait).
    """

    def __init__(self) -> None:
        super().__init__()
        self.running: dict[QThread, QObject] = {}

    @Slot()
    def reap(self) -> None:
        thread = self.sender()
        if isinstance(thread, QThread):
            thread.wait()
            self.running.pop(thread, None)


_reaper: _Reaper | None = None


def start(worker: QObject) -> QThread:
    """Move `worker` to a new thread and run it; the thread ends when the worker is done.

    Call from the GUI thread.
    """
    global _reaper
    if _reaper is None:
        _reaper = _Reaper()
    thread = QThread()
    worker.thread = thread
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # direct: quit is thread-safe, and a GUI thread blocked in `stop` could not deliver a queued one
    worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(_reaper.reap)
    _reaper.running[thread] = worker
    thread.start()
    return thread


def running() -> int:
    """How many worker threads have not been reaped yet."""
    return len(_reaper.running) if _reaper else 0


def stop(worker: QObject | None, wait_ms: int = 10000) -> None:
    """Cancel a worker and wait for its thread (closing the window)."""
    if worker is None or worker.thread is None:
        return
    worker.cancel()
    worker.thread.wait(wait_ms)
