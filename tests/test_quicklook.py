"""Issue 18, item 1: a quick look scores the content of its keyframes, not how long each is held."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import imageio_ffmpeg
import numpy as np
import pytest

from vsumgui.cli import main
from vsumgui.core import backbones, features, methods, personalize
from vsumgui.core.labels import LabelStore
from vsumgui.core.pipeline import Options, held, score_features, summarize

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def quick(sample_video) -> features.Features:
    return summarize(sample_video, Options(fast=True, methods=["ctvsum", "uniform-sampling"])).features


def hold(keys: np.ndarray, counts: list[int], like: features.Features) -> features.Features:
    """Features on a grid where keyframe k is held counts[k] samples."""
    src = np.repeat(np.arange(len(keys)), counts)
    return replace(like, features=keys[src], times=np.arange(len(src)) / 2.0, picks=src * 25 + 3,
                   sampling="keyframes")


@pytest.mark.parametrize("name", ["ctvsum", "csum", "chd", "visp", "trim"])
def test_a_keyframes_score_does_not_depend_on_how_long_it_is_held(quick, name):
    h = held(quick)
    first = np.flatnonzero(np.r_[True, np.diff(h) > 0])
    keys = quick.features[first]
    assert len(keys) >= 5
    m = methods.create(name)
    short = score_features(m, hold(keys, [1] * len(keys), quick))
    # the first keyframe held 12 samples (where copies would be its own nearest neighbours), one more 5
    counts = [12] + [1] * (len(keys) - 1)
    counts[3] = 5
    long = score_features(m, hold(keys, counts, quick))
    assert len(long.scores) == sum(counts)
    np.testing.assert_allclose(long.scores[np.cumsum([0] + counts[:-1])], short.scores, rtol=1e-5, atol=1e-6)
    assert np.ptp(long.scores[:12]) == 0  # one keyframe, one score, held
    for k, v in long.components.items():
        if v is not None:
            np.testing.assert_allclose(v[np.cumsum([0] + counts[:-1])], short.components[k], rtol=1e-5, atol=1e-6)


def test_the_quick_look_of_the_sample_is_scored_per_keyframe(sample_video, quick):
    s = summarize(sample_video, Options(fast=True, methods=["ctvsum"]))
    h = held(s.features)
    assert h is not None and held(summarize(sample_video, Options(methods=["ctvsum"])).features) is None
    runs = np.split(s.scores["ctvsum"].scores, np.flatnonzero(np.diff(h)) + 1)
    assert len(runs) == h[-1] + 1 and all(np.ptp(r) == 0 for r in runs)
    assert np.ptp(s.scores["ctvsum"].scores) > 0
    assert s.warnings == []  # the sample has a keyframe every ~3.3 s


@pytest.fixture(scope="module")
def sparse(tmp_path_factory, sample_video):
    """40 s of real footage encoded with one keyframe only."""
    out = tmp_path_factory.mktemp("sparse") / "one keyframe.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-stream_loop", "1", "-i", str(sample_video), "-t", "40",
                    "-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "100000",
                    "-sc_threshold", "0", "-an", str(out)], check=True)
    return out


def test_too_few_keyframes_say_so_and_suggest_the_full_summary(sparse, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["summarize", str(sparse), "--fast", "--method", "ctvsum", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert len(doc["warnings"]) == 1 and "full summary" in doc["warnings"][0]
    assert "note: the quick look found only 1 keyframe in 40 s" in printed


def test_labels_on_a_quick_looked_video_count_for_personalize(sparse, sample_video, tmp_path):
    """features.cached finds a quick look's features when the video was never fully summarized."""
    key = features.content_key(sparse)
    summarize(sparse, Options(fast=True, methods=["ctvsum"]))
    assert not features.cache_path(key, backbones.DEFAULT, 2.0).exists()
    got = features.cached(key, backbones.DEFAULT, 2.0)
    assert got is not None and got.sampling == "keyframes"
    store = LabelStore(tmp_path / "labels.sqlite")
    store.set("me", key, 4.0, 8.0, 1, str(sparse))
    done = personalize.labelled("me", store, None, backbones.DEFAULT, 2.0)
    assert len(done) == 1 and np.nansum(done[0][1]) > 0


def test_baselines_score_the_time_grid_of_a_quick_look(quick):
    """Evenly spaced pieces stay evenly spaced in time, whatever the keyframes."""
    got = score_features(methods.create("uniform-sampling"), quick).scores
    np.testing.assert_array_equal(got, methods.create("uniform-sampling").score(quick.features).scores)
