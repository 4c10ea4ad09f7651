"""Fine-tuning a pretrained ViSP model on a person's labels without forgetting what it knew."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from vsumgui.core import methods
from vsumgui.core.errors import check_cancel
from vsumgui.core.nn import torch  # imported by a fit, not with the window
from vsumgui.core.personal.store import VISP, no_labels

STEPS = 40
LR = 1e-4
LAMBDA = 0.5  # weight of the unlabelled samples' MSE to the pretrained curve
ANCHOR = 1e-2  # L2 toward the pretrained weights (L2-SP): sum of squared moves, times this
KEEP_RANK = 0.9  # stop when the unlabelled samples' rank correlation to the pretrained falls below
CHECK = 10  # steps between two checks of cancel and of the unlabelled ranking


def checkpoint(summary) -> Path | None:
    """The ViSP checkpoint the summary's ViSP scores came from (given, user or demo), or None."""
    m = methods.create(VISP, summary.options.checkpoints.get(VISP))
    return m.checkpoint if m.ready else None


def scores(model, x: np.ndarray, window: int) -> np.ndarray:
    from vsumgui.core.methods.visp import ViSP

    return ViSP.frame_scores(model, x, window)


def finetune(model, videos: list[tuple[np.ndarray, np.ndarray]], window: int, seed: int = 0,
             progress: Callable[[str, float], None] | None = None, cancel: threading.Event | None = None):
    """Fine-tune a pretrained ViSP model on (features (T, D), targets (T,) with NaN = unlabelled).

    visp.txt fine-tunes its summarizer with Eq. 11 (the MSE of sigmoid(alpha) against {0, 1}
    labels, `ViSPModel.supervised_loss`) as in its original training; it gives no step count
    or rate, and its labels cover every frame. Ours cover a few shots, and the earlier setup
    (100 steps at 3e-4) forgot: on another scene of a kept film ViSP fell from AP 0.71 to 0.39.
    So, to learn the labels and keep the rest:
    - loss: Eq. 11 on the labelled samples + LAMBDA x the same MSE of the unlabelled samples to
      the pretrained sigmoid(alpha) + ANCHOR x the squared distance of the weights to the
      pretrained ones (L2-SP);
    - Adam, lr LR = 1e-4 (ViSP's pretraining rate), STEPS = 40 at most, always from the
      pretrained checkpoint (labels accumulate, so every Personalize refits all of them);
    - early stopping: every CHECK steps the unlabelled samples' Spearman correlation to the
      pretrained scores is measured; below KEEP_RANK the last weights above it are restored;
    - the summarizer Theta is trained (input projection, Transformer, logit layer), the video
      encoder E (unused after pretraining, §A.3) is not; each step shows one interleaved group
      of at most `window` samples of every video, as `ViSP` scores a long video.
    Transfer to similar unlabelled content is the job of the similarity expert (`likes`) that
    `personalize` puts on top of this model's curve.
    """
    if not any(np.isfinite(y).any() for _, y in videos):
        raise no_labels()
    torch.manual_seed(seed)
    model.eval()
    data = []
    for x, y in videos:
        base = torch.from_numpy(scores(model, x, window)).float()  # pretrained, as scored
        g = 1 if len(x) <= window else math.ceil(len(x) / window)
        data.append((x, torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(y).float(), base, g))
    params = [p for m in (model.proj, model.summarizer, model.head) for p in m.parameters()]
    start = [p.detach().clone() for p in params]
    best = start
    opt = torch.optim.Adam(params, lr=LR)
    for step in range(STEPS + 1):
        if step % CHECK == 0:
            check_cancel(cancel)
            if progress:
                progress("personalizing", step / STEPS)
            if step and _rank_kept(model, data, window) < KEEP_RANK:
                break
            best = [p.detach().clone() for p in params]
            if step == STEPS:
                break
        model.train()
        parts = []
        for v, (_, x, y, base, g) in enumerate(data):
            r = (step + v) % g
            ys = y[r::g]
            lab = torch.isfinite(ys)
            parts.append((x[r::g], torch.where(lab, torch.nan_to_num(ys), base[r::g]), lab))
        n_lab = sum(int(lab.sum()) for _, _, lab in parts)
        n_reg = sum(int((~lab).sum()) for _, _, lab in parts)
        # mean over the labelled samples + LAMBDA x mean over the others, as per-sample weights of
        # Eq. 11's weighted MSE (which divides by the weights' sum, multiplied back here)
        w_lab, w_reg = (1.0 / n_lab if n_lab else 0.0), (LAMBDA / n_reg if n_reg else 0.0)
        loss = ANCHOR * sum(((p - p0) ** 2).sum() for p, p0 in zip(params, start))
        for xs, target, lab in parts:
            w = lab.float() * w_lab + (~lab).float() * w_reg
            if float(w.sum()) > 0:
                loss = loss + model.supervised_loss(xs, target, w) * w.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        for p, b in zip(params, best):
            p.copy_(b)
    if progress:
        progress("personalizing", 1.0)
    return model.eval()


def _rank_kept(model, data, window: int) -> float:
    """The lowest Spearman correlation, over the videos, of the unlabelled samples' scores to the
    pretrained ones (1 when a video has too few unlabelled samples to rank)."""
    from scipy.stats import spearmanr  # a second of imports the window does not wait for

    model.eval()
    worst = 1.0
    for x, _, y, base, _ in data:
        free = ~torch.isfinite(y)
        if int(free.sum()) > 2:
            now = scores(model, x, window)[free.numpy()]
            rho = spearmanr(now, base[free].numpy()).statistic
            worst = min(worst, float(rho) if np.isfinite(rho) else 1.0)
    return worst
