"""Curves that grow while Summarize runs: each partial summary is drawn, never kept; a cancelled
or failed run brings back what was shown before it."""

from __future__ import annotations

from vsumgui.core.pipeline import Summary


class LiveCurves:
    """Draws the summarizer's partial summaries on the window's curves, timeline and selection."""

    def __init__(self, window) -> None:
        self.window = window

    def show_partial(self, summary: Summary) -> None:
        """Draw a partial summary (curves, shots and selection so far) while Summarize runs. It never
        becomes `summary`: labels and export wait for the final one, and Cancel brings back what
        was shown before (see `drop`)."""
        w = self.window
        if w.summary is not None:
            w.before, w.summary, w.chosen = w.summary, None, None
            w.labels.show(None)
        w.summarizer.thumbnails.retire()  # thumbnails are for the final shots
        visible = {n: w.method_list.is_visible(n) for n in summary.scores}
        w.curves.set_summary(summary, visible, w.selection.driver_name)
        w.curves.set_selection(summary.selection)  # its method becomes the driver, as in reselect
        w.timeline.set_shots(summary.shot_secs, w.curves.duration)
        w.timeline.set_chosen(summary.selection.shots if summary.selection else [])
        w.partialShown.emit(summary)

    def drop(self) -> None:
        """The run was cancelled or failed: no curve of it stays; the summary before it comes back."""
        w = self.window
        before, w.before = w.before, None
        if before is not None:
            w.show_summary(before)
        elif w.summary is None:
            w.curves.clear(w.info.duration if w.info else 0.0)
            w.timeline.clear()
            w.selection.describe(None, w.info.duration if w.info else 0.0)
