"""CTVSUM (Pang et al., "Contrastive Losses Are Natural Criteria for Unsupervised Video
Summarization", shared/seeds/ctvsum.txt).

Training-free scores (§4.1-4.2, the rows marked * in Table 1):

- align*_t   = mean over the K = round(a*T) cosine nearest neighbours of ||x_t - x||^2
               (= 2 - 2 cos for L2-normalized x), a = 0.1           (Eq. 4)
- uniform*_t = log( mean over x != x_t of exp(-2 ||x_t - x||^2) )   (Eq. 5)
- score      = minmax(align*) * minmax(uniform*) + eps, Gaussian-smoothed   (Eq. 12)

Choices where the paper is silent:
- the neighbour set excludes the frame itself, and K is at least 1;
- eps = 1e-3; Gaussian smoothing sigma = 1 sample (0.5 s at the default 2 samples/s);
- a component that is constant over the video is scaled to ones, not to zeros;
- the `unique` component needs the trained uniqueness filter (§4.4); without a
  checkpoint it is reported as None, never faked.
"""

from __future__ import annotations

import numpy as np

from vsumgui.core.methods.base import Method, MethodScores, minmax, register, smooth

A = 0.1
EPS = 1e-3
SIGMA = 1.0
_BLOCK = 1024


def align_uniform(x: np.ndarray, a: float = A) -> tuple[np.ndarray, np.ndarray]:
    """Raw align* and uniform* (Eqs. 4-5) of L2-normalized features, in row blocks."""
    t = len(x)
    if t < 2:
        return np.zeros(t), np.zeros(t)
    k = min(max(1, int(round(a * t))), t - 1)
    align = np.empty(t)
    uniform = np.empty(t)
    for lo in range(0, t, _BLOCK):
        d = 2.0 - 2.0 * (x[lo:lo + _BLOCK] @ x.T)  # squared distances of unit vectors
        rows = np.arange(d.shape[0])
        d[rows, lo + rows] = np.inf  # exclude the frame itself
        align[lo:lo + _BLOCK] = np.partition(d, k - 1, axis=1)[:, :k].mean(1)
        uniform[lo:lo + _BLOCK] = np.log(np.exp(-2.0 * d).sum(1) / (t - 1))
    return align, uniform


@register
class CTVSUM(Method):
    name = "ctvsum"
    title = "CTVSUM"
    order = 0
    component_names = ("align", "uniform", "unique")

    def _score(self, features: np.ndarray) -> MethodScores:
        x = features.astype(np.float64)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        align, uniform = align_uniform(x)
        a, u = minmax(align), minmax(uniform)
        scores = smooth(a * u + EPS, SIGMA)
        return MethodScores(scores, {"align": a, "uniform": u, "unique": None})
