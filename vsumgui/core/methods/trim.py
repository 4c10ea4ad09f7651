"""TRIM (Mishra, Ballester, Karatzas, "TRIM: a self-supervised video summarization framework
maximizing temporal relative information and representativeness", shared/seeds/trim.txt).

Metrics (§3.1): the feature distribution of frame t is D_t = softmax over the feature
dimensions of X_t, its entropy H_t = -sum_j D_t^j log D_t^j, and
- PTRI (Eq. 1):  Delta_t = |(H_t - H_{t-1}) / H_t|
- PCTRI (Eq. 2): Gamma_t = |(H_t - mean_{i<t} H_i) / H_t|

Network (§3.2): Conv1D over time (kernel 3, padding 1, D -> 1024) -> FC 1024 -> 512 -> 256 -> 1,
ReLU after every layer but the last, then a sigmoid: p_t, one score per frame.

Stage 1, self-supervised pre-training (§3.3): two views of a window, each with m % of its
frames zeroed, m ~ U(15 %, 50 %); L_PRE = (1 - Pearson(p', p'')) + nu (1/SD(p') + 1/SD(p''))
(Eqs. 3-5), nu = 0.005 (TVSum).
Stage 2, unsupervised fine-tuning (§3.4): on the unmasked window,
L_UNSUP = alpha (N-1)/sum_{t>=2} p_t Delta_t + beta (N-1)/sum_{t>=2} p_t Gamma_t
          + gamma W2^2(X, pX) + 1/SD(p)     (Eqs. 6-10), alpha = 1, beta = 5, gamma = 0.5,
where W2^2 is the Sinkhorn divergence of Feydy et al. [7] between the frames X (uniform
weights a) and the scaled frames p_j X_j (weights b = p / sum p), cost ||X_i - p_j X_j||^2 (Eq. 8).
Adam, lr 1e-5, weight decay 1e-5; 60 epochs of stage 1 then 90 of stage 2 (§4.1, §A.5).
Inference: p_t, then shots and knapsack as for every method (§4.2).

The Sinkhorn divergence comes from `geomloss`, the library of the authors of [7] (batched,
log-domain, epsilon-scaling, gradients by the envelope theorem with respect to the points
and the weights). POT was tried first: `ot.solve` gives the right gradients but solves one
problem at a time (about 11 s per batch of 16 windows on our CPU), and its batched solver
gives no gradient for the weights b, through which p enters the loss.

Choices where the paper is silent:
- the stage split is a fraction of the epochs: stage1 = 0.4 (60 of 60 + 90, so `--epochs 150`
  is the paper's schedule; the trainer's default 40 gives 16 + 24); one Adam for both stages;
  the stage is set before each epoch through Method.begin_epoch (the split is fixed by the first
  run's epochs, kept in the checkpoint: a resume with more epochs stays in stage 2);
- the network widths scale with `width` (1024 -> 512 -> 256 as in the paper for width = 1024;
  the bundled demo checkpoint uses width = 256 to stay under 5 MB for 1280-d features);
- the losses see windows of 200 samples like the other methods (the paper feeds a whole video
  per step); Delta and Gamma are computed along the window. A video shorter than the window is
  stretched with copies of its samples (trainer/data.py): the copies count as one frame in
  Delta, Gamma and N (the metrics of the video itself), while SD and W2 see every position;
  a window whose entropies never change (a still image) adds no PTRI/PCTRI term;
- the masked frames of a view are drawn without replacement, round(m * N) of them;
- SD is the population standard deviation (Eqs. 5, 9), floored at 1e-4;
- Sinkhorn: entropic blur = 0.3 x the RMS distance between the window's frames (so the
  regularization follows the features' scale), epsilon-scaling factor 0.7, debiased
  (S(X, X) = 0); geomloss's tensorized backend;
- at inference the network sees the video in interleaved groups of at most `window` samples
  spanning the video, like the training windows (core/nn.grouped).
"""

from __future__ import annotations

from typing import Any

from vsumgui.core import nn as vnn
from vsumgui.core.methods.base import register
from vsumgui.core.methods.trained import TrainedMethod
from vsumgui.core.nn import Network, nn, torch

_SD_FLOOR = 1e-4


def entropy(x: torch.Tensor) -> torch.Tensor:
    """(..., T, D) features -> (..., T) entropy of the softmax over the feature dimensions."""
    x = x.float()
    logp = torch.log_softmax(x, -1)
    return -(logp.exp() * logp).sum(-1)


def ptri(h: torch.Tensor, first: torch.Tensor | None = None) -> torch.Tensor:
    """PTRI (Eq. 1) along the last axis; Delta_1 = 0 (no previous frame). `first` (bool, same
    shape) marks the first copy of each sample in a stretched window: the metric is then that of
    the sequence without copies (0 at the copies)."""
    d = ((h[..., 1:] - h[..., :-1]) / h[..., 1:]).abs()
    d = torch.cat([torch.zeros_like(h[..., :1]), d], -1)
    return d if first is None else d * first


def pctri(h: torch.Tensor, first: torch.Tensor | None = None) -> torch.Tensor:
    """PCTRI (Eq. 2) along the last axis; Gamma_1 = 0 (no history). `first`: as for ptri (the
    history is then the mean over the distinct earlier samples)."""
    w = torch.ones_like(h) if first is None else first.to(h.dtype)
    sums, counts = (h * w).cumsum(-1)[..., :-1], w.cumsum(-1)[..., :-1]
    past = sums / counts.clamp_min(1.0)  # mean of H_1 .. H_{t-1}
    g = ((h[..., 1:] - past) / h[..., 1:]).abs()
    return torch.cat([torch.zeros_like(h[..., :1]), g], -1) * w


def sd(p: torch.Tensor) -> torch.Tensor:
    """Population standard deviation along the last axis, floored (1/SD is a loss term)."""
    return p.var(-1, unbiased=False).clamp_min(_SD_FLOOR ** 2).sqrt()


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation along the last axis (Eq. 4's fraction)."""
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    return (a * b).sum(-1) / ((a * a).sum(-1) * (b * b).sum(-1)).clamp_min(1e-12).sqrt()


def sinkhorn_w2(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor | None = None, b: torch.Tensor | None = None,
                blur: float = 0.3, scaling: float = 0.7) -> torch.Tensor:
    """Debiased Sinkhorn divergence [7] between point sets x (B, N, D) and y (B, M, D) with
    weights a (B, N) and b (B, M) (uniform when None), cost ||x - y||^2; returns (B,).

    The points are divided by the RMS distance r between x's points (detached), so the blur
    is relative (blur * r); the value is scaled back to squared feature units."""
    from geomloss import SamplesLoss  # imported on first use: it takes seconds to import

    x, y = x.float(), y.float()
    if a is None:
        a = x.new_full(x.shape[:2], 1.0 / x.shape[1])
    if b is None:
        b = y.new_full(y.shape[:2], 1.0 / y.shape[1])
    with torch.no_grad():
        s = torch.cdist(x, x).pow(2).mean((1, 2))
        s = torch.maximum(s, 1e-6 * (x * x).sum(-1).mean(-1)).clamp_min(1e-12)  # a still image has no spread
    k = s.sqrt()[:, None, None]
    loss = SamplesLoss("sinkhorn", p=2, blur=blur, scaling=scaling, debias=True, backend="tensorized")
    return loss(a.float(), x / k, b.float(), y / k) * 2.0 * s  # geomloss's cost is |x - y|^2 / 2


class TRIMModel(Network):
    """Conv1D(k=3) -> FC -> FC -> FC -> sigmoid; `stage` (1 or 2) is set by TRIM.begin_epoch."""

    def __init__(self, dim: int, hp: dict[str, Any]) -> None:
        super().__init__()
        self.hp = dict(hp)
        w = int(hp["width"])
        self.conv = nn.Conv1d(dim, w, kernel_size=3, padding=1)
        self.fc = nn.Sequential(nn.ReLU(), nn.Linear(w, w // 2), nn.ReLU(), nn.Linear(w // 2, w // 4), nn.ReLU(),
                                nn.Linear(w // 4, 1))
        self.register_buffer("stage", torch.tensor(1 if float(hp["stage1"]) > 0 else 2), persistent=False)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T) pre-sigmoid outputs."""
        return self.fc(self.conv(x.transpose(1, 2)).transpose(1, 2)).squeeze(-1).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T) frame probabilities p_t."""
        return torch.sigmoid(self.logits(x))


def mask_frames(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Zero round(m * T) random frames of each window, m ~ U(lo, hi) per window (§3.3)."""
    b, t, _ = x.shape
    m = torch.empty(b, device=x.device).uniform_(lo, hi)
    k = (m * t).round()
    rank = torch.rand(b, t, device=x.device).argsort(1).argsort(1)
    return x * (rank >= k[:, None]).to(x.dtype)[..., None]


@register
class TRIM(TrainedMethod):
    name = "trim"
    title = "TRIM"
    order = 40

    hparams = {
        "width": 1024, "stage1": 0.4, "mask_min": 0.15, "mask_max": 0.5, "nu": 0.005,
        "alpha": 1.0, "beta": 5.0, "gamma": 0.5, "sinkhorn_blur": 0.3, "sinkhorn_scaling": 0.7,
        "lr": 1e-5, "weight_decay": 1e-5, "window": 200,
    }
    hparam_notes = {
        "width": "§3.2: Conv1D[D -> 1024] -> FC 1024 -> 512 -> 256 -> 1",
        "stage1": "§4.1, §A.5: 60 epochs of stage 1, then 90 of stage 2 (fraction 60/150)",
        "mask_min": "§3.3: m between 15 % and 50 %",
        "mask_max": "§3.3: m between 15 % and 50 %",
        "nu": "§3.3, Fig. 3a: 0.005 for TVSum (0.0005 for SumMe)",
        "alpha": "§3.4, Eq. 10: 1", "beta": "§3.4, Eq. 10: 5", "gamma": "§3.4, Eq. 10: 0.5",
        "sinkhorn_blur": "our choice (relative to the window's RMS frame distance)",
        "sinkhorn_scaling": "our choice (geomloss epsilon-scaling factor)",
        "lr": "§4.1: Adam, lr 1e-5", "weight_decay": "§4.1: 1e-5",
        "window": "our choice (CTVSUM's 200-sample windows; the paper feeds whole videos)",
    }
    network = TRIMModel


    @classmethod
    def begin_epoch(cls, model: nn.Module, epoch: int, epochs: int) -> None:
        first = round(float(model.hp["stage1"]) * epochs)
        model.stage.fill_(1 if epoch < first else 2)

    @classmethod
    def loss(cls, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if int(model.stage) == 1:
            return cls.pretrain_loss(model, batch["x"])
        return cls.unsup_loss(model, batch["x"], batch.get("src"))

    @classmethod
    def pretrain_loss(cls, model: TRIMModel, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Stage 1 (Eqs. 3-5) on (B, T, D) windows."""
        hp = model.hp
        lo, hi = float(hp["mask_min"]), float(hp["mask_max"])
        p1 = model(mask_frames(x, lo, hi))
        p2 = model(mask_frames(x, lo, hi))
        with vnn.full_precision(x):
            corr = 1.0 - pearson(p1.float(), p2.float()).mean()
            sd1, sd2 = (1.0 / sd(p1.float())).mean(), (1.0 / sd(p2.float())).mean()
            total = corr + float(hp["nu"]) * (sd1 + sd2)
        return total, {"stage": torch.tensor(1.0), "corr": corr.detach(), "sd1": sd1.detach(), "sd2": sd2.detach()}

    @classmethod
    def unsup_loss(cls, model: TRIMModel, x: torch.Tensor, src: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Stage 2 (Eqs. 6-10) on (B, T, D) windows; `src` (B, T), the source sample of each
        position, tells the copies in a stretched window apart (N counts distinct samples)."""
        hp = model.hp
        p = model(x)
        with vnn.full_precision(x):
            p, xf = p.float(), x.float()
            h = entropy(xf)
            first = None
            if src is not None:
                first = torch.ones_like(src, dtype=torch.bool)
                first[:, 1:] = src[:, 1:] != src[:, :-1]
            n = first.sum(-1).float() if first is not None else torch.full_like(h[:, 0], x.shape[1])
            terms = []
            for rel in (ptri(h, first), pctri(h, first)):
                ok = rel.sum(-1) > 1e-12  # a still window carries no relative information
                denom = (p * rel).sum(-1).clamp_min(1e-12)
                term = torch.where(ok, (n - 1) / denom, torch.zeros_like(denom))
                terms.append(term.sum() / ok.sum().clamp_min(1))
            rep = sinkhorn_w2(xf, p[..., None] * xf, None, p / p.sum(-1, keepdim=True).clamp_min(1e-12),
                              float(hp["sinkhorn_blur"]), float(hp["sinkhorn_scaling"])).mean()
            sdl = (1.0 / sd(p)).mean()
            total = float(hp["alpha"]) * terms[0] + float(hp["beta"]) * terms[1] + float(hp["gamma"]) * rep + sdl
        return total, {"stage": torch.tensor(2.0), "ptrim": terms[0].detach(), "pctrim": terms[1].detach(),
                       "rep": rep.detach(), "sd": sdl.detach()}

