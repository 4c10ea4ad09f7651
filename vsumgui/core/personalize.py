"""Personalization from a few keep/skip labels: a small head on frozen features.

The head h(x) = sigmoid(MLP(x)) is fitted on every labelled span of a profile (labels of
several videos accumulate: their features come from the feature cache), with the loss

    mean over labelled samples (h - y)^2  +  LAMBDA * mean over unlabelled samples (h - b)^2

where y is 1 for keep and 0 for skip, and b is the base method's min-max-normalized score, so
the parts nobody labelled stay near the pretrained curve. The head is saved per profile (a
checkpoint file in the user data folder) and scores the person's next videos without labels.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from vsumgui.core import checkpoints, features as feat, methods, paths
from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.core.labels import LabelStore

LAMBDA = 0.5
HIDDEN = 64
STEPS = 300
LR = 3e-3
METHOD = "personal"


def curve_name(profile: str) -> str:
    return f"personalized ({profile})"


@dataclass
class Example:
    """One labelled video: features, per-sample targets (NaN = unlabelled) and base scores."""

    x: np.ndarray
    y: np.ndarray
    base: np.ndarray


class Head(nn.Module):
    def __init__(self, dim: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)).squeeze(-1)


def head_path(profile: str, backbone: str) -> Path:
    safe = re.sub(r"[^\w.-]+", "_", profile).strip("._") or "profile"
    return paths.data_dir() / "profiles" / safe / f"head-{backbone}{checkpoints.SUFFIX}"


def targets(times: np.ndarray, duration: float, spans: list[tuple[float, float, int]]) -> np.ndarray:
    """Per-sample label (1 keep, 0 skip) for samples whose start lies in a labelled span, else NaN."""
    y = np.full(len(times), np.nan)
    for start, end, label in spans:
        y[(times >= start - 1e-6) & (times < end - 1e-6)] = label
    return y


def examples(profile: str, store: LabelStore, current: feat.Features | None, base: str,
             backbone: str, sample_rate: float) -> list[Example]:
    """Every labelled video of the profile whose features are at hand (current or cached)."""
    by_video: dict[str, list] = {}
    for lb in store.get(profile):
        by_video.setdefault(lb.video, []).append((lb.start, lb.end, lb.label))
    scorer = methods.create(base)
    out = []
    for key, spans in by_video.items():
        f = current if current is not None and current.key == key else feat.cached(key, backbone, sample_rate)
        if f is None:
            continue  # a labelled video whose features are no longer cached
        b = methods.minmax(scorer.score(f.features, f.backbone).scores)
        out.append(Example(f.features, targets(f.times, f.video.duration, spans), b))
    return out


def fit(exs: list[Example], steps: int = STEPS, seed: int = 0,
        progress: Callable[[str, float], None] | None = None, cancel: threading.Event | None = None) -> Head:
    """Fit the head on the examples (full batch, Adam). Needs at least one labelled sample."""
    if not any(np.isfinite(e.y).any() for e in exs):
        raise VsumError("no labelled shot to learn from: mark a few shots keep (K) or skip (S) first")
    torch.manual_seed(seed)
    x = torch.from_numpy(np.concatenate([e.x for e in exs])).float()
    y = torch.from_numpy(np.concatenate([e.y for e in exs])).float()
    b = torch.from_numpy(np.concatenate([e.base for e in exs])).float()
    lab = torch.isfinite(y)
    head = Head(x.shape[1])
    opt = torch.optim.Adam(head.parameters(), lr=LR)
    for step in range(steps):
        if step % 25 == 0:
            check_cancel(cancel)
            if progress:
                progress("personalizing", step / steps)
        h = head(x)
        loss = ((h[lab] - y[lab]) ** 2).mean()
        if (~lab).any():
            loss = loss + LAMBDA * ((h[~lab] - b[~lab]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    if progress:
        progress("personalizing", 1.0)
    return head.eval()


def save(profile: str, head: Head, backbone: str, dim: int, base: str, n_labels: int) -> Path:
    header = {"method": METHOD, "backbone": backbone, "dim": dim, "epoch": STEPS,
              "hparams": {"hidden": HIDDEN, "lambda": LAMBDA, "steps": STEPS, "lr": LR},
              "data": {"profile": profile, "base": base, "labels": n_labels}}
    return checkpoints.save(head_path(profile, backbone), checkpoints.Checkpoint(header, head.state_dict()))


def load(profile: str, backbone: str, dim: int) -> Head | None:
    """The profile's saved head for these features, or None when it has none."""
    p = head_path(profile, backbone)
    if not p.is_file():
        return None
    ck = checkpoints.load(p)
    ck.check(METHOD, backbone, dim)
    head = Head(dim, int(ck.hparams.get("hidden", HIDDEN)))
    head.load_state_dict(ck.model)
    return head.eval()


def apply(head: Head, features: np.ndarray) -> methods.MethodScores:
    with torch.inference_mode():
        return methods.MethodScores(head(torch.from_numpy(np.asarray(features, np.float32))).numpy().astype(np.float64))


def personalize(summary, profile: str, store: LabelStore, base: str | None = None,
                progress: Callable[[str, float], None] | None = None,
                cancel: threading.Event | None = None) -> methods.MethodScores:
    """Fit the profile's head on all its labels, save it, and add its curve to the summary."""
    base = base or summary.driver
    if base.startswith("personalized"):
        base = "ctvsum"
    f = summary.features
    exs = examples(profile, store, f, base, f.backbone, f.sample_rate)
    head = fit(exs, progress=progress, cancel=cancel)
    save(profile, head, f.backbone, f.features.shape[1], base, len(store.get(profile)))
    scores = apply(head, f.features)
    summary.add_scores(curve_name(profile), scores)
    return scores


def personal_scores(summary, profile: str) -> methods.MethodScores | None:
    """The saved head of a profile applied to a (new) video, added as a curve; None without a head."""
    f = summary.features
    head = load(profile, f.backbone, f.features.shape[1])
    if head is None:
        return None
    scores = apply(head, f.features)
    summary.add_scores(curve_name(profile), scores)
    return scores
