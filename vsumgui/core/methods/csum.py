"""CSUM (contrastive video summarization with a clip-contrastive distance and a
differentiable top-k, shared/seeds/csum.txt).

The paper's blocks (Fig. 2-3): a feature extractor f (here the frozen backbone), a score
predictor g, a summary extractor (differentiable top-k over g's scores) and a projector h.
Training (§3.2-3.4), per batch of videos:

- g scores every sample; the summary extractor softly picks the k best samples with the
  successive-halving top-k (§3.4, [34]; the best variant in Table 3): at each round the
  candidates are sorted by score and the i-th best is paired with the i-th worst, and each
  pair becomes one candidate by the softmax relaxation of the max (Eq. 6) applied to the
  pair: features and scores are mixed with weights softmax(alpha * (s_a, s_b)). log2(N / k)
  rounds take N candidates to k, so the cost grows with log N per selected sample.
- summaries and videos are projected by h and compared with the clip-contrastive distance
  (Eq. 4): dist_n(X, Y) = E_{x' ~ q_n(X)} E_{y' ~ q_n(Y)} <x', y'>, q_n = the sub-videos of
  n consecutive clips (n = 10, §4.2, Fig. 7).
- InfoNCE (Eq. 1): each summary is pulled to its own video and pushed from the other videos
  and the other summaries of the batch.
- Inference: the scores of g (the paper takes the top frames; our selection modes then
  apply, highlight mode included).

Choices where the paper is silent:
- a "clip" is one sampled frame (0.5 s at 2 samples/s) and its frozen feature;
- g: Linear to 128 -> 2-layer Transformer encoder (4 heads, d_inner 512, no dropout, no
  positional encoding) -> Linear to one logit; score = sigmoid(logit). The paper plugs in
  several backbones (vsLSTM, VASNet, MSVA, ...); we take a light Transformer like CTVSUM's;
- h: Linear(D, 256) -> ReLU -> Linear(256, 128) on a clip's feature; a sub-video's embedding
  is the L2-normalized mean of the L2-normalized h of its n clips. The L2 normalization is
  what makes Eq. 4 differ from Eq. 3 (mean comparison), which it equals for n = 1, as the
  paper states;
- the summary is the k selected samples in time order (each soft sample's position is the
  same mix of positions as its feature), and its sub-videos are n consecutive summary
  samples; n is lowered to k when the summary is shorter;
- k = round(0.15 * window) (the 15 % summary length of §3.1); alpha = 1 on g's logits (the
  logits' scale is learned); temperature tau = 0.1; negatives are only samples of other
  videos (two windows of one video in a batch are neither positive nor negative); with
  several processes (torchrun) the negatives are those of each process's share of the batch;
- optimizer as CTVSUM's standard setting (Adam, lr 1e-4, weight decay 1e-4), 200-sample
  windows (the CSUM paper gives neither);
- at inference g sees the video in interleaved groups of at most `window` samples spanning
  the whole video, like the training windows (core/nn.grouped).
"""

from __future__ import annotations

import math
from typing import Any

from vsumgui.core import nn as vnn
from vsumgui.core.methods.base import register
from vsumgui.core.methods.trained import TrainedMethod
from vsumgui.core.nn import F, Network, nn, torch


def halving_topk(x: torch.Tensor, s: torch.Tensor, k: int, alpha: float = 1.0,
                 pos: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Differentiable top-k by successive halving (Pietruszka et al. 2020, CSUM §3.4).

    x (B, N, D) features, s (B, N) scores, pos (B, N) positions (default 0..N-1). Returns the
    k soft-selected (B, k, D) features, (B, k) scores and (B, k) positions.
    """
    b, n, d = x.shape
    pos = torch.arange(n, device=x.device, dtype=x.dtype).expand(b, n) if pos is None else pos
    if n <= k:
        return x, s, pos
    depth = math.ceil(math.log2(n / k))
    size = k * 2 ** depth
    if size > n:  # pad with candidates that lose every comparison
        pad = size - n
        x = torch.cat([x, x.new_zeros(b, pad, d)], 1)
        pos = torch.cat([pos, pos.new_zeros(b, pad)], 1)
        s = torch.cat([s, (s.detach().amin(1, keepdim=True) - 1e4).expand(b, pad)], 1)
    for _ in range(depth):
        half = s.shape[1] // 2
        order = s.detach().argsort(1, descending=True)
        hi, lo = order[:, :half], order[:, half:].flip(1)  # best meets worst
        sa, sb = s.gather(1, hi), s.gather(1, lo)
        w = torch.softmax(alpha * torch.stack([sa, sb], -1), -1)  # Eq. 6 on a pair
        wa, wb = w[..., 0], w[..., 1]
        x = (wa[..., None] * x.gather(1, hi[..., None].expand(-1, -1, d))
             + wb[..., None] * x.gather(1, lo[..., None].expand(-1, -1, d)))
        pos = wa * pos.gather(1, hi) + wb * pos.gather(1, lo)
        s = wa * sa + wb * sb
    return x, s, pos


def subvideo_embedding(u: torch.Tensor, n: int) -> torch.Tensor:
    """(B, L, d) unit clip embeddings -> (B, d): the mean over all sub-videos of n consecutive
    clips of the sub-video's unit embedding, so that <e(X), e(Y)> = dist_n(X, Y) (Eq. 4)."""
    n = max(1, min(n, u.shape[1]))
    cs = F.pad(u.cumsum(1), (0, 0, 1, 0))
    windows = (cs[:, n:] - cs[:, :-n]) / n
    return vnn.unit(windows).mean(1)


class CSUMModel(Network):
    """g (score predictor) and h (projector)."""

    def __init__(self, dim: int, hp: dict[str, Any]) -> None:
        super().__init__()
        self.hp = dict(hp)
        self.proj, self.encoder, self.head = vnn.frame_scorer(
            dim, int(hp["d_model"]), int(hp["heads"]), int(hp["d_inner"]), int(hp["layers"]), float(hp["dropout"]))
        self.projector = nn.Sequential(nn.Linear(dim, int(hp["proj_hidden"])), nn.ReLU(),
                                       nn.Linear(int(hp["proj_hidden"]), int(hp["proj_dim"])))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, T) score logits of g."""
        return vnn.frame_logits(self.proj, self.encoder, self.head, x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


@register
class CSUM(TrainedMethod):
    name = "csum"
    title = "CSUM"
    order = 10

    hparams = {
        "layers": 2, "heads": 4, "d_model": 128, "d_inner": 512, "dropout": 0.0,
        "proj_hidden": 256, "proj_dim": 128, "lr": 1e-4, "weight_decay": 1e-4, "window": 200,
        "n": 10, "ratio": 0.15, "tau": 0.1, "alpha": 1.0,
    }
    hparam_notes = {
        "layers": "our choice (g: the paper plugs in several backbones)",
        "heads": "our choice", "d_model": "our choice (as CTVSUM)", "d_inner": "our choice (as CTVSUM)",
        "dropout": "our choice", "proj_hidden": "our choice (h)", "proj_dim": "our choice (h)",
        "lr": "our choice (CTVSUM's Adam settings)", "weight_decay": "our choice (CTVSUM's)",
        "window": "our choice (CTVSUM's 200-sample windows)",
        "n": "§4.2, Fig. 7: n = 10 in all experiments",
        "ratio": "§3.1: summaries around 15 % of the video",
        "tau": "Eq. 1 (value not given; ours)",
        "alpha": "Eq. 6 (value not given; ours, on logits)",
    }
    network = CSUMModel


    @classmethod
    def loss(cls, model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        hp = model.hp
        x, vid = batch["x"], batch["video"]
        b, t, _ = x.shape
        k = max(1, min(t, round(float(hp["ratio"]) * t)))
        logits = model.logits(x)
        with vnn.full_precision(x):
            xs, _, pos = halving_topk(x.float(), logits.float(), k, float(hp["alpha"]))
            xs = xs.gather(1, pos.detach().argsort(1)[..., None].expand_as(xs))  # summary in time order
        u_sum = vnn.unit(model.projector(xs).float())
        u_vid = vnn.unit(model.projector(x).float())
        with vnn.full_precision(x):
            n = int(hp["n"])
            e_sum = subvideo_embedding(u_sum, n)
            e_vid = subvideo_embedding(u_vid, n)
            tau = float(hp["tau"])
            other = vid[:, None] != vid[None, :]
            pos_logit = (e_sum * e_vid).sum(-1, keepdim=True) / tau
            to_videos = (e_sum @ e_vid.T / tau).masked_fill(~other, float("-inf"))
            to_summaries = (e_sum @ e_sum.T / tau).masked_fill(~other, float("-inf"))
            all_logits = torch.cat([pos_logit, to_videos, to_summaries], 1)
            nce = (torch.logsumexp(all_logits, 1) - pos_logit[:, 0]).mean()
            with torch.no_grad():
                acc = (all_logits.argmax(1) == 0).float().mean()
                spread = torch.sigmoid(logits).std(1).mean()
        return nce, {"infonce": nce.detach(), "top1": acc, "score_std": spread}

    @classmethod
    def frame_output(cls, model: CSUMModel, x: torch.Tensor) -> torch.Tensor:
        """g's score, sigmoid(logit)."""
        return torch.sigmoid(model.logits(x))
