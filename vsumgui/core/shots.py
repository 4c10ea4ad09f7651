"""Shot segmentation: kernel change points (the KTS idea) with `ruptures`, then length rules;
scenes: runs of consecutive shots that look alike."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ShotParams:
    """Shot rules in seconds; `penalty` is the cost of one more change point (cosine kernel)."""

    min_len: float = 2.0
    max_len: float = 10.0
    penalty: float = 1.0


SCENE_CONTRAST = 0.7  # planted scenes of real footage are all found from 0.6 to 0.8; extra splits fade above 0.5


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def segment(features: np.ndarray, sample_rate: float, params: ShotParams = ShotParams()) -> np.ndarray:
    """Shots as (S, 2) sample indices [start, end), covering all samples in order.

    Change points come from PELT over a cosine kernel on L2-normalized features; shots
    shorter than `min_len` are merged into their more similar neighbour, and shots longer
    than `max_len` are cut into equal parts, so even a one-scene video gets several shots.
    """
    n = len(features)
    if n == 0:
        return np.zeros((0, 2), dtype=np.int64)
    x = normalize(np.asarray(features, dtype=np.float64))
    min_size = max(1, int(round(params.min_len * sample_rate)))
    if n >= 2 * min_size:
        import ruptures as rpt  # here, not at the top: it takes seconds to import, and a re-opened video needs none

        ends = rpt.KernelCPD(kernel="cosine", min_size=min_size).fit(x).predict(pen=params.penalty)
    else:
        ends = [n]
    bounds = [0] + [int(e) for e in ends]
    shots = [[a, b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    shots = _merge_short(shots, x, min_size)
    return np.asarray(_split_long(shots, max(1, int(round(params.max_len * sample_rate)))), dtype=np.int64)


def _merge_short(shots: list[list[int]], x: np.ndarray, min_size: int) -> list[list[int]]:
    while len(shots) > 1:
        lengths = [b - a for a, b in shots]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_size:
            break
        mean = x[shots[i][0]:shots[i][1]].mean(0)
        sims = []
        for j in (i - 1, i + 1):
            if 0 <= j < len(shots):
                sims.append((float(mean @ x[shots[j][0]:shots[j][1]].mean(0)), j))
        j = max(sims)[1]
        lo, hi = min(i, j), max(i, j)
        shots[lo:hi + 1] = [[shots[lo][0], shots[hi][1]]]
    return shots


def _split_long(shots: list[list[int]], max_size: int) -> list[list[int]]:
    out = []
    for a, b in shots:
        parts = -(-(b - a) // max_size)
        edges = np.linspace(a, b, parts + 1).round().astype(int)
        out.extend([int(s), int(e)] for s, e in zip(edges[:-1], edges[1:]))
    return out


def scenes(features: np.ndarray, shots: np.ndarray, contrast: float = SCENE_CONTRAST) -> np.ndarray:
    """Scenes as (C, 2) shot indices [first, last + 1): consecutive shots grouped by look.

    Agglomerative clustering with a temporal-contiguity constraint and average linkage: the two
    neighbouring groups whose samples are most alike (mean cosine similarity over all pairs of
    their L2-normalized samples, so a long shot weighs more than a short one) are merged while
    their mean cosine distance stays below a threshold. The threshold is set per video between
    how much samples differ inside a shot (d_in, sample-weighted) and across the whole video
    (d_all): d_in + `contrast` x (d_all - d_in), so a video of one look stays one scene only
    when its shots all look alike, and distinct content splits at any length.
    Written here: scikit-learn's connectivity-constrained AgglomerativeClustering weighs every
    shot alike (and is not otherwise a dependency); scipy's hierarchy has no connectivity.
    """
    shots = np.asarray(shots, dtype=np.int64).reshape(-1, 2)
    if len(shots) <= 1:
        return np.array([[0, len(shots)]], dtype=np.int64).reshape(-1, 2)[:len(shots)]
    x = normalize(np.asarray(features, dtype=np.float64))
    sums = np.add.reduceat(x, shots[:, 0], axis=0) if shots[0, 0] == 0 and np.array_equal(
        shots[1:, 0], shots[:-1, 1]) else np.stack([x[a:b].sum(0) for a, b in shots])
    counts = (shots[:, 1] - shots[:, 0]).astype(np.float64)
    d_in = 1.0 - float(np.sum((sums * sums).sum(1) / counts)) / counts.sum()
    total = sums.sum(0)
    d_all = 1.0 - float(total @ total) / counts.sum() ** 2
    limit = d_in + contrast * max(d_all - d_in, 0.0)
    # groups as a linked list over their first shots; a heap of neighbour distances, entries of
    # merged groups dropped when popped (stamp): O(S log S) for an hour's thousand shots
    n = len(shots)
    nxt, prv = list(range(1, n + 1)), list(range(-1, n - 1))
    stamp = [0] * n
    sums, counts = list(sums), counts.tolist()

    def dist(a: int, b: int) -> float:
        return 1.0 - float(sums[a] @ sums[b]) / (counts[a] * counts[b])

    heap = [(dist(k, k + 1), k, k + 1, 0, 0) for k in range(n - 1)]
    heapq.heapify(heap)
    while heap:
        d, a, b, sa, sb = heapq.heappop(heap)
        if stamp[a] != sa or stamp[b] != sb or nxt[a] != b:
            continue  # one of them has merged since
        if d >= limit:
            break
        sums[a] = sums[a] + sums[b]
        counts[a] += counts[b]
        stamp[a] += 1
        stamp[b] = -1
        nxt[a] = nxt[b]
        if nxt[a] < n:
            prv[nxt[a]] = a
            heapq.heappush(heap, (dist(a, nxt[a]), a, nxt[a], stamp[a], stamp[nxt[a]]))
        if prv[a] >= 0:
            heapq.heappush(heap, (dist(prv[a], a), prv[a], a, stamp[prv[a]], stamp[a]))
    first = [k for k in range(n) if stamp[k] >= 0]
    return np.stack([first, first[1:] + [n]], axis=1).astype(np.int64)


def shot_times(shots: np.ndarray, times: np.ndarray, duration: float) -> np.ndarray:
    """(S, 2) seconds [start, end): a shot ends where the next one's first sample lies."""
    t = np.append(times, max(duration, times[-1] if len(times) else 0.0))
    return np.stack([t[shots[:, 0]], t[shots[:, 1]]], axis=1) if len(shots) else np.zeros((0, 2))


def change_points(shot_secs: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Shots as inclusive frame ranges (the benchmark files' `change_points`)."""
    start = np.minimum((shot_secs[:, 0] * fps).round().astype(np.int64), n_frames - 1)
    end = np.append(start[1:] - 1, n_frames - 1)
    return np.stack([start, np.maximum(end, start)], axis=1)
