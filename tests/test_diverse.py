"""Issue: the diverse selection mode covers every part of the video."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vsumgui.cli import main
from vsumgui.core.select import Selector
from vsumgui.core.shots import shot_times


def clustered(sizes: list[int], shot_len: int = 4, seed: int = 0):
    """Samples in k well-separated clusters (scenes) of unequal sizes, shots of `shot_len` samples;
    the biggest scene is also the most 'important' one, which is what lures knapsack."""
    rng = np.random.default_rng(seed)
    centers = np.eye(len(sizes), 64) * 10
    feats, scores, labels = [], [], []
    for k, n in enumerate(sizes):
        feats.append(centers[k] + rng.normal(scale=0.3, size=(n * shot_len, 64)))
        scores.append(np.full(n * shot_len, 1.0 if k == 0 else 0.3) + rng.random(n * shot_len) * 0.05)
        labels += [k] * n
    x = np.concatenate(feats)
    t = len(x)
    bounds = np.arange(0, t + 1, shot_len)
    idx = np.stack([bounds[:-1], bounds[1:]], 1)
    times = np.arange(t) / 2.0
    secs = shot_times(idx, times, t / 2.0)
    return Selector(np.concatenate(scores), idx, secs, times, t / 2.0, "test", features=x), np.array(labels)


def test_diverse_covers_every_cluster_knapsack_does_not():
    sizes = [30, 3, 2, 5, 1]
    sel, labels = clustered(sizes)
    shot_secs = 2.0
    ratio = len(sizes) * shot_secs / sel.duration + 1e-9  # the budget fits exactly k shots
    div = sel.select(ratio, "diverse")
    knap = sel.select(ratio, "knapsack")
    assert set(labels[div.shots]) == set(range(len(sizes)))
    assert len(set(labels[knap.shots])) < len(sizes)
    for s in (div, knap):
        assert s.duration <= ratio * sel.duration + 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_diverse_budget_order_and_determinism(seed):
    rng = np.random.default_rng(seed)
    sizes, shot_len = list(rng.integers(1, 20, 6)), int(rng.integers(2, 8))
    sel, _ = clustered(sizes, shot_len, seed)
    again, _ = clustered(sizes, shot_len, seed)
    for ratio in (0.01, 0.1, 0.15, 0.25, 0.5, 1.0):
        a = sel.select(ratio, "diverse")
        assert a.duration <= ratio * sel.duration + 1e-9
        assert a.segments == sorted(a.segments)
        assert all(x[1] < y[0] for x, y in zip(a.segments, a.segments[1:]))
        assert again.select(ratio, "diverse").shots == a.shots


def test_diverse_from_cli(sample_video, tmp_path):
    out = tmp_path / "d.json"
    assert main(["summarize", str(sample_video), "--mode", "diverse", "--json", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    assert doc["selection"]["mode"] == "diverse"
    segs = doc["selection"]["segments"]
    assert sum(e - s for s, e in segs) <= 0.15 * doc["video"]["duration"] + 1e-6
