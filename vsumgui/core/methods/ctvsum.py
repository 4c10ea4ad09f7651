"""CTVSUM (Pang et al., "Contrastive Losses Are Natural Criteria for Unsupervised Video
Summarization", shared/seeds/ctvsum.txt).

Training-free scores (§4.1-4.2, the rows marked * in Table 1), used without a checkpoint:

- align*_t   = mean over the K = round(a*T) cosine nearest neighbours of ||x_t - x||^2
               (= 2 - 2 cos for L2-normalized x), a = 0.1           (Eq. 4)
- uniform*_t = log( mean over x != x_t of exp(-2 ||x_t - x||^2) )   (Eq. 5)
- score      = minmax(align*) * minmax(uniform*) + eps, Gaussian-smoothed   (Eq. 12)

Trained (§4.3-4.5; supplementary Table 1, "Standard" column), used with a checkpoint:

- G: frozen features -> Linear to d_model = 128 -> Transformer encoder (4 layers, 1 head,
  d_inner 512, dropout 0) -> z, L2-normalized. Neighbours N_t still come from the frozen
  features x (§4.3); align (Eq. 6) and uniform (Eq. 7) are computed on z.
- uniqueness (Eq. 9): z of a window against the segment features of the *other* videos
  in the batch (z average-pooled over m frames, L2-normalized).
- H: the uniqueness filter, trained on sg(z) to mimic y_t = 1 - minmax_t(sg(L_unique)) (Eq. 10).
- loss = align + l1 * uniform + l2 * unique + l3 * filter, l1 = 0.5, l2 = l3 = 0.1 (Eq. 11).
- score = minmax(align) * minmax(uniform) * minmax(H) + eps, Gaussian-smoothed (Eq. 12);
  the `unique` component is minmax(H).
- Adam, lr 1e-4, weight decay 1e-4; windows of 200 samples (random sub-sampling for longer
  videos, nearest-neighbour interpolation for shorter ones, §5.3).

Choices where the paper is silent:
- the neighbour set excludes the frame itself, and K is at least 1; in a training window
  made by nearest-neighbour interpolation the copies of a frame count as the frame itself
  (excluded from its neighbours and from its uniformity sum), else a short video's frames
  would be their own nearest neighbours at distance 0;
- eps = 1e-3; Gaussian smoothing sigma = 1 sample (0.5 s at the default 2 samples/s);
- a component that is constant over the video is scaled to ones, not to zeros;
- H is a one-layer Transformer encoder of G's width and heads ("a lightweight Transformer
  encoder", §5.3; its depth is not given) followed by a linear layer and a sigmoid; it is
  trained with the logits form of binary cross-entropy (numerically the same loss, and
  safe under mixed precision). Eq. 10 as printed lacks the minus sign on its second term;
  we use the standard binary cross-entropy it names;
- the segment length m of Eq. 9 is 10 samples (5 s at 2 samples/s); a window with no other
  video in its batch contributes no uniqueness or filter loss, and two windows of one video
  are not "other videos"; with several processes (torchrun) each one takes the other videos
  of its own share of the batch;
- no positional encoding (none is mentioned, and windows are random sub-samples, so a
  position would mean a different time in every window);
- at inference G and H see the video in interleaved groups of at most 200 samples that span
  the whole video, like the training windows (core/nn.grouped); align and uniform then use
  the whole video, as in the training-free scores;
- a demo or user checkpoint trained on other features than the video's is set aside and the
  training-free scores are used (a checkpoint given explicitly is an error instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vsumgui.core import nn as vnn
from vsumgui.core.methods.base import MethodScores, minmax, register, smooth
from vsumgui.core.methods.trained import TrainedMethod
from vsumgui.core.nn import F, Network, nn, torch

A = 0.1
EPS = 1e-3
SIGMA = 1.0
_BLOCK = 1024


def align_uniform(x: np.ndarray, a: float = A, z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw align and uniform (Eqs. 4-7), in row blocks. Neighbours by cosine of the
    L2-normalized `x`; distances on `z` (refined, L2-normalized) when given, else on `x`."""
    z = x if z is None else z
    t = len(x)
    if t < 2:
        return np.zeros(t), np.zeros(t)
    k = min(max(1, int(round(a * t))), t - 1)
    align = np.empty(t)
    uniform = np.empty(t)
    for lo in range(0, t, _BLOCK):
        rows = np.arange(min(_BLOCK, t - lo))
        sim = x[lo:lo + _BLOCK] @ x.T
        sim[rows, lo + rows] = -np.inf  # exclude the frame itself
        nn_idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        d = 2.0 - 2.0 * (z[lo:lo + _BLOCK] @ z.T)  # squared distances of unit vectors
        np.maximum(d, 0.0, out=d)
        align[lo:lo + _BLOCK] = np.take_along_axis(d, nn_idx, 1).mean(1)
        d[rows, lo + rows] = np.inf
        uniform[lo:lo + _BLOCK] = np.log(np.exp(-2.0 * d).sum(1) / (t - 1))
    return align, uniform


class CTVSUMModel(Network):
    """G (contrastive refinement) and H (uniqueness filter)."""

    def __init__(self, dim: int, hp: dict[str, Any]) -> None:
        super().__init__()
        self.hp = dict(hp)
        d = int(hp["d_model"])
        self.proj = nn.Linear(dim, d)
        self.refine = vnn.encoder(d, int(hp["heads"]), int(hp["d_inner"]), int(hp["layers"]), float(hp["dropout"]))
        self.filter = vnn.encoder(d, int(hp["heads"]), int(hp["d_inner"]), int(hp["filter_layers"]),
                                  float(hp["dropout"]))
        self.filter_head = nn.Linear(d, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) frozen features -> (B, T, d) refined, L2-normalized."""
        return vnn.unit(self.refine(self.proj(x)).float())

    def filter_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(B, T, d) refined features -> (B, T) uniqueness logits (sigmoid gives H)."""
        return self.filter_head(self.filter(z)).squeeze(-1).float()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.embed(x)
        return z, self.filter_logits(z)


@register
class CTVSUM(TrainedMethod):
    name = "ctvsum"
    title = "CTVSUM"
    order = 0
    component_names = ("align", "uniform", "unique")
    needs_checkpoint = False  # without one: the training-free scores (the rows marked * in Table 1)

    hparams = {
        "layers": 4, "heads": 1, "d_model": 128, "d_inner": 512, "dropout": 0.0,
        "filter_layers": 1, "lr": 1e-4, "weight_decay": 1e-4, "window": 200,
        "a": A, "lambda1": 0.5, "lambda2": 0.1, "lambda3": 0.1, "segment": 10,
    }
    hparam_notes = {
        "layers": "supp. Table 1 (Standard and YT8M)",
        "heads": "supp. Table 1 (Standard: 1; YT8M: 8)",
        "d_model": "supp. §1 and Table 1",
        "d_inner": "supp. Table 1",
        "dropout": "supp. Table 1",
        "filter_layers": "our choice: H is 'a lightweight Transformer encoder' (§5.3)",
        "lr": "supp. Table 1 (Adam)",
        "weight_decay": "supp. Table 1 (Standard: 1e-4; YT8M: 5e-4)",
        "window": "§5.3: every video restricted to 200 frames",
        "a": "§4.1 and supp. §3: (a, lambda1) = (0.1, 0.5) for the standard training",
        "lambda1": "Eq. 8, supp. §3",
        "lambda2": "Eq. 11: fixed to 0.1",
        "lambda3": "Eq. 11: fixed to 0.1",
        "segment": "our choice: segment length m of Eq. 9 (not given)",
    }
    network = CTVSUMModel


    @classmethod
    def loss(cls, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        hp = model.hp
        x, src, vid = batch["x"], batch["src"], batch["video"]
        b, t, _ = x.shape
        z = model.embed(x)
        logits = model.filter_logits(z.detach())  # H is trained on sg(z)
        with vnn.full_precision(x):
            z = z.float()
            # neighbours from the frozen features; copies of the same sample are the sample itself
            xn = vnn.unit(x.float())
            same = src[:, :, None] == src[:, None, :]
            others = ~same
            sim = (xn @ xn.transpose(1, 2)).masked_fill(same, float("-inf"))
            k = min(max(1, round(float(hp["a"]) * t)), t - 1)
            top, idx = sim.topk(k, dim=-1)
            valid = torch.isfinite(top)
            d = vnn.sqdist(z, z)
            align = (d.gather(-1, idx) * valid).sum(-1) / valid.sum(-1).clamp_min(1)
            uniform = vnn.masked_logmeanexp(-2.0 * d, others)

            # uniqueness (Eq. 9): against avg-pooled segments of the other videos in the batch
            m = max(1, min(int(hp["segment"]), t))
            s = vnn.unit(z[:, : t // m * m].reshape(b, t // m, m, -1).mean(2))  # (B, S, d)
            dseg = vnn.sqdist(z.reshape(b * t, -1), s.reshape(-1, s.shape[-1])).reshape(b, t, b, -1)
            other_video = (vid[:, None] != vid[None, :])  # (B, B)
            mask = other_video[:, None, :, None].expand(b, t, b, s.shape[1]).reshape(b, t, -1)
            unique = vnn.masked_logmeanexp(-2.0 * dseg.reshape(b, t, -1), mask)
            has_other = other_video.any(1)  # (B,)

            # the filter mimics 1 - minmax(unique) per window (Eq. 10)
            scaled, ok = vnn.scale_rows(unique.detach(), -1)
            target = 1.0 - scaled
            w = (has_other & ok).float()[:, None].expand(b, t)
            bce = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
            filt = (bce * w).sum() / w.sum().clamp_min(1.0)
            uniq = (unique.mean(-1) * has_other.float()).sum() / has_other.float().sum().clamp_min(1.0)

            parts = {"align": align.mean(), "uniform": uniform.mean(), "unique": uniq, "filter": filt}
            total = (parts["align"] + float(hp["lambda1"]) * parts["uniform"]
                     + float(hp["lambda2"]) * uniq + float(hp["lambda3"]) * filt)
        return total, {k: v.detach() for k, v in parts.items()}

    @classmethod
    def frame_output(cls, model: CTVSUMModel, x: torch.Tensor) -> torch.Tensor:
        """(1, L, d + 1): G's refined z, then H = sigmoid(uniqueness logit) in the last column."""
        z, logits = model(x)
        return torch.cat([z, torch.sigmoid(logits)[..., None]], -1)

    def _score(self, features: np.ndarray) -> MethodScores:
        x = features.astype(np.float64)
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        a_param = float((self.header or {}).get("hparams", {}).get("a", A))
        if self.run is None:
            align, uniform = align_uniform(x)
            a, u = minmax(align), minmax(uniform)
            return MethodScores(smooth(a * u + EPS, SIGMA), {"align": a, "uniform": u, "unique": None})
        out = self.infer(features)
        align, uniform = align_uniform(x, a_param, out[:, :-1])
        a, u, r = minmax(align), minmax(uniform), minmax(out[:, -1])
        return MethodScores(smooth(a * u * r + EPS, SIGMA), {"align": a, "uniform": u, "unique": r})
