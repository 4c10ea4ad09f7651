"""The personalize controller on the summarized sample: a fitted curve comes back, the Summary it was
given is not changed, and a saved curve is put on a summary for its profile only."""

from __future__ import annotations

import numpy as np

from vsumgui.core.labels import KEEP, SKIP
from vsumgui.core.personalize import curve_name
from vsumgui.ui.controls import RunPanel
from vsumgui.ui.labeling import Labels
from vsumgui.ui.personal import Personalizer


def test_fit_then_apply_for_the_profile_only(tmp_path, monkeypatch, sample_summary, qtbot):
    monkeypatch.setenv("VSUMGUI_DATA_DIR", str(tmp_path / "data"))
    labels = Labels("ann")
    labels.open(sample_summary.video.path)
    labels.show(sample_summary)
    panel = RunPanel()
    qtbot.addWidget(panel)
    p = Personalizer(labels, panel)
    assert not p.can_start()  # nothing labelled
    for shot, label in ((0, KEEP), (1, SKIP), (2, KEEP)):
        labels.label_shot(shot, label)
    assert p.can_start()
    with qtbot.waitSignal(p.fitted, timeout=120_000) as sig:
        p.start(sample_summary, "ctvsum")
    name, scores = sig.args
    assert name == curve_name("ann") and scores.scores.shape == sample_summary.times.shape
    assert name not in sample_summary.scores  # the summary given is left as it is
    assert "fitted on your labels" in panel.status.text()  # the sentence line under the bar
    qtbot.waitUntil(lambda: not p.busy)

    other = sample_summary.with_scores({curve_name("bob"): scores})
    mine = p.with_saved(other)
    assert curve_name("bob") not in mine.scores and curve_name("bob") in other.scores
    np.testing.assert_allclose(mine.scores[name].scores, scores.scores, atol=1e-6)
    labels.set_profile("carl")  # no saved curve: nothing added, the others' dropped
    assert set(p.with_saved(mine).scores) == set(sample_summary.scores)
    labels.close()
