"""Keep / skip labels of the shown video's shots: stored at once (SQLite), undo, profiles and CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from vsumgui.core import personalize as personal
from vsumgui.core.errors import VsumError
from vsumgui.core.labels import DEFAULT_PROFILE, NAMES, Label, LabelStore
from vsumgui.core.pipeline import Summary
from vsumgui.core.select import Selection
from vsumgui.ui.settings import open_name, save_name

CSV_FILTER = "CSV files (*.csv);;All files (*)"


class Labels(QObject):
    """The labels of one profile on the summarized video, with an undo history for the session.

    Without a labels database (`store` None, `problem` says why) the window still summarizes.
    """

    changed = Signal()  # the video's labels, the undo history or the profile changed
    profileChanged = Signal(str)
    status = Signal(str, int)  # a line for the status bar, how long (ms)
    error = Signal(str)  # one sentence for a message box

    def __init__(self, profile: str = DEFAULT_PROFILE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.summary: Summary | None = None
        self.path = ""  # the video's file, stored beside each label for the user's CSV
        self.undo_stack: list[tuple[str, float, float, int | None, str]] = []  # (video, start, end, before, path)
        self.problem = ""
        try:
            self.store: LabelStore | None = LabelStore()
        except VsumError as e:
            self.store = None
            self.problem = f"Labels are off: {str(e).rstrip('.')}."
        else:
            if self.store.recovered_from is not None:
                self.problem = f"The labels file was damaged and was moved aside to {self.store.recovered_from}."

    # -- what is shown --------------------------------------------------------------------
    def open(self, path: Path) -> None:
        """A new video: no summary yet, and no undo across videos."""
        self.path, self.summary = str(path), None
        self.undo_stack.clear()
        self.changed.emit()

    def show(self, summary: Summary | None) -> None:
        self.summary = summary
        self.changed.emit()

    @property
    def can_label(self) -> bool:
        return self.summary is not None and self.store is not None

    def profiles(self) -> list[str]:
        """The profiles with labels, and the current one."""
        names = self.store.profiles() if self.store is not None else [DEFAULT_PROFILE]
        return names if self.profile in names else [*names, self.profile]

    def honour(self, summary: Summary, sel: Selection) -> tuple[Selection, str | None]:
        """`sel` (a selection on `summary`) with the profile's keep shots of the video in and its
        skip shots out while the budget allows; a sentence when the budget does not allow."""
        if self.store is None:
            return sel, None
        try:
            labels = self.store.get(self.profile, summary.features.key)
        except VsumError:
            return sel, None
        return personal.honour_labels(summary, sel, labels)

    def video_labels(self) -> list[Label]:
        """The profile's labels of the summarized video."""
        if not self.can_label:
            return []
        return self.store.get(self.profile, self.summary.features.key)

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

    # -- changes --------------------------------------------------------------------------
    def label_shot(self, index: int | None, label: int | None) -> None:
        """Mark shot `index` keep/skip (None clears), stored at once; the change can be undone."""
        if index is None or not self.can_label:
            return
        key = self.summary.features.key
        start, end = (float(v) for v in self.summary.shot_secs[index])
        before = self.shot_labels().get(index)
        if before == label or not self._store(key, start, end, label):
            return
        self.undo_stack.append((key, start, end, before, self.path))
        what = "cleared" if label is None else NAMES[label]
        self.status.emit(f"Shot {index + 1} {what} (Ctrl+Z undoes)", 5000)
        self.changed.emit()

    def undo(self) -> None:
        """Revert the last label change."""
        if not self.undo_stack or self.store is None:
            return
        key, start, end, before, _ = self.undo_stack.pop()
        if self._store(key, start, end, before):
            self.status.emit("Label change undone", 5000)
        self.changed.emit()

    def _store(self, key: str, start: float, end: float, label: int | None) -> bool:
        try:
            # a label from another shot segmentation may cover this shot: drop it so one label holds
            for lb in self.store.get(self.profile, key):
                if lb.start <= (start + end) / 2 < lb.end:
                    self.store.clear(self.profile, key, lb.start, lb.end)
            if label is not None:
                self.store.set(self.profile, key, start, end, label, self.path)
        except VsumError as e:
            self.error.emit(str(e))
            return False
        return True

    def set_profile(self, name: str) -> None:
        """Label as another person (a new name starts a profile); the undo history is per profile."""
        name = name.strip() or DEFAULT_PROFILE
        if name == self.profile:
            return
        self.profile = name
        self.undo_stack.clear()
        self.profileChanged.emit(name)
        self.changed.emit()

    # -- CSV ------------------------------------------------------------------------------
    def export_to(self, path: str | Path) -> int | None:
        """Write the profile's labels to a CSV file; the count, or None (said why)."""
        n = self._csv("export", path)
        if n is not None:
            self.status.emit(f"Exported {n} labels to {path}", 5000)
        return n

    def import_from(self, path: str | Path) -> int | None:
        """Add the labels of a CSV file to the profile; the count, or None (said why)."""
        n = self._csv("import", path)
        if n is not None:
            self.status.emit(f"Imported {n} labels into profile {self.profile}", 5000)
            self.changed.emit()
        return n

    def _csv(self, verb: str, path: str | Path) -> int | None:
        if self.store is None:
            return None
        try:
            return getattr(self.store, f"{verb}_csv")(self.profile, path)
        except VsumError as e:
            self.error.emit(f"Cannot {verb} the labels: {str(e).rstrip('.')}.")
            return None

    def export_dialog(self, parent: QWidget | None = None) -> None:
        """File → Export labels…"""
        path = save_name(parent, "Export labels", f"labels-{self.profile}.csv", CSV_FILTER)
        if path:
            self.export_to(path)

    def import_dialog(self, parent: QWidget | None = None) -> None:
        """File → Import labels…"""
        path = open_name(parent, "Import labels", CSV_FILTER)
        if path:
            self.import_from(path)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
