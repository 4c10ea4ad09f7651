"""The shots to label next (active learning): badged on the timeline, Tab visits them."""

from __future__ import annotations

from vsumgui.core import personalize as personal
from vsumgui.core.errors import VsumError


class Suggestions:
    """The window's suggested shots (`shots`), renewed when the labels change."""

    def __init__(self, window) -> None:
        self.window = window
        self.shots: list[int] = []  # the shots whose label would teach the profile's model most

    def update(self) -> None:
        """The 3 shots to label next, badged on the timeline (Tab goes to the next one)."""
        w = self.window
        self.shots = []
        if w.summary is not None and w.labels.can_label and w.labels.summary is w.summary:
            try:
                self.shots = personal.suggestions(w.summary, w.labels.profile, w.labels.store)
            except VsumError:  # a damaged labels file: no suggestions, labels still work
                pass
        w.timeline.set_suggestions(self.shots)

    def next(self) -> None:
        """Tab: the playhead to the middle of the next suggested shot (after the playhead, wrapping)."""
        w = self.window
        if not self.shots or w.summary is None:
            return
        mids = {i: float(w.summary.shot_secs[i].mean()) for i in self.shots}
        here = w.timeline.position
        later = sorted((t, i) for i, t in mids.items() if t > here + 1e-6)
        t, i = later[0] if later else min((t, i) for i, t in mids.items())
        w.timeline.set_position(t)
        w.preview.seek(t)
        w.statusBar().showMessage(f"Suggested shot {i + 1}: K keep, S skip (Tab: next suggestion)", 5000)
