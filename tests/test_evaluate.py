"""Benchmark evaluation: F1 at 15 %, Kendall tau-b / Spearman rho, readers, the human baseline, `vsumgui eval`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
from scipy import stats

from vsumgui.cli import main
from vsumgui.core import datasets, evaluate
from vsumgui.core.errors import VsumError

STEP = 15  # eccv16 picks: every 15th frame
ROOT = Path(__file__).resolve().parents[1]


def make_video(rng: np.random.Generator, lengths: np.ndarray, users: int, spread: float = 0.5, dim: int = 8) -> dict:
    """A video in the eccv16 layout: shots of `lengths` frames (multiples of 15, so scores at the
    picks upsample back exactly), annotators' scores constant per shot, their knapsack summaries."""
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    n = int(bounds[-1])
    cps = np.stack([bounds[:-1], bounds[1:] - 1], axis=1)
    base = rng.random(len(lengths))
    per_shot = base + spread * rng.standard_normal((users, len(lengths)))
    anno = np.repeat(per_shot, lengths, axis=1)
    picks = np.arange(0, n, STEP)
    return {"features": rng.standard_normal((len(picks), dim)).astype(np.float32), "picks": picks,
            "n_frames": n, "change_points": cps, "n_frame_per_seg": np.asarray(lengths),
            "user_summary": evaluate.user_summaries(anno, cps).astype(np.float32),
            "gtscore": anno.mean(0)[picks], "user_scores": anno[:, picks]}


def write_h5(path: Path, videos: list[dict], user_scores: bool = True) -> Path:
    with h5py.File(path, "w") as f:
        for i, v in enumerate(videos, 1):
            g = f.create_group(f"video_{i}")
            for k, a in v.items():
                if k != "user_scores" or user_scores:
                    g[k] = a
            g["video_name"] = f"clip {i}".encode()
    return path


@pytest.fixture(scope="module")
def equal_shots(tmp_path_factory) -> Path:
    """Six videos of 120 equal 4-second-ish shots, 8 annotators (a TVSum-like file)."""
    rng = np.random.default_rng(1)
    vids = [make_video(rng, np.full(120, 60), users=8) for _ in range(6)]
    return write_h5(tmp_path_factory.mktemp("h5") / "synthetic_tvsum.h5", vids)


# ------------------------------------------------------------------ rank correlation

def test_table_correlation_equals_scipy_with_ties():
    rng = np.random.default_rng(0)
    for levels in (2, 5, 9):
        refs = rng.integers(0, levels, (4, 3000))
        refs[1] = np.where(rng.random(3000) < 0.6, refs[0], refs[1])  # correlated, many ties
        tau, rho = evaluate.pairwise_correlation(refs)
        want = [(stats.kendalltau(refs[a], refs[b]).statistic, stats.spearmanr(refs[a], refs[b]).statistic)
                for a in range(4) for b in range(4) if a != b]
        assert tau == pytest.approx(np.mean([w[0] for w in want]), abs=1e-12)
        assert rho == pytest.approx(np.mean([w[1] for w in want]), abs=1e-12)
        assert tau > 0.05  # the correlated pair shows up


def test_pairwise_skips_constant_annotators_and_falls_back_to_scipy():
    rng = np.random.default_rng(2)
    x = rng.random((3, 200))  # 600 distinct levels: the scipy path
    with_const = np.vstack([x, np.full(200, 0.5)])
    t3, r3 = evaluate.pairwise_correlation(x)
    assert evaluate.pairwise_correlation(with_const) == pytest.approx((t3, r3))
    want = np.mean([stats.kendalltau(x[a], x[b]).statistic for a, b in ((0, 1), (0, 2), (1, 2))])
    assert t3 == pytest.approx(want)


def test_rank_correlation_against_each_annotator():
    rng = np.random.default_rng(3)
    refs = rng.integers(1, 6, (5, 400)).astype(float)
    pred = refs[0] + 0.1 * rng.random(400)
    tau, rho = evaluate.rank_correlation(pred, refs)
    assert tau == pytest.approx(np.mean([stats.kendalltau(pred, r).statistic for r in refs]))
    assert rho == pytest.approx(np.mean([stats.spearmanr(pred, r).statistic for r in refs]))
    assert evaluate.rank_correlation(np.ones(400), refs) == (0.0, 0.0)  # flat prediction: no ranking


# ------------------------------------------------------------------ F1 on an eccv16-style file

def test_upsample_holds_each_score_until_the_next_pick():
    out = evaluate.upsample(np.array([1.0, 2.0, 3.0]), np.array([0, 15, 30]), 40)
    assert out.tolist() == [1.0] * 15 + [2.0] * 15 + [3.0] * 10


def test_summary_respects_the_budget_and_takes_the_best_shots():
    cps = np.array([[0, 9], [10, 59], [60, 69], [70, 99]])
    frames = np.repeat([0.9, 0.8, 0.1, 0.7], [10, 50, 10, 30])
    s = evaluate.summarize_frames(frames, cps, ratio=0.4)  # budget 40 frames
    assert s.sum() <= 40
    assert s[:10].all() and s[70:].all() and not s[10:70].any()


def test_perfect_prediction_scores_100(tmp_path):
    rng = np.random.default_rng(4)
    lengths = rng.integers(2, 10, 50) * STEP
    same = make_video(rng, lengths, users=1)  # every annotator agrees: avg over users can reach 100
    same["user_summary"] = np.repeat(same["user_summary"], 4, axis=0)
    differ = make_video(rng, lengths, users=6, spread=1.0)
    path = write_h5(tmp_path / "perfect_summe.h5", [same, differ])
    with datasets.BenchmarkFile(path) as bench:
        v1, v2 = bench.video("video_1"), bench.video("video_2")
    assert v1.name == "clip 1" and v1.user_scores.shape == (1, len(v1.picks))
    r = evaluate.evaluate_video(v1, v1.user_scores[0], "avg", v1.user_scores)
    assert r.f1 == pytest.approx(100.0) and r.tau == pytest.approx(1.0)
    # annotators disagree: predicting annotator 0 exactly is the best possible for "max" (SumMe) ...
    best = evaluate.evaluate_video(v2, v2.user_scores[0], "max", v2.user_scores)
    assert best.f1 == pytest.approx(100.0)
    # ... while "avg" (TVSum) stays below 100 and equals that annotator's leave-in mean F1
    avg = evaluate.evaluate_video(v2, v2.user_scores[0], "avg", v2.user_scores).f1
    assert avg < 100.0
    assert avg == pytest.approx(evaluate.f1_scores(v2.user_summary[0], v2.user_summary).mean())


def test_random_is_near_chance_and_gt_is_far_above(equal_shots):
    rep = evaluate.evaluate_h5(equal_shots, "random")
    m = rep.means()
    assert len(rep.rows) == 6 and rep.dataset == "tvsum"
    # equal shots: a random 15 % summary overlaps a user's 15 % by ~15 % of its frames
    assert 8.0 < m["f1"] < 24.0
    assert abs(m["tau"]) < 0.06 and abs(m["rho"]) < 0.08
    with datasets.BenchmarkFile(equal_shots) as bench:
        gt = [evaluate.evaluate_video(v, v.gtscore, "avg", v.user_scores)
              for v in map(bench.video, bench.keys())]
    assert np.mean([g.f1 for g in gt]) > m["f1"] + 20
    assert np.mean([g.tau for g in gt]) > 0.3


def test_split_fold_and_json(equal_shots, tmp_path):
    split = tmp_path / "s.json"
    split.write_text(json.dumps([{"train_keys": ["video_1", "video_2", "video_3"], "test_keys": ["video_4", "video_5"]},
                                 {"train_keys": [], "test_keys": ["synthetic_tvsum/video_6", "video_4"]}]))
    rep = evaluate.evaluate_h5(equal_shots, "random", split=split)
    assert [r.key for r in rep.rows] == ["video_4", "video_5", "video_6"]
    assert [f["keys"] for f in rep.folds] == [["video_4", "video_5"], ["video_6", "video_4"]]
    f1 = {r.key: r.f1 for r in rep.rows}
    assert rep.folds[1]["f1"] == pytest.approx((f1["video_6"] + f1["video_4"]) / 2)
    assert rep.means()["f1"] == pytest.approx((rep.folds[0]["f1"] + rep.folds[1]["f1"]) / 2)
    one = evaluate.evaluate_h5(equal_shots, "random", split=split, fold=0)
    assert [r.key for r in one.rows] == ["video_4", "video_5"] and not one.folds
    with pytest.raises(VsumError, match="out of range"):
        evaluate.evaluate_h5(equal_shots, "random", split=split, fold=2)
    out = tmp_path / "r.json"
    assert main(["eval", "--h5", str(equal_shots), "--method", "random", "--split", str(split),
                 "--json", str(out), "-q"]) == 0
    doc = json.loads(out.read_text())
    assert doc["method"] == "random" and len(doc["videos"]) == 3 and len(doc["folds"]) == 2
    assert doc["mean"]["f1"] == pytest.approx(rep.means()["f1"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_cli_h5_table(equal_shots, capsys):
    assert main(["eval", "--h5", str(equal_shots), "--method", "uniform-sampling", "-q"]) == 0
    out = capsys.readouterr().out
    assert "video_6" in out and "clip 6" in out and "mean of 6 videos: F1" in out


def test_cli_usage_errors(equal_shots, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["eval", "--human"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["eval", "--h5", str(equal_shots)])
    assert e.value.code == 2
    plain = tmp_path / "x.h5"
    plain.write_bytes(equal_shots.read_bytes())
    assert main(["eval", "--h5", str(plain), "--method", "random", "-q"]) == 1
    assert "pass --dataset" in capsys.readouterr().err
    assert main(["eval", "--dataset", "summe", "--human", "--data", str(tmp_path), "-q"]) == 1
    assert "no SumMe GT" in capsys.readouterr().err


def test_cli_default_data_missing(monkeypatch, capsys):
    monkeypatch.setattr(datasets, "default_data", lambda: None)
    assert main(["eval", "--dataset", "tvsum", "--human", "-q"]) == 1
    assert "pass --data DIR" in capsys.readouterr().err


# ------------------------------------------------------------------ real annotation files

@pytest.fixture(scope="module")
def tvsum(shared_data) -> list[datasets.TVSumVideo]:
    return datasets.read_tvsum(datasets.find_tvsum(shared_data))


def test_tvsum_readers(tvsum, shared_data):
    assert len(tvsum) == 50 and sum(v.n_frames for v in tvsum) == 352_353
    v = tvsum[0]
    assert (v.key, v.video_id, v.category, v.n_frames, v.user_anno.shape) == ("video_1", "AwmHb44_ouw", "VT", 10597, (20, 10597))
    assert v.length == pytest.approx(353.593) and 23.9 < min(x.fps for x in tvsum) and max(x.fps for x in tvsum) <= 30.01
    assert v.user_anno.min() == 1 and v.user_anno.max() == 5
    tsv = datasets.read_tvsum_tsv(shared_data / "tvsum" / "ydata-anno.tsv.gz")
    assert [(i, c) for i, c, _ in tsv] == [(x.video_id, x.category) for x in tvsum]
    assert all(np.array_equal(a, x.user_anno) for (_, _, a), x in zip(tsv, tvsum))


def test_tvsum_human_baseline_matches_ctvsum_table1(tvsum):
    rep = evaluate.human_tvsum(tvsum, f1_score=False)
    m = rep.means()
    want_tau, want_rho = evaluate.TABLE1["tvsum"]
    assert m["tau"] == pytest.approx(want_tau, abs=0.005)
    assert m["rho"] == pytest.approx(want_rho, abs=0.005)
    # at the eccv16 picks (every 15th frame) the protocol gives the same to 4 decimals
    m15 = evaluate.human_tvsum(tvsum, stride=15, f1_score=False).means()
    assert m15["tau"] == pytest.approx(m["tau"], abs=5e-4)
    # one video checked pair by pair with scipy
    a = tvsum[1].user_anno
    want = np.mean([stats.kendalltau(a[i], a[j]).statistic for i in range(20) for j in range(20) if i != j])
    assert rep.rows[1].tau == pytest.approx(want, abs=1e-12)


def test_tvsum_human_f1_is_leave_one_out(tvsum):
    v = tvsum[44]  # the shortest video
    shots = evaluate.annotation_segments(v.user_anno, int(round(2 * v.fps)))
    lengths = shots[:, 1] - shots[:, 0] + 1
    assert shots[0, 0] == 0 and shots[-1, 1] == v.n_frames - 1 and np.all(shots[1:, 0] == shots[:-1, 1] + 1)
    assert np.median(lengths) == round(2 * v.fps)
    us = evaluate.user_summaries(v.user_anno, shots)
    assert us.shape == (20, v.n_frames) and np.all(us.sum(1) <= int(0.15 * v.n_frames))
    want = np.mean([evaluate.f1(us[i], np.delete(us, i, 0), "avg") for i in range(20)])
    assert evaluate.human_f1(us, "avg") == pytest.approx(want)
    assert 10.0 < want < 60.0


def test_summe_readers_and_human_baseline(shared_data):
    folder = datasets.find_summe(shared_data)
    vids = datasets.read_summe(folder)
    assert len(vids) == 25 and vids[0].name == "Air_Force_One" and vids[-1].name == "playing_ball"
    jumps = next(v for v in vids if v.name == "Jumps")
    assert (jumps.n_frames, jumps.fps, jumps.user_summary.shape) == (950, 25.0, (15, 950))
    base = next(v for v in vids if v.name == "Base jumping")
    assert base.fps == pytest.approx(29.97, abs=0.01) and len(base.user_summary) == 18
    gt = scipy.io.loadmat(folder / "Jumps.mat")["gt_score"].ravel()
    assert np.allclose(jumps.user_summary.mean(0), gt)
    rep = evaluate.human_summe(vids)
    m = rep.means()
    assert m["tau"] == pytest.approx(m["rho"], abs=1e-9)  # binary selections: both are the phi coefficient
    assert 0.1 < m["tau"] < 0.3 and 30.0 < m["f1"] < 80.0
    assert all(r.users == len(v.user_summary) for r, v in zip(rep.rows, vids))


def test_cli_human_summe_prints_table(shared_data, capsys):
    assert main(["eval", "--dataset", "summe", "--human", "--data", str(shared_data), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Air_Force_One" in out and "mean of 25 videos" in out and "CTVSUM Table 1" in out


def test_split_files(shared_data):
    s = datasets.read_splits(shared_data / "splits" / "tvsum_splits.json")
    assert len(s) == 5 and all(len(f.train_keys) == 40 and len(f.test_keys) == 10 for f in s)
    assert all(k.startswith("video_") for f in s for k in f.test_keys)
    assert len({k for f in s for k in f.test_keys}) == 31  # folds are random draws, not a partition
    aug = datasets.read_splits(shared_data / "splits" / "summe_aug_splits.json")
    assert len(aug[0].train_keys) == 159 and "/" in aug[0].test_keys[0]
    assert datasets.local_key(aug[0].test_keys[0]).startswith("video_")


def test_bad_split_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{"test_keys": []}')
    with pytest.raises(VsumError, match="expected a JSON list"):
        datasets.read_splits(p)


def test_synthetic_tvsum_from_real_annotations(shared_data, tmp_path):
    """benchmarks/make_tvsum_h5.py: the eccv16 layout from ydata-tvsum50.mat; a file without
    `user_scores` takes the references from the raw annotations (video_N = entry N-1)."""
    spec = importlib.util.spec_from_file_location("make_tvsum_h5", ROOT / "benchmarks" / "make_tvsum_h5.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    plain, scored = tmp_path / "tvsum_plain.h5", tmp_path / "tvsum_scored.h5"
    mod.build(plain, shared_data, "variable", dim=4, videos=2)
    mod.build(scored, shared_data, "variable", dim=4, videos=2, user_scores=True)
    with datasets.BenchmarkFile(plain) as bench:
        v = bench.video("video_2")
        assert v.user_scores is None and v.user_summary.shape == (20, 4688) and v.name == "98MoyGZKHXc"
        assert v.change_points[-1, 1] == v.n_frames - 1 and np.all(v.picks == np.arange(0, 4688, 15))
    a = evaluate.evaluate_h5(plain, "random", data=shared_data)
    b = evaluate.evaluate_h5(scored, "random")
    assert [r.tau for r in a.rows] == pytest.approx([r.tau for r in b.rows])
    assert [r.f1 for r in a.rows] == pytest.approx([r.f1 for r in b.rows])
    none = evaluate.evaluate_h5(plain, "random")  # no annotations: F1 only, and a note says why
    assert none.means()["tau"] is None and any("--data" in n for n in none.notes)
