"""Summary selection: shots (or samples) chosen under a duration budget.

Every selector is built once per (scores, shots) and then answers any ratio cheaply,
so the sparsity slider never recomputes anything above selection.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from vsumgui.core.errors import check_number
from vsumgui.core.methods.base import minmax

MODES = ("knapsack", "topk", "highlight", "diverse")
Q_FLOOR = 0.25  # the least important unit still counts this much as a representative
QUANTUM = 0.1  # seconds: knapsack weights are whole quanta, rounded up so budgets hold


@dataclass
class Selection:
    method: str
    ratio: float
    mode: str
    shots: list[int]
    segments: list[tuple[float, float]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return float(sum(e - s for s, e in self.segments))

    def to_json(self) -> dict:
        return {"method": self.method, "ratio": self.ratio, "mode": self.mode, "shots": self.shots,
                "segments": [[round(s, 6), round(e, 6)] for s, e in self.segments]}


class KnapsackTable:
    """0/1 knapsack over integer weights, solved once for every capacity up to the total.

    `keep[i, c]` says whether item i is in the best solution over items 0..i at capacity c,
    so any capacity is answered by one backtrack, O(items).
    """

    def __init__(self, values: np.ndarray, weights: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.int64)
        cap = int(self.weights.sum())
        self.keep = np.zeros((len(values), cap + 1), dtype=bool)
        best = np.zeros(cap + 1)
        for i, (v, w) in enumerate(zip(values, self.weights)):
            if w > cap:
                continue
            cand = np.full(cap + 1, -np.inf)
            cand[w:] = best[:cap + 1 - w] + v
            take = cand > best + 1e-12
            self.keep[i] = take
            best = np.where(take, cand, best)
        self.best = best

    def solve(self, capacity: int) -> list[int]:
        c = int(min(max(capacity, 0), self.keep.shape[1] - 1))
        picked = []
        for i in range(len(self.weights) - 1, -1, -1):
            if self.keep[i, c]:
                picked.append(i)
                c -= int(self.weights[i])
        return picked[::-1]


def knapsack(values: np.ndarray, weights: np.ndarray, capacity: int) -> list[int]:
    """Indices of the items of maximal total value with total weight <= capacity."""
    return KnapsackTable(values, weights).solve(capacity)


def merge_segments(segs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, with touching or overlapping pieces joined; empty pieces dropped (a zero-length
    shot at the very end would print as "0:03.00 - 0:03.00")."""
    out: list[list[float]] = []
    for s, e in sorted(segs):
        if e - s <= 1e-9:
            continue
        if out and s <= out[-1][1] + 1e-9:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


class Selector:
    """Selection for one method's scores over one video's shots, for any ratio and mode."""

    def __init__(self, scores: np.ndarray, shot_idx: np.ndarray, shot_secs: np.ndarray,
                 times: np.ndarray, duration: float, method: str = "", highlight_sigma: float = 2.0,
                 features: np.ndarray | None = None):
        self.features = features
        self.scores = np.asarray(scores, dtype=np.float64)
        self.shot_idx = np.asarray(shot_idx)
        self.shot_secs = np.asarray(shot_secs, dtype=np.float64)
        self.times = np.asarray(times, dtype=np.float64)
        self.duration = float(duration)
        self.method = method
        self.highlight_sigma = highlight_sigma
        self.lengths = self.shot_secs[:, 1] - self.shot_secs[:, 0]
        self.shot_scores = np.array([self.scores[a:b].mean() for a, b in self.shot_idx])
        self._table: KnapsackTable | None = None
        self._ranked: np.ndarray | None = None
        self._highlight: np.ndarray | None = None
        self._diverse: Diverse | None = None

    def budget(self, ratio: float) -> float:
        return max(0.0, min(1.0, ratio)) * self.duration

    def select(self, ratio: float, mode: str = "knapsack") -> Selection:
        check_number("ratio", ratio, 0, 1, lo_open=True)
        if mode not in MODES:
            raise ValueError(f"unknown selection mode {mode!r}; known: {', '.join(MODES)}")
        if mode == "highlight":
            sel = self._select_highlight(ratio)
        elif mode == "diverse":
            sel = self._select_diverse(ratio)
        else:
            shots = self._knapsack(ratio) if mode == "knapsack" else self._topk(ratio)
            segs = merge_segments([tuple(self.shot_secs[i]) for i in shots])
            sel = Selection(self.method, ratio, mode, sorted(int(i) for i in shots), segs)
        return sel if sel.segments else self._best_window(sel)

    def _best_window(self, empty: Selection) -> Selection:
        """When no shot fits the budget (a short video, a small ratio), the best-scoring run of
        samples that does: a summary should never be empty while the budget holds a sample."""
        ends = np.append(self.times[1:], self.duration)
        budget = self.budget(empty.ratio)
        best, best_val = None, -np.inf
        for a in range(len(self.times)):
            b = a
            while b < len(self.times) and ends[b] - self.times[a] <= budget + 1e-9:
                b += 1
            if b > a and self.scores[a:b].sum() > best_val:
                best, best_val = (a, b), float(self.scores[a:b].sum())
        if best is None:
            return empty
        a, b = best
        shots = [k for k, (s, e) in enumerate(self.shot_idx) if s < b and e > a]
        return Selection(self.method, empty.ratio, empty.mode, shots, [(float(self.times[a]), float(ends[b - 1]))])

    def _knapsack(self, ratio: float) -> list[int]:
        if self._table is None:
            weights = np.maximum(1, np.ceil(self.lengths / QUANTUM - 1e-9)).astype(np.int64)
            self._table = KnapsackTable(self.shot_scores * self.lengths, weights)
        return self._table.solve(int(math.floor(self.budget(ratio) / QUANTUM + 1e-9)))

    def _topk(self, ratio: float) -> list[int]:
        """Highest-scoring shots first, each taken when it still fits the budget."""
        if self._ranked is None:
            self._ranked = np.argsort(-self.shot_scores, kind="stable")
        budget, used, picked = self.budget(ratio), 0.0, []
        for i in self._ranked:
            if used + self.lengths[i] <= budget + 1e-9:
                picked.append(int(i))
                used += self.lengths[i]
        return picked

    def _select_highlight(self, ratio: float) -> Selection:
        """CSUM's highlight mode: Gaussian-smoothed scores above a threshold, the threshold
        set as low as the budget allows (samples are taken best first)."""
        if self._highlight is None:
            smooth = gaussian_filter1d(self.scores, self.highlight_sigma, mode="nearest")
            self._highlight = np.argsort(-smooth, kind="stable")
        ends = np.append(self.times[1:], self.duration)
        lengths = ends - self.times
        # samples best first while they fit: the prefix whose running total stays in budget
        used = np.cumsum(lengths[self._highlight])
        n = int(np.searchsorted(used > self.budget(ratio) + 1e-9, True))
        chosen = np.zeros(len(self.times), dtype=bool)
        chosen[self._highlight[:n]] = True
        # runs of chosen samples are the merged segments (a sample ends where the next begins)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], chosen.astype(np.int8), [0]])))
        segs = merge_segments([(float(self.times[a]), float(ends[b - 1])) for a, b in zip(edges[::2], edges[1::2])])
        count = np.concatenate([[0], np.cumsum(chosen)])
        shots = np.flatnonzero(count[self.shot_idx[:, 1]] > count[self.shot_idx[:, 0]]).tolist()
        return Selection(self.method, ratio, "highlight", shots, segs)

    def _select_diverse(self, ratio: float) -> Selection:
        if self._diverse is None:
            if self.features is None:
                raise ValueError("the diverse mode needs the frame features")
            self._diverse = Diverse(self.features, self.scores, self.shot_idx, self.times, self.duration)
        segs = self._diverse.select(self.budget(ratio))
        return Selection(self.method, ratio, "diverse", overlapping(self.shot_secs, segs), segs)


def overlapping(spans: np.ndarray, segs: list[tuple[float, float]]) -> list[int]:
    """Indices of the spans (S, 2) that overlap any of the sorted, disjoint segments."""
    if not segs or not len(spans):
        return []
    s, e = np.asarray(segs, dtype=np.float64).T
    a, b = spans[:, 0], spans[:, 1]
    # the first segment ending after a span starts is the only candidate (segments are sorted)
    j = np.minimum(np.searchsorted(e, a + 1e-9, side="right"), len(e) - 1)
    hit = (np.minimum(b, e[j]) - np.maximum(a, s[j]) > 1e-9)
    return np.flatnonzero(hit).tolist()


class Diverse:
    """Budgeted facility location: importance-weighted coverage of the whole video.

    The video is cut into units: shots, with shots longer than `unit` seconds cut into equal
    pieces no longer than that (so a small budget can show a little of every scene instead
    of all of one long shot). Over a set S of units with total length <= budget it maximizes

        F(S) = sum_i len_i * max_{j in S} sim(i, j) * q_j

    where i runs over all units, sim(i, j) = exp(-(1 - cos(f_i, f_j)) / sigma) on the units'
    mean L2-normalized features (sigma = the mean cosine distance between units, so the kernel
    adapts to each video; a median would be set by the longest scene alone), and
    q_j = Q_FLOOR + (1 - Q_FLOOR) * minmax(unit score), Q_FLOOR = 0.25, is the method's importance of the representative.
    F is monotone submodular: every part of the video counts, each through its best, most
    important representative in the summary.

    Maximized with the cost-benefit greedy (gain / length) and the usual best-of-two rule (the
    better of the greedy set and the best single unit; (1 - 1/e) / 2 guarantee). For the
    slider, the greedy order is computed once per video with lazy evaluations; a budget takes
    the units of that order that still fit, in order.
    """

    def __init__(self, features: np.ndarray, scores: np.ndarray, shot_idx: np.ndarray, times: np.ndarray,
                 duration: float, unit: float = 1.5) -> None:
        ends = np.append(times[1:], duration)
        rate = len(times) / duration if duration > 0 else 2.0
        size = max(1, int(round(unit * rate)))
        idx = []
        for a, b in shot_idx:
            edges = np.linspace(a, b, -(-(b - a) // size) + 1).round().astype(int)
            idx.extend((int(s), int(e)) for s, e in zip(edges[:-1], edges[1:]) if e > s)
        self.idx = np.asarray(idx, dtype=np.int64).reshape(-1, 2)
        self.secs = np.stack([times[self.idx[:, 0]], ends[self.idx[:, 1] - 1]], axis=1)
        self.lengths = self.secs[:, 1] - self.secs[:, 0]
        # float32 and in place: an hour has ~2,900 units, and each (units x units) float64 copy is
        # ~67 MB; single precision halves the memory traffic that dominates this precompute
        x = np.asarray(features, dtype=np.float32)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        f = _span_means(x, self.idx)
        f /= np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
        d = np.subtract(np.float32(1.0), f @ f.T)
        np.clip(d, 0.0, 2.0, out=d)
        n = len(d)
        off = (d.sum() - np.trace(d)) / (n * n - n) if n > 1 else 0.0
        sigma = float(off) if off > 1e-5 else 1.0  # below: float32 noise of a still video
        q = Q_FLOOR + (1 - Q_FLOOR) * minmax(_span_means(np.asarray(scores, dtype=np.float64)[:, None], self.idx)[:, 0])
        # wt[j, i] = w[i, j]: how well unit j represents unit i (d is symmetric); rows are contiguous
        # because the greedy and the slider read one representative's column at a time
        d *= np.float32(-1.0 / sigma)
        self.wt = np.exp(d, out=d)
        self.wt *= q[:, None].astype(np.float32)
        self._len32 = self.lengths.astype(np.float32)
        self.single = (self.wt @ self._len32).astype(np.float64)
        self._lengths = self.lengths.tolist()
        self.order, self._prefix_cover = self._greedy_order()
        self._order = self.order.tolist()
        self._prefix_len = np.cumsum(self.lengths[self.order])  # sequential, like a running total
        self._suffix_min = np.minimum.accumulate(self.lengths[self.order][::-1])[::-1].tolist()

    @property
    def w(self) -> np.ndarray:
        """[i, j]: how well unit j represents unit i."""
        return self.wt.T

    def _greedy_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The cost-benefit greedy order over all units, with lazy (stale-gain) evaluations,
        and F of each prefix of that order."""
        cur = np.zeros(len(self.wt), dtype=np.float32)
        heap = [(-float(g), j) for j, g in enumerate(self.single / self.lengths)]
        heapq.heapify(heap)
        order, cover = [], []
        lengths, wt, buf = self._len32, self.wt, np.empty(len(self.wt), dtype=np.float32)
        while heap:
            _, j = heapq.heappop(heap)
            np.subtract(wt[j], cur, out=buf)
            np.maximum(buf, 0.0, out=buf)
            gain = float(lengths @ buf) / self._lengths[j]
            if heap and gain < -heap[0][0] - 1e-12:
                heapq.heappush(heap, (-gain, j))  # stale: re-queue with its true gain
                continue
            order.append(j)
            np.maximum(cur, wt[j], out=cur)
            cover.append(float(lengths @ cur))
        return np.asarray(order, dtype=np.int64), np.asarray(cover)

    def select(self, budget: float) -> list[tuple[float, float]]:
        """The units of the greedy order that still fit, in order (best-of-two with one unit)."""
        lengths, order = self._lengths, self._order
        # a prefix of the order fits whole; past it, only what still fits the little room left
        k = int(np.searchsorted(self._prefix_len > budget + 1e-9, True))
        picked = order[:k]
        used = float(self._prefix_len[k - 1]) if k else 0.0
        for i in range(k + 1, len(order)):
            if used + self._suffix_min[i] > budget + 1e-9:
                break  # nothing left in the order is short enough
            j = order[i]
            if used + lengths[j] <= budget + 1e-9:
                picked.append(j)
                used += lengths[j]
        fits = np.flatnonzero(self.lengths <= budget + 1e-9)
        if len(fits):
            best = int(fits[np.argmax(self.single[fits])])
            # the prefix's F is the cover when nothing was added past it, and a lower bound that
            # already decides the rule otherwise (F only grows): the matrix is rarely touched
            if k and (len(picked) == k or self.single[best] <= self._prefix_cover[k - 1]):
                cover = float(self._prefix_cover[k - 1])
            else:
                cover = float(self.wt[picked].max(0) @ self.lengths) if picked else 0.0
            if self.single[best] > cover:
                picked = [best]
        return merge_segments([tuple(self.secs[j]) for j in picked])


def _span_means(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Row means of x over each span [a, b) of idx (one pass when the spans tile the rows)."""
    if len(idx) and idx[0, 0] == 0 and idx[-1, 1] == len(x) and np.array_equal(idx[1:, 0], idx[:-1, 1]):
        return np.add.reduceat(x, idx[:, 0], axis=0) / (idx[:, 1] - idx[:, 0]).astype(x.dtype)[:, None]
    return np.stack([x[a:b].mean(0) for a, b in idx])
