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


def with_scenes(sel: Selector) -> Selector:
    """The same selector, told the scenes that shots.scenes finds in its features."""
    from vsumgui.core.shots import scenes
    sc = scenes(sel.features, sel.shot_idx)
    spans = np.stack([sel.shot_idx[sc[:, 0], 0], sel.shot_idx[sc[:, 1] - 1, 1]], axis=1)
    return Selector(sel.scores, sel.shot_idx, sel.shot_secs, sel.times, sel.duration, "test",
                    features=sel.features, scenes=spans)


@pytest.mark.parametrize("seed", range(3))
def test_scenes_are_the_clusters(seed):
    from vsumgui.core.shots import scenes
    rng = np.random.default_rng(seed)
    sizes = [int(n) for n in rng.integers(1, 12, 7)]
    sel, labels = clustered(sizes, 4, seed)
    sc = scenes(sel.features, sel.shot_idx)
    assert sc[0, 0] == 0 and sc[-1, 1] == len(labels) and np.array_equal(sc[1:, 0], sc[:-1, 1])
    assert sc[:, 0].tolist() == np.flatnonzero(np.r_[True, np.diff(labels) != 0]).tolist()


def test_a_scene_like_an_earlier_one_still_gets_a_piece():
    """Issue 18: a short calm ending that looks like the long important opening is 'covered' through
    the opening by facility location alone; as a scene of its own it gets a piece (>= 1.5 s)."""
    rng = np.random.default_rng(0)
    a, b = np.eye(2, 64) * 10
    x = np.concatenate([a + rng.normal(scale=0.3, size=(120, 64)), b + rng.normal(scale=0.3, size=(40, 64)),
                        a + 0.2 * b + rng.normal(scale=0.3, size=(12, 64))])
    scores = np.concatenate([np.full(120, 1.0), np.full(40, 0.5), np.full(12, 0.1)]) + rng.random(len(x)) * 0.05
    bounds = np.arange(0, len(x) + 1, 4)
    idx = np.stack([bounds[:-1], bounds[1:]], 1)
    times = np.arange(len(x)) / 2.0
    plain = Selector(scores, idx, shot_times(idx, times, len(x) / 2.0), times, len(x) / 2.0, features=x)
    seeded = with_scenes(plain)
    ending = (160 / 2.0, len(x) / 2.0)

    def shown(segs):
        return sum(max(0.0, min(e, ending[1]) - max(s, ending[0])) for s, e in segs)

    for ratio in (0.06, 0.1, 0.15):
        assert shown(plain.select(ratio, "diverse").segments) == 0  # what the scenes fix
        got = seeded.select(ratio, "diverse")
        assert shown(got.segments) >= 1.5 - 1e-9 and got.duration <= ratio * plain.duration + 1e-9
    # too small for 1.5 s each: 1 s pieces, every scene still shown; smaller still: no flashes,
    # the scenes of most use first
    got = seeded.select(3.2 / plain.duration, "diverse")
    assert got.duration <= 3.2 + 1e-9
    for a, b in ((0, 60), (60, 80), (80, 86)):
        assert sum(max(0.0, min(e, b) - max(s, a)) for s, e in got.segments) >= 1.0 - 1e-9
    got = seeded.select(2.2 / plain.duration, "diverse")
    assert len(got.segments) == 2 and all(e - s >= 1.0 - 1e-9 for s, e in got.segments)


def test_scenes_in_the_json(sample_video, tmp_path):
    out = tmp_path / "s.json"
    assert main(["summarize", str(sample_video), "--method", "ctvsum", "--json", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    scenes, shots = doc["scenes"], doc["shots"]
    assert 1 <= len(scenes) <= len(shots)
    assert scenes[0][0] == 0 and scenes[-1][1] == pytest.approx(doc["video"]["duration"])
    assert all(x[1] == y[0] for x, y in zip(scenes, scenes[1:]))
    starts = {s for s, _ in shots}
    assert all(s in starts for s, _ in scenes)


def test_diverse_with_scenes_keeps_the_selection_rules():
    """The fuzz suite's made-up videos (any shot lengths, scores, a last sample at the very end),
    with the scenes shots.scenes finds: pieces sorted, disjoint, non-empty, within the budget."""
    from hypothesis import HealthCheck, given, settings, strategies as st
    from test_fuzz import videos
    from vsumgui.core.shots import scenes

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(video=videos(), ratio=st.floats(1e-6, 1.0))
    def check(video, ratio):
        scores, shot_idx, shot_secs, times, duration, feats = video
        sc = scenes(feats, shot_idx)
        spans = np.stack([shot_idx[sc[:, 0], 0], shot_idx[sc[:, 1] - 1, 1]], axis=1)
        sel = Selector(scores, shot_idx, shot_secs, times, duration, "m", features=feats, scenes=spans)
        got = sel.select(ratio, "diverse")
        segs = np.asarray(got.segments, dtype=float).reshape(-1, 2)
        assert np.all(segs[:, 1] > segs[:, 0]) and np.all(segs[1:, 0] > segs[:-1, 1])
        assert np.all(segs >= 0) and np.all(segs <= duration + 1e-9)
        assert got.duration <= ratio * duration + 1e-6
        assert sc[0, 0] == 0 and sc[-1, 1] == len(shot_idx) and np.all(sc[1:, 0] == sc[:-1, 1])

    check()
