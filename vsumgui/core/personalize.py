"""Personalization from a few keep/skip labels.

Two ways, both fitted on every labelled span of a profile (labels of several videos accumulate:
their features come from the feature cache), both with the loss

    mean over labelled samples (s - y)^2  +  LAMBDA * mean over unlabelled samples (s - b)^2

where y is 1 for keep and 0 for skip and b is the pretrained score, so the parts nobody
labelled stay near the pretrained curve:

- ViSP (when it is the method personalized and has a checkpoint): the ViSP model itself is
  fine-tuned with its own objective, Eq. 11 of visp.txt (the MSE of s = sigmoid(alpha) against
  the labels, `ViSP.finetune_loss`), plus the regulariser above with b = the pretrained
  sigmoid(alpha) (ViSP's own scale, so no normalization). See `finetune_visp` for the setup.
- every other method: a small head h(x) = sigmoid(MLP(x)) on the frozen features, with b the
  base method's min-max-normalized score.

The result is saved per profile and backbone (a checkpoint file in the user data folder:
`head-<backbone>.pt`, or `visp-<backbone>.pt`, a ViSP checkpoint in the usual format that
`methods.create("visp", path)` loads) and scores the person's next videos without labels. A
profile has one personal curve: saving one kind removes the other.

The fits are small: they run with THREADS torch threads (see there and `few_threads`).
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from vsumgui.core import checkpoints, features as feat, methods, paths
from vsumgui.core.nn import few_threads
from vsumgui.core.errors import VsumError, check_cancel
from vsumgui.core.labels import LabelStore

LAMBDA = 0.5
HIDDEN = 64
STEPS = 150
LR = 3e-3
METHOD = "personal"
BATCH = 256  # labelled and unlabelled samples per step of the head's fit (each)
VISP = "visp"
VISP_STEPS = 100
VISP_LR = 3e-4
# Torch intra-op threads of a fit (`few_threads`). One: a fit this small gains little from
# more (alone on 2 cores, 2 threads save 0-25 %), and more threads than free cores is a trap:
# the threads of one operation wait for each other at every barrier, and one that the system
# has set aside holds up the rest. Measured with benchmarks/personalization.py on 2 shared
# cores, 10-minute video, 5 labels, ViSP beside two torch processes (two runs, best and
# median of 3 each): 1 thread 5.4-5.7 s, 2 threads 16-142 s. The count is set for the fitting
# thread only and restored after the fit (see `few_threads`); the backbone's feature
# extraction runs in ONNX Runtime with its own threads and is not affected.
THREADS = 1


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


def profile_dir(profile: str) -> Path:
    safe = re.sub(r"[^\w.-]+", "_", profile).strip("._") or "profile"
    return paths.data_dir() / "profiles" / safe


def head_path(profile: str, backbone: str) -> Path:
    return profile_dir(profile) / f"head-{backbone}{checkpoints.SUFFIX}"


def visp_path(profile: str, backbone: str) -> Path:
    """The profile's fine-tuned ViSP model (a ViSP checkpoint)."""
    return profile_dir(profile) / f"{VISP}-{backbone}{checkpoints.SUFFIX}"


def saved(profile: str, backbone: str) -> Path | None:
    """The profile's personal model for this backbone (the newer one if a crash left both)."""
    found = [p for p in (head_path(profile, backbone), visp_path(profile, backbone)) if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None


def _only(keep: Path, other: Path) -> None:
    """One personal model per profile and backbone: the one just saved."""
    with contextlib.suppress(FileNotFoundError):
        other.unlink()


def targets(times: np.ndarray, duration: float, spans: list[tuple[float, float, int]]) -> np.ndarray:
    """Per-sample label (1 keep, 0 skip) for samples whose start lies in a labelled span, else NaN."""
    y = np.full(len(times), np.nan)
    for start, end, label in spans:
        y[(times >= start - 1e-6) & (times < end - 1e-6)] = label
    return y


def labelled(profile: str, store: LabelStore, current: feat.Features | None, backbone: str,
             sample_rate: float) -> list[tuple[feat.Features, np.ndarray]]:
    """(features, per-sample targets) of every labelled video of the profile whose features are
    at hand (current or cached)."""
    by_video: dict[str, list] = {}
    for lb in store.get(profile):
        by_video.setdefault(lb.video, []).append((lb.start, lb.end, lb.label))
    out = []
    for key, spans in by_video.items():
        f = current if current is not None and current.key == key else feat.cached(key, backbone, sample_rate)
        if f is None:
            continue  # a labelled video whose features are no longer cached
        out.append((f, targets(f.times, f.video.duration, spans)))
    return out


def examples(profile: str, store: LabelStore, current: feat.Features | None, base: str,
             backbone: str, sample_rate: float) -> list[Example]:
    """Every labelled video of the profile, with the base method's min-max-normalized scores."""
    scorer = methods.create(base)
    from vsumgui.core.pipeline import score_features  # a quick look's keyframes are scored once each
    return [Example(f.features, y, methods.minmax(score_features(scorer, f).scores))
            for f, y in labelled(profile, store, current, backbone, sample_rate)]


def _no_labels() -> VsumError:
    return VsumError("no labelled shot to learn from: mark a few shots keep (K) or skip (S) first")


def fit(exs: list[Example], steps: int | None = None, seed: int = 0,
        progress: Callable[[str, float], None] | None = None, cancel: threading.Event | None = None) -> Head:
    """Fit the head on the examples (Adam). Needs at least one labelled sample.

    Each step sees at most BATCH labelled and BATCH unlabelled samples, drawn at random (all of
    them when there are fewer): the two means of the loss are estimated on those, so a step
    costs the same for a 10-minute video (1200 samples) as for a 2-minute one.
    """
    if not any(np.isfinite(e.y).any() for e in exs):
        raise _no_labels()
    steps = steps or STEPS
    torch.manual_seed(seed)
    x = torch.from_numpy(np.concatenate([e.x for e in exs])).float()
    y = torch.from_numpy(np.concatenate([e.y for e in exs])).float()
    b = torch.from_numpy(np.concatenate([e.base for e in exs])).float()
    lab = torch.isfinite(y)
    li, ui = lab.nonzero().squeeze(1), (~lab).nonzero().squeeze(1)
    gen = torch.Generator().manual_seed(seed)

    def draw(idx: torch.Tensor) -> torch.Tensor:
        return idx if len(idx) <= BATCH else idx[torch.randperm(len(idx), generator=gen)[:BATCH]]

    head = Head(x.shape[1])
    opt = torch.optim.Adam(head.parameters(), lr=LR)
    for step in range(steps):
        if step % 25 == 0:
            check_cancel(cancel)
            if progress:
                progress("personalizing", step / steps)
        li_s, ui_s = draw(li), draw(ui)
        idx = torch.cat([li_s, ui_s])
        h = head(x[idx])
        n = len(li_s)
        loss = ((h[:n] - y[li_s]) ** 2).mean()
        if len(ui_s):
            loss = loss + LAMBDA * ((h[n:] - b[ui_s]) ** 2).mean()
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
    path = checkpoints.save(head_path(profile, backbone), checkpoints.Checkpoint(header, head.state_dict()))
    _only(path, visp_path(profile, backbone))
    return path


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


# -- ViSP: fine-tuning the model itself --------------------------------------------------------
def visp_checkpoint(summary) -> Path | None:
    """The ViSP checkpoint the summary's ViSP scores came from (given, user or demo), or None."""
    m = methods.create(VISP, summary.options.checkpoints.get(VISP))
    return m.checkpoint if m.ready else None


def finetune_visp(model, videos: list[tuple[np.ndarray, np.ndarray]], window: int, steps: int | None = None,
                  lr: float | None = None, seed: int = 0, progress: Callable[[str, float], None] | None = None,
                  cancel: threading.Event | None = None):
    """Fine-tune a pretrained ViSP model on (features (T, D), targets (T,) with NaN = unlabelled).

    visp.txt fine-tunes "exactly [as] the original training process" of its summarizer (CSTA)
    with Eq. 11, the MSE between sigmoid(alpha) and {0, 1} labels; it gives no learning rate or
    step count for that (it defers to CSTA's settings) and no regulariser (its labels cover
    every frame). Our choices:
    - the loss: Eq. 11 over the labelled samples (`ViSP.finetune_loss` with a mask) + LAMBDA x
      the same MSE over the unlabelled samples against the pretrained sigmoid(alpha), which
      keeps what nobody labelled where pretraining put it;
    - what is trained: the summarizer Theta (input projection, Transformer, logit layer); the
      video encoder E is unused after pretraining (§A.3) and stays as it was;
    - Adam, lr VISP_LR = 3e-4 (three times the pretraining lr: few steps), VISP_STEPS = 100,
      no weight decay, always starting from the pretrained checkpoint (labels accumulate, so
      every Personalize refits all of them: the same labels give the same model); 100 steps
      move the labelled shots as far as 150 did, with the same rank correlation of the
      unlabelled samples to the pretrained scores (0.82 against 0.83 on the benchmark video
      of benchmarks/personalization.py), in two thirds of the time;
    - each step shows the model one interleaved group of at most `window` samples of every
      video (the groups in which `ViSP` scores a long video, cycled step by step): the model
      sees what it sees at inference, and a step costs the same for a 10-minute video as for
      a 2-minute one.
    """
    from vsumgui.core.methods.visp import ViSP

    if not any(np.isfinite(y).any() for _, y in videos):
        raise _no_labels()
    steps, lr = steps or VISP_STEPS, lr or VISP_LR
    torch.manual_seed(seed)
    model.eval()
    data = []
    for x, y in videos:
        base = torch.from_numpy(ViSP.frame_scores(model, x, window)).float()  # pretrained, as scored
        g = 1 if len(x) <= window else math.ceil(len(x) / window)
        data.append((torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(y).float(), base, g))
    params = [p for m in (model.proj, model.summarizer, model.head) for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr)
    model.train()
    for step in range(steps):
        if step % 10 == 0:
            check_cancel(cancel)
            if progress:
                progress("personalizing", step / steps)
        parts = []
        for v, (x, y, base, g) in enumerate(data):
            r = (step + v) % g
            ys = y[r::g]
            lab = torch.isfinite(ys)
            parts.append((x[r::g], torch.where(lab, torch.nan_to_num(ys), base[r::g]), lab))
        n_lab = sum(int(lab.sum()) for _, _, lab in parts)
        n_reg = sum(int((~lab).sum()) for _, _, lab in parts)
        # mean over the labelled samples + LAMBDA x mean over the others, as per-sample weights
        # of Eq. 11's masked MSE (one forward pass per video; finetune_loss divides by the
        # weights' sum, which is multiplied back)
        w_lab, w_reg = (1.0 / n_lab if n_lab else 0.0), (LAMBDA / n_reg if n_reg else 0.0)
        loss = None
        for xs, target, lab in parts:
            w = lab.float() * w_lab + (~lab).float() * w_reg
            if float(w.sum()) > 0:
                term = ViSP.finetune_loss(model, xs, target, w) * w.sum()
                loss = term if loss is None else loss + term
        if loss is None:
            continue
        opt.zero_grad()
        loss.backward()
        opt.step()
    if progress:
        progress("personalizing", 1.0)
    return model.eval()


def personalize_visp(summary, profile: str, store: LabelStore, checkpoint: Path,
                     progress: Callable[[str, float], None] | None = None,
                     cancel: threading.Event | None = None) -> methods.MethodScores:
    """Fine-tune the ViSP checkpoint on the profile's labels, save it, score the summary's video."""
    from vsumgui.core.methods.visp import ViSP

    f = summary.features
    ck = checkpoints.load(checkpoint)
    ck.check(VISP, f.backbone, f.features.shape[1])
    hp = {**ViSP.hparams, **ck.hparams}
    model = ViSP.build_model(ck.dim, hp)
    model.load_state_dict(ck.model)
    window = int(hp["window"])
    videos = [(g.features, y) for g, y in labelled(profile, store, f, f.backbone, f.sample_rate)]
    finetune_visp(model, videos, window, progress=progress, cancel=cancel)
    check_cancel(cancel)  # a cancel after the last step saves nothing
    header = {**ck.header, "personalized": {
        "profile": profile, "from": str(checkpoint), "labels": len(store.get(profile)), "videos": len(videos),
        "steps": VISP_STEPS, "lr": VISP_LR, "lambda": LAMBDA, "objective": "visp.txt Eq. 11 + regulariser"}}
    path = checkpoints.save(visp_path(profile, f.backbone), checkpoints.Checkpoint(header, model.state_dict()))
    _only(path, head_path(profile, f.backbone))
    return methods.MethodScores(ViSP.frame_scores(model, f.features, window))


def personalize(summary, profile: str, store: LabelStore, base: str | None = None,
                progress: Callable[[str, float], None] | None = None,
                cancel: threading.Event | None = None, threads: int | None = None) -> methods.MethodScores:
    """Fit the profile's personal model on all its labels (ViSP fine-tuned when `base` is ViSP
    with a checkpoint, else a head), save it, and return its curve for the summary's video (the
    summary is not changed: `summary.with_scores({curve_name(profile): scores})` adds it).
    `threads`: torch threads for the fit (default THREADS)."""
    base = base or summary.driver
    if base.startswith("personalized"):
        base = "ctvsum"
    f = summary.features
    with few_threads(threads or THREADS):
        ck = visp_checkpoint(summary) if base == VISP else None
        if ck is not None:
            scores = personalize_visp(summary, profile, store, ck, progress, cancel)
        else:
            exs = examples(profile, store, f, base, f.backbone, f.sample_rate)
            head = fit(exs, progress=progress, cancel=cancel)
            check_cancel(cancel)
            save(profile, head, f.backbone, f.features.shape[1], base, len(store.get(profile)))
            scores = apply(head, f.features)
    return scores


def personal_scores(summary, profile: str) -> methods.MethodScores | None:
    """The profile's saved model (head or fine-tuned ViSP) applied to a (new) video (the summary is
    not changed); None when the profile has none for these features."""
    f = summary.features
    path = saved(profile, f.backbone)
    if path is None:
        return None
    if path == visp_path(profile, f.backbone):
        from vsumgui.core.pipeline import score_features
        scores = score_features(methods.create(VISP, path), f)
    else:
        head = load(profile, f.backbone, f.features.shape[1])
        scores = apply(head, f.features)
    return scores
