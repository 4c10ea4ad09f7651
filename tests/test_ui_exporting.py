"""The export controller: one sentence when there is nothing to export; the dialog gets the window's
selection on a copy of the summary (the shown Summary is never changed)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from vsumgui.ui.exporting import Exporter


def test_nothing_to_export_is_said_and_the_dialog_gets_the_selection(qtbot, sample_summary):
    parent = QWidget()
    qtbot.addWidget(parent)
    ex = Exporter(parent)
    said: list[str] = []
    ex.error.connect(said.append)
    ex.show(None, None)
    assert said == ["Summarize the video first: there is nothing chosen to export yet."] and ex.dialog is None
    built = sample_summary.selection
    none = sample_summary.selector().select(0.001, "knapsack")  # no shot fits in 0.1 % of 30 s
    ex.show(sample_summary, none)
    assert said[1] == "No shot fits in 0% of the video: raise the summary length to choose one."
    chosen = sample_summary.selector().select(0.3, "topk")
    ex.show(sample_summary, chosen)
    assert ex.dialog.summary.selection is chosen and ex.dialog.summary.scores is sample_summary.scores
    assert sample_summary.selection is built
    assert ex.dialog.folder.text().endswith("big_buck_bunny_0_30-summary")
    ex.dialog.close()
