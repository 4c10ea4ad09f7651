"""Issue: core pipeline and CLI, on real videos."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, VIDEOS
from vsumgui.cli import main
from vsumgui.core import features, methods, paths, shots, video
from vsumgui.core.errors import Cancelled, VideoError
from vsumgui.core.methods.ctvsum import align_uniform
from vsumgui.core.pipeline import Options, summarize
from vsumgui.core.select import KnapsackTable, Selector


def check_contract(doc: dict, ratio: float) -> None:
    v = doc["video"]
    assert v["duration"] > 0 and v["fps"] > 0 and v["width"] > 0 and v["height"] > 0
    times = doc["times"]
    assert times == sorted(times) and times[0] == 0.0
    for name, m in doc["methods"].items():
        assert len(m["scores"]) == len(times), name
        assert all(np.isfinite(m["scores"]))
    shots_ = doc["shots"]
    assert shots_[0][0] == 0.0 and abs(shots_[-1][1] - v["duration"]) < 1e-6
    assert all(a[1] == b[0] for a, b in zip(shots_, shots_[1:]))
    sel = doc["selection"]
    segs = sel["segments"]
    assert segs == sorted(segs)
    assert all(s < e for s, e in segs)
    assert all(a[1] < b[0] for a, b in zip(segs, segs[1:])), "segments overlap or touch"
    assert sum(e - s for s, e in segs) <= ratio * v["duration"] + 1e-6
    assert sel["ratio"] == ratio and sel["method"] in doc["methods"]
    scenes = doc["scenes"]  # groups of whole shots, tiling the video
    starts = {a for a, _ in shots_}
    assert scenes[0][0] == 0.0 and scenes[-1][1] == shots_[-1][1] and all(a in starts for a, _ in scenes)
    assert all(a[1] == b[0] for a, b in zip(scenes, scenes[1:]))
    assert isinstance(doc["warnings"], list) and all(isinstance(w, str) for w in doc["warnings"])


def test_probe_and_sampling_by_timestamp(sample_video):
    info = video.probe(sample_video)
    assert (info.width, info.height, info.n_frames) == (1280, 720, 720)
    assert info.fps == pytest.approx(24.0) and info.duration == pytest.approx(30.0)
    stats: dict = {}
    samples = list(video.iter_samples(sample_video, 2.0, (224, 224), stats=stats))
    assert stats["n_frames"] == 720
    t = np.array([s.time for s in samples])
    assert len(t) == 60 and np.allclose(np.diff(t), 0.5, atol=1 / 24)
    assert [s.index for s in samples[:3]] == [0, 12, 24]
    assert samples[0].rgb.shape == (224, 224, 3)


def test_summarize_sample_end_to_end(sample_video, tmp_path):
    out = tmp_path / "out.json"
    csv = tmp_path / "out.csv"
    assert main(["summarize", str(sample_video), "--json", str(out), "--csv", str(csv), "-q"]) == 0
    doc = json.loads(out.read_text())
    check_contract(doc, 0.15)
    assert set(doc["methods"]) >= {"ctvsum", "uniform-sampling", "random"}
    comps = doc["methods"]["ctvsum"]["components"]
    assert len(comps["align"]) == len(comps["uniform"]) == len(doc["times"])
    # "unique" needs CTVSUM's trained filter: null without a checkpoint, else one value per sample
    assert comps["unique"] is None or len(comps["unique"]) == len(doc["times"])
    assert len(doc["times"]) == 60 and len(doc["shots"]) >= 4
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("shot,start,end") and len(lines) == len(doc["shots"]) + 1


@pytest.mark.parametrize("mode", ["knapsack", "topk", "highlight", "diverse"])
@pytest.mark.parametrize("ratio", [0.05, 0.15, 0.5])
def test_every_mode_keeps_the_contract(sample_summary, mode, ratio):
    sample_summary.select(ratio, mode)
    check_contract(sample_summary.to_json(), ratio)


def test_every_shared_video(media_dir, tmp_path):
    assert len(VIDEOS) >= 3
    for v in VIDEOS:
        out = tmp_path / (v.stem + ".json")
        assert main(["summarize", str(v), "--json", str(out), "-q", "--method", "ctvsum", "random"]) == 0
        check_contract(json.loads(out.read_text()), 0.15)


def test_second_summarize_hits_cache_without_decoding(sample_video, monkeypatch, sample_summary):
    key = features.content_key(sample_video)
    assert features.cache_path(key, "efficientnet-lite0", 2.0).exists()

    def no_decode(*a, **k):
        raise AssertionError("decoded although the features are cached")

    monkeypatch.setattr(features, "iter_decoded", no_decode)
    s = summarize(sample_video)
    assert s.cache_hit
    np.testing.assert_allclose(s.features.features, sample_summary.features.features)
    with __import__("h5py").File(features.cache_path(key, "efficientnet-lite0", 2.0)) as f:
        assert {"features", "picks", "n_frames", "fps", "change_points", "n_frame_per_seg"} <= set(f)


def test_unreadable_cache_is_rebuilt(tmp_path, media_dir):
    src = tmp_path / "friday copy.mp4"
    shutil.copy(media_dir / "friday_cc0.mp4", src)
    first = summarize(src)
    cache = features.cache_path(features.content_key(src), "efficientnet-lite0", 2.0)
    cache.write_bytes(b"not hdf5 at all")
    again = summarize(src)
    assert not again.cache_hit
    np.testing.assert_allclose(again.features.features, first.features.features, atol=1e-4)
    assert summarize(src).cache_hit


def _truncated(tmp_path: Path, sample_video: Path) -> Path:
    p = tmp_path / "truncated.webm"
    p.write_bytes(sample_video.read_bytes()[:3000])
    return p


@pytest.mark.parametrize("kind", ["text", "empty", "missing", "directory", "truncated"])
def test_bad_input_exit_1_one_line_nothing_written(kind, tmp_path, sample_video, capsys):
    bad = {"text": tmp_path / "x.mp4", "empty": tmp_path / "empty.mp4", "missing": tmp_path / "nope.mp4",
           "directory": tmp_path / "dir.mp4", "truncated": None}[kind]
    if kind == "text":
        bad.write_text("this is not a video\n" * 50)
    elif kind == "empty":
        bad.touch()
    elif kind == "directory":
        bad.mkdir()
    elif kind == "truncated":
        bad = _truncated(tmp_path, sample_video)
    before = set(paths.cache_dir().rglob("*")) if paths.cache_dir().exists() else set()
    out = tmp_path / "o.json"
    code = main(["summarize", str(bad), "--json", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("vsumgui: error: ") and bad.name in err[0]
    assert "Traceback" not in err[0]
    assert not out.exists()
    after = set(paths.cache_dir().rglob("*")) if paths.cache_dir().exists() else set()
    assert after == before


def test_bad_usage_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["summarize"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["summarize", "x.mp4", "--ratio", "2"])
    assert e.value.code == 2


def test_cli_as_module_and_methods_listing():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "vsumgui", "methods"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0
    assert "ctvsum" in r.stdout and "ready" in r.stdout


def test_cancel_raises_and_writes_nothing(tmp_path, media_dir):
    import threading

    src = tmp_path / "flower.mp4"
    # trailing bytes give new content, so the features of other tests' copy are not reused
    src.write_bytes((media_dir / "flower_cc0.mp4").read_bytes() + b"\0" * 64)
    ev = threading.Event()

    def progress(stage, frac):
        if stage == "decoding" and frac > 0:
            ev.set()

    with pytest.raises(Cancelled):
        summarize(src, progress=progress, cancel=ev)
    assert not features.cache_path(features.content_key(src), "efficientnet-lite0", 2.0).exists()


def test_knapsack_matches_brute_force():
    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 9))
        v = rng.random(n)
        w = rng.integers(1, 10, n)
        table = KnapsackTable(v, w)
        for cap in range(0, int(w.sum()) + 2):
            best = max((sum(v[list(c)]) for r in range(n + 1) for c in itertools.combinations(range(n), r)
                        if w[list(c)].sum() <= cap), default=0.0)
            got = table.solve(cap)
            assert w[got].sum() <= cap
            assert v[got].sum() == pytest.approx(best)


def test_knapsack_on_demand_gives_the_tables_answers(monkeypatch):
    """Past MAX_BYTES each capacity is solved by halving; the decisions, ties included, are the table's."""
    rng = np.random.default_rng(3)
    for trial in range(30):
        n = int(rng.integers(1, 60))
        v = rng.integers(0, 4, n).astype(float) if trial % 2 else rng.random(n)  # ties on odd trials
        w = rng.integers(1, 30, n)
        table = KnapsackTable(v, w)
        monkeypatch.setattr(KnapsackTable, "MAX_BYTES", 0)
        monkeypatch.setattr(KnapsackTable, "LEAF_BYTES", int(rng.integers(1, 40)))
        lean = KnapsackTable(v, w)
        monkeypatch.undo()
        assert lean.keep is None and lean.nbytes == 0
        for cap in range(0, int(w.sum()) + 2, 3):
            assert lean.solve(cap) == table.solve(cap)


def test_knapsack_table_of_three_hours_is_small():
    """Issue 20: a 3-hour video's table (2,880 shots of ~3.75 s, 0.1 s quanta) held under 50 MB; longer ones hold none."""
    rng = np.random.default_rng(4)
    w = rng.integers(10, 66, 2880)
    w = (w * (108_000 / w.sum())).astype(np.int64) + 1
    table = KnapsackTable(rng.random(len(w)), w)
    assert table.keep is not None and table.nbytes < 50e6
    assert KnapsackTable(rng.random(2 * len(w)), np.tile(w, 2)).nbytes == 0


def test_knapsack_mode_is_the_benchmark_protocol():
    """The mode maximizes the summed shot means (as evaluate.summarize_frames does), not mean x length."""
    from vsumgui.core import evaluate
    # one long good shot against two short, slightly worse ones: the protocol takes the two
    times = np.arange(40) / 2.0
    idx = np.array([[0, 20], [20, 30], [30, 40]])
    secs = idx / 2.0
    scores = np.concatenate([np.full(20, 0.9), np.full(10, 0.8), np.full(10, 0.7)])
    sel = Selector(scores, idx, secs, times, 20.0).select(0.5, "knapsack")
    assert sel.shots == [1, 2]
    frames = evaluate.summarize_frames(scores, np.array([[0, 19], [20, 29], [30, 39]]), ratio=0.5)
    assert np.flatnonzero(frames).tolist() == list(range(20, 40))


def test_selector_budget_never_exceeded_random_cases():
    rng = np.random.default_rng(2)
    for _ in range(50):
        t = int(rng.integers(5, 300))
        times = np.arange(t) / 2.0
        duration = t / 2.0 + rng.random() * 0.4
        bounds = np.unique(np.concatenate([[0, t], rng.integers(1, t, int(rng.integers(0, 20)))]))
        idx = np.stack([bounds[:-1], bounds[1:]], 1)
        secs = shots.shot_times(idx, times, duration)
        sel = Selector(rng.random(t), idx, secs, times, duration, features=rng.normal(size=(t, 8)))
        for mode in ("knapsack", "topk", "highlight", "diverse"):
            for ratio in (0.01, 0.15, 0.33, 1.0):
                s = sel.select(ratio, mode)
                assert s.duration <= ratio * duration + 1e-6


def test_ctvsum_align_uniform_against_numpy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(57, 33))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    align, uniform = align_uniform(x, a=0.1)
    t = len(x)
    k = round(0.1 * t)
    for i in range(t):
        cos = x @ x[i]
        others = [j for j in range(t) if j != i]
        nn = sorted(others, key=lambda j: -cos[j])[:k]
        assert align[i] == pytest.approx(np.mean([np.sum((x[i] - x[j]) ** 2) for j in nn]))
        assert uniform[i] == pytest.approx(np.log(np.mean([np.exp(-2 * np.sum((x[i] - x[j]) ** 2)) for j in others])))
    ms = methods.create("ctvsum").score(x.astype(np.float32))
    assert ms.components["unique"] is None
    assert ms.components["align"].min() == 0 and ms.components["align"].max() == 1
    assert len(ms.scores) == t and np.all(np.isfinite(ms.scores))


def test_shots_respect_min_and_max_length(sample_summary):
    lengths = np.diff(sample_summary.shot_secs, axis=1).ravel()
    assert lengths.min() >= 2.0 - 1e-6 and lengths.max() <= 10.0 + 1e-6
    one_scene = np.tile(np.random.default_rng(0).normal(size=(1, 16)), (200, 1))  # 100 s, no cut
    s = shots.segment(one_scene, 2.0, shots.ShotParams(max_len=10))
    assert len(s) >= 10 and (np.diff(s, axis=1) <= 20).all()
    assert s[0, 0] == 0 and s[-1, 1] == 200 and (s[1:, 0] == s[:-1, 1]).all()


def test_random_baseline_is_seeded():
    x = np.ones((20, 4), np.float32)
    a = methods.create("random").score(x).scores
    assert np.array_equal(a, methods.create("random").score(x).scores)


def test_scoring_threads_are_restored_for_every_thread(monkeypatch):
    """Methods score with one torch thread; afterwards threads get the process's count back,
    even after a thread born during another thread's scoring (it starts with one) scored too."""
    import threading

    import torch

    from vsumgui.core import nn as vnn

    monkeypatch.setattr(vnn, "default_threads", lambda: 2)  # a count above one even where OMP_NUM_THREADS=1
    torch.set_num_threads(2)
    seen: dict[str, int] = {}
    inside, left = threading.Event(), threading.Event()

    def scorer():
        with vnn.few_threads(1):
            seen["scoring"] = torch.get_num_threads()
            inside.set()
            born.join(timeout=0.5)  # let it be born (and make its first torch call) in here
        seen["scorer after"] = torch.get_num_threads()
        left.set()

    def born_inside():
        inside.wait()
        torch.get_num_threads()
        left.wait()
        with vnn.few_threads(1):
            pass

    born = threading.Thread(target=born_inside)
    born.start()
    t = threading.Thread(target=scorer)
    t.start()
    t.join()
    born.join()
    later = threading.Thread(target=lambda: seen.__setitem__("born after", torch.get_num_threads()))
    later.start()
    later.join()
    assert seen["scoring"] == 1
    assert seen["scorer after"] == 2 and seen["born after"] == 2
