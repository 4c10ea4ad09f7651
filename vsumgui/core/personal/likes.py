"""The personal model: what the person kept and skipped, as a similarity expert on the frame
features, combined with the pretrained curve.

    score(x) = sigmoid( z(b(x)) + WEIGHT * (near(keep, x) - near(skip, x)) )

- b is the pretrained curve (the base method's scores, or the fine-tuned ViSP's), z its
  standard score over the video: the pretrained ranking in units the expert can be added to;
- near(L, x) = sigmoid((c - thr) / temp), c the cosine similarity of x to its nearest labelled
  sample in L: 1 for samples like a labelled one, 0 for content unlike every label;
- thr and temp are calibrated on the person's own videos when fitting: from the typical
  similarity of two unrelated samples (`base`, the median cosine over the labelled videos) to
  that of a labelled sample and its nearest labelled neighbour (`within`, other samples of
  the same shot), thr = base + FRAC * (within - base), temp = (within - base) / SHARP. So a
  sample rises when it is nearer to a keep than most content is to anything, falls near a
  skip, and content unlike every label keeps exactly its pretrained score (the expert is 0
  there: a product of experts in which the personal one abstains).

Chosen by measurement (benchmarks/personalization.py --part transfer --pairs: two videos cut
from six real sources, head = CTVSUM and ViSP): in the three trials the held-out shots of the
kept source rise from AP 0.09-0.77 to 0.68-1.00 within the video and from 0.25-0.69 to
0.85-1.00 on the next video, and unrelated content moves by at most 0.002 AP; over all 15
keep / skip pairs of sources the similar-content goal (+0.2, or 0.85 from above 0.65) holds in
each, and the worst unrelated change is -0.029 (ViSP; where one scene of the film is skipped and
the film's other scenes, a little like it, count as unrelated). Swept: WEIGHT 3-8, FRAC
0.3-0.7, SHARP 6-25. FRAC 0.4 carries labels further (a kept film scene lifts the film's
other scenes more: +0.27 against +0.22 for CTVSUM) but moves that "unrelated" content by up to
0.10; SHARP 25 keeps it within 0.02 but misses the goal in 4 of 64 measurements; FRAC 0.7
moves it no less (-0.024) and lifts the other scenes of a kept film less; WEIGHT 3 leaves a kept street scene below the pretrained favourites. The head it
replaces (an MLP fitted with every unlabelled sample held to its pretrained score) did not move
the unlabelled shots of the video (+0.015). Rejected without fitting: a linear preference
(logistic regression on the features) moves every sample along one direction, so unrelated
content changes rank.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsumgui.core import checkpoints
from vsumgui.core.errors import VsumError
from vsumgui.core.labels import KEEP, SKIP
from vsumgui.core.lru import LRU
from vsumgui.core.nn import torch  # imported when a fit or a similarity runs, not with the window

METHOD = "likes"
WEIGHT = 5.0  # the expert's full say, in standard deviations of the pretrained curve
FRAC = 0.6
SHARP = 10.0
POOL = 1000  # samples at most for the typical similarity (evenly spaced over the labelled videos)
CACHED = 4  # loaded models kept by `load_cached` (a profile and backbone each; most recently used)


def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) cosine similarities of unit rows. In torch, not numpy: a numpy matrix
    product in a Qt worker thread crashed the process (OpenBLAS), torch's runs under few_threads."""
    with torch.inference_mode():
        return (torch.from_numpy(np.ascontiguousarray(a)) @ torch.from_numpy(np.ascontiguousarray(b)).T).numpy()


def standard(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow warning for large |x|


@dataclass
class Likes:
    keep: np.ndarray  # (n, D) unit features of the samples labelled keep
    skip: np.ndarray  # (m, D) unit features of the samples labelled skip
    thr: float
    temp: float
    base: str  # the method whose curve the expert moves
    weight: float = WEIGHT

    @property
    def n(self) -> int:
        return len(self.keep) + len(self.skip)

    def near(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """How near each sample is to a keep and to a skip (0..1)."""
        u = unit(x)
        out = []
        for ref in (self.keep, self.skip):
            c = cosines(u, ref).max(axis=1) if len(ref) else np.full(len(u), -1.0, np.float32)
            out.append(_sigmoid((c.astype(np.float64) - self.thr) / self.temp))
        return out[0], out[1]

    def evidence(self, x: np.ndarray) -> np.ndarray:
        """In [-1, 1]: 1 like a keep, -1 like a skip, 0 unlike any label (or like both)."""
        k, s = self.near(x)
        return k - s

    def scores(self, pretrained: np.ndarray, x: np.ndarray) -> np.ndarray:
        return _sigmoid(standard(pretrained) + self.weight * self.evidence(x))

    def save(self, path: Path, backbone: str, profile: str, labels: int) -> Path:
        header = {"method": METHOD, "backbone": backbone, "dim": int(self.keep.shape[1]), "epoch": 0,
                  "hparams": {"thr": self.thr, "temp": self.temp, "weight": self.weight, "frac": FRAC,
                              "sharp": SHARP},
                  "data": {"profile": profile, "base": self.base, "labels": labels}}
        model = {"keep": torch.from_numpy(self.keep), "skip": torch.from_numpy(self.skip)}
        return checkpoints.save(path, checkpoints.Checkpoint(header, model))

    @classmethod
    def load(cls, path: Path, backbone: str, dim: int) -> Likes:
        """VsumError when the file is damaged or for other features (an older kind of head too)."""
        ck = checkpoints.load(path)
        if ck.method != METHOD:  # a head of an earlier version (an MLP)
            raise VsumError(f"{path} is a personal model of an earlier version: press Personalize to fit it anew")
        ck.check(METHOD, backbone, dim)
        hp = ck.hparams
        return cls(ck.model["keep"].numpy(), ck.model["skip"].numpy(), float(hp["thr"]), float(hp["temp"]),
                   str(ck.header["data"]["base"]), float(hp["weight"]))


_models = LRU(CACHED)


def load_cached(path: Path, backbone: str, dim: int) -> Likes:
    """`Likes.load`, read again only when the file changed: models are kept by (path, modification
    time, size, inode) with the backbone and width asked for, the CACHED most recently used.
    The suggestions ask for the profile's model at every label change; an hour of video's model
    took most of a third of a second to read. A model is never changed once made (`fit` makes a
    new one), so callers may share it; a failed load (VsumError) is not kept."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError:
        return Likes.load(path, backbone, dim)  # says why, as without the cache
    key = (str(path.absolute()), st.st_mtime_ns, st.st_size, st.st_ino, backbone, int(dim))
    model = _models.get(key)
    if model is None:
        model = Likes.load(path, backbone, dim)
        _models.put(key, model)
    return model


def fit(videos: list[tuple[np.ndarray, np.ndarray]], base: str) -> Likes:
    """The expert for (features (T, D), targets (T,) with NaN = unlabelled) of every labelled
    video; at least one labelled sample."""
    x = np.concatenate([v for v, _ in videos])
    y = np.concatenate([t for _, t in videos])
    lab = np.isfinite(y)
    ul = unit(x[lab])
    pool = unit(x[np.linspace(0, len(x) - 1, min(POOL, len(x))).round().astype(int)])
    typical = float(np.median(cosines(pool, pool)))
    if len(ul) > 1:
        c = cosines(ul, ul)
        np.fill_diagonal(c, -np.inf)
        within = float(np.median(c.max(axis=1)))
    else:
        within = 1.0
    within = max(within, typical + 0.05)  # labels that resemble nothing, even each other: still a scale
    return Likes(ul[y[lab] == KEEP], ul[y[lab] == SKIP], typical + FRAC * (within - typical),
                 (within - typical) / SHARP, base)
