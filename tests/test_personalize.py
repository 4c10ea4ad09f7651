"""Personalization: a few keep/skip labels on the real sample move the scores their way."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

import threading

import torch

from vsumgui.core import checkpoints, methods, personalize as pers
from vsumgui.core.errors import Cancelled, VsumError
from vsumgui.core.labels import KEEP, SKIP, LabelStore
from vsumgui.core.methods import minmax
from vsumgui.core.pipeline import summarize


def shot_ranks(summary, scores: np.ndarray) -> np.ndarray:
    """Each shot's mean score as a percentile among shots (0 worst, 1 best)."""
    means = np.array([scores[a:b].mean() for a, b in summary.shot_idx])
    return (rankdata(means) - 1) / max(1, len(means) - 1)


def test_personalize_moves_keep_up_and_skip_down(sample_summary, tmp_path, media_dir):
    s = summarize(sample_summary.video.path)  # a cache hit; the shared summary stays as the pipeline made it
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
    assert name not in s.scores, "personalize must not change the summary it was given"
    assert len(got.scores) == len(s.times) and np.isfinite(got.scores).all()
    s = s.with_scores({name: got})
    after = shot_ranks(s, got.scores)
    assert after[keep].mean() > before[keep].mean() + 0.3
    assert after[skip].mean() < before[skip].mean() - 0.3
    sel = s.select(0.3, "knapsack", name)
    assert set(keep) & set(sel.shots) and not set(skip) & set(sel.shots)
    # the saved head scores the person's next video, which has no labels
    other = summarize(media_dir / "friday_cc0.mp4")
    again = pers.personal_scores(other, "ann")
    assert again is not None and len(again.scores) == len(other.times)
    assert pers.curve_name("ann") not in other.scores
    assert pers.saved("ann", s.features.backbone) == pers.head_path("ann", s.features.backbone)


def test_personalize_visp_finetunes_the_model_itself(sample_summary, tmp_path, media_dir):
    """ViSP with a checkpoint: its own model is fine-tuned (Eq. 11 + regulariser), saved per
    profile as a ViSP checkpoint, and scores the next video; a head fit replaces it."""
    s = summarize(sample_summary.video.path)
    bb = s.features.backbone
    pretrained = pers.visp_checkpoint(s)
    assert pretrained is not None and "visp" in s.scores
    before = shot_ranks(s, s.scores["visp"].scores)
    order = np.argsort(before)
    keep, skip = [int(i) for i in order[:2]], [int(order[-1])]  # three labels against the method's ranking
    with LabelStore(tmp_path / "labels.sqlite") as store:
        for i in keep:
            store.set("vi", s.features.key, *s.shot_secs[i], KEEP)
        store.set("vi", s.features.key, *s.shot_secs[skip[0]], SKIP)
        stop = threading.Event()
        stop.set()
        with pytest.raises(Cancelled):  # cancelled: nothing saved
            pers.personalize(s, "vi", store, base="visp", cancel=stop)
        assert pers.saved("vi", bb) is None
        threads, during = torch.get_num_threads(), set()
        got = pers.personalize(s, "vi", store, base="visp", threads=1,
                               progress=lambda *_: during.add(torch.get_num_threads()))
        assert during == {1} and torch.get_num_threads() == threads  # one thread for the fit, then restored
        after = shot_ranks(s, got.scores)
        assert all(after[i] > before[i] for i in keep) and after[skip[0]] < before[skip[0]], (before, after)
        assert pers.curve_name("vi") not in s.scores and np.isfinite(got.scores).all()

        # saved per profile as a ViSP checkpoint (weights_only load): the summarizer moved, E did not
        path = pers.saved("vi", bb)
        assert path == pers.visp_path("vi", bb) and not pers.head_path("vi", bb).exists()
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left
        ck, base_ck = checkpoints.load(path), checkpoints.load(pretrained)
        assert ck.method == "visp" and ck.header["personalized"]["profile"] == "vi"
        assert ck.header["personalized"]["labels"] == 3
        assert not torch.equal(ck.model["head.weight"], base_ck.model["head.weight"])
        assert torch.equal(ck.model["cls"], base_ck.model["cls"])
        np.testing.assert_allclose(methods.create("visp", path).score(s.features.features, bb).scores,
                                   got.scores, atol=1e-6)

        # it scores the person's next video (no labels there), unlike the pretrained model
        other = summarize(media_dir / "friday_cc0.mp4")
        again = pers.personal_scores(other, "vi")
        assert again is not None and len(again.scores) == len(other.times)
        assert not np.allclose(again.scores, other.scores["visp"].scores, atol=1e-3)

        # the head path for another method: it replaces the profile's ViSP model
        head = pers.personalize(s, "vi", store, base="ctvsum")
        assert pers.saved("vi", bb) == pers.head_path("vi", bb) and not path.exists()
        np.testing.assert_allclose(pers.personal_scores(s, "vi").scores, head.scores, atol=1e-6)


def test_personalize_without_labels_says_so(sample_summary, tmp_path):
    with LabelStore(tmp_path / "empty.sqlite") as store, pytest.raises(VsumError, match="mark a few shots"):
        pers.personalize(sample_summary, "nobody", store)
    assert pers.personal_scores(sample_summary, "nobody") is None


def test_targets_cover_labelled_spans():
    times = np.arange(10) / 2.0
    y = pers.targets(times, 5.0, [(1.0, 2.0, KEEP), (4.0, 5.0, SKIP)])
    assert list(np.nan_to_num(y, nan=-1)) == [-1, -1, 1, 1, -1, -1, -1, -1, 0, 0]
