"""ViSP ("Video summarization pretraining with self-discovery of informative frames",
shared/seeds/visp.txt).

Pretraining (§3, Fig. 2), per batch of videos X_o:

- the summarizer Theta gives a logit alpha_t per frame, conditioned on all frames (Eq. 7);
- binary-concrete relaxation (Eq. 6): y_t = sigmoid((log eps - log(1 - eps) + alpha_t) / lambda),
  eps ~ U(0, 1); as lambda -> 0, y_t -> 1[alpha_t + log eps - log(1 - eps) > 0], which is 1
  with probability sigmoid(alpha_t);
- gating (§3.3, the default of Table 1): the summary is X_s = X_o * Y (frame-wise);
- a video encoder E maps a sequence to one vector (a second model, discarded after
  pretraining, §A.3); InfoNCE (Eq. 3): the summary of video i against every video j of the
  batch, its own video being the positive; optionally a random summary X_r^j of every video
  as hard negatives (off by default: Table 1's default variant is "w/o Hard negative");
- loss (Eq. 10) = L_N + beta_binary * R_binary + beta_size * R_size, R_binary = Y(1 - Y),
  R_size = ||Y||_1.

Scores: sigmoid(alpha_t), the keep probability (Eq. 11's S^p). Supervised fine-tuning (Eq. 11,
§4.1): the MSE between sigmoid(alpha) and the labels, `ViSPModel.supervised_loss`;
Personalize fine-tunes a ViSP checkpoint with it (core/personal/visp.finetune, where its choices
are written).

Choices where the paper is silent:
- Theta: the paper uses CSTA (a 2D CNN over GoogLeNet features); we take a light Transformer
  like CSUM's g: Linear to 128 -> 2-layer Transformer encoder (4 heads, d_inner 256, no
  dropout, no positional encoding) -> Linear to one logit per frame;
- E: the same shape with a learnable CLS token prepended; E(X) is the CLS output ("the CLS
  token in the final hidden state", §4.1);
- sim(a, b) (Eq. 3 prints E(a)^T E(b)): the inner product of L2-normalized E outputs divided
  by tau = 0.1. Our E ends in LayerNorm, so raw inner products are about d = 128 in size and
  would saturate the softmax; the normalization and tau (as in CHD and CSUM) keep it trainable;
- R_binary and R_size are averaged over frames (and windows), so the betas do not depend on
  the window length; Table 1 gives only ranges: lambda in (0.05, 5), beta_size in
  (0.01, 1000), beta_binary in (0.01, 100); our defaults are lambda = 0.5 (the upper end of the
  range Fig. 4 discusses), beta_binary = 0.1 and beta_size = 1 (per-frame means; a sum over a
  200-sample window would make it 0.005, the low end of the range). The paper reports 62 % of
  the frames kept after pretraining on TVSum/SumMe; on our three demo clips the contrastive
  task is easy and the summaries shrink to a few % of the frames, so read the demo's scores as
  a ranking;
- the hard negatives (when on) keep each frame with probability mean(Y) of their video
  (detached): a random summary of the same expected length;
- two windows of one video in a batch are neither positive nor negative to each other;
- Adam, lr 1e-4, weight decay 1e-4 (the optimizer is not given; CTVSUM's settings), windows
  of 200 samples (the paper trains 200 epochs of 32 videos);
- at inference Theta sees the video in interleaved groups of at most `window` samples that
  span the whole video, like the training windows (core/nn.grouped).
"""

from __future__ import annotations

from typing import Any

from vsumgui.core import nn as vnn
from vsumgui.core.methods.base import register
from vsumgui.core.methods.trained import TrainedMethod
from vsumgui.core.nn import F, Network, nn, torch

_TINY = 1e-6


def binary_concrete(alpha: torch.Tensor, lam: float, eps: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 6: sigmoid((log eps - log(1 - eps) + alpha) / lambda), eps ~ U(0, 1) unless given."""
    if eps is None:
        eps = torch.rand_like(alpha)
    eps = eps.clamp(_TINY, 1.0 - _TINY)
    return torch.sigmoid((eps.log() - torch.log1p(-eps) + alpha) / lam)


class ViSPModel(Network):
    """The summarizer Theta (frame logits) and the video encoder E (pretraining only)."""

    def __init__(self, dim: int, hp: dict[str, Any]) -> None:
        super().__init__()
        self.hp = dict(hp)
        d, heads, inner, layers = int(hp["d_model"]), int(hp["heads"]), int(hp["d_inner"]), int(hp["layers"])
        drop = float(hp["dropout"])
        self.proj, self.summarizer, self.head = vnn.frame_scorer(dim, d, heads, inner, layers, drop)
        self.enc_proj = nn.Linear(dim, d)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.encoder = vnn.encoder(d, heads, inner, layers, drop)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T) frame logits alpha."""
        return vnn.frame_logits(self.proj, self.summarizer, self.head, x)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T) keep probabilities sigmoid(alpha)."""
        return torch.sigmoid(self.logits(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """E: (B, T, D) sequence -> (B, d) L2-normalized CLS output."""
        h = self.enc_proj(x)
        h = torch.cat([self.cls.expand(len(h), -1, -1).to(h.dtype), h], 1)
        return vnn.unit(self.encoder(h)[:, 0].float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)

    def supervised_loss(self, x: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Fine-tuning (Eq. 11): mean over the (masked) frames of (sigmoid(alpha) - label)^2.
        x (B, T, D) or (T, D); labels in [0, 1] of shape (B, T) or (T,); mask: frames that count
        (bool), or per-frame weights (float: a weighted mean)."""
        if x.dim() == 2:
            x, labels = x[None], labels[None]
            mask = None if mask is None else mask[None]
        err = (self.scores(x) - labels.float()) ** 2
        if mask is None:
            return err.mean()
        m = mask.float()
        return (err * m).sum() / m.sum().clamp_min(1.0)


@register
class ViSP(TrainedMethod):
    name = "visp"
    title = "ViSP"
    order = 30

    hparams = {
        "layers": 2, "heads": 4, "d_model": 128, "d_inner": 256, "dropout": 0.0,
        "lambda": 0.5, "beta_binary": 0.1, "beta_size": 1.0, "hard_negatives": False, "tau": 0.1,
        "lr": 1e-4, "weight_decay": 1e-4, "window": 200,
    }
    hparam_notes = {
        "layers": "our choice (the paper's summarizer is CSTA)", "heads": "our choice",
        "d_model": "our choice", "d_inner": "our choice", "dropout": "our choice",
        "lambda": "Eq. 6 temperature; Table 1 range (0.05, 5), Fig. 4 discusses 0.1-0.5; value ours",
        "beta_binary": "Eq. 10; Table 1 range (0.01, 100); value ours",
        "beta_size": "Eq. 10; Table 1 range (0.01, 1000); value ours",
        "hard_negatives": "Eq. 3 and Table 1: the default variant is without hard negatives",
        "tau": "our choice (Eq. 3 uses a raw inner product)",
        "lr": "our choice (CTVSUM's Adam settings)", "weight_decay": "our choice (CTVSUM's)",
        "window": "our choice (CTVSUM's 200-sample windows)",
    }
    network = ViSPModel


    @classmethod
    def loss(cls, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        hp = model.hp
        x, vid = batch["x"], batch["video"]
        alpha = model.logits(x)
        with vnn.full_precision(x):
            y = binary_concrete(alpha.float(), float(hp["lambda"]))
        summary = x * y[..., None].to(x.dtype)  # gating, X_s = X_o * Y
        e_sum = model.embed(summary)
        e_vid = model.embed(x)
        hard = bool(hp["hard_negatives"])
        if hard:
            keep = torch.bernoulli(y.detach().mean(1, keepdim=True).expand_as(y))
            e_rand = model.embed(x * keep[..., None].to(x.dtype))
        with vnn.full_precision(x):
            tau = float(hp["tau"])
            b = len(x)
            eye = torch.eye(b, dtype=torch.bool, device=x.device)
            not_other = (vid[:, None] == vid[None, :]) & ~eye  # other windows of the same video
            logits = (e_sum @ e_vid.T / tau).masked_fill(not_other, float("-inf"))
            if hard:
                to_rand = (e_sum @ e_rand.T / tau).masked_fill(not_other, float("-inf"))
                logits = torch.cat([logits, to_rand], 1)
            target = torch.arange(b, device=x.device)
            nce = F.cross_entropy(logits, target)
            binary = (y * (1.0 - y)).mean()
            size = y.mean()
            total = nce + float(hp["beta_binary"]) * binary + float(hp["beta_size"]) * size
            with torch.no_grad():
                acc = (logits.argmax(1) == target).float().mean()
        return total, {"infonce": nce.detach(), "binary": binary.detach(), "size": size.detach(), "top1": acc}

    @classmethod
    def frame_output(cls, model: ViSPModel, x: torch.Tensor) -> torch.Tensor:
        """The keep probability sigmoid(alpha) (Eq. 11's S^p)."""
        return model.scores(x)
