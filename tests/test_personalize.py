"""Personalization: a few keep/skip labels on the real sample move the scores their way."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from vsumgui.core import personalize as pers
from vsumgui.core.errors import VsumError
from vsumgui.core.labels import KEEP, SKIP, LabelStore
from vsumgui.core.methods import minmax
from vsumgui.core.pipeline import summarize


def shot_ranks(summary, scores: np.ndarray) -> np.ndarray:
    """Each shot's mean score as a percentile among shots (0 worst, 1 best)."""
    means = np.array([scores[a:b].mean() for a, b in summary.shot_idx])
    return (rankdata(means) - 1) / max(1, len(means) - 1)


def test_personalize_moves_keep_up_and_skip_down(sample_summary, tmp_path, shared_data):
    s = sample_summary
    base = minmax(s.scores["ctvsum"].scores)
    before = shot_ranks(s, base)
    order = np.argsort(before)
    keep, skip = list(order[:3]), list(order[-2:])  # the shots the method likes least / most
    with LabelStore(tmp_path / "labels.sqlite") as store:
        for i in keep:
            store.set("ann", s.features.key, *s.shot_secs[i], KEEP)
        for i in skip:
            store.set("ann", s.features.key, *s.shot_secs[i], SKIP)
        got = pers.personalize(s, "ann", store, base="ctvsum")
    name = pers.curve_name("ann")
    assert name in s.scores and len(got.scores) == len(s.times) and np.isfinite(got.scores).all()
    after = shot_ranks(s, got.scores)
    assert after[keep].mean() > before[keep].mean() + 0.3
    assert after[skip].mean() < before[skip].mean() - 0.3
    sel = s.select(0.3, "knapsack", name)
    assert set(keep) & set(sel.shots) and not set(skip) & set(sel.shots)
    # the saved head scores the person's next video, which has no labels
    other = summarize(shared_data / "videos" / "friday_cc0.mp4")
    again = pers.personal_scores(other, "ann")
    assert again is not None and len(again.scores) == len(other.times)
    assert pers.curve_name("ann") in other.scores


def test_personalize_without_labels_says_so(sample_summary, tmp_path):
    with LabelStore(tmp_path / "empty.sqlite") as store, pytest.raises(VsumError, match="mark a few shots"):
        pers.personalize(sample_summary, "nobody", store)
    assert pers.personal_scores(sample_summary, "nobody") is None


def test_targets_cover_labelled_spans():
    times = np.arange(10) / 2.0
    y = pers.targets(times, 5.0, [(1.0, 2.0, KEEP), (4.0, 5.0, SKIP)])
    assert list(np.nan_to_num(y, nan=-1)) == [-1, -1, 1, 1, -1, -1, -1, -1, 0, 0]
