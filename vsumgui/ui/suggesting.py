"""The shots to label next (active learning): badged on the timeline, Tab visits them."""

from __future__ import annotations

from vsumgui.ui.jobs import JobSlot
from vsumgui.ui.worker import SuggestWorker


class Suggestions:
    """The window's suggested shots (`shots`), renewed in a job when the labels change."""

    def __init__(self, window) -> None:
        self.window = window
        self.shots: list[int] = []  # the shots whose label would teach the profile's model most
        self.of: tuple | None = None  # (summary, profile) the shots were suggested for
        self.slot = JobSlot(window)  # one current job: a newer label change retires the older one

    def update(self) -> None:
        """The 3 shots to label next, computed in a job, then badged on the timeline (Tab goes to
        the next one). Until then the shots just labelled lose their badge; a job started by an
        older change says nothing more (`JobSlot`)."""
        w = self.window
        if w.summary is not None and w.labels.can_label and w.labels.summary is w.summary:
            of = (w.summary, w.labels.profile)
            self.slot.start(SuggestWorker(w.summary, w.labels.profile, w.labels.store),
                            finished=lambda shots: self._show(shots, of), failed=lambda _text: self._show([], of))
            labelled = set(w.timeline.labels)
            # shots of another summary (a re-summary numbers its shots anew) or profile: none till the job ends
            same = self.of is not None and self.of[0] is of[0] and self.of[1] == of[1]
            self._show([i for i in self.shots if i not in labelled] if same else [], of)
        else:
            self.slot.retire()
            self._show([], None)

    def _show(self, shots: list[int], of: tuple | None) -> None:
        w = self.window
        self.shots, self.of = list(shots), of
        w.timeline.set_suggestions(self.shots)
        w.next_suggestion_action.setEnabled(bool(self.shots))

    def retire(self) -> None:
        """Another video (or none): no suggestion of the previous one arrives later."""
        self.slot.retire()
        self.shots, self.of = [], None

    def stop(self) -> None:
        """The window is closing: cancel and wait for the job."""
        self.slot.stop()

    def next(self) -> None:
        """Tab: the playhead to the middle of the next suggested shot (after the playhead, wrapping)."""
        w = self.window
        if not self.shots or w.summary is None or self.of is None or self.of[0] is not w.summary:
            return
        mids = {i: float(w.summary.shot_secs[i].mean()) for i in self.shots}
        here = w.timeline.position
        later = sorted((t, i) for i, t in mids.items() if t > here + 1e-6)
        t, i = later[0] if later else min((t, i) for i, t in mids.items())
        w.timeline.set_position(t)
        w.preview.seek(t)
        w.statusBar().showMessage(f"Suggested shot {i + 1}: K keep, S skip (Tab: next suggestion)", 5000)
