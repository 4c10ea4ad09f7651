"""TVSum / SumMe evaluation protocols: F1 at 15 % (knapsack over shots), Kendall tau-b, Spearman rho.

F1 (Zhang et al. 2016, the eccv16 protocol): the frame scores are held constant from one sampled
frame to the next (upsampling to every frame), a shot scores the mean of its frames, and a 0/1
knapsack (value = shot score, weight = shot frames) fills floor(0.15 x n_frames) frames. The
summary is compared with every annotator's summary, F1 = 2|A & B| / (|A| + |B|); TVSum averages
over annotators, SumMe takes the best annotator.

Rank correlation (Otani et al. 2019, as used by CTVSUM, Pang et al., section 5.2): Kendall tau-b
and Spearman rho between the predicted scores at the sampled frames and each annotator's scores
at the same frames, averaged over annotators, then over videos. TVSum annotators give scores
1..5; SumMe annotators give a binary selection, so for SumMe the reference is each user's summary.
The human baseline compares every annotator with every other annotator the same way.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import stats

from vsumgui.core import datasets
from vsumgui.core.atomic import write_text
from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.core.select import protocol_table

RATIO = 0.15
METRIC = {"tvsum": "avg", "summe": "max"}  # how F1 against several annotators is combined
TABLE1 = {"tvsum": (0.1755, 0.2019), "summe": (0.1796, 0.1863)}  # CTVSUM Table 1, human row (tau, rho)

Progress = Callable[[str, float], None] | None


# ---------------------------------------------------------------- summaries and F1

def upsample(scores: np.ndarray, picks: np.ndarray, n_frames: int) -> np.ndarray:
    """Per-frame scores: each sampled score holds until the next sampled frame.

    Frames before the first pick take the first score (the eccv16 code leaves them at 0;
    its picks start at frame 0, so both agree on the benchmark files)."""
    scores = np.asarray(scores, dtype=np.float64)
    picks = np.asarray(picks, dtype=np.int64)
    if len(scores) != len(picks):
        raise VsumError(f"{len(scores)} scores for {len(picks)} sampled frames")
    idx = np.searchsorted(picks, np.arange(n_frames), side="right") - 1
    return scores[np.clip(idx, 0, len(scores) - 1)]


def shot_means(frame_scores: np.ndarray, shots: np.ndarray) -> np.ndarray:
    """Mean frame score of each shot; shots are (S, 2) inclusive [first, last] frames."""
    cs = np.concatenate([[0.0], np.cumsum(frame_scores)])
    n = len(frame_scores)
    a = np.clip(shots[:, 0], 0, n)
    b = np.clip(shots[:, 1] + 1, a, n)
    return (cs[b] - cs[a]) / np.maximum(b - a, 1)


def summarize_frames(frame_scores: np.ndarray, shots: np.ndarray, weights: np.ndarray | None = None,
                     ratio: float = RATIO) -> np.ndarray:
    """The 0/1 summary (n_frames,) of the benchmark protocol: knapsack over shots, budget floor(ratio x n)."""
    n = len(frame_scores)
    shots = np.asarray(shots, dtype=np.int64).reshape(-1, 2)
    if weights is None:
        weights = shots[:, 1] - shots[:, 0] + 1
    budget = int(math.floor(ratio * n))
    chosen = protocol_table(shot_means(frame_scores, shots), np.asarray(weights, dtype=np.int64), budget).solve(budget)
    summary = np.zeros(n, dtype=bool)
    for i in chosen:
        summary[shots[i, 0]:shots[i, 1] + 1] = True
    return summary


def machine_summary(scores: np.ndarray, video: datasets.BenchVideo, ratio: float = RATIO) -> np.ndarray:
    """The summary of a method's sampled-frame scores on one benchmark video."""
    return summarize_frames(upsample(scores, video.picks, video.n_frames), video.change_points,
                            video.n_frame_per_seg, ratio)


def f1_scores(summary: np.ndarray, user_summary: np.ndarray) -> np.ndarray:
    """F1 (in %) of one summary against each annotator's summary (rows of `user_summary`)."""
    users = np.asarray(user_summary).reshape(-1, np.asarray(user_summary).shape[-1]) > 0
    s = np.zeros(users.shape[1], dtype=bool)
    m = min(len(summary), users.shape[1])  # the eccv16 code pads or cuts the summary to the user length
    s[:m] = np.asarray(summary[:m]) > 0
    overlap = (users & s).sum(1).astype(np.float64)
    total = s.sum() + users.sum(1)
    return np.where(total > 0, 200.0 * overlap / np.maximum(total, 1), 0.0)


def f1(summary: np.ndarray, user_summary: np.ndarray, metric: str = "avg") -> float:
    """F1 (in %) against several annotators: their mean ("avg", TVSum) or the best ("max", SumMe)."""
    f = f1_scores(summary, user_summary)
    return float(f.mean() if metric == "avg" else f.max())


def human_f1(user_summary: np.ndarray, metric: str = "avg") -> float:
    """Leave-one-out human F1: each annotator's summary scored against the others, then averaged."""
    s = (np.asarray(user_summary) > 0).astype(np.float64)
    u = len(s)
    if u < 2:
        return float("nan")
    overlap = s @ s.T
    sizes = s.sum(1)
    total = sizes[:, None] + sizes[None, :]
    f = np.where(total > 0, 200.0 * overlap / np.maximum(total, 1), 0.0)
    f = f[~np.eye(u, dtype=bool)].reshape(u, u - 1)
    return float((f.mean(1) if metric == "avg" else f.max(1)).mean())


def user_summaries(user_anno: np.ndarray, shots: np.ndarray, ratio: float = RATIO) -> np.ndarray:
    """(users, n_frames) bool: each annotator's own summary by the same knapsack over `shots`
    (how the eccv16 files made TVSum's `user_summary` from the per-frame scores)."""
    return np.stack([summarize_frames(a.astype(np.float64), shots, ratio=ratio) for a in user_anno])


def annotation_segments(user_anno: np.ndarray, seg_len: int) -> np.ndarray:
    """TVSum's own 2-second annotation segments as (S, 2) inclusive frame ranges.

    Annotators scored fixed ~2 s segments, so the scores change only at segment borders; runs
    where no annotator changes value are cut back into pieces of about `seg_len` frames."""
    a = np.asarray(user_anno)
    n = a.shape[1]
    change = np.flatnonzero((np.diff(a, axis=1) != 0).any(axis=0)) + 1
    bounds = np.concatenate([[0], change, [n]])
    out = []
    for s, e in zip(bounds[:-1], bounds[1:]):
        k = max(1, int(round((e - s) / max(seg_len, 1))))
        cuts = np.round(np.linspace(s, e, k + 1)).astype(np.int64)
        out.extend((int(x), int(y) - 1) for x, y in zip(cuts[:-1], cuts[1:]) if y > x)
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


# ---------------------------------------------------------------- rank correlation

def _corr(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    return float(stats.kendalltau(x, y).statistic), float(stats.spearmanr(x, y).statistic)


def rank_correlation(pred: np.ndarray, refs: np.ndarray) -> tuple[float, float]:
    """Kendall tau-b and Spearman rho of `pred` (T,) with each row of `refs` (users, T), averaged.

    Choices: a constant prediction has no ranking and counts as 0 (rather than NaN, which
    would drop the video from the mean); a constant reference row (an annotator who gave
    one value everywhere) is skipped, as it carries no ranking either."""
    pred = np.asarray(pred, dtype=np.float64)
    refs = np.asarray(refs, dtype=np.float64).reshape(-1, len(pred))
    if np.ptp(pred) == 0:
        return 0.0, 0.0
    pairs = [_corr(pred, r) for r in refs if np.ptp(r) > 0]
    if not pairs:
        return float("nan"), float("nan")
    t, r = np.asarray(pairs).mean(0)
    return float(t), float(r)


def _pair_tables(codes: np.ndarray, k: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """(pairs, k, k) contingency tables of rows i vs rows j of integer codes 0..k-1."""
    p = np.arange(len(i))[:, None]
    flat = (p * k * k + codes[i] * k + codes[j]).ravel()
    return np.bincount(flat, minlength=len(i) * k * k).reshape(len(i), k, k).astype(np.float64)


def table_correlation(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau-b and Spearman rho (with ties) from (pairs, k, k) contingency tables.

    Written by hand because scipy has no vectorized form: the human baseline needs ~20,000
    annotator pairs over up to 19,406 frames, ~40 s with scipy.stats one pair at a time. For
    scores with few levels (TVSum 1..5, SumMe 0/1) the table holds everything both statistics
    depend on, so this is exact; tests check it against scipy.stats.kendalltau/spearmanr."""
    total = n.sum((1, 2))
    # pairs (a, b) < (a', b') in both coordinates: concordant; opposite orders: discordant
    ge = n[:, ::-1, ::-1].cumsum(1).cumsum(2)[:, ::-1, ::-1]  # sum over a' >= a, b' >= b
    conc = np.zeros_like(n)
    conc[:, :-1, :-1] = ge[:, 1:, 1:]
    le = n[:, ::-1, :].cumsum(1)[:, ::-1, :].cumsum(2)  # sum over a' >= a, b' <= b
    disc = np.zeros_like(n)
    disc[:, :-1, 1:] = le[:, 1:, :-1]
    s = (n * conc).sum((1, 2)) - (n * disc).sum((1, 2))
    rows, cols = n.sum(2), n.sum(1)
    n0 = total * (total - 1) / 2
    dx = n0 - (rows * (rows - 1) / 2).sum(1)
    dy = n0 - (cols * (cols - 1) / 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where((dx > 0) & (dy > 0), s / np.sqrt(dx * dy), np.nan)
        # Spearman = Pearson on mid-ranks; every frame of level a has the same mid-rank
        rx = rows.cumsum(1) - (rows - 1) / 2
        ry = cols.cumsum(1) - (cols - 1) / 2
        mx = (rows * rx).sum(1) / total
        my = (cols * ry).sum(1) / total
        cx, cy = rx - mx[:, None], ry - my[:, None]
        cov = np.einsum("pab,pa,pb->p", n, cx, cy)
        vx, vy = (rows * cx ** 2).sum(1), (cols * cy ** 2).sum(1)
        rho = np.where((vx > 0) & (vy > 0), cov / np.sqrt(vx * vy), np.nan)
    return tau, rho


def pairwise_correlation(refs: np.ndarray, max_levels: int = 64) -> tuple[float, float]:
    """Human baseline of one video: tau-b and rho of every annotator against every other one
    (annotator pairs with a constant row are skipped), averaged."""
    refs = np.asarray(refs)
    u = len(refs)
    if u < 2:
        return float("nan"), float("nan")
    i, j = np.triu_indices(u, 1)  # both statistics are symmetric: i<j averages the same as i!=j
    levels, codes = np.unique(refs, return_inverse=True)
    codes = codes.reshape(refs.shape)
    if len(levels) <= max_levels:
        tau, rho = table_correlation(_pair_tables(codes, len(levels), i, j))
    else:
        flat = np.ptp(refs, axis=1) == 0
        pairs = np.array([_corr(refs[a], refs[b]) if not (flat[a] or flat[b]) else (np.nan, np.nan)
                          for a, b in zip(i, j)])
        tau, rho = pairs[:, 0], pairs[:, 1]
    if np.all(np.isnan(tau)):
        return float("nan"), float("nan")
    return float(np.nanmean(tau)), float(np.nanmean(rho))


# ---------------------------------------------------------------- reports

@dataclass
class VideoResult:
    key: str
    name: str
    n_frames: int
    users: int
    f1: float
    tau: float | None
    rho: float | None


@dataclass
class Report:
    """Per-video results and their means (over the folds' means when a split file was used)."""

    title: str
    dataset: str
    method: str
    rows: list[VideoResult]
    folds: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _mean(self, name: str, keys: list[str] | None = None) -> float | None:
        vals = [getattr(r, name) for r in self.rows if keys is None or r.key in keys]
        vals = [v for v in vals if v is not None and not math.isnan(v)]
        return float(np.mean(vals)) if vals else None

    def means(self) -> dict[str, float | None]:
        if self.folds:
            return {m: _nanmean([f[m] for f in self.folds]) for m in ("f1", "tau", "rho")}
        return {m: self._mean(m) for m in ("f1", "tau", "rho")}

    def to_json(self) -> dict:
        return {"title": self.title, "dataset": self.dataset, "method": self.method,
                "videos": [asdict(r) for r in self.rows], "folds": self.folds,
                "mean": self.means(), "notes": self.notes}

    def write_json(self, path: str | Path) -> None:
        write_text(path, json.dumps(_finite(self.to_json()), indent=1))

    def table(self) -> str:
        """The per-video table, the fold means and the overall means, as text."""
        w = max([len(r.name) for r in self.rows] + [4])
        lines = [self.title, f"{'key':<10} {'name':<{w}} {'frames':>6} {'users':>5} {'F1':>6} {'tau':>8} {'rho':>8}"]
        for r in self.rows:
            lines.append(f"{r.key:<10} {r.name:<{w}} {r.n_frames:>6} {r.users:>5} {r.f1:>6.2f} "
                         f"{_fmt(r.tau):>8} {_fmt(r.rho):>8}")
        for f in self.folds:
            lines.append(f"fold {f['fold']}: {len(f['keys'])} test videos  F1 {_fmt(f['f1'], 2)}  "
                         f"tau {_fmt(f['tau'])}  rho {_fmt(f['rho'])}")
        m = self.means()
        over = f"mean of {len(self.folds)} folds" if self.folds else f"mean of {len(self.rows)} videos"
        lines.append(f"{over}: F1 {_fmt(m['f1'], 2)}  tau {_fmt(m['tau'])}  rho {_fmt(m['rho'])}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _fmt(v: float | None, digits: int = 4) -> str:
    return "n/a" if v is None or math.isnan(v) else f"{v:.{digits}f}"


def _nanmean(vals: list) -> float | None:
    vals = [v for v in vals if v is not None and not math.isnan(v)]
    return float(np.mean(vals)) if vals else None


def _finite(doc):
    """NaN -> null, so the JSON is standard."""
    if isinstance(doc, float):
        return None if math.isnan(doc) else doc
    if isinstance(doc, dict):
        return {k: _finite(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_finite(v) for v in doc]
    return doc


# ---------------------------------------------------------------- human baseline

def human_tvsum(videos: list[datasets.TVSumVideo], stride: int = 1, f1_score: bool = True,
                progress: Progress = None, cancel: threading.Event | None = None) -> Report:
    """TVSum human baseline: pairwise annotator tau-b / rho on the per-frame scores (every
    `stride`-th frame), and leave-one-out F1 of the annotators' own 15 % knapsack summaries
    over the 2-second annotation segments (the KTS shots of the eccv16 file are not available)."""
    rows = []
    for n, v in enumerate(videos):
        check_cancel(cancel)
        tau, rho = pairwise_correlation(v.user_anno[:, ::stride])
        f = float("nan")
        if f1_score:
            shots = annotation_segments(v.user_anno, int(round(2 * v.fps)))
            f = human_f1(user_summaries(v.user_anno, shots), METRIC["tvsum"])
        rows.append(VideoResult(v.key, v.video_id, v.n_frames, len(v.user_anno), f, tau, rho))
        if progress:
            progress("human", (n + 1) / len(videos))
    frames = "all frames" if stride == 1 else f"every {stride}th frame"
    return Report(f"TVSum human baseline: every annotator against every other ({frames})",
                  "tvsum", "human", rows)


def human_summe(videos: list[datasets.SumMeVideo], stride: int = 1,
                progress: Progress = None, cancel: threading.Event | None = None) -> Report:
    """SumMe human baseline: pairwise tau-b / rho of the users' binary selections (for 0/1
    data both equal the phi coefficient), and leave-one-out F1 (best other user)."""
    rows = []
    for n, v in enumerate(videos):
        check_cancel(cancel)
        us = v.user_summary
        tau, rho = pairwise_correlation(us[:, ::stride].astype(np.int8))
        rows.append(VideoResult(f"video_{n + 1}", v.name, v.n_frames, len(us),
                                human_f1(us, METRIC["summe"]), tau, rho))
        if progress:
            progress("human", (n + 1) / len(videos))
    frames = "all frames" if stride == 1 else f"every {stride}th frame"
    return Report(f"SumMe human baseline: every user's selection against every other ({frames})",
                  "summe", "human", rows)


def human_baseline(dataset: str, data: str | Path, stride: int = 1, progress: Progress = None,
                   cancel: threading.Event | None = None) -> Report:
    """The human row for `dataset` from the raw annotation files under `data`."""
    if stride < 1:
        raise VsumError("the frame stride must be at least 1")
    if dataset == "tvsum":
        return human_tvsum(datasets.read_tvsum(datasets.find_tvsum(data)), stride, True, progress, cancel)
    if dataset == "summe":
        return human_summe(datasets.read_summe(datasets.find_summe(data)), stride, progress, cancel)
    raise VsumError(f"unknown dataset {dataset!r}; known: {', '.join(datasets.DATASETS)}")


# ---------------------------------------------------------------- a method on a benchmark file

def evaluate_video(video: datasets.BenchVideo, scores: np.ndarray, metric: str,
                   refs: np.ndarray | None) -> VideoResult:
    """F1 of the knapsack summary, and tau / rho against `refs` (users, T) when given."""
    summary = machine_summary(scores, video)
    tau = rho = None
    if refs is not None:
        tau, rho = rank_correlation(scores, refs)
    return VideoResult(video.key, video.name, video.n_frames, len(video.user_summary),
                       f1(summary, video.user_summary, metric), tau, rho)


def reference_scores(video: datasets.BenchVideo, dataset: str,
                     tvsum: list[datasets.TVSumVideo] | None) -> tuple[np.ndarray | None, str | None]:
    """Each annotator's scores at the video's sampled frames, and a note when something is off.

    Order of preference: the file's own `user_scores` (the CTVSUM files carry them); for TVSum
    the raw `user_anno` of the same video (`video_N` is entry N-1 of ydata-tvsum50.mat); for
    SumMe the users' binary summaries at the sampled frames (what the CTVSUM code compares)."""
    if video.user_scores is not None:
        return video.user_scores, None
    picks = video.picks
    if dataset == "summe":
        return video.user_summary[:, np.clip(picks, 0, video.user_summary.shape[1] - 1)], None
    if tvsum is None:
        return None, "tau/rho need the TVSum annotations: pass --data DIR (with tvsum/ydata-tvsum50.mat)"
    try:
        idx = int(video.key.split("_")[-1]) - 1
        raw = tvsum[idx]
    except (ValueError, IndexError):
        return None, f"{video.key}: no TVSum annotation entry for this key"
    note = None
    if raw.n_frames != video.n_frames:
        note = f"{video.key}: {video.n_frames} frames in the file, {raw.n_frames} in the annotations"
    return raw.user_anno[:, np.clip(picks, 0, raw.n_frames - 1)].astype(np.float64), note


def evaluate_h5(path: str | Path, method: str, dataset: str | None = None, split: str | Path | None = None,
                fold: int | None = None, data: str | Path | None = None, checkpoint: str | Path | None = None,
                progress: Progress = None, cancel: threading.Event | None = None) -> Report:
    """Score every (test) video of a benchmark h5 file with `method` and evaluate it."""
    from vsumgui.core import methods

    dataset = dataset or datasets.dataset_of(path)
    if dataset not in datasets.DATASETS:
        raise VsumError(f"{path}: cannot tell the dataset from the file name; pass --dataset tvsum|summe")
    model = methods.create(method, checkpoint)
    tvsum = None
    if dataset == "tvsum" and data is not None:
        tvsum = datasets.read_tvsum(datasets.find_tvsum(data))
    with datasets.BenchmarkFile(path) as bench:
        folds = []
        if split is not None:
            splits = datasets.read_splits(split)
            if fold is not None and not 0 <= fold < len(splits):
                raise VsumError(f"{split}: fold {fold} out of range 0..{len(splits) - 1}")
            chosen = [fold] if fold is not None else range(len(splits))
            for k in chosen:
                keys = [datasets.local_key(t) for t in splits[k].test_keys]
                missing = [t for t in keys if t not in bench.keys()]
                if missing:
                    raise VsumError(f"{split}: fold {k} names videos not in {path}: {', '.join(missing[:3])}")
                folds.append({"fold": k, "keys": keys})
            keys = sorted({t for f in folds for t in f["keys"]}, key=datasets.natural_key)
        else:
            keys = bench.keys()
        rows, notes = [], []
        for n, key in enumerate(keys):
            check_cancel(cancel)
            video = bench.video(key)
            scores = model.score(video.features).scores
            refs, note = reference_scores(video, dataset, tvsum)
            if note and note not in notes:
                notes.append(note)
            rows.append(evaluate_video(video, scores, METRIC[dataset], refs))
            if progress:
                progress("eval", (n + 1) / len(keys))
    report = Report(f"{method} on {Path(path).name} ({dataset}, F1 {METRIC[dataset]} over users, "
                    f"{RATIO:.0%} knapsack)", dataset, method, rows, notes=notes)
    for f in folds:
        f.update({m: report._mean(m, f["keys"]) for m in ("f1", "tau", "rho")})
    report.folds = folds if fold is None else []
    if fold is not None:
        report.title += f", fold {fold} of {Path(split).name}"
    return report
