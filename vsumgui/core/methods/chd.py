"""CHD (Badamdorj et al., "Contrastive Learning for Unsupervised Video Highlight Detection",
shared/seeds/chd.txt).

The highlight selector (§3.1-3.2, Figs. 3-4):

- v_i = W_V x_i: the frozen features linearly projected to d = 512 (Eq. 5);
- Z = Attn(V, V): a generic attention layer as self-attention (Eq. 6). Attn(X, Y) (Eqs. 1-4):
  dropout on both inputs; q = W_q x, k = W_k y, v = W_v y; alpha = softmax over the keys of
  q.k; z^ = sum alpha v; dropout on z^; residual + LayerNorm; FF(x) = max(0, x W1 + b1) W2 + b2;
  residual + LayerNorm. The residuals are dropped when query and key lengths differ (§3.1);
- the video query is the mean of Z (Eq. 7); (alpha, h) = Attn({mean}, Z) (Eq. 8): h is the
  video embedding and the attention weights alpha over the clips are the highlight scores.

Training (§3.3, Eq. 9, SimCSE): each window goes through the selector twice, with two
independent dropout masks (p = 0.1); the two embeddings of one window are the positive pair,
the embeddings of the other videos in the batch are the negatives; cosine similarity,
temperature tau = 0.1. Adam, lr 1e-5 (§4.1; the paper trains 10 epochs of 32-video batches).

Choices where the paper is silent:
- a "clip" is one sampled frame (0.5 s at 2 samples/s) and its frozen feature;
- Eq. 3 prints no scale; we scale q.k by 1/sqrt(d), as the scaled dot-product attention [40]
  it says it modifies; one head; W_V, W_q, W_k, W_v without bias (Eqs. 2 and 5 have none);
- in self-attention the query and key/value sequence is one sequence, so it gets one dropout
  mask (the residual adds the same dropped input);
- the feed-forward width is d (W1, W2 in R^{d x d}, §3.1); post-norm as in Fig. 3;
- the video query is the mean of Z, as Eq. 7 and Fig. 4 write it (the text before Eq. 7
  says "the average of the features obtained from the feature extractor");
- in the second layer (one query, N keys) both residuals are dropped, as §3.1 says for
  differing lengths;
- windows of 200 samples like the other methods (the paper feeds whole videos of N clips);
  two windows of one video in a batch are neither positive nor negative to each other (the
  paper's batches hold distinct videos);
- no weight decay (none is given);
- at inference the selector runs without dropout on interleaved groups of at most `window`
  samples spanning the video (core/nn.grouped); a frame's score is its attention weight
  times the group size (1 = an even share), so groups are comparable.
"""

from __future__ import annotations

import math
from typing import Any

from vsumgui.core import nn as vnn
from vsumgui.core.methods.base import register
from vsumgui.core.methods.trained import TrainedMethod
from vsumgui.core.nn import F, Network, nn, torch


class Attn(Network):
    """The generic attention layer (Eqs. 1-4, Fig. 3): (alpha (B, K, L), Z (B, K, d))."""

    def __init__(self, d: int, dropout: float) -> None:
        super().__init__()
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.drop = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
        self.norm2 = nn.LayerNorm(d)
        self.scale = 1.0 / math.sqrt(d)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        self_attention = y is None
        x = self.drop(x)
        y = x if self_attention else self.drop(y)
        alpha = torch.softmax((self.q(x) @ self.k(y).transpose(1, 2)).float() * self.scale, -1)
        z = self.drop(alpha.to(x.dtype) @ self.v(y))
        residual = x.shape[1] == y.shape[1]
        z = self.norm1(z + x if residual else z)
        f = self.ff(z)
        return alpha, self.norm2(f + z if residual else f)


class CHDModel(Network):
    """The highlight selector h = F(V)."""

    def __init__(self, dim: int, hp: dict[str, Any]) -> None:
        super().__init__()
        self.hp = dict(hp)
        d, p = int(hp["d_model"]), float(hp["dropout"])
        self.proj = nn.Linear(dim, d, bias=False)
        self.context = Attn(d, p)
        self.select = Attn(d, p)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, D) -> (highlight weights (B, T) summing to 1, video embedding (B, d))."""
        _, z = self.context(self.proj(x))
        alpha, h = self.select(z.mean(1, keepdim=True), z)
        return alpha[:, 0], h[:, 0]


@register
class CHD(TrainedMethod):
    name = "chd"
    title = "CHD"
    order = 20

    hparams = {"d_model": 512, "dropout": 0.1, "tau": 0.1, "lr": 1e-5, "weight_decay": 0.0, "window": 200}
    hparam_notes = {
        "d_model": "§4.1: embedding size d = 512 (queries, keys and values alike)",
        "dropout": "§4.1 and Table 7: p = 0.1",
        "tau": "§4.1: temperature 0.1 (Eq. 9)",
        "lr": "§4.1: Adam, learning rate 1e-5",
        "weight_decay": "our choice (none given)",
        "window": "our choice (as CTVSUM's 200-sample windows; the paper feeds whole videos)",
    }
    network = CHDModel


    @classmethod
    def loss(cls, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, vid = batch["x"], batch["video"]
        alpha, h1 = model(x)  # two passes: two independent dropout masks (SimCSE)
        _, h2 = model(x)
        with vnn.full_precision(x):
            tau = float(model.hp["tau"])
            sim = vnn.unit(h1.float()) @ vnn.unit(h2.float()).T / tau  # (B, B) cosine / tau
            same = vid[:, None] == vid[None, :]
            eye = torch.eye(len(x), dtype=torch.bool, device=x.device)
            logits = sim.masked_fill(same & ~eye, float("-inf"))  # other windows of the video: not negatives
            target = torch.arange(len(x), device=x.device)
            nce = F.cross_entropy(logits, target)
            with torch.no_grad():
                acc = (logits.argmax(1) == target).float().mean()
                peak = alpha.float().amax(1).mul(alpha.shape[1]).mean()  # max weight over an even share
        return nce, {"infonce": nce.detach(), "top1": acc, "peak": peak}

    @classmethod
    def frame_output(cls, model: CHDModel, x: torch.Tensor) -> torch.Tensor:
        """A frame's attention weight times the group length (1 = an even share)."""
        return model(x)[0] * x.shape[1]
