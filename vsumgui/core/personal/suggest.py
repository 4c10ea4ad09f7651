"""Which shots to label next: the ones whose label would teach the personal model most.

Beyond the papers (they label every frame). A label teaches most where the model is unsure
and where it reaches many other shots: for each unlabelled shot,

    gain = (1 - |evidence|) x reach

- evidence (`Likes.evidence`, mean over the shot's samples): -1..1, 0 where no label says
  anything (no labels yet: 0 everywhere, so the first suggestions cover the main kinds of
  content);
- reach: the share of the video's time in shots like this one (near it in the sense of the
  model's calibration, `Likes.near`), so one label moves many shots;
then picked greedily: after each pick the others' gain is multiplied by (1 - how alike they are
to it) and by how far they are in time (1 - exp(-gap / spacing), spacing = duration / 2n), so
the suggestions are different content and spread over the video.
"""

from __future__ import annotations

import numpy as np

from vsumgui.core.personal import likes as lk


def shot_features(features: np.ndarray, shot_idx: np.ndarray) -> np.ndarray:
    """Each shot's mean unit feature (as unit vectors)."""
    u = lk.unit(features)
    return lk.unit(np.stack([u[a:b].mean(axis=0) for a, b in shot_idx]))


def calibrated(features: np.ndarray, shot_idx: np.ndarray) -> lk.Likes:
    """A model with no labels, calibrated on this video's shots (`likes.fit`'s scale, shots
    standing in for the labelled samples)."""
    x = shot_features(features, shot_idx)
    y = np.zeros(len(x))
    m = lk.fit([(x, y)], "")
    return lk.Likes(x[:0], x[:0], m.thr, m.temp, "")


def suggest(features: np.ndarray, shot_idx: np.ndarray, shot_secs: np.ndarray, labelled: np.ndarray,
            model: lk.Likes | None = None, n: int = 3) -> list[int]:
    """Up to n shots (indices, best first) to label next; `labelled` marks shots already labelled."""
    free = np.flatnonzero(~np.asarray(labelled, bool))
    if not len(free):
        return []
    model = model or calibrated(features, shot_idx)
    x = shot_features(features, shot_idx)
    ev = np.array([model.evidence(features[a:b]).mean() for a, b in shot_idx])
    length = shot_secs[:, 1] - shot_secs[:, 0]
    alike = lk._sigmoid((lk.cosines(x, x).astype(np.float64) - model.thr) / model.temp)
    # no numpy matrix product here: it runs in a Qt worker thread, where OpenBLAS crashed (likes.cosines)
    reach = (alike * length).sum(axis=1) / max(length.sum(), 1e-9)
    gain = ((1.0 - np.abs(ev)) * reach)[free]
    mid = shot_secs.mean(axis=1)[free]
    spacing = max(float(shot_secs[-1, 1] - shot_secs[0, 0]), 1e-9) / (2 * n)
    picked: list[int] = []
    taken = np.zeros(len(free), bool)
    while len(picked) < min(n, len(free)):
        k = int(np.argmax(np.where(taken, -np.inf, gain)))
        picked.append(int(free[k]))
        taken[k] = True
        gain = gain * (1.0 - alike[free[k], free]) * (1.0 - np.exp(-np.abs(mid - mid[k]) / spacing))
    return picked
