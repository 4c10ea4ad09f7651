"""Shot segmentation: kernel change points (the KTS idea) with `ruptures`, then length rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ShotParams:
    """Shot rules in seconds; `penalty` is the cost of one more change point (cosine kernel)."""

    min_len: float = 2.0
    max_len: float = 10.0
    penalty: float = 1.0


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


def shot_times(shots: np.ndarray, times: np.ndarray, duration: float) -> np.ndarray:
    """(S, 2) seconds [start, end): a shot ends where the next one's first sample lies."""
    t = np.append(times, max(duration, times[-1] if len(times) else 0.0))
    return np.stack([t[shots[:, 0]], t[shots[:, 1]]], axis=1) if len(shots) else np.zeros((0, 2))


def change_points(shot_secs: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Shots as inclusive frame ranges (the benchmark files' `change_points`)."""
    start = np.minimum((shot_secs[:, 0] * fps).round().astype(np.int64), n_frames - 1)
    end = np.append(start[1:] - 1, n_frames - 1)
    return np.stack([start, np.maximum(end, start)], axis=1)
