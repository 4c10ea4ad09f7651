"""Personalize: fit a profile's curve on its labels in a background job; put a saved one on a summary."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from vsumgui.core import personalize as personal
from vsumgui.core.errors import VsumError
from vsumgui.core.methods import MethodScores
from vsumgui.core.pipeline import Summary
from vsumgui.ui.controls import RunPanel
from vsumgui.ui.jobs import JobSlot
from vsumgui.ui.labeling import Labels
from vsumgui.ui.worker import PersonalizeWorker

PREFIX = "personalized ("  # every profile's curve name starts so (personalize.curve_name)


class Personalizer(QObject):
    """Runs Personalize for the labels' profile and says when its curve is ready (`fitted`);
    the window makes the new Summary. Progress and outcome show on the run panel."""

    fitted = Signal(str, object)  # curve name, MethodScores
    status = Signal(str, int)
    error = Signal(str)

    def __init__(self, labels: Labels, run_panel: RunPanel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.labels, self.run_panel = labels, run_panel
        self.slot = JobSlot(self)

    @property
    def busy(self) -> bool:
        return self.slot.busy

    def can_start(self) -> bool:
        return self.labels.can_label and not self.busy and bool(self.labels.video_labels())

    def start(self, summary: Summary, driver: str | None) -> None:
        """Fit on the profile's labels; the driving curve is the base unless it is itself personal."""
        if self.labels.store is None or self.busy:
            return
        base = None if driver is None or driver.startswith("personalized") else driver
        self.run_panel.begin("personalizing")  # its 0 % at once: the first report comes seconds later
        self.slot.start(PersonalizeWorker(summary, self.labels.profile, self.labels.store, base),
                        progress=self.run_panel.show_progress, finished=self._finished, failed=self._failed,
                        cancelled=lambda: self.run_panel.show_state("Personalize cancelled"))

    def _finished(self, result: tuple[str, MethodScores]) -> None:
        name, scores = result
        backbone = self.labels.summary.features.backbone if self.labels.summary else ""
        fine_tuned = personal.saved(self.labels.profile, backbone) == personal.visp_path(self.labels.profile, backbone)
        how = "ViSP fine-tuned on your labels" if fine_tuned else "fitted on your labels"
        self.run_panel.show_state(f"Personalized ({how}): curve “{name}” added", full=True)
        self.status.emit(f"Curve {name} added: choose it under “Driven by” to select with it", 10000)
        self.fitted.emit(name, scores)

    def _failed(self, text: str) -> None:
        self.run_panel.show_state("Personalize failed")
        self.error.emit(text if text.endswith(".") else f"Cannot personalize: {text}.")

    def with_saved(self, summary: Summary) -> Summary:
        """The summary with the profile's saved personal curve (if any) and no other profile's.

        A fine-tuned ViSP is a network pass: a summary made by the summarize job already has it."""
        mine = personal.curve_name(self.labels.profile)
        others = tuple(n for n in summary.scores if n.startswith(PREFIX) and n != mine)
        extra = {}
        try:
            scores = personal.personal_scores(summary, self.labels.profile)
            if scores is not None:
                extra[mine] = scores
        except VsumError as e:  # e.g. a head saved for other features: Personalize again replaces it
            self.status.emit(f"Personal curve not applied: {e}", 10000)
        return summary.with_scores(extra, drop=others) if extra or others else summary
