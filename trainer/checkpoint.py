"""Training checkpoints: the core format (vsumgui.core.checkpoints: JSON header + state dicts,
atomic writes, `torch.load(weights_only=True)`) plus what training adds: the optimizer and
grad-scaler state for `--resume`, and stripping them for a small inference-only file."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from vsumgui.core import checkpoints as ckpts
from vsumgui.core.checkpoints import Checkpoint, load, save

__all__ = ["Checkpoint", "load", "save", "strip", "training_checkpoint"]


def training_checkpoint(header: dict, model: nn.Module, optimizer: torch.optim.Optimizer | None,
                        scaler: torch.amp.GradScaler | None = None) -> Checkpoint:
    """A checkpoint of a model in training (the unwrapped model: no DDP `module.` prefixes)."""
    return Checkpoint(dict(header), model.state_dict(), optimizer.state_dict() if optimizer else None,
                      scaler.state_dict() if scaler is not None and scaler.is_enabled() else None)


def strip(src: str | os.PathLike, dst: str | os.PathLike | None = None) -> Path:
    """Drop the optimizer and scaler state (about 2/3 of the file): an inference-only checkpoint
    that methods load as before but `--resume` refuses. Written atomically; `dst` defaults to `src`."""
    ckpt = ckpts.load(src)
    header = {**ckpt.header, "stripped": True}
    return ckpts.save(dst or src, Checkpoint(header, ckpt.model))
