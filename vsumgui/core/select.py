"""Summary selection: shots (or samples) chosen under a duration budget.

Every selector is built once per (scores, shots) and then answers any ratio cheaply,
so the sparsity slider never recomputes anything above selection.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

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
    """0/1 knapsack over integer weights, for any capacity up to `limit` (default: the total weight).

    The dynamic program's decisions are kept as bits: `keep[i]` (packed over capacities) says
    whether item i is in the best solution over items 0..i at each capacity, so any capacity is
    answered by one backtrack, O(items). When those bits would take more than `MAX_BYTES` (about
    3 hours of shots at 0.1 s quanta), each capacity is solved on demand instead, with the same
    decisions and so the same answer, in bounded memory: the items are halved, the first half's
    values carried forward, the second half solved (its bits at most `LEAF_BYTES`) and the
    leftover capacity handed to the first half (Hirschberg's halving). Written here: scipy's
    `milp` solves one capacity with other tie-breaking, and no maintained library keeps a
    table for every capacity.
    """

    MAX_BYTES = 40 << 20
    LEAF_BYTES = 8 << 20

    def __init__(self, values: np.ndarray, weights: np.ndarray, limit: int | None = None) -> None:
        self.values = np.asarray(values, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.int64)
        total = int(self.weights.sum())
        self.cap = total if limit is None else max(0, min(int(limit), total))
        n = len(self.weights)
        self._answers: dict[int, list[int]] = {}
        self.keep = self._bits(0, n, np.zeros(self.cap + 1)) if n * (self.cap // 8 + 1) <= self.MAX_BYTES else None

    @property
    def nbytes(self) -> int:
        """Memory held between answers."""
        return 0 if self.keep is None else self.keep.nbytes

    def _step(self, i: int, best: np.ndarray) -> np.ndarray | None:
        """Adds item i to the values `best` (in place); returns where it is taken, or None if it never fits.
        Taken only when strictly better: ties keep the earlier items."""
        w = int(self.weights[i])
        if w > len(best) - 1:
            return None
        cand = best[:len(best) - w] + self.values[i]
        take = cand > best[w:] + 1e-12
        np.copyto(best[w:], cand, where=take)
        return take

    def _forward(self, lo: int, hi: int, base: np.ndarray) -> np.ndarray:
        best = base.copy()
        for i in range(lo, hi):
            self._step(i, best)
        return best

    def _bits(self, lo: int, hi: int, base: np.ndarray) -> np.ndarray:
        """(hi - lo, capacities / 8) packed decisions of items lo..hi-1, starting from the values `base`."""
        best = base.copy()
        keep = np.zeros((hi - lo, len(best) // 8 + 1), dtype=np.uint8)
        row = np.zeros(len(best), dtype=bool)
        for k, i in enumerate(range(lo, hi)):
            take = self._step(i, best)
            if take is not None:
                row[:len(best) - len(take)] = False
                row[len(best) - len(take):] = take
                keep[k, :(len(best) + 7) // 8] = np.packbits(row)
        return keep

    def _backtrack(self, keep: np.ndarray, lo: int, hi: int, c: int) -> tuple[list[int], int]:
        picked = []
        for i in range(hi - 1, lo - 1, -1):
            if keep[i - lo, c >> 3] >> (7 - (c & 7)) & 1:
                picked.append(i)
                c -= int(self.weights[i])
        return picked[::-1], c

    def _solve(self, lo: int, hi: int, base: np.ndarray) -> tuple[list[int], int]:
        """Items lo..hi-1 chosen at capacity len(base) - 1 after items 0..lo-1 gave `base`, and the capacity left."""
        c = len(base) - 1
        if hi - lo <= 1 or (hi - lo) * (c // 8 + 1) <= self.LEAF_BYTES:
            return self._backtrack(self._bits(lo, hi, base), lo, hi, c)
        mid = (lo + hi) // 2
        right, c = self._solve(mid, hi, self._forward(lo, mid, base))
        left, c = self._solve(lo, mid, base[:c + 1])
        return left + right, c

    def solve(self, capacity: int) -> list[int]:
        """Indices (sorted) of the items of maximal total value with total weight <= capacity."""
        c = int(min(max(capacity, 0), self.cap))
        if self.keep is not None:
            return self._backtrack(self.keep, 0, len(self.weights), c)[0]
        if c not in self._answers:  # the slider goes back and forth over the same few budgets
            if len(self._answers) >= 64:
                self._answers.pop(next(iter(self._answers)))
            self._answers[c] = self._solve(0, len(self.weights), np.zeros(c + 1))[0]
        return list(self._answers[c])


def protocol_table(shot_scores: np.ndarray, weights: np.ndarray, limit: int | None = None) -> KnapsackTable:
    """The benchmark protocol's selection (Zhang et al. 2016; `evaluate.py` and the `knapsack` mode):
    0/1 knapsack over shots maximizing the sum of the shots' mean scores, weight = shot length."""
    return KnapsackTable(shot_scores, weights, limit)


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
                 features: np.ndarray | None = None, scenes: np.ndarray | None = None):
        self.features = features
        self.scenes = scenes  # (C, 2) sample spans [start, end) of the scenes, for the diverse mode
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
            if b > a and ends[b - 1] - self.times[a] > 1e-9 and self.scores[a:b].sum() > best_val:
                best, best_val = (a, b), float(self.scores[a:b].sum())
        if best is None:
            return empty
        a, b = best
        shots = [k for k, (s, e) in enumerate(self.shot_idx) if s < b and e > a]
        return Selection(self.method, empty.ratio, empty.mode, shots, [(float(self.times[a]), float(ends[b - 1]))])

    def _knapsack(self, ratio: float) -> list[int]:
        if self._table is None:
            weights = np.maximum(1, np.ceil(self.lengths / QUANTUM - 1e-9)).astype(np.int64)
            self._table = protocol_table(self.shot_scores, weights)
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
            from scipy.ndimage import gaussian_filter1d  # imported when used: it costs 0.3 s at start

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
            self._diverse = Diverse(self.features, self.scores, self.shot_idx, self.times, self.duration,
                                    scenes=self.scenes)
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
    """Budgeted facility location: importance-weighted coverage of the whole video, every scene first.

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

    Scenes (sample spans [start, end), groups of shots; `shots.scenes`), when there are several:
    every scene first gets one piece, its unit of best gain per second (taken scene by scene in
    the greedy's order, lazily), widened to `unit` seconds within the scene; then the budget left
    is filled by the greedy below. When `unit` x scenes does not fit, the pieces shrink to
    budget / scenes (whole samples, down to SEED_MIN = 1 s), and past that the scenes come in
    the seeds' order (best gain first) until the budget is spent.
    (A calm scene that looks like another would otherwise be covered "through" the other one and
    never shown.) Forcing the seeds gives up the best-of-two rule.

    Maximized with the cost-benefit greedy (gain / length) and the usual best-of-two rule (the
    better of the greedy set and the best single unit; (1 - 1/e) / 2 guarantee). For the
    slider, the greedy order is computed once per video with lazy evaluations; a budget takes
    the units of that order that still fit, in order.
    """

    SEED_MIN = 1.0  # seconds: the shortest piece a scene gets when the budget is tight

    def __init__(self, features: np.ndarray, scores: np.ndarray, shot_idx: np.ndarray, times: np.ndarray,
                 duration: float, unit: float = 1.5, scenes: np.ndarray | None = None) -> None:
        ends = np.append(times[1:], duration)
        self.rate = len(times) / duration if duration > 0 else 2.0
        size = max(1, int(round(unit * self.rate)))
        idx = []
        for a, b in shot_idx:
            edges = np.linspace(a, b, -(-(b - a) // size) + 1).round().astype(int)
            idx.extend((int(s), int(e)) for s, e in zip(edges[:-1], edges[1:]) if e > s)
        self.idx = np.asarray(idx, dtype=np.int64).reshape(-1, 2)
        self.secs = np.stack([times[self.idx[:, 0]], ends[self.idx[:, 1] - 1]], axis=1).reshape(-1, 2)
        # a last sample that starts where the video ends is a unit of no length: nothing to show
        keep = self.secs[:, 1] - self.secs[:, 0] > 1e-9
        self.idx, self.secs = self.idx[keep], self.secs[keep]
        self.lengths = self.secs[:, 1] - self.secs[:, 0]
        self.seeds: list[int] = []  # one unit per scene, in the greedy's order
        if not len(self.idx):
            return  # select() answers []
        self._times, self._ends, self._size = np.asarray(times, dtype=np.float64), ends, size
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
        self.scenes = np.asarray(scenes, dtype=np.int64).reshape(-1, 2) if scenes is not None else np.zeros((0, 2), np.int64)
        cur = np.zeros(len(self.wt), dtype=np.float32)
        if len(self.scenes) > 1:
            self.seeds = self._seed(cur)
        self.order, self._prefix_cover = self._greedy_order(cur, set(self.seeds))
        self._order = self.order.tolist()
        self._prefix_len = np.cumsum(self.lengths[self.order])  # sequential, like a running total
        self._suffix_min = np.minimum.accumulate(self.lengths[self.order][::-1])[::-1].tolist()

    def _gain(self, j: int, cur: np.ndarray, buf: np.ndarray) -> float:
        np.subtract(self.wt[j], cur, out=buf)
        np.maximum(buf, 0.0, out=buf)
        return float(self._len32 @ buf) / self._lengths[j]

    def _seed(self, cur: np.ndarray) -> list[int]:
        """Each scene's unit of best gain per second, scene after scene (lazy greedy; `cur` grows)."""
        scene = np.searchsorted(self.scenes[:, 0], self.idx[:, 0], side="right") - 1
        heap = [(-float(g), j) for j, g in enumerate(self.single / self.lengths)]
        heapq.heapify(heap)
        seeds, done, buf = [], set(), np.empty(len(self.wt), dtype=np.float32)
        while heap and len(done) < len(self.scenes):
            _, j = heapq.heappop(heap)
            if scene[j] in done:
                continue
            gain = self._gain(j, cur, buf)
            if heap and gain < -heap[0][0] - 1e-12:
                heapq.heappush(heap, (-gain, j))
                continue
            seeds.append(j)
            done.add(scene[j])
            np.maximum(cur, self.wt[j], out=cur)
        c = scene[np.asarray(seeds, dtype=np.int64)]
        # per seed: its scene's samples [lo, hi) and its unit's [a, b), for the slider's pieces
        self._seed_spans = (self.scenes[c, 0], self.scenes[c, 1], self.idx[seeds, 0], self.idx[seeds, 1])
        return seeds

    def _greedy_order(self, cur: np.ndarray, skip: set[int]) -> tuple[np.ndarray, np.ndarray]:
        """The cost-benefit greedy order over the units not in `skip`, from the cover `cur`, with
        lazy (stale-gain) evaluations, and F of each prefix of that order."""
        heap = [(-float(g), j) for j, g in enumerate(self.single / self.lengths) if j not in skip]
        heapq.heapify(heap)
        order, cover = [], []
        buf = np.empty(len(self.wt), dtype=np.float32)
        while heap:
            _, j = heapq.heappop(heap)
            gain = self._gain(j, cur, buf)
            if heap and gain < -heap[0][0] - 1e-12:
                heapq.heappush(heap, (-gain, j))  # stale: re-queue with its true gain
                continue
            order.append(j)
            np.maximum(cur, self.wt[j], out=cur)
            cover.append(float(self._len32 @ cur))
        return np.asarray(order, dtype=np.int64), np.asarray(cover)

    def _seed_pieces(self, budget: float) -> tuple[np.ndarray, np.ndarray]:
        """One piece per scene, as many as the budget allows in the seeds' order: (starts, ends).
        The budget's samples are shared out evenly (up to `unit`, the earlier seeds taking the
        remainder), but a piece is never shorter than SEED_MIN: a summary of flashes shows nothing."""
        if not self.seeds:
            return np.zeros(0), np.zeros(0)
        n = len(self.seeds)
        total = int(np.floor(budget * self.rate + 1e-9))
        least = max(1, int(round(self.SEED_MIN * self.rate)))
        k = np.clip(total // n + (np.arange(n) < total % n), least, self._size)
        lo, hi, a, b = self._seed_spans
        k = np.minimum(k, hi - lo)
        keep = k > 0
        k, lo, hi, a, b = k[keep], lo[keep], hi[keep], a[keep], b[keep]
        a = np.maximum(lo, np.minimum(a - np.maximum(0, k - (b - a)) // 2, hi - k))
        starts, ends = self._times[a], self._ends[a + k - 1]
        m = int(np.searchsorted(np.cumsum(ends - starts) > budget + 1e-9, True))
        return starts[:m], ends[:m]

    def select(self, budget: float) -> list[tuple[float, float]]:
        """Each scene's piece, then the units of the greedy order that still fit, in order
        (best-of-two with one unit when there are no scenes to seed)."""
        if not len(self.idx):
            return []
        seed_s, seed_e = self._seed_pieces(budget)
        used = float((seed_e - seed_s).sum())
        lengths, order = self._lengths, self._order
        # a prefix of the order fits whole; past it, only what still fits the little room left
        k = int(np.searchsorted(self._prefix_len > budget - used + 1e-9, True))
        picked = order[:k]
        used += float(self._prefix_len[k - 1]) if k else 0.0
        for i in range(k + 1, len(order)):
            if used + self._suffix_min[i] > budget + 1e-9:
                break  # nothing left in the order is short enough
            j = order[i]
            if used + lengths[j] <= budget + 1e-9:
                picked.append(j)
                used += lengths[j]
        fits = np.flatnonzero(self.lengths <= budget + 1e-9)
        if len(fits) and not self.seeds:
            best = int(fits[np.argmax(self.single[fits])])
            # the prefix's F is the cover when nothing was added past it, and a lower bound that
            # already decides the rule otherwise (F only grows): the matrix is rarely touched
            if k and (len(picked) == k or self.single[best] <= self._prefix_cover[k - 1]):
                cover = float(self._prefix_cover[k - 1])
            else:
                cover = float(self.wt[picked].max(0) @ self.lengths) if picked else 0.0
            if self.single[best] > cover:
                picked = [best]
        if not len(seed_s):
            return merge_segments([tuple(self.secs[j]) for j in picked])
        chosen = self.secs[np.asarray(picked, dtype=np.int64)].reshape(-1, 2)
        return _merge_spans(np.concatenate([seed_s, chosen[:, 0]]), np.concatenate([seed_e, chosen[:, 1]]))


def _merge_spans(starts: np.ndarray, ends: np.ndarray) -> list[tuple[float, float]]:
    """merge_segments for arrays (vectorized: the slider merges a thousand pieces of an hour)."""
    full = ends - starts > 1e-9  # empty pieces dropped, as merge_segments does
    starts, ends = starts[full], ends[full]
    if not len(starts):
        return []
    o = np.argsort(starts, kind="stable")
    s, e = starts[o], np.maximum.accumulate(ends[o])
    new = np.r_[True, s[1:] > e[:-1] + 1e-9]
    last = np.r_[np.flatnonzero(new)[1:] - 1, len(s) - 1]
    return list(zip(s[new].tolist(), e[last].tolist()))


def _span_means(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Row means of x over each span [a, b) of idx (one pass when the spans tile the rows)."""
    if len(idx) and idx[0, 0] == 0 and idx[-1, 1] == len(x) and np.array_equal(idx[1:, 0], idx[:-1, 1]):
        return np.add.reduceat(x, idx[:, 0], axis=0) / (idx[:, 1] - idx[:, 0]).astype(x.dtype)[:, None]
    return np.stack([x[a:b].mean(0) for a, b in idx]) if len(idx) else np.zeros((0, x.shape[1]), x.dtype)
